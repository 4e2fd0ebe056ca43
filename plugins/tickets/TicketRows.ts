/**
 * How the tickets tables are read: the select lists (timestamps formatted by the database with
 * `Row.isoColumn`; the columns hold milliseconds, so a comment's `created_at` is an exact
 * polling cursor) and the mapping of rows to the domain classes. Drivers hand `jsonb` back
 * parsed or as text; both are accepted.
 */
import { Schema } from "effect"
import { Row } from "trellis/plugin"
import { Comment, MobileProject, Project, Ticket, TicketEdit } from "./Domain.ts"
import type { Kind, Priority, Source, Status } from "./Domain.ts"

/** A timestamp column as ISO 8601 UTC text at the platform's one precision (milliseconds). */
const isoColumn = Row.isoColumn

export const projectColumns = `
  p.id, p.name, p.git_remote_normalized, p.context_document, p.owner_id,
  ${isoColumn("p.created_at")} AS created_at, ${isoColumn("p.updated_at")} AS updated_at,
  p.auto_narrative, p.kb_retention_days, p.kb_max_context_words, p.kb_section_page_limit, p.lease_seconds,
  p.description, p.default_branch, p.repository_url`

export const ticketColumns = `
  t.id, t.project_id, t.title, t.description, t.priority, t.kind, t.status, t.source, t.assigned_to,
  t.created_by_user_id, t.created_by_session_id, t.created_by_persona,
  t.lease_epoch, t.lease_holder, t.lease_claim_key, t.lease_audit_id, ${isoColumn("t.lease_expires_at")} AS lease_expires_at,
  (t.status = 'in_progress' AND t.lease_holder IS NOT NULL
   AND (t.lease_expires_at IS NULL OR t.lease_expires_at > now())) AS lease_active,
  t.context_refs, t.file_refs, t.related_sessions, t.acceptance_criteria,
  t.resolver_session_id, t.resolver_user_id, t.completion_notes, t.changed_files, t.knowledge_entry_ids,
  COALESCE((SELECT jsonb_agg(d.depends_on_id ORDER BY d.position, d.depends_on_id)
            FROM tickets.ticket_dependencies d WHERE d.ticket_id = t.id), '[]'::jsonb) AS depends_on,
  t.parent_ticket_id,
  COALESCE((SELECT jsonb_agg(c.id ORDER BY c.created_at, c.id)
            FROM tickets.tickets c WHERE c.parent_ticket_id = t.id AND c.project_id = t.project_id), '[]'::jsonb) AS child_ticket_ids,
  ${isoColumn("t.created_at")} AS created_at, ${isoColumn("t.updated_at")} AS updated_at,
  ${isoColumn("t.resolved_at")} AS resolved_at`

export const commentColumns = `
  c.id, c.ticket_id, c.author_user_id, c.author_persona, c.content, c.session_id,
  ${isoColumn("c.created_at")} AS created_at`

export const editColumns = `
  e.id, e.ticket_id, e.edited_by_user_id, e.field_name, e.old_value::text AS old_value, e.new_value::text AS new_value, e.lease_epoch,
  ${isoColumn("e.edited_at")} AS edited_at`

const NullableString = Schema.NullOr(Schema.String)

/** A `jsonb` array of strings (parsed or text, whichever the driver hands back). */
const JsonStrings = Row.Json(Schema.Array(Schema.String))

export const ProjectRow = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  git_remote_normalized: Schema.String,
  context_document: Schema.String,
  owner_id: Schema.String,
  created_at: Schema.String,
  updated_at: Schema.String,
  auto_narrative: Schema.Boolean,
  kb_retention_days: Schema.Number,
  kb_max_context_words: Schema.Number,
  kb_section_page_limit: Schema.Number,
  /** `null`: the server's default lease; `0`: claims never expire. */
  lease_seconds: Schema.NullOr(Schema.Number),
  description: Schema.String,
  default_branch: Schema.String,
  /** The URL a seed-002 client created the project with; `null` for SessionFS-made projects. */
  repository_url: Schema.NullOr(Schema.String)
})
export type ProjectRow = typeof ProjectRow.Type

export const TicketRow = Schema.Struct({
  id: Schema.String,
  project_id: Schema.String,
  title: Schema.String,
  description: Schema.String,
  priority: Schema.String,
  kind: Schema.String,
  status: Schema.String,
  source: Schema.String,
  assigned_to: NullableString,
  created_by_user_id: Schema.String,
  created_by_session_id: NullableString,
  created_by_persona: NullableString,
  lease_epoch: Schema.Number,
  lease_holder: NullableString,
  lease_claim_key: NullableString,
  lease_audit_id: NullableString,
  lease_expires_at: NullableString,
  lease_active: Schema.Boolean,
  context_refs: JsonStrings,
  file_refs: JsonStrings,
  related_sessions: JsonStrings,
  acceptance_criteria: JsonStrings,
  resolver_session_id: NullableString,
  resolver_user_id: NullableString,
  completion_notes: NullableString,
  changed_files: JsonStrings,
  knowledge_entry_ids: JsonStrings,
  depends_on: JsonStrings,
  parent_ticket_id: NullableString,
  child_ticket_ids: JsonStrings,
  created_at: Schema.String,
  updated_at: Schema.String,
  resolved_at: NullableString
})
export type TicketRow = typeof TicketRow.Type

export const CommentRow = Schema.Struct({
  id: Schema.String,
  ticket_id: Schema.String,
  author_user_id: Schema.String,
  author_persona: NullableString,
  content: Schema.String,
  session_id: NullableString,
  created_at: Schema.String
})

export const EditRow = Schema.Struct({
  id: Schema.String,
  ticket_id: Schema.String,
  edited_by_user_id: Schema.String,
  field_name: Schema.String,
  old_value: NullableString,
  new_value: NullableString,
  lease_epoch: Schema.Number,
  edited_at: Schema.String
})

export const decodeProjects = Row.decode(ProjectRow)
export const decodeTickets = Row.decode(TicketRow)
export const decodeComments = Row.decode(CommentRow)
export const decodeEdits = Row.decode(EditRow)

export const toProject = (row: ProjectRow): Project =>
  new Project({
    id: row.id,
    name: row.name,
    git_remote_normalized: row.git_remote_normalized,
    context_document: row.context_document,
    owner_id: row.owner_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
    session_count: 0,
    auto_narrative: row.auto_narrative,
    kb_retention_days: row.kb_retention_days,
    kb_max_context_words: row.kb_max_context_words,
    kb_section_page_limit: row.kb_section_page_limit
  })

/** A project in seed 002's camelCase shape. */
export const toMobileProject = (row: ProjectRow): MobileProject =>
  new MobileProject({
    id: row.id,
    name: row.name,
    description: row.description,
    repositoryUrl: row.repository_url ?? row.git_remote_normalized,
    gitRemoteNormalized: row.git_remote_normalized,
    defaultBranch: row.default_branch,
    ownerId: row.owner_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at
  })

export const toTicket = (row: TicketRow): Ticket =>
  new Ticket({
    id: row.id,
    project_id: row.project_id,
    title: row.title,
    description: row.description,
    priority: row.priority as Priority,
    kind: row.kind as Kind,
    status: row.status as Status,
    source: row.source as Source,
    assigned_to: row.assigned_to,
    created_by_user_id: row.created_by_user_id,
    created_by_session_id: row.created_by_session_id,
    created_by_persona: row.created_by_persona,
    lease_epoch: row.lease_epoch,
    lease_holder: row.lease_holder,
    lease_expires_at: row.lease_expires_at,
    context_refs: row.context_refs,
    file_refs: row.file_refs,
    related_sessions: row.related_sessions,
    acceptance_criteria: row.acceptance_criteria,
    resolver_session_id: row.resolver_session_id,
    resolver_user_id: row.resolver_user_id,
    completion_notes: row.completion_notes,
    changed_files: row.changed_files,
    knowledge_entry_ids: row.knowledge_entry_ids,
    depends_on: row.depends_on,
    parent_ticket_id: row.parent_ticket_id,
    child_ticket_ids: row.kind === "issue" ? row.child_ticket_ids : [],
    created_at: row.created_at,
    updated_at: row.updated_at,
    resolved_at: row.resolved_at
  })

export const toComment = (row: typeof CommentRow.Type): Comment => new Comment(row)

export const toEdit = (row: typeof EditRow.Type): TicketEdit =>
  new TicketEdit({
    ...row,
    old_value: row.old_value === null ? null : JSON.parse(row.old_value),
    new_value: row.new_value === null ? null : JSON.parse(row.new_value)
  })
