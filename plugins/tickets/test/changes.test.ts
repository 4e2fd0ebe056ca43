/**
 * Ticket status changes over HTTP are published on the `tickets.changes` event stream
 * (`Streams.ts`), in order, with the status after each change and the completion notes; a
 * refused transition and a field edit publish nothing. Read back through the typed stream.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import * as TestKit from "trellis/testing"
import { TicketsPlugin } from "../Plugin.ts"
import { TicketChanges, ticketChangesStream } from "../Streams.ts"
import { createTicket, project, start, ticketPath } from "./support.ts"

/** The stream's events of one ticket, as `[event, status, notes]`. */
const changesOf = (ticketId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly event: string; readonly data: unknown }>`
      SELECT event, data FROM trellis.events WHERE stream = ${ticketChangesStream} ORDER BY seq`
    return rows
      .map((r) => ({ event: r.event, data: (typeof r.data === "string" ? JSON.parse(r.data) : r.data) as typeof TicketChanges.schema.Type }))
      .filter((r) => r.data.ticket_id === ticketId)
      .map((r) => [r.event, r.data.status, r.data.completion_notes] as const)
  })

describe("tickets: change events", () => {
  layer(TestKit.layer({ plugins: [TicketsPlugin] }), { timeout: 120_000 })((it) => {
    it.effect("each status change is one event in order; refusals and edits publish nothing", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const p = yield* project()
        const ticket = yield* createTicket(p.id, { title: "Publish me", description: "A ticket whose changes are followed." })
        // A field edit is not a status change.
        const edited = yield* kit.request("PUT", ticketPath(p.id, ticket.id), { body: { priority: "high" } })
        assert.strictEqual(edited.status, 200)
        const claimed = yield* start(p.id, ticket.id)
        // Refused: resolve before complete.
        assert.strictEqual((yield* kit.request("POST", ticketPath(p.id, ticket.id, "/resolve"))).status, 409)
        const completed = yield* kit.request("POST", ticketPath(p.id, ticket.id, "/complete"), {
          body: { notes: "all done", lease_epoch: claimed.ticket.lease_epoch }
        })
        assert.strictEqual(completed.status, 200)
        assert.strictEqual((yield* kit.request("POST", ticketPath(p.id, ticket.id, "/resolve"))).status, 200)
        assert.deepStrictEqual(yield* changesOf(ticket.id), [
          ["ticket.create", "open", null],
          ["ticket.start", "in_progress", null],
          ["ticket.complete", "review", "all done"],
          ["ticket.resolve", "done", "all done"]
        ])
        const other = yield* createTicket(p.id, { title: "Drop me", description: "A ticket that is dismissed at once." })
        assert.strictEqual((yield* kit.request("POST", ticketPath(p.id, other.id, "/dismiss"))).status, 200)
        const dismissed = yield* changesOf(other.id)
        assert.deepStrictEqual(dismissed, [["ticket.create", "open", null], ["ticket.dismiss", "cancelled", null]])
      }))
  })
})
