/**
 * The automations plugin's HTTP contract: Sursakit's workspace automations (seed 000,
 * `GET/POST /api/v1/workspace/{workspace_id}/automations`, plus one automation's read, edit,
 * enable/disable and delete, and its firings) and the incoming webhook receiver
 * (`POST /api/v1/webhooks/incoming`). Authentication is the platform's: the session cookie (CSRF
 * on writes) or a bearer token (sessions, user keys, per-organization service keys with
 * `automations:read` / `automations:write`). The receiver is public: the request proves itself
 * with the automation's HMAC signature.
 *
 * No RPC form: the receiver has no principal, and Sursakit's clients speak HTTP.
 *
 * Client-safe: imports only `effect` and `trellis/contract`.
 */
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Authentication, Problems, Public, Requirement, Requires, WireDialect } from "trellis/contract"
import {
  AutomationList,
  CreateAutomation,
  CreatedAutomation,
  Automation,
  FiringList,
  UpdateAutomation,
  WebhookAccepted,
  WebhookBody
} from "./Domain.ts"
import {
  AutomationDisabled,
  AutomationNotFound,
  InvalidAutomation,
  WebhookAutomationMissing,
  WebhookSignatureInvalid,
  WorkspaceNotFound
} from "./Errors.ts"

const read = Requirement.read("automations")
const write = Requirement.write("automations")

const base = "/api/v1/workspace/:workspace_id/automations"
const workspaceParams = { workspace_id: Schema.String }
const automationParams = { workspace_id: Schema.String, automation_id: Schema.String }
const oneErrors = [WorkspaceNotFound, AutomationNotFound] as const
const writeErrors = [WorkspaceNotFound, AutomationNotFound, InvalidAutomation, Problems.SecretKeyUnavailable] as const

/** `/api/v1/workspace/{workspace_id}/automations`: a workspace's automations. */
export class AutomationsGroup extends HttpApiGroup.make("automations")
  .annotate(WireDialect, WireDialect.sessionFs)
  .add(
    HttpApiEndpoint.get("list", base, {
      params: workspaceParams,
      success: AutomationList,
      error: WorkspaceNotFound
    }).annotate(Requires, read),
    HttpApiEndpoint.post("create", base, {
      params: workspaceParams,
      payload: CreateAutomation,
      success: CreatedAutomation.pipe(HttpApiSchema.status(201)),
      error: [WorkspaceNotFound, InvalidAutomation, Problems.SecretKeyUnavailable]
    }).annotate(Requires, write).annotateMerge(OpenApi.annotations({
      description: "Creates an automation. A webhook automation's answer carries `webhook.secret` (shown once): sign " +
        "each delivery with it (`X-Trellis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">`)."
    })),
    HttpApiEndpoint.get("get", `${base}/:automation_id`, {
      params: automationParams,
      success: Automation,
      error: oneErrors
    }).annotate(Requires, read),
    HttpApiEndpoint.put("replace", `${base}/:automation_id`, {
      params: automationParams,
      payload: CreateAutomation,
      success: CreatedAutomation,
      error: writeErrors
    }).annotate(Requires, write).annotateMerge(OpenApi.annotations({
      description: "Replaces the automation's name, trigger, target and `enabled` (default true). A webhook " +
        "automation keeps its secret while it stays a webhook one; one that becomes a webhook automation gets its `webhook.secret` in this answer, once."
    })),
    HttpApiEndpoint.patch("update", `${base}/:automation_id`, {
      params: automationParams,
      payload: UpdateAutomation,
      success: CreatedAutomation,
      error: writeErrors
    }).annotate(Requires, write).annotateMerge(OpenApi.annotations({
      description: "Changes the members given: `{\"enabled\": false}` disables (its cron schedule is removed), `true` enables."
    })),
    HttpApiEndpoint.delete("remove", `${base}/:automation_id`, {
      params: automationParams,
      success: HttpApiSchema.NoContent,
      error: oneErrors
    }).annotate(Requires, write),
    HttpApiEndpoint.get("firings", `${base}/:automation_id/firings`, {
      params: automationParams,
      query: { limit: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 200 }))) },
      success: FiringList,
      error: oneErrors
    }).annotate(Requires, read).annotateMerge(OpenApi.annotations({
      description: "The times the automation's trigger fired, newest first: the run each started, or why none was."
    }))
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({
    title: "Automations",
    description: "Sursakit's workspace automations: a cron, webhook or event trigger that starts a workflow or agent run."
  }))
{}

/** `POST /api/v1/webhooks/incoming`: public, HMAC-signed per automation. */
export class AutomationWebhooksGroup extends HttpApiGroup.make("automationWebhooks")
  .annotate(WireDialect, WireDialect.sessionFs)
  .annotate(Public, "incoming webhooks: the sender has no Trellis credential; each request is HMAC-signed with its automation's secret, checked before anything runs")
  .add(
    HttpApiEndpoint.post("incoming", "/api/v1/webhooks/incoming", {
      query: { automation_id: Schema.optionalKey(Schema.String) },
      headers: {
        "x-trellis-automation": Schema.optionalKey(Schema.String),
        "x-trellis-signature": Schema.optionalKey(Schema.String)
      },
      payload: WebhookBody,
      success: WebhookAccepted.pipe(HttpApiSchema.status(202)),
      error: [
        WebhookAutomationMissing,
        WebhookSignatureInvalid,
        AutomationNotFound,
        AutomationDisabled,
        InvalidAutomation,
        Problems.RateLimited,
        Problems.SecretKeyUnavailable
      ]
    }).annotateMerge(OpenApi.annotations({
      description: "Starts a run of the webhook automation named by `X-Trellis-Automation` (or `?automation_id=`), " +
        "with the JSON body (an object) over the automation's inputs as the run's input. Signed with the automation's " +
        "secret: `X-Trellis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.<raw body>\")>`; a " +
        "timestamp more than 300 s from the server's clock is refused. The same delivery again (same signature) starts " +
        "nothing and answers the first delivery's runs with `replayed: true`."
    }))
  )
  .annotateMerge(OpenApi.annotations({ title: "Incoming webhooks", description: "Signed webhook deliveries that start automation runs." }))
{}

/** The plugin's own API value, for its handlers and for typed clients of just this plugin. */
export class AutomationsApi extends HttpApi.make("automations").add(AutomationsGroup).add(AutomationWebhooksGroup) {}
