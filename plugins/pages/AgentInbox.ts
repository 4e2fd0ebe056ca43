/**
 * The agent inbox: the events people caused on an organization's pages (`PageStreams.ts`
 * writes them), for an agent that polls instead of following `GET /v1/agent/events`. An event
 * stays pending until acknowledged; acknowledging is one guarded UPDATE, so it is idempotent
 * (the first acknowledgement's time and principal stay) and two racing calls agree.
 * Everything here is scoped to the caller's organization: another organization's event id
 * names nothing.
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { Row } from "trellis/plugin"
import type { AgentEventView } from "./LiveApi.ts"

const EventRow = Schema.Struct({
  id: Schema.String,
  type: Schema.String,
  page_id: Schema.String,
  data: Row.Json(Schema.Record(Schema.String, Schema.Unknown)),
  actor: Schema.String,
  seq: Schema.Union([Schema.Number, Schema.String, Schema.BigInt]),
  created_at: Row.Timestamp,
  acked_at: Schema.NullOr(Row.Timestamp),
  acked_by: Schema.NullOr(Schema.String)
})
const decodeRows = Row.decode(EventRow)
const columns = "id, type, page_id, data, actor, seq, created_at, acked_at, acked_by"

const toView = (row: typeof EventRow.Type): AgentEventView => ({
  id: row.id,
  type: row.type,
  pageId: row.page_id,
  data: row.data,
  actor: row.actor,
  seq: Number(row.seq),
  createdAt: row.created_at,
  acked: row.acked_at !== null,
  ackedAt: row.acked_at,
  ackedBy: row.acked_by
})

export class AgentInbox extends Context.Service<AgentInbox, {
  /** Pending events, oldest first (optionally of one page), and how many are pending in all. */
  readonly pending: (
    organizationId: string,
    options: { readonly limit: number; readonly pageId?: string | undefined }
  ) => Effect.Effect<{ readonly events: ReadonlyArray<AgentEventView>; readonly total: number }>
  readonly count: (organizationId: string) => Effect.Effect<number>
  /** Every agent event of one page (acknowledged or not), oldest first. */
  readonly ofPage: (organizationId: string, pageId: string, limit: number) => Effect.Effect<ReadonlyArray<AgentEventView>>
  /** Marks the event acknowledged (once); `None` when the organization has no such event. */
  readonly ack: (organizationId: string, eventId: string, by: string) => Effect.Effect<Option.Option<AgentEventView>>
  /** The events numbered `from..to` on the organization's agent stream (to fill a gap retention left). */
  readonly range: (organizationId: string, from: number, to: number) => Effect.Effect<ReadonlyArray<AgentEventView>>
  /** The agent stream's number of an event (to resume after `Last-Event-ID: evt_...`). */
  readonly seqOf: (organizationId: string, eventId: string) => Effect.Effect<Option.Option<number>>
}>()("pages/AgentInbox") {}

export const layer = Layer.effect(
  AgentInbox,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const select = <A>(query: Effect.Effect<A, unknown>) => query.pipe(Effect.orDie, Effect.flatMap(decodeRows))

    const pending = (organizationId: string, options: { readonly limit: number; readonly pageId?: string | undefined }) =>
      Effect.gen(function*() {
        const clauses = [sql`organization_id = ${organizationId}`, sql`acked_at IS NULL`]
        if (options.pageId !== undefined) clauses.push(sql`page_id = ${options.pageId}`)
        const rows = yield* select(sql`SELECT ${sql.literal(columns)} FROM pages.agent_events
          WHERE ${sql.and(clauses)} ORDER BY seq LIMIT ${options.limit}`)
        const counted = yield* sql<{ readonly n: number | string | bigint }>`SELECT count(*) AS n FROM pages.agent_events
          WHERE ${sql.and(clauses)}`.pipe(Effect.orDie)
        return { events: rows.map(toView), total: Number(counted[0]?.n ?? 0) }
      })

    const count = (organizationId: string) =>
      sql<{ readonly n: number | string | bigint }>`SELECT count(*) AS n FROM pages.agent_events
        WHERE organization_id = ${organizationId} AND acked_at IS NULL`.pipe(
        Effect.orDie,
        Effect.map((rows) => Number(rows[0]?.n ?? 0))
      )

    const ofPage = (organizationId: string, pageId: string, limit: number) =>
      select(sql`SELECT ${sql.literal(columns)} FROM pages.agent_events
        WHERE organization_id = ${organizationId} AND page_id = ${pageId} ORDER BY seq LIMIT ${limit}`).pipe(
        Effect.map((rows) => rows.map(toView))
      )

    const ack = (organizationId: string, eventId: string, by: string) =>
      Effect.gen(function*() {
        yield* sql`UPDATE pages.agent_events SET acked_at = now(), acked_by = ${by}
          WHERE organization_id = ${organizationId} AND id = ${eventId} AND acked_at IS NULL`.pipe(Effect.orDie)
        const rows = yield* select(sql`SELECT ${sql.literal(columns)} FROM pages.agent_events
          WHERE organization_id = ${organizationId} AND id = ${eventId}`)
        return Option.map(Option.fromNullishOr(rows[0]), toView)
      })

    const seqOf = (organizationId: string, eventId: string) =>
      sql<{ readonly seq: number | string | bigint }>`SELECT seq FROM pages.agent_events
        WHERE organization_id = ${organizationId} AND id = ${eventId}`.pipe(
        Effect.orDie,
        Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), (row) => Number(row.seq)))
      )

    const range = (organizationId: string, from: number, to: number) =>
      select(sql`SELECT ${sql.literal(columns)} FROM pages.agent_events
        WHERE organization_id = ${organizationId} AND seq BETWEEN ${from} AND ${to} ORDER BY seq`).pipe(
        Effect.map((rows) => rows.map(toView))
      )

    return AgentInbox.of({ pending, count, ofPage, ack, range, seqOf })
  })
)
