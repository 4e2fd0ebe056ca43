/**
 * The `PageEvents` service: how every part of the plugin tells the world that a page changed.
 * One `emit` in the change's transaction appends the event to the page's stream (what
 * `GET /v1/pages/:id/events`, `/comments/stream` and the viewer follow) and, for events a
 * person caused, to the organization's agent stream and agent inbox (`GET /v1/agent/events`,
 * `/v1/agent/inbox`, acknowledged with `POST /v1/events/:id/ack`). Nothing is emitted for a
 * change that rolls back.
 *
 * Tag and interface here; the implementation (`layer`) lives in `PageStreams.ts`.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import type { PageRecord } from "./Domain.ts"

/**
 * Event types on page streams (seed 003): `blocks.appended`, `action.executed`,
 * `comment.added`, `file.uploaded`, `file.deleted`, plus Trellis's `block.updated`,
 * `blocks.reordered`, `decision.recorded`, `comment.updated`, `comment.deleted`,
 * `page.published`, `page.updated`, `page.completed`, `page.revoked`, `page.expired`.
 */
export type PageEventType =
  | "blocks.appended"
  | "block.updated"
  | "blocks.reordered"
  | "action.executed"
  | "decision.recorded"
  | "comment.added"
  | "comment.updated"
  | "comment.deleted"
  | "file.uploaded"
  | "file.deleted"
  | "page.published"
  | "page.updated"
  | "page.completed"
  | "page.revoked"
  | "page.expired"

export interface PageEventInput {
  readonly type: PageEventType
  /** The event's `data` member on the wire. */
  readonly data: Readonly<Record<string, unknown>>
  /** Who caused it (`[email protected]`, `agent:refund-bot`, `system`). */
  readonly actor: string
  /**
   * Whether the publishing agent should hear of it on its agent stream and inbox: true for what
   * a person did (an action, a comment, an upload, a decision), false for the agent's own writes.
   */
  readonly toAgent: boolean
}

export class PageEvents extends Context.Service<PageEvents, {
  /** Records the event in the caller's transaction (page stream; agent stream and inbox when `toAgent`). */
  readonly emit: (page: PageRecord, event: PageEventInput) => Effect.Effect<void, SqlError>
}>()("pages/PageEvents") {}
