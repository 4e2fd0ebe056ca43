/**
 * The `PageEvents` implementation, the page's typed event stream and the organization's agent
 * stream. Each page has its own stream in the platform's event log (`pages.page.<pageId>`), so
 * a subscriber of one page is woken only by that page's events and 1,000 viewers of one page
 * share one subscription hub. What a person did (`toAgent`) also goes to the organization's
 * agent stream (`pages.agent.<organizationId>`, what `GET /v1/agent/events` follows) and its
 * agent inbox (`pages.agent_events`, acknowledged one by one): all three in the caller's
 * transaction, so an event exists everywhere or nowhere.
 */
import { Clock, Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { EventLog, EventStream, Row } from "trellis/plugin"
import { PageEvents } from "./PageEvents.ts"

/** What a page stream's event carries: seed 003's `{type, data}` and who caused it. */
export const PageEventData = Schema.Struct({
  type: Schema.String,
  pageId: Schema.String,
  actor: Schema.String,
  data: Schema.Record(Schema.String, Schema.Unknown)
})
export type PageEventData = typeof PageEventData.Type

/** `pages.page.<pageId>`: one stream per page. */
export const PageStream = EventStream.make("pages.page", PageEventData)

/** What the agent stream's event carries: the agent event as `GET /v1/agent/inbox` shows it. */
export const AgentEventData = Schema.Struct({
  id: Schema.String,
  type: Schema.String,
  pageId: Schema.String,
  data: Schema.Record(Schema.String, Schema.Unknown),
  actor: Schema.String,
  createdAt: Schema.String
})
export type AgentEventData = typeof AgentEventData.Type

/** `pages.agent.<organizationId>`: one stream per organization. */
export const AgentStream = EventStream.make("pages.agent", AgentEventData)

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

/** `<prefix>` + `length` random lowercase alphanumerics (`evt_`, `cmt_`). */
export const newId = (prefix: string, length = 16): string => {
  let id = prefix
  const bytes = new Uint8Array(length * 2)
  while (id.length < prefix.length + length) {
    crypto.getRandomValues(bytes)
    // Bytes of 252 and above are skipped: 252 = 7 * 36, so every character is equally likely.
    for (const byte of bytes) if (byte < 252 && id.length < prefix.length + length) id += alphabet[byte % 36]
  }
  return id
}

export const layer = Layer.effect(
  PageEvents,
  Effect.gen(function*() {
    const log = yield* EventLog
    const sql = yield* SqlClient.SqlClient
    return PageEvents.of({
      emit: (page, event) =>
        Effect.gen(function*() {
          yield* PageStream.at(page.id).append(log, event.type, {
            type: event.type,
            pageId: page.id,
            actor: event.actor,
            data: event.data
          })
          if (!event.toAgent) return
          const id = newId("evt_")
          const createdAt = Row.iso(new Date(yield* Clock.currentTimeMillis))
          const appended = yield* AgentStream.at(page.organizationId).append(log, event.type, {
            id,
            type: event.type,
            pageId: page.id,
            data: event.data,
            actor: event.actor,
            createdAt
          })
          yield* sql`INSERT INTO pages.agent_events (id, organization_id, page_id, type, data, actor, seq, created_at)
            VALUES (${id}, ${page.organizationId}, ${page.id}, ${event.type}, ${Row.jsonb(event.data)}::jsonb,
              ${event.actor}, ${appended.seq}, ${createdAt}::timestamptz)`
        }).pipe(
          Effect.catchTag("InvalidEvent", Effect.die),
          sql.withTransaction
        )
    })
  })
)
