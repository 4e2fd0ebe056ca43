/**
 * The tickets plugin's domain, on SessionFS's wire shapes (seed 001): projects keyed by a git
 * remote, tickets with a server-enforced lifecycle and a lease epoch, their comment thread and
 * the review state derived from it. JSON members are snake_case, as SessionFS clients expect.
 *
 * Client-safe: imports only `effect`.
 */
import { Schema } from "effect"

export const Priority = Schema.Literals(["critical", "high", "medium", "low"])
export type Priority = typeof Priority.Type

export const Kind = Schema.Literals(["task", "issue"])
export type Kind = typeof Kind.Type

export const Status = Schema.Literals([
  "suggested",
  "open",
  "in_progress",
  "blocked",
  "review",
  "done",
  "closed",
  "cancelled"
])
export type Status = typeof Status.Type

export const Source = Schema.Literals(["human", "agent"])
export type Source = typeof Source.Type

/** A non-blank, trimmed string of at most `max` characters. */
const Text = (max: number) => Schema.Trim.check(Schema.isNonEmpty(), Schema.isMaxLength(max))

const Strings = Schema.Array(Schema.String)

// ── Projects ────────────────────────────────────────────────────────────────

export class Project extends Schema.Class<Project>("Project")({
  id: Schema.String,
  name: Schema.String,
  /** The normalized git remote (`acme/repo`) the project is keyed by; unique per organization. */
  git_remote_normalized: Schema.String,
  context_document: Schema.String,
  owner_id: Schema.String,
  created_at: Schema.String,
  updated_at: Schema.String,
  session_count: Schema.Number,
  /** SessionFS's project settings, carried for its clients (no narrative or knowledge base here). */
  auto_narrative: Schema.Boolean,
  kb_retention_days: Schema.Number,
  kb_max_context_words: Schema.Number,
  kb_section_page_limit: Schema.Number
}) {}

/** `PUT /api/v1/projects/{remote}/context`: replaces the project's context document. */
export const UpdateProjectContext = Schema.Struct({
  context_document: Schema.String.check(Schema.isMaxLength(1_000_000))
})
export type UpdateProjectContext = typeof UpdateProjectContext.Type

/** SessionFS's answer to a context update. */
export const ProjectContextUpdated = Schema.Struct({
  status: Schema.Literal("updated"),
  /** The document's length in characters. */
  size: Schema.Number
})

/** A project's ticket settings (`GET`/`PUT /api/v1/tickets/settings/projects/{project_id}`). */
export const ProjectTicketSettings = Schema.Struct({
  project_id: Schema.String,
  /** Seconds a claim holds a ticket of this project; `0` never expires; `null` uses the server's default. */
  lease_seconds: Schema.NullOr(Schema.Number),
  /** What applies now: `lease_seconds`, or the server's default when it is `null` (`0`: never). */
  effective_lease_seconds: Schema.Number
})
export type ProjectTicketSettings = typeof ProjectTicketSettings.Type

export const UpdateProjectTicketSettings = Schema.Struct({
  lease_seconds: Schema.NullOr(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 31_536_000 })))
})
export type UpdateProjectTicketSettings = typeof UpdateProjectTicketSettings.Type

export const CreateProject = Schema.Struct({
  name: Text(200),
  git_remote_normalized: Text(500),
  context_document: Schema.optionalKey(Schema.String),
  /**
   * SessionFS's `sfs project init --org`: the organization to create the project in. Trellis
   * creates it in the organization the caller acts in (its key's, or `X-Trellis-Organization`);
   * naming another is 403 `cross_org_denied`, never a project created elsewhere.
   */
  org_id: Schema.optionalKey(Schema.NullOr(Schema.String))
})
export type CreateProject = typeof CreateProject.Type

export const ProjectDeleted = Schema.Struct({
  status: Schema.Literal("deleted"),
  id: Schema.String
})

// ── Tickets ─────────────────────────────────────────────────────────────────

export class Ticket extends Schema.Class<Ticket>("Ticket")({
  id: Schema.String,
  project_id: Schema.String,
  title: Schema.String,
  description: Schema.String,
  priority: Priority,
  kind: Kind,
  status: Status,
  source: Source,
  assigned_to: Schema.NullOr(Schema.String),
  created_by_user_id: Schema.String,
  created_by_session_id: Schema.NullOr(Schema.String),
  created_by_persona: Schema.NullOr(Schema.String),
  /** Incremented by every claim (`start`) and fenced update; writes that pass it are fenced against it. */
  lease_epoch: Schema.Number,
  /** The principal that holds (or last held) the claim. */
  lease_holder: Schema.NullOr(Schema.String),
  /** When the current claim lapses and the ticket becomes claimable again; `null` when not held. */
  lease_expires_at: Schema.NullOr(Schema.String),
  context_refs: Strings,
  file_refs: Strings,
  related_sessions: Strings,
  acceptance_criteria: Strings,
  resolver_session_id: Schema.NullOr(Schema.String),
  resolver_user_id: Schema.NullOr(Schema.String),
  completion_notes: Schema.NullOr(Schema.String),
  changed_files: Strings,
  knowledge_entry_ids: Strings,
  depends_on: Strings,
  parent_ticket_id: Schema.NullOr(Schema.String),
  /** Tasks filed under this issue; always empty for tasks. */
  child_ticket_ids: Strings,
  created_at: Schema.String,
  updated_at: Schema.String,
  resolved_at: Schema.NullOr(Schema.String)
}) {}

export class Comment extends Schema.Class<Comment>("Comment")({
  id: Schema.String,
  ticket_id: Schema.String,
  author_user_id: Schema.String,
  author_persona: Schema.NullOr(Schema.String),
  content: Schema.String,
  session_id: Schema.NullOr(Schema.String),
  /** Stored and shown to the millisecond: pass it back as `since` (with `since_id`) to poll for newer comments. */
  created_at: Schema.String
}) {}

/** `GET .../tickets/{tid}`: the ticket with what depends on it and its latest comments. */
export class TicketDetail extends Schema.Class<TicketDetail>("TicketDetail")({
  ...Ticket.fields,
  /** Tickets of the same project that list this one in their `depends_on`. */
  dependents: Strings,
  /** The last 10 comments, oldest first. */
  recent_comments: Schema.Array(Comment)
}) {}

export const CreateTicket = Schema.Struct({
  title: Text(200),
  description: Schema.optionalKey(Schema.String),
  priority: Schema.optionalKey(Priority),
  kind: Schema.optionalKey(Kind),
  assigned_to: Schema.optionalKey(Schema.NullOr(Schema.String)),
  parent_ticket_id: Schema.optionalKey(Schema.NullOr(Schema.String)),
  depends_on: Schema.optionalKey(Strings),
  context_refs: Schema.optionalKey(Strings),
  file_refs: Schema.optionalKey(Strings),
  related_sessions: Schema.optionalKey(Strings),
  acceptance_criteria: Schema.optionalKey(Strings),
  /** `agent` files a `suggested` task (quality gates apply) that a human approves. */
  source: Schema.optionalKey(Source),
  created_by_session_id: Schema.optionalKey(Schema.NullOr(Schema.String)),
  created_by_persona: Schema.optionalKey(Schema.NullOr(Schema.String))
})
export type CreateTicket = typeof CreateTicket.Type

/**
 * `PUT .../tickets/{tid}`: only the fields present change. `lease_epoch` is a fence (409 when
 * stale; a fenced update takes the epoch), never a mutation. `status` is accepted and ignored,
 * as by SessionFS: it moves only through the lifecycle routes.
 */
export const UpdateTicket = Schema.Struct({
  title: Schema.optionalKey(Text(200)),
  description: Schema.optionalKey(Schema.String),
  priority: Schema.optionalKey(Priority),
  acceptance_criteria: Schema.optionalKey(Strings),
  context_refs: Schema.optionalKey(Strings),
  file_refs: Schema.optionalKey(Strings),
  depends_on: Schema.optionalKey(Strings),
  related_sessions: Schema.optionalKey(Strings),
  assigned_to: Schema.optionalKey(Schema.NullOr(Schema.String)),
  lease_epoch: Schema.optionalKey(Schema.Int),
  /** Ignored, as SessionFS's update model has no status: status moves only through the lifecycle routes. */
  status: Schema.optionalKey(Schema.Unknown)
})
export type UpdateTicket = typeof UpdateTicket.Type

/** The fields `PUT` may change, in the order the diff comment lists them. */
export const mutableFields = [
  "title",
  "description",
  "priority",
  "acceptance_criteria",
  "context_refs",
  "file_refs",
  "related_sessions",
  "depends_on",
  "assigned_to"
] as const
export type MutableField = typeof mutableFields[number]

/** `GET .../tickets` filters: the query of the route and the `Tickets.list` filters. */
export const ListTicketsQuery = Schema.Struct({
  status: Schema.optional(Status),
  assigned_to: Schema.optional(Schema.String),
  kind: Schema.optional(Kind),
  priority: Schema.optional(Priority)
})
export type ListTicketsQuery = typeof ListTicketsQuery.Type

export const CompleteTicket = Schema.Struct({
  notes: Schema.String,
  changed_files: Schema.optionalKey(Strings),
  knowledge_entry_ids: Schema.optionalKey(Strings),
  resolver_session_id: Schema.optionalKey(Schema.NullOr(Schema.String)),
  lease_epoch: Schema.optionalKey(Schema.Int)
})
export type CompleteTicket = typeof CompleteTicket.Type

export const EscalateTicket = Schema.Struct({
  /** Recorded in the escalation comment. */
  reason: Schema.optionalKey(Schema.String)
})
export type EscalateTicket = typeof EscalateTicket.Type

export const RenewLease = Schema.Struct({
  lease_epoch: Schema.Int
})

/** `POST .../start`: the claimed ticket and the context an agent works from. */
export class StartedTicket extends Schema.Class<StartedTicket>("StartedTicket")({
  ticket: Ticket,
  /** Markdown: the ticket, its acceptance criteria, files, completed dependencies' notes, recent comments. */
  compiled_context: Schema.String,
  /** Identifies this claim in the audit log. */
  retrieval_audit_id: Schema.String
}) {}

// ── Comments ────────────────────────────────────────────────────────────────

export const CreateComment = Schema.Struct({
  content: Text(10_000),
  author_persona: Schema.optionalKey(Schema.NullOr(Schema.String)),
  session_id: Schema.optionalKey(Schema.NullOr(Schema.String)),
  lease_epoch: Schema.optionalKey(Schema.Int)
})
export type CreateComment = typeof CreateComment.Type

/** `GET .../comments` paging: the query of the route and the `Comments.list` options. */
export const ListCommentsQuery = Schema.Struct({
  /** Only comments after this `created_at` (pair with `since_id` for same-timestamp ties). */
  since: Schema.optional(Schema.String),
  /** Tie-breaker: with `since`, comments at exactly `since` with a greater id also come back. */
  since_id: Schema.optional(Schema.String),
  limit: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 500 })))
})
export type ListCommentsQuery = typeof ListCommentsQuery.Type

/** One per-field row of the edit audit that every effective `PUT` writes. */
export class TicketEdit extends Schema.Class<TicketEdit>("TicketEdit")({
  id: Schema.String,
  ticket_id: Schema.String,
  edited_by_user_id: Schema.String,
  field_name: Schema.String,
  old_value: Schema.Unknown,
  new_value: Schema.Unknown,
  lease_epoch: Schema.Number,
  edited_at: Schema.String
}) {}

// ── Review state ────────────────────────────────────────────────────────────

export const Severity = Schema.Literals(["CRITICAL", "HIGH", "MEDIUM", "LOW"])
export type Severity = typeof Severity.Type

export const ReviewFinding = Schema.Struct({
  severity: Severity,
  text: Schema.String,
  round: Schema.Number,
  raised_at: Schema.String,
  raised_comment_id: Schema.String,
  status: Schema.Literals(["open", "closed"]),
  closed_round: Schema.NullOr(Schema.Number)
})
export type ReviewFinding = typeof ReviewFinding.Type

export const ReviewRound = Schema.Struct({
  round: Schema.Number,
  verdict: Schema.String,
  comment_id: Schema.String,
  timestamp: Schema.String,
  findings_raised: Schema.Number
})
export type ReviewRound = typeof ReviewRound.Type

export const ReviewState = Schema.Struct({
  open_findings: Schema.Array(ReviewFinding),
  closed_findings: Schema.Array(ReviewFinding),
  last_verdict: Schema.NullOr(Schema.String),
  /** Over open findings only: what still needs work. */
  severity_counts: Schema.Struct({ CRITICAL: Schema.Number, HIGH: Schema.Number, MEDIUM: Schema.Number, LOW: Schema.Number }),
  last_review_comment_id: Schema.NullOr(Schema.String),
  last_implementer_comment_id: Schema.NullOr(Schema.String),
  updated_at: Schema.NullOr(Schema.String),
  rounds: Schema.Array(ReviewRound)
})
export type ReviewState = typeof ReviewState.Type

export const TicketReviewState = Schema.Struct({
  ticket_id: Schema.String,
  /** `null` when no `codex-reviewer` comment has opened a review round. */
  review_state: Schema.NullOr(ReviewState)
})
export type TicketReviewState = typeof TicketReviewState.Type

// ── Settings ────────────────────────────────────────────────────────────────

/** Per-organization ticket settings. */
export const TicketSettings = Schema.Struct({
  /** When true, complete / comment / resolve / update without `lease_epoch` answer 422. */
  require_lease_epoch_on_ticket_writes: Schema.Boolean
})
export type TicketSettings = typeof TicketSettings.Type

// ── Seed 002's projects (the mobile client) ─────────────────────────────────

/**
 * SessionFS's normalization of a git remote (its `normalize_git_remote`): `git@host:owner/repo.git`
 * and `https://host/owner/repo(.git)` give `owner/repo`, lowercased; anything else is lowercased
 * as it is. A project made from a `repositoryUrl` is keyed by this, so the SessionFS CLI finds it.
 */
export const normalizeRemote = (url: string): string => {
  const trimmed = url.trim()
  const scp = /^git@[^:]+:(.+?)(?:\.git)?$/.exec(trimmed)
  if (scp !== null) return scp[1].toLowerCase()
  const http = /^https?:\/\/[^/]+\/(.+?)(?:\.git)?$/.exec(trimmed)
  if (http !== null) return http[1].toLowerCase()
  return trimmed.toLowerCase()
}

/**
 * Whether a repository URL carries a password or token: `scheme://user:secret@host/...`, or any
 * user part of an http(s) URL (`https://<token>@github.com/...` is how tokens are passed there).
 * Refused, never stored. `git@host:owner/repo` and `ssh://git@host/...` name no secret.
 */
export const hasCredentials = (url: string): boolean => {
  const trimmed = url.trim()
  return /^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(trimmed) || /^https?:\/\/[^/@]+@/i.test(trimmed)
}

/** A git branch name: no `..`, `//`, leading `-`, `/` or `.`, trailing `/` or `.`; at most 255 characters. */
export const BranchName = Schema.String.check(Schema.isPattern(/^(?![-/.])(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9._/-]{1,255}(?<![/.])$/))

export class MobileProject extends Schema.Class<MobileProject>("MobileProject")({
  id: Schema.String,
  name: Schema.String,
  description: Schema.String,
  /** The URL it was created with; for a project made through SessionFS's routes, its normalized remote. */
  repositoryUrl: Schema.String,
  /** The key SessionFS's clients name the project by (`owner/repo`). */
  gitRemoteNormalized: Schema.String,
  defaultBranch: Schema.String,
  ownerId: Schema.String,
  createdAt: Schema.String,
  updatedAt: Schema.String
}) {}

export const CreateMobileProject = Schema.Struct({
  name: Text(200),
  repositoryUrl: Schema.Trim.check(Schema.isNonEmpty(), Schema.isMaxLength(2000)),
  defaultBranch: Schema.optionalKey(BranchName),
  description: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(10_000)))
})
export type CreateMobileProject = typeof CreateMobileProject.Type

/** `PUT /api/projects/{project}`: the members present change. */
export const UpdateMobileProject = Schema.Struct({
  name: Schema.optionalKey(Text(200)),
  description: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(10_000))),
  defaultBranch: Schema.optionalKey(BranchName)
})
export type UpdateMobileProject = typeof UpdateMobileProject.Type

export const MobileProjectPage = Schema.Struct({
  data: Schema.Array(MobileProject),
  meta: Schema.Struct({
    /** Pass it back as `?cursor=` for the next page; `null` on the last one. */
    nextCursor: Schema.NullOr(Schema.String)
  })
})

export const ListMobileProjectsQuery = Schema.Struct({
  cursor: Schema.optional(Schema.String.check(Schema.isMaxLength(500))),
  limit: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100 })))
})
export type ListMobileProjectsQuery = typeof ListMobileProjectsQuery.Type
