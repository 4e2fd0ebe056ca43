/** The tickets plugin's RPC handlers: the same services as the HTTP handlers. */
import { Effect } from "effect"
import { Comments } from "./Comments.ts"
import { Projects } from "./Projects.ts"
import { TicketsRpcs } from "./Rpc.ts"
import { Tickets } from "./Tickets.ts"
import { TicketSettings } from "./TicketSettings.ts"

export const TicketsRpcHandlers = TicketsRpcs.toLayer(Effect.gen(function*() {
  const projects = yield* Projects
  const tickets = yield* Tickets
  const comments = yield* Comments
  const settings = yield* TicketSettings
  return TicketsRpcs.of({
    "tickets.ListProjects": () => projects.list,
    "tickets.CreateProject": (input) => projects.create(input),
    "tickets.GetProject": ({ project }) => projects.get(project),
    "tickets.DeleteProject": ({ project_id }) => projects.remove(project_id),
    "tickets.ListTickets": ({ project_id, ...filters }) => tickets.list(project_id, filters),
    "tickets.CreateTicket": ({ project_id, ticket }) => tickets.create(project_id, ticket),
    "tickets.GetTicket": ({ project_id, ticket_id }) => tickets.get(project_id, ticket_id),
    "tickets.UpdateTicket": ({ project_id, ticket_id, update }) => tickets.update(project_id, ticket_id, update),
    "tickets.StartTicket": ({ project_id, ticket_id, force, tool, idempotency_key }) =>
      tickets.start(project_id, ticket_id, { force: force ?? false, tool: tool ?? "generic", claimKey: idempotency_key }),
    "tickets.RenewLease": ({ project_id, ticket_id, lease_epoch }) => tickets.renew(project_id, ticket_id, lease_epoch),
    "tickets.CompleteTicket": ({ project_id, ticket_id, completion }) => tickets.complete(project_id, ticket_id, completion),
    "tickets.ResolveTicket": ({ project_id, ticket_id, lease_epoch }) => tickets.resolve(project_id, ticket_id, lease_epoch),
    "tickets.CloseTicket": ({ project_id, ticket_id }) => tickets.close(project_id, ticket_id),
    "tickets.TransitionTicket": ({ project_id, ticket_id, transition }) => tickets.move(project_id, ticket_id, transition),
    "tickets.EscalateTicket": ({ project_id, ticket_id, reason }) => tickets.escalate(project_id, ticket_id, reason),
    "tickets.AddComment": ({ project_id, ticket_id, comment }) => comments.add(project_id, ticket_id, comment),
    "tickets.ListComments": ({ project_id, ticket_id, ...options }) => comments.list(project_id, ticket_id, options),
    "tickets.GetReviewState": ({ project_id, ticket_id }) => comments.reviewState(project_id, ticket_id),
    "tickets.ListEdits": ({ project_id, ticket_id }) => tickets.edits(project_id, ticket_id),
    "tickets.GetSettings": () => settings.get,
    "tickets.SetSettings": (input) => settings.set(input)
  })
}))
