/**
 * The automations plugin's problems. Codes are snake_case like the other `/api/v1/` routes;
 * the group answers in SessionFS's dialect (`error: {code, message, details}` beside RFC 9457).
 *
 * Client-safe: imports only `effect` and `trellis/contract`.
 */
import { Schema } from "effect"
import { Problem } from "trellis/contract"

/** 404: no such workspace in the caller's organization (another organization's answers the same). */
export class WorkspaceNotFound extends Problem<WorkspaceNotFound>()("AutomationWorkspaceNotFound", {
  code: "workspace_not_found",
  status: 404,
  title: "Workspace not found"
}, { workspace_id: Schema.String }) {}

/** 404: no such automation in that workspace (or, on the webhook receiver, no webhook automation with this id). */
export class AutomationNotFound extends Problem<AutomationNotFound>()("AutomationNotFound", {
  code: "automation_not_found",
  status: 404,
  title: "Automation not found"
}, { automation_id: Schema.String }) {}

/** 422: the automation is well-formed but cannot work (a bad cron expression or time zone, an unknown target). */
export class InvalidAutomation extends Problem<InvalidAutomation>()("InvalidAutomation", {
  code: "invalid_automation",
  status: 422,
  title: "The automation is invalid"
}, { field: Schema.String, reason: Schema.String }) {}

/** 400: the webhook request names no automation (`X-Trellis-Automation` header or `?automation_id=`). */
export class WebhookAutomationMissing extends Problem<WebhookAutomationMissing>()("WebhookAutomationMissing", {
  code: "automation_id_required",
  status: 400,
  title: "The webhook request names no automation"
}) {}

/** 401: the webhook signature is missing, malformed, stale (outside the tolerance) or does not match the body. */
export class WebhookSignatureInvalid extends Problem<WebhookSignatureInvalid>()("WebhookSignatureInvalid", {
  code: "invalid_signature",
  status: 401,
  title: "The webhook signature is not valid"
}) {}

/** 409: the automation is disabled; nothing was started. */
export class AutomationDisabled extends Problem<AutomationDisabled>()("AutomationDisabled", {
  code: "automation_disabled",
  status: 409,
  title: "The automation is disabled"
}, { automation_id: Schema.String }) {}

export const automationProblems = [
  WorkspaceNotFound,
  AutomationNotFound,
  InvalidAutomation,
  WebhookAutomationMissing,
  WebhookSignatureInvalid,
  AutomationDisabled
] as const
