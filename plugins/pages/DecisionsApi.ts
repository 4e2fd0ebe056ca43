/**
 * Actions and approval chains over HTTP (Surflet, seed 003): `POST /v1/pages/:id/actions/:actionId`
 * (public: a person from a link, or the organization's own system deciding for `actor.identity`),
 * `GET /v1/pages/:id/approval` (an agent key with `pages:read`), and the organization's webhook
 * signing secret, `GET /v1/webhooks/secret` (admins).
 *
 * Client-safe: imports only `effect` and `trellis/contract`.
 */
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { Authentication, Problems, Public, Requirement, Requires, WireDialect } from "trellis/contract"
import { ActionNotFound, DecisionConflict } from "./DecisionErrors.ts"
import { InvalidPage, PageForbidden, PageGone, PageLoginRequired, PageNotFound, PageStateConflict } from "./Errors.ts"

export const ActionBody = Schema.Struct({
  actor: Schema.optionalKey(Schema.NullOr(Schema.Struct({
    identity: Schema.optionalKey(Schema.NullOr(Schema.String.check(Schema.isMaxLength(320)))),
    auth_token: Schema.optionalKey(Schema.NullOr(Schema.String.check(Schema.isMaxLength(4096))))
  }))),
  comment: Schema.optionalKey(Schema.NullOr(Schema.String.check(Schema.isMaxLength(10_000)))),
  form_data: Schema.optionalKey(Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown)))
})
export type ActionBody = typeof ActionBody.Type

export const ActionAnswer = Schema.Struct({
  action_id: Schema.String,
  status: Schema.Literals(["executed", "recorded"]),
  page_state: Schema.Struct({ previous: Schema.String, current: Schema.String }),
  executedAt: Schema.String
})

const Verdict = Schema.Literals(["approved", "rejected"])

export const ApprovalStep = Schema.Struct({
  step_id: Schema.String,
  name: Schema.String,
  status: Schema.Literals(["waiting", "pending", "completed", "rejected", "escalated", "skipped"]),
  assignees: Schema.Array(Schema.String),
  quorum: Schema.Int,
  decision: Schema.optional(Verdict),
  decided_by: Schema.optional(Schema.String),
  decided_at: Schema.optional(Schema.String),
  decisions: Schema.Array(Schema.Struct({ identity: Schema.String, decision: Verdict, comment: Schema.NullOr(Schema.String), decided_at: Schema.String })),
  timeout_at: Schema.optional(Schema.NullOr(Schema.String))
})

export const ApprovalAnswer = Schema.Struct({
  chain_status: Schema.Literals(["not_started", "in_progress", "approved", "rejected", "none"]),
  mode: Schema.Literals(["sequential", "parallel"]),
  current_step: Schema.NullOr(Schema.String),
  steps: Schema.Array(ApprovalStep)
})

export const WebhookSecretAnswer = Schema.Struct({
  secret: Schema.String,
  header: Schema.String,
  scheme: Schema.String
})

const pageParams = { id: Schema.String }

/** `POST /v1/pages/:id/actions/:actionId`: public, the caller is found with `Viewers`. */
export class PageActionsGroup extends HttpApiGroup.make("pageActions")
  .annotate(WireDialect, WireDialect.surflet)
  .annotate(Public, "a person acts from the page's link: the caller is the request's member credential, viewer session or actor.auth_token, and Access.decide plus the approval chain's assignees say who may decide")
  .add(
    HttpApiEndpoint.post("execute", "/v1/pages/:id/actions/:actionId", {
      params: { id: Schema.String, actionId: Schema.String },
      payload: ActionBody,
      success: ActionAnswer,
      error: [PageNotFound, PageGone, PageLoginRequired, PageForbidden, PageStateConflict, InvalidPage, ActionNotFound, DecisionConflict]
    }).annotateMerge(OpenApi.annotations({
      description: "Executes the action (a decision in the approval chain). A person decides as the identity they proved " +
        "(viewer session, `actor.auth_token`, or a member's email); the page's own organization's credentials decide for " +
        "`actor.identity` as given. `recorded`: a decision of a chain still in progress; `executed`: the action completed the " +
        "page. A person counts once per step; a duplicate or late decision is 409."
    }))
  )
  .annotateMerge(OpenApi.annotations({ title: "Page actions", description: "Actions and approval decisions on a page." }))
{}

/** `GET /v1/pages/:id/approval` and `GET /v1/webhooks/secret`: an organization's credentials. */
export class PageApprovalGroup extends HttpApiGroup.make("pageApproval")
  .annotate(WireDialect, WireDialect.surflet)
  .add(
    HttpApiEndpoint.get("approval", "/v1/pages/:id/approval", {
      params: pageParams,
      success: ApprovalAnswer,
      error: PageNotFound
    }).annotate(Requires, Requirement.read("pages")).annotateMerge(OpenApi.annotations({
      description: "The approval chain's progress. A page without a chain answers `chain_status: \"none\"` and one implicit step, `default`."
    })),
    HttpApiEndpoint.get("webhookSecret", "/v1/webhooks/secret", {
      success: WebhookSecretAnswer,
      error: Problems.SecretKeyUnavailable
    }).annotate(Requires, Requirement.admin()).annotateMerge(OpenApi.annotations({
      description: "The organization's secret that signs action webhooks (created on first use): verify " +
        "`X-Trellis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.<raw body>\")>` and refuse a timestamp far from your clock."
    }))
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Approval chains", description: "A page's approval chain and the webhook signing secret." }))
{}

/** The decisions part's own API value, for its handlers. */
export class DecisionsApi extends HttpApi.make("pagesDecisions").add(PageActionsGroup).add(PageApprovalGroup) {}
