/**
 * Problems of the catalog part (templates, page workflows, associations, the inbox). Each
 * carries one of Surflet's codes; the `type` URI names the precise problem, and the extension
 * members are the Surflet envelope's `error.details`.
 *
 * Client-safe: imports only `effect` and `trellis/contract`.
 */
import { Schema } from "effect"
import { Problem, typeFor } from "trellis/contract"

/** 404: no template of that name; `available` lists the names the caller may use. */
export class TemplateNotFound extends Problem<TemplateNotFound>()("TemplateNotFound", {
  code: "NOT_FOUND",
  type: typeFor("TEMPLATE_NOT_FOUND"),
  status: 404,
  title: "Template not found"
}, { name: Schema.String, available: Schema.Array(Schema.String) }) {}

/** 409: a template of that name exists already (or is built in, and cannot be replaced or deleted). */
export class TemplateConflict extends Problem<TemplateConflict>()("TemplateConflict", {
  code: "CONFLICT",
  type: typeFor("TEMPLATE_CONFLICT"),
  status: 409,
  title: "A template of that name exists"
}, { name: Schema.String, builtIn: Schema.Boolean }) {}

/** 404: no page workflow with that id in the caller's organization. */
export class WorkflowNotFound extends Problem<WorkflowNotFound>()("PageWorkflowNotFound", {
  code: "NOT_FOUND",
  type: typeFor("PAGE_WORKFLOW_NOT_FOUND"),
  status: 404,
  title: "Workflow not found"
}, { groupId: Schema.String }) {}

/** 409: the two pages are already associated with this relation type. */
export class AssociationExists extends Problem<AssociationExists>()("AssociationExists", {
  code: "CONFLICT",
  type: typeFor("ASSOCIATION_EXISTS"),
  status: 409,
  title: "The pages are already associated"
}, { associationId: Schema.String }) {}

/** 404: no inbox entry with that id for the caller (another person's entry answers the same). */
export class InboxEntryNotFound extends Problem<InboxEntryNotFound>()("InboxEntryNotFound", {
  code: "NOT_FOUND",
  type: typeFor("INBOX_ENTRY_NOT_FOUND"),
  status: 404,
  title: "Inbox entry not found"
}, { entryId: Schema.String }) {}

export const catalogProblems = [TemplateNotFound, TemplateConflict, WorkflowNotFound, AssociationExists, InboxEntryNotFound] as const
