/**
 * The tickets plugin's problems. Codes are snake_case like SessionFS's own structured errors
 * (seed 001), so its clients can branch on them; extension members are snake_case too.
 *
 * Client-safe: imports only `effect` and `trellis/contract`.
 */
import { Schema } from "effect"
import { Problem } from "trellis/contract"
import { Status } from "./Domain.ts"

/** 404: no such project in the caller's organization (another organization's answers the same). */
export class ProjectNotFound extends Problem<ProjectNotFound>()("ProjectNotFound", {
  code: "project_not_found",
  status: 404,
  title: "Project not found"
}, { project_id: Schema.String }) {}

/** 404: no such ticket in that project. */
export class TicketNotFound extends Problem<TicketNotFound>()("TicketNotFound", {
  code: "ticket_not_found",
  status: 404,
  title: "Ticket not found"
}, { ticket_id: Schema.String }) {}

/** 409: the organization already has a project for this git remote. */
export class ProjectExists extends Problem<ProjectExists>()("ProjectExists", {
  code: "project_exists",
  status: 409,
  title: "Project already exists for this repository"
}, { git_remote_normalized: Schema.String, project_id: Schema.String }) {}

/** 403: only the project's owner or an organization admin may do this. */
export class NotProjectAdmin extends Problem<NotProjectAdmin>()("NotProjectAdmin", {
  code: "not_project_admin",
  status: 403,
  title: "Project owner or organization admin required"
}) {}

/** 403: only the ticket's creator or a project admin may edit it. */
export class NotTicketEditor extends Problem<NotTicketEditor>()("NotTicketEditor", {
  code: "not_ticket_editor",
  status: 403,
  title: "Ticket creator or project admin required"
}, { ticket_id: Schema.String }) {}

const transitionFields = {
  ticket_id: Schema.String,
  current_status: Status,
  target_status: Status,
  transition: Schema.String,
  allowed: Schema.Array(Status),
  allowed_transitions: Schema.Array(Schema.String)
}

/**
 * 400 (SessionFS's status): the lifecycle table has no such transition from the ticket's
 * current status. `detail` is SessionFS's text ("Cannot transition from 'x' to 'y'. Legal
 * transitions from 'x': ..."); the members name the current status, the target, and what is
 * allowed from here (statuses and the routes that reach them).
 */
export class InvalidStatusTransition extends Problem<InvalidStatusTransition>()("InvalidStatusTransition", {
  code: "invalid_status_transition",
  status: 400,
  title: "Transition not allowed from the ticket's current status"
}, transitionFields) {}

/**
 * 409 (SessionFS's status for these two routes): `start` on a ticket that is not open (or
 * blocked, with `force=true`), and `accept`/`resolve` on a ticket not in review. The same
 * members as `invalid_status_transition`, SessionFS's "Cannot start ticket: ..." /
 * "Cannot accept ticket: ..." text in `detail`.
 */
export class StatusConflict extends Problem<StatusConflict>()("StatusConflict", {
  code: "status_conflict",
  status: 409,
  title: "The ticket is not in the status this route starts from"
}, transitionFields) {}

/**
 * 403: a project-restricted service key named a project outside its allowlist (SessionFS's
 * `project_not_in_allowlist`, with the same members).
 */
export class ProjectNotInAllowlist extends Problem<ProjectNotInAllowlist>()("ProjectNotInAllowlist", {
  code: "project_not_in_allowlist",
  status: 403,
  title: "Service key project allowlist does not include this project"
}, {
  allowed_project_ids: Schema.Array(Schema.String),
  requested_project_id: Schema.String
}) {}

/** 409: `start` on a ticket whose lease another claim holds and has not expired. */
export class LeaseHeld extends Problem<LeaseHeld>()("LeaseHeld", {
  code: "lease_held",
  status: 409,
  title: "The ticket is claimed by another worker"
}, {
  ticket_id: Schema.String,
  current_status: Status,
  lease_holder: Schema.NullOr(Schema.String),
  lease_expires_at: Schema.NullOr(Schema.String),
  current_lease_epoch: Schema.Number
}) {}

/** SessionFS's structured error envelope, carried inside the problem for its clients. */
const StaleEnvelope = Schema.Struct({
  code: Schema.Literal("stale_lease_epoch"),
  message: Schema.String,
  details: Schema.Struct({
    error: Schema.Literal("stale_lease_epoch"),
    passed_lease_epoch: Schema.Number,
    current_lease_epoch: Schema.Number
  })
})

/**
 * 409: the write passed a `lease_epoch` that is no longer the ticket's (another worker claimed
 * it since). Carries the passed and current epochs, at the top level and in SessionFS's
 * `error` envelope.
 */
export class StaleLeaseEpoch extends Problem<StaleLeaseEpoch>()("StaleLeaseEpoch", {
  code: "stale_lease_epoch",
  status: 409,
  title: "Stale lease epoch"
}, {
  ticket_id: Schema.String,
  passed_lease_epoch: Schema.Number,
  current_lease_epoch: Schema.Number,
  error: StaleEnvelope
}) {
  /** `message`: SessionFS's text for the route (its `PUT` words it differently from the lifecycle routes). */
  static readonly of = (ticketId: string, passed: number, current: number, message: string = `Stale ticket lease: provided lease_epoch=${passed}, current lease_epoch=${current}.`): StaleLeaseEpoch => {
    return new StaleLeaseEpoch({
      detail: message,
      ticket_id: ticketId,
      passed_lease_epoch: passed,
      current_lease_epoch: current,
      error: {
        code: "stale_lease_epoch",
        message,
        details: { error: "stale_lease_epoch", passed_lease_epoch: passed, current_lease_epoch: current }
      }
    })
  }
}

/** 409: a lease renewal by someone who does not hold a live lease at that epoch. */
export class LeaseNotHeld extends Problem<LeaseNotHeld>()("LeaseNotHeld", {
  code: "lease_not_held",
  status: 409,
  title: "The caller does not hold a live lease on this ticket"
}, {
  ticket_id: Schema.String,
  current_status: Status,
  lease_holder: Schema.NullOr(Schema.String),
  current_lease_epoch: Schema.Number
}) {}

/** 422: the organization requires `lease_epoch` on ticket writes and the request has none. */
export class LeaseEpochRequired extends Problem<LeaseEpochRequired>()("LeaseEpochRequired", {
  code: "lease_epoch_required",
  status: 422,
  title: "This organization requires lease_epoch on ticket writes"
}, { setting: Schema.Literal("require_lease_epoch_on_ticket_writes") }) {}

/** 400: an update without any mutable field (`lease_epoch` alone is a fence, not a mutation). */
export class NoMutableFields extends Problem<NoMutableFields>()("NoMutableFields", {
  code: "no_mutable_fields",
  status: 400,
  title: "At least one mutable field is required"
}, { mutable_fields: Schema.Array(Schema.String) }) {}

/** 400: `depends_on` names tickets that do not exist in this project. */
export class InvalidDependency extends Problem<InvalidDependency>()("InvalidDependency", {
  code: "invalid_dependency",
  status: 400,
  title: "depends_on references unknown or cross-project tickets"
}, { missing: Schema.Array(Schema.String) }) {}

/** 400: the new `depends_on` would close a cycle; `cycle` walks it from the ticket back to itself. */
export class DependencyCycle extends Problem<DependencyCycle>()("DependencyCycle", {
  code: "dependency_cycle",
  status: 400,
  title: "The dependencies would form a cycle"
}, { cycle: Schema.Array(Schema.String) }) {}

/** 400: `close` is the terminator of issues; tasks finish with complete and resolve. */
export class CloseRequiresIssue extends Problem<CloseRequiresIssue>()("CloseRequiresIssue", {
  code: "close_requires_issue",
  status: 400,
  title: "Only issues can be closed"
}, { ticket_id: Schema.String, kind: Schema.String }) {}

/** 400 or 422: the parent ticket is missing, in another project, not an issue, or the child is an issue. */
export class InvalidParent extends Problem<InvalidParent>()("InvalidParent", {
  code: "invalid_parent",
  status: 422,
  title: "Invalid parent ticket"
}, { parent_ticket_id: Schema.String }) {}

/** 400: an issue cannot be filed under another issue. */
export class NestedIssue extends Problem<NestedIssue>()("NestedIssue", {
  code: "nested_issue",
  status: 400,
  title: "Issues cannot have a parent"
}) {}

/** 400: an agent-filed task misses the quality gates (acceptance criteria, a 20+ character description). */
export class AgentTicketRejected extends Problem<AgentTicketRejected>()("AgentTicketRejected", {
  code: "agent_ticket_rejected",
  status: 400,
  title: "Agent-created tickets need acceptance criteria and a meaningful description"
}) {}

/** 429: an agent session filed its quota of suggested tickets. */
export class AgentTicketQuota extends Problem<AgentTicketQuota>()("AgentTicketQuota", {
  code: "agent_ticket_quota",
  status: 429,
  title: "Too many agent-created tickets for this session"
}, { limit: Schema.Number }) {}

/** 409 (seed 002): the organization already has a live project for this repository. */
export class RepositoryTaken extends Problem<RepositoryTaken>()("RepositoryTaken", {
  code: "repository_taken",
  status: 409,
  title: "A project for this repository already exists"
}, { projectId: Schema.String, gitRemoteNormalized: Schema.String }) {}

/** 422 (seed 002): a `repositoryUrl` with a password or token in it; it is never stored. */
export class RepositoryUrlHasCredentials extends Problem<RepositoryUrlHasCredentials>()("RepositoryUrlHasCredentials", {
  code: "repository_url_has_credentials",
  status: 422,
  title: "Repository URL carries credentials"
}) {}

/** 422 (seed 002): a `cursor` this server did not hand out. */
export class InvalidCursor extends Problem<InvalidCursor>()("InvalidCursor", {
  code: "invalid_cursor",
  status: 422,
  title: "Invalid cursor"
}) {}
