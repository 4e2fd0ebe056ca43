/**
 * Event retention, on embedded PGlite and (with `TRELLIS_TEST_DATABASE_URL`) PostgreSQL:
 * `prune` deletes expired events but keeps each stream's newest, numbering carries on after it,
 * a replay from before what is kept reports a `Gap` (and SSE a `gap` event) instead of
 * skipping, and the background job prunes on its own and survives a failed pass.
 *
 * The suite runs with 1 hour of retention and a 1-second prune interval; tests expire events
 * by pruning "in the future" or by moving `created_at` back.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Logger, Queue, Stream } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { Delivery } from "../../src/events/EventLog.ts"
import { EventLog } from "../../src/events/EventLog.ts"
import * as Sse from "../../src/events/Sse.ts"
import { embeddedDatabase, freshPostgres, postgresUrl, range, seqs, uniqueStream, withEventLog } from "./support.ts"

const T = 60_000
const hour = 3_600_000

/** Warnings logged while the suite's layer runs (the background pruner's included). */
const warnings: Array<string> = []
const captureWarnings = Logger.layer([
  Logger.make((entry) => {
    if (entry.logLevel === "Warn") warnings.push(Array.isArray(entry.message) ? entry.message.join(" ") : String(entry.message))
  })
])

/** "Later", as far as retention is concerned: every event appended so far has expired. */
const later = () => new Date(Date.now() + 2 * hour)

const appendAll = (stream: string, count: number) =>
  Effect.gen(function*() {
    const log = yield* EventLog
    for (let i = 1; i <= count; i++) yield* log.append(stream, "step", { i })
  })

/** The first `n` deliveries of a subscription (fails after 5 seconds). */
const firstDeliveries = (stream: Stream.Stream<Delivery, unknown>, n: number) =>
  stream.pipe(
    Stream.take(n),
    Stream.runCollect,
    Effect.map((chunk) => Array.from(chunk)),
    Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.die(new Error(`fewer than ${n} deliveries`)) })
  )

const describeDelivery = (d: Delivery) => d._tag === "Gap" ? `gap ${d.from}..${d.to}` : `event ${d.event.seq}`

/** Polls `check` every 100 ms until it holds (fails after `seconds`). */
const eventually = <E, R>(check: Effect.Effect<boolean, E, R>, what: string, seconds = 15) =>
  Effect.gen(function*() {
    const deadline = Date.now() + seconds * 1000
    while (!(yield* check)) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`not within ${seconds} s: ${what}`))
      yield* Effect.sleep("100 millis")
    }
  })

const suite = (name: string, database: Parameters<typeof withEventLog>[0]) =>
  layer(
    withEventLog(database, { TRELLIS_EVENTS_RETENTION_HOURS: "1", TRELLIS_EVENTS_PRUNE_INTERVAL_SECONDS: "1" }).pipe(
      Layer.provideMerge(captureWarnings)
    ),
    { excludeTestServices: true, timeout: "120 seconds" }
  )(name, (it) => {
    it.effect("deletes expired events but keeps each stream's newest, and numbering carries on", () =>
      Effect.gen(function*() {
        const log = yield* EventLog
        const a = uniqueStream("prune-a")
        const b = uniqueStream("prune-b")
        yield* appendAll(a, 5)
        yield* appendAll(b, 1)

        // Nothing has expired yet: the real clock is within the hour.
        yield* log.prune()
        assert.deepStrictEqual(seqs(yield* log.read(a, 0)), range(1, 5))

        const deleted = yield* log.prune(later())
        assert.isAtLeast(deleted, 4)
        assert.deepStrictEqual(seqs(yield* log.read(a, 0)), [5])
        assert.deepStrictEqual(seqs(yield* log.read(b, 0)), [1])
        assert.strictEqual(yield* log.lastSeq(a), 5)

        // The next number follows the last one ever given, not what is left in the table.
        assert.strictEqual((yield* log.append(a, "after", {})).seq, 6)
        assert.strictEqual((yield* log.append(b, "after", {})).seq, 2)
        yield* log.prune(later())
        assert.deepStrictEqual(seqs(yield* log.read(a, 0)), [6])
        assert.strictEqual((yield* log.append(a, "again", {})).seq, 7)
        // A second pass over the same horizon finds nothing more to delete.
        const before = seqs(yield* log.read(a, 0))
        yield* log.prune(later())
        assert.deepStrictEqual(seqs(yield* log.read(a, 0)), before.slice(-1))
      }), T)

    it.effect("deletes more than one batch in one pass", () =>
      Effect.gen(function*() {
        const log = yield* EventLog
        const sql = yield* SqlClient.SqlClient
        const stream = uniqueStream("batches")
        // 2,500 rows in one statement (appends one by one would be slow on the embedded database).
        yield* sql`INSERT INTO trellis.event_streams (stream, last_seq) VALUES (${stream}, 2500)`
        yield* sql`INSERT INTO trellis.events (stream, seq, event, data)
          SELECT ${stream}, n, 'bulk', '{}'::jsonb FROM generate_series(1, 2500) AS n`
        yield* log.prune(later())
        assert.deepStrictEqual(seqs(yield* log.read(stream, 0)), [2500])
        assert.strictEqual((yield* log.append(stream, "next", {})).seq, 2501)
      }), T)

    it.effect("a replay from before what is kept starts with a Gap, then carries on without one", () =>
      Effect.gen(function*() {
        const log = yield* EventLog
        const stream = uniqueStream("gap")
        yield* appendAll(stream, 5)
        yield* log.prune(later())

        const fromTwo = yield* firstDeliveries(log.subscribeWithGaps(stream, 2), 2)
        assert.deepStrictEqual(fromTwo, [
          { _tag: "Gap", stream, from: 3, to: 4 },
          { _tag: "Event", event: (yield* log.read(stream, 4))[0]! }
        ])
        assert.deepStrictEqual((yield* firstDeliveries(log.subscribeWithGaps(stream, 0), 2)).map(describeDelivery), [
          "gap 1..4",
          "event 5"
        ])
        // From the oldest kept event on, nothing was missed.
        assert.deepStrictEqual((yield* firstDeliveries(log.subscribeWithGaps(stream, 4), 1)).map(describeDelivery), ["event 5"])

        // Live events follow the gap, in order.
        const queue = yield* Queue.unbounded<Delivery>()
        yield* log.subscribeWithGaps(stream, 1).pipe(Stream.runForEach((d) => Queue.offer(queue, d)), Effect.forkScoped)
        const take = Effect.timeoutOrElse(Queue.take(queue), { duration: "5 seconds", orElse: () => Effect.die(new Error("no delivery")) })
        assert.strictEqual(describeDelivery(yield* take), "gap 2..4")
        assert.strictEqual(describeDelivery(yield* take), "event 5")
        yield* log.append(stream, "live", {})
        assert.strictEqual(describeDelivery(yield* take), "event 6")

        // `subscribe` skips the pruned events (and logs a warning).
        const plain = yield* log.subscribe(stream, 2).pipe(Stream.take(2), Stream.runCollect, Effect.timeout("5 seconds"))
        assert.deepStrictEqual(seqs(Array.from(plain)), [5, 6])
        assert.isTrue(warnings.some((w) => w.includes(`events 3..4 of ${stream} were pruned`)), warnings.join("\n"))
      }), T)

    it.effect("SSE: a client resuming from before what is kept gets a gap event first, with the id to resume from", () =>
      Effect.gen(function*() {
        const log = yield* EventLog
        const stream = uniqueStream("sse-gap")
        yield* appendAll(stream, 4)
        yield* log.prune(later())
        const text = yield* Sse.body(log, stream, 1, { heartbeat: "1 hour", shutdown: Effect.never }).pipe(
          Stream.decodeText,
          Stream.mapAccum(() => "", (buffer, chunk) => {
            const parts = (buffer + chunk).split("\n\n")
            const rest = parts.pop() ?? ""
            return [rest, parts]
          }),
          Stream.take(3),
          Stream.runCollect,
          Effect.timeout("5 seconds")
        )
        assert.deepStrictEqual(Array.from(text), [
          Sse.openFrame.trimEnd(),
          "id: 3\nevent: gap\ndata: {\"from\":2,\"to\":3}",
          "id: 4\nevent: step\ndata: {\"i\":4}"
        ])
      }), T)

    it.effect("the background job prunes on its own, and a failed pass does not stop it", () =>
      Effect.gen(function*() {
        const log = yield* EventLog
        const sql = yield* SqlClient.SqlClient
        const stream = uniqueStream("background")
        yield* appendAll(stream, 3)
        const backdate = sql`UPDATE trellis.events SET created_at = now() - interval '2 hours' WHERE stream = ${stream}`
        yield* backdate
        yield* eventually(Effect.map(log.read(stream, 0), (rows) => rows.length === 1), "the background job pruned")
        assert.deepStrictEqual(seqs(yield* log.read(stream, 0)), [3])

        // Make the next passes fail (the table is gone for a while), then bring it back.
        const failuresBefore = warnings.filter((w) => w.includes("pruning expired events failed")).length
        yield* sql.unsafe("ALTER TABLE trellis.events RENAME TO events_away")
        yield* eventually(
          Effect.sync(() => warnings.filter((w) => w.includes("pruning expired events failed")).length > failuresBefore),
          "a failed pass was logged as a warning"
        ).pipe(Effect.ensuring(Effect.orDie(sql.unsafe("ALTER TABLE trellis.events_away RENAME TO events"))))

        yield* appendAll(stream, 2)
        yield* backdate
        yield* eventually(Effect.map(log.read(stream, 0), (rows) => rows.length === 1), "the job pruned again after the failure")
        assert.deepStrictEqual(seqs(yield* log.read(stream, 0)), [5])
      }), T)
  })

describe("EventLog retention", () => {
  suite("embedded PGlite", embeddedDatabase)
  if (postgresUrl !== undefined) suite("PostgreSQL", freshPostgres(postgresUrl))
})
