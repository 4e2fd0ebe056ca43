/**
 * The tickets plugin's `Tickets` service as other plugins see it: the tag and its interface,
 * nothing of the implementation (`Tickets.ts` provides it; the plugin's layer outputs it). A
 * plugin that uses it declares `requires: ["tickets"]` and imports only this module (and the
 * contract modules it names).
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { AuthProblems, CurrentPrincipal } from "trellis/contract"
import type { StartedTicket, TicketDetail } from "./Domain.ts"
import type { CompleteTicket, CreateTicket, ListTicketsQuery, Ticket, TicketEdit, UpdateTicket } from "./Domain.ts"
import type {
  AgentTicketQuota,
  AgentTicketRejected,
  CloseRequiresIssue,
  DependencyCycle,
  InvalidDependency,
  InvalidParent,
  InvalidStatusTransition,
  LeaseHeld,
  LeaseNotHeld,
  NestedIssue,
  NoMutableFields,
  NotProjectAdmin,
  NotTicketEditor,
  StaleLeaseEpoch,
  StatusConflict,
  TicketNotFound
} from "./Errors.ts"
import type { LeaseEpochRequired, ProjectNotFound, ProjectNotInAllowlist } from "./Errors.ts"

/** Why a project cannot be reached (as `Projects.ts` answers). */
export type ProjectAccessError = ProjectNotFound | ProjectNotInAllowlist | AuthProblems.CrossOrgDenied

/** The filters of `list`: the route's query. */
export type ListFilters = ListTicketsQuery

export interface StartOptions {
  /** Also claim a `blocked` task (recovery path). */
  readonly force: boolean
  /** The tool the compiled context is sized for (`claude-code`, `cursor`, ...). */
  readonly tool: string
  /** The `Idempotency-Key` of the claim: a retry with the same key by the same principal returns the same claim. */
  readonly claimKey: string | undefined
}

type Access<A, E = never> = Effect.Effect<A, E | ProjectAccessError | TicketNotFound, CurrentPrincipal>

export type CreateError =
  | ProjectAccessError
  | NotProjectAdmin
  | NestedIssue
  | InvalidParent
  | AgentTicketRejected
  | AgentTicketQuota
  | InvalidDependency

export type UpdateError =
  | NoMutableFields
  | NotTicketEditor
  | StaleLeaseEpoch
  | LeaseEpochRequired
  | InvalidDependency
  | DependencyCycle

export class Tickets extends Context.Service<Tickets, {
  readonly list: (projectId: string, filters: ListFilters) => Effect.Effect<ReadonlyArray<Ticket>, ProjectAccessError, CurrentPrincipal>
  readonly create: (projectId: string, input: CreateTicket) => Effect.Effect<Ticket, CreateError, CurrentPrincipal>
  readonly get: (projectId: string, ticketId: string) => Access<TicketDetail>
  readonly update: (projectId: string, ticketId: string, input: UpdateTicket) => Access<Ticket, UpdateError>
  readonly start: (projectId: string, ticketId: string, options: StartOptions) => Access<StartedTicket, LeaseHeld | StatusConflict>
  readonly complete: (projectId: string, ticketId: string, input: CompleteTicket) => Access<Ticket, StaleLeaseEpoch | LeaseEpochRequired | InvalidStatusTransition>
  readonly resolve: (projectId: string, ticketId: string, leaseEpoch: number | undefined) => Access<Ticket, StaleLeaseEpoch | LeaseEpochRequired | StatusConflict>
  readonly close: (projectId: string, ticketId: string) => Access<Ticket, CloseRequiresIssue | NotProjectAdmin | InvalidStatusTransition>
  /** approve, block, unblock, reopen, dismiss: status moves with no payload. */
  readonly move: (projectId: string, ticketId: string, transition: "approve" | "block" | "unblock" | "reopen" | "dismiss") => Access<Ticket, InvalidStatusTransition>
  readonly escalate: (projectId: string, ticketId: string, reason: string | undefined) => Access<Ticket>
  readonly renew: (projectId: string, ticketId: string, leaseEpoch: number) => Access<Ticket, StaleLeaseEpoch | LeaseNotHeld>
  readonly edits: (projectId: string, ticketId: string) => Access<ReadonlyArray<TicketEdit>>
}>()("tickets/Tickets") {}
