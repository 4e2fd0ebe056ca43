/** The tickets plugin's HTTP handlers: thin, they call the services. */
import { Effect, Layer } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { TicketsApi } from "./Api.ts"
import { Comments } from "./Comments.ts"
import { MobileProjects } from "./MobileProjects.ts"
import { ProjectNotFound } from "./Errors.ts"
import { Projects } from "./Projects.ts"
import { Tickets } from "./Tickets.ts"
import { TicketSettings } from "./TicketSettings.ts"
import { remoteOf } from "./ProjectOrganization.ts"


/**
 * The remote of `PUT /api/v1/projects/{owner}/{repo}[/{more}]/context`: the path without its
 * final `/context` segment (`undefined` when the path does not end with it).
 */
const contextRemoteOf = (owner: string, repo: string, rest: string | undefined) => {
  if (rest === undefined || rest === "") return undefined
  const segments = rest.split("/")
  if (segments[segments.length - 1] !== "context") return undefined
  return [owner, repo, ...segments.slice(0, -1)].filter((s) => s !== "").join("/")
}

const ProjectsHttp = HttpApiBuilder.group(
  TicketsApi,
  "ticketProjects",
  Effect.fn(function*(handlers) {
    const projects = yield* Projects
    return handlers
      .handle("listProjects", () => projects.list)
      .handle("createProject", ({ payload }) => projects.create(payload))
      .handle("getProject", ({ params }) => projects.get(params.project))
      .handle("getProjectByRemote", ({ params }) => projects.get(remoteOf(params.owner, params.repo, params["*"])))
      .handle("deleteProject", ({ params }) => projects.remove(params.project_id))
      .handle("updateContext", ({ params, payload }) => projects.updateContext(params.project, payload.context_document))
      .handle("updateContextByRemote", ({ params, payload }) => {
        const remote = contextRemoteOf(params.owner, params.repo, params["*"])
        return remote === undefined
          ? Effect.fail(new ProjectNotFound({ project_id: remoteOf(params.owner, params.repo, params["*"]), detail: "No project context found." }))
          : projects.updateContext(remote, payload.context_document)
      })
  })
)

const TicketGroupHttp = HttpApiBuilder.group(
  TicketsApi,
  "tickets",
  Effect.fn(function*(handlers) {
    const tickets = yield* Tickets
    const comments = yield* Comments
    return handlers
      .handle("list", ({ params, query }) => tickets.list(params.project_id, query))
      .handle("create", ({ params, payload }) => tickets.create(params.project_id, payload))
      .handle("get", ({ params }) => tickets.get(params.project_id, params.ticket_id))
      .handle("update", ({ params, payload }) => tickets.update(params.project_id, params.ticket_id, payload))
      .handle("start", ({ params, query, headers }) =>
        tickets.start(params.project_id, params.ticket_id, {
          force: query.force ?? false,
          tool: query.tool ?? "generic",
          claimKey: headers["idempotency-key"]
        }))
      .handle("renew", ({ params, payload }) => tickets.renew(params.project_id, params.ticket_id, payload.lease_epoch))
      .handle("complete", ({ params, payload }) => tickets.complete(params.project_id, params.ticket_id, payload))
      .handle("resolve", ({ params, query }) => tickets.resolve(params.project_id, params.ticket_id, query.lease_epoch))
      .handle("accept", ({ params, query }) => tickets.resolve(params.project_id, params.ticket_id, query.lease_epoch))
      .handle("close", ({ params }) => tickets.close(params.project_id, params.ticket_id))
      .handle("approve", ({ params }) => tickets.move(params.project_id, params.ticket_id, "approve"))
      .handle("block", ({ params }) => tickets.move(params.project_id, params.ticket_id, "block"))
      .handle("unblock", ({ params }) => tickets.move(params.project_id, params.ticket_id, "unblock"))
      .handle("reopen", ({ params }) => tickets.move(params.project_id, params.ticket_id, "reopen"))
      .handle("dismiss", ({ params }) => tickets.move(params.project_id, params.ticket_id, "dismiss"))
      .handle("escalate", ({ params, payload }) => tickets.escalate(params.project_id, params.ticket_id, payload?.reason))
      .handle("addComment", ({ params, payload }) => comments.add(params.project_id, params.ticket_id, payload))
      .handle("listComments", ({ params, query }) => comments.list(params.project_id, params.ticket_id, query))
      .handle("reviewState", ({ params }) => comments.reviewState(params.project_id, params.ticket_id))
      .handle("edits", ({ params }) => tickets.edits(params.project_id, params.ticket_id))
  })
)

const SettingsHttp = HttpApiBuilder.group(
  TicketsApi,
  "ticketSettings",
  Effect.fn(function*(handlers) {
    const settings = yield* TicketSettings
    const projects = yield* Projects
    return handlers
      .handle("getSettings", () => settings.get)
      .handle("setSettings", ({ payload }) => settings.set(payload))
      .handle("getProjectSettings", ({ params }) => projects.settings(params.project_id))
      .handle("setProjectSettings", ({ params, payload }) => projects.setSettings(params.project_id, payload))
  })
)

const MobileProjectsHttp = HttpApiBuilder.group(
  TicketsApi,
  "mobileProjects",
  Effect.fn(function*(handlers) {
    const projects = yield* MobileProjects
    return handlers
      .handle("list", ({ query }) => projects.page(query))
      .handle("create", ({ payload }) => projects.create(payload))
      .handle("get", ({ params }) => projects.get(params.project))
      .handle("update", ({ params, payload }) => projects.update(params.project, payload))
      .handle("archive", ({ params }) => projects.archive(params.project))
  })
)

/** Every HTTP group of the plugin. */
export const TicketsHttp = Layer.mergeAll(ProjectsHttp, TicketGroupHttp, SettingsHttp, MobileProjectsHttp)
