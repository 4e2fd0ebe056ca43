/**
 * The `Decisions` service: executing a page's actions and the progress of its approval chain,
 * for the API routes (`POST /v1/pages/:id/actions/:actionId`, `GET /v1/pages/:id/approval`) and
 * the viewer's forms alike. Tag and interface here; `Decisions.ts` implements it.
 */
import { Context } from "effect"
import type { Problems } from "trellis/contract"
import type { Effect } from "effect"
import type { PageRecord } from "./Domain.ts"
import type { InvalidPage, PageForbidden, PageGone, PageLoginRequired, PageNotFound, PageStateConflict } from "./Errors.ts"
import type { Viewer } from "./Viewers.ts"
import type { ActionNotFound, DecisionConflict } from "./DecisionErrors.ts"

export interface ActionRequest {
  /** `actor.identity` as sent: trusted only from the organization's own credentials (see `Decisions.ts`). */
  readonly identity?: string | undefined
  readonly comment?: string | null | undefined
  readonly formData?: Readonly<Record<string, unknown>> | null | undefined
}

/** `POST /v1/pages/:id/actions/:actionId`'s answer (seed 003), plus the chain when there is one. */
export interface ActionResult {
  readonly action_id: string
  /** `executed` when the action completed the page; `recorded` when it was one decision of a chain still in progress. */
  readonly status: "executed" | "recorded"
  readonly page_state: { readonly previous: string; readonly current: string }
  readonly executedAt: string
}

export interface ChainStepView {
  readonly step_id: string
  readonly name: string
  readonly status: "waiting" | "pending" | "completed" | "rejected" | "escalated" | "skipped"
  readonly assignees: ReadonlyArray<string>
  readonly quorum: number
  readonly decision?: "approved" | "rejected" | undefined
  readonly decided_by?: string | undefined
  readonly decided_at?: string | undefined
  readonly decisions: ReadonlyArray<{ readonly identity: string; readonly decision: "approved" | "rejected"; readonly comment: string | null; readonly decided_at: string }>
  readonly timeout_at?: string | null | undefined
}

/** `GET /v1/pages/:id/approval` (seed 003). A page without a chain has one implicit step: its actions. */
export interface ApprovalView {
  readonly chain_status: "not_started" | "in_progress" | "approved" | "rejected" | "none"
  readonly mode: "sequential" | "parallel"
  readonly current_step: string | null
  readonly steps: ReadonlyArray<ChainStepView>
}

export type ActionError =
  | PageNotFound
  | PageGone
  | PageLoginRequired
  | PageForbidden
  | PageStateConflict
  | InvalidPage
  /** Unknown action id (404 `NOT_FOUND`). */
  | ActionNotFound
  /** A duplicate or late decision (409 `CONFLICT`). */
  | DecisionConflict

export class Decisions extends Context.Service<Decisions, {
  /** Executes `actionId` on the page for `viewer`: at most once per person per step; a late or duplicate one is 409. */
  readonly execute: (page: PageRecord, actionId: string, viewer: Viewer, request: ActionRequest) => Effect.Effect<ActionResult, ActionError>
  /** The chain's progress (what the viewer shows beside the buttons). */
  readonly approval: (page: PageRecord) => Effect.Effect<ApprovalView>
  /** Whether `viewer` may decide now (an assignee of a pending step, or anyone allowed on a chainless page), for the viewer's buttons. */
  readonly canDecide: (page: PageRecord, viewer: Viewer) => Effect.Effect<boolean>
  /**
   * The organization's webhook signing secret (created and stored sealed on first use): action
   * webhooks carry `X-Trellis-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
   */
  readonly webhookSecret: (organizationId: string) => Effect.Effect<string, Problems.SecretKeyUnavailable>
}>()("pages/Decisions") {}
