/**
 * The event log against real databases: embedded PGlite always, PostgreSQL when
 * `TRELLIS_TEST_DATABASE_URL` is set (a fresh database for this file). Numbering under
 * concurrency, replay-then-follow without gap or duplicate, transactions, and (PostgreSQL)
 * delivery across two independent clients and after the LISTEN connection is lost.
 */
import { assert, describe, layer } from "@effect/vitest"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Context, Effect, Exit, Fiber, Layer, Queue, Stream } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { EventLog } from "../../src/events/EventLog.ts"
import {
  embeddedDatabase,
  follow,
  freshPostgres,
  freshPostgresDatabase,
  leftover,
  postgresDatabase,
  postgresUrl,
  range,
  seqs,
  takeN,
  uniqueStream,
  withEventLog
} from "./support.ts"

const T = 60_000

class DatabaseUrl extends Context.Service<DatabaseUrl, string>()("test/events/DatabaseUrl") {}

const suite = (name: string, database: Parameters<typeof withEventLog>[0]) =>
  layer(withEventLog(database), { excludeTestServices: true, timeout: "120 seconds" })(name, (it) => {
    it.effect("numbers 100 concurrent appends to one stream 1..100, no gap, no duplicate", () =>
      Effect.gen(function*() {
        const log = yield* EventLog
        const stream = uniqueStream("concurrent")
        const appended = yield* Effect.forEach(range(1, 100), (i) => log.append(stream, "tick", { i }), {
          concurrency: "unbounded"
        })
        assert.deepStrictEqual([...seqs(appended)].sort((a, b) => a - b), range(1, 100))
        const stored = yield* log.read(stream, 0, 1000)
        assert.deepStrictEqual(seqs(stored), range(1, 100))
        assert.strictEqual(yield* log.lastSeq(stream), 100)
        // Each row holds the data of the append that got its number.
        const byI = new Map(appended.map((e) => [JSON.stringify(e.data), e.seq]))
        for (const e of stored) assert.strictEqual(byI.get(JSON.stringify(e.data)), e.seq)
      }), T)

    it.effect("keeps streams independent and round-trips data", () =>
      Effect.gen(function*() {
        const log = yield* EventLog
        const a = uniqueStream("a")
        const b = uniqueStream("b")
        const first = yield* log.append(a, "created", { title: "x", n: 1.5, list: [1, "two", null], nested: { ok: true } })
        const second = yield* log.append(b, "created", "just a string")
        assert.strictEqual(first.seq, 1)
        assert.strictEqual(second.seq, 1)
        assert.strictEqual((yield* log.append(a, "updated", null)).seq, 2)
        const [stored] = yield* log.read(a, 0, 1)
        assert.deepStrictEqual(stored?.data, { title: "x", n: 1.5, list: [1, "two", null], nested: { ok: true } })
        assert.strictEqual(stored?.event, "created")
        assert.isTrue(stored?.createdAt instanceof Date)
        assert.deepStrictEqual((yield* log.read(b, 0, 10)).map((e) => e.data), ["just a string"])
        assert.deepStrictEqual(seqs(yield* log.read(a, 1, 10)), [2])
        assert.strictEqual(yield* log.lastSeq(uniqueStream("none")), 0)
      }), T)

    it.effect("refuses bad stream names, event names and data", () =>
      Effect.gen(function*() {
        const log = yield* EventLog
        const stream = uniqueStream("invalid")
        for (const [s, e, d] of [
          ["", "ok", 1],
          [stream, "", 1],
          [stream, "two words", 1],
          [stream, "line\nbreak", 1],
          ["x".repeat(201), "ok", 1],
          [stream, "ok", undefined],
          [stream, "ok", 10n]
        ] as const) {
          const exit = yield* Effect.exit(log.append(s, e, d))
          assert.isTrue(Exit.isFailure(exit), `${JSON.stringify([s.slice(0, 10), e])} should be refused`)
          if (Exit.isFailure(exit)) {
            const error = exit.cause.reasons[0]
            assert.strictEqual(error?._tag === "Fail" ? error.error._tag : "not a failure", "InvalidEvent")
          }
        }
        assert.strictEqual(yield* log.lastSeq(stream), 0)
      }), T)

    it.effect("subscriber after 5 events with afterSeq=2 gets 3,4,5 then live 6,7", () =>
      Effect.gen(function*() {
        const log = yield* EventLog
        const stream = uniqueStream("replay-then-live")
        for (const i of range(1, 5)) yield* log.append(stream, "step", { i })
        const { queue } = yield* follow(log.subscribe(stream, 2))
        const replayed = yield* takeN(queue, 3)
        assert.deepStrictEqual(seqs(replayed), [3, 4, 5])
        assert.deepStrictEqual(replayed.map((e) => e.data), [{ i: 3 }, { i: 4 }, { i: 5 }])
        yield* log.append(stream, "step", { i: 6 })
        yield* log.append(stream, "step", { i: 7 })
        const live = yield* takeN(queue, 2, "2 seconds")
        assert.deepStrictEqual(seqs(live), [6, 7])
        assert.deepStrictEqual(live.map((e) => e.data), [{ i: 6 }, { i: 7 }])
        assert.deepStrictEqual(yield* leftover(queue), [])
      }), T)

    it.effect("events appended while a subscriber replays are neither lost nor duplicated", () =>
      Effect.gen(function*() {
        const log = yield* EventLog
        const stream = uniqueStream("replaying")
        // More than one replay page (1000), so the subscriber is still reading the table while
        // the concurrent appends commit.
        yield* Effect.forEach(range(1, 2500), (i) => log.append(stream, "bulk", { i }), { concurrency: 16, discard: true })
        const { queue } = yield* follow(log.subscribe(stream, 0))
        const writers = yield* Effect.forEach(range(1, 60), (i) => log.append(stream, "during", { i }), {
          concurrency: 8,
          discard: true
        }).pipe(Effect.forkScoped)
        const all = yield* takeN(queue, 2560, "30 seconds")
        yield* Fiber.join(writers)
        assert.deepStrictEqual(seqs(all), range(1, 2560))
        assert.deepStrictEqual(yield* leftover(queue), [])
      }), T)

    it.effect("a lagging subscriber whose live buffer overflowed catches up from the table", () =>
      Effect.gen(function*() {
        const log = yield* EventLog
        const stream = uniqueStream("lagging")
        // A consumer that stops after its first event: the subscription's buffer (256) slides.
        const gate = yield* Queue.bounded<number>(1)
        const received: Array<number> = []
        yield* Stream.runForEach(log.subscribe(stream, 0), (event) =>
          Effect.andThen(Queue.offer(gate, event.seq), Effect.sync(() => received.push(event.seq)))).pipe(Effect.forkScoped)
        yield* Effect.sleep("200 millis")
        yield* Effect.forEach(range(1, 700), (i) => log.append(stream, "flood", { i }), { concurrency: 4, discard: true })
        const drained: Array<number> = []
        while (drained.length < 700) {
          drained.push(yield* Queue.take(gate).pipe(Effect.timeoutOrElse({
            duration: "10 seconds",
            orElse: () => Effect.die(new Error(`stuck after ${drained.length}`))
          })))
        }
        assert.deepStrictEqual(drained, range(1, 700))
        yield* Effect.sleep("300 millis")
        assert.strictEqual(yield* Queue.size(gate), 0)
      }), T)

    it.effect("an append inside a caller's transaction commits and is delivered with it, or not at all", () =>
      Effect.gen(function*() {
        const log = yield* EventLog
        const sql = yield* SqlClient.SqlClient
        const stream = uniqueStream("transaction")
        const { queue } = yield* follow(log.subscribe(stream, 0))
        yield* Effect.sleep("100 millis")
        yield* sql.withTransaction(Effect.gen(function*() {
          const event = yield* log.append(stream, "inside", { n: 1 })
          assert.strictEqual(event.seq, 1)
          yield* Effect.sleep("300 millis")
          // Not delivered before commit.
          assert.strictEqual(yield* Queue.size(queue), 0)
        }))
        assert.deepStrictEqual(seqs(yield* takeN(queue, 1, "2 seconds")), [1])

        const rolledBack = yield* Effect.exit(sql.withTransaction(Effect.gen(function*() {
          yield* log.append(stream, "rolled-back", { n: 2 })
          return yield* Effect.fail("abort")
        })))
        assert.isTrue(Exit.isFailure(rolledBack))
        // The number given back with the rollback is reused: still no gap.
        const next = yield* log.append(stream, "after", { n: 3 })
        assert.strictEqual(next.seq, 2)
        const [delivered] = yield* takeN(queue, 1, "2 seconds")
        assert.strictEqual(delivered?.event, "after")
        assert.deepStrictEqual(yield* leftover(queue), [])
        assert.deepStrictEqual((yield* log.read(stream, 0, 10)).map((e) => e.event), ["inside", "after"])
      }), T)

    it.effect("several subscribers of one stream each get every event once", () =>
      Effect.gen(function*() {
        const log = yield* EventLog
        const stream = uniqueStream("fanout")
        yield* log.append(stream, "before", {})
        const followers = yield* Effect.forEach(range(1, 5), () => follow(log.subscribe(stream, 0)))
        yield* Effect.forEach(range(1, 20), (i) => log.append(stream, "live", { i }), { concurrency: 5, discard: true })
        for (const { queue } of followers) {
          assert.deepStrictEqual(seqs(yield* takeN(queue, 21)), range(1, 21))
        }
      }), T)
  })

describe("EventLog", () => {
  suite("embedded PGlite", embeddedDatabase)

  if (postgresUrl !== undefined) {
    const url = postgresUrl
    suite("PostgreSQL", freshPostgres(url))

    // Two independent clients on one fresh database stand in for two server processes.
    layer(
      Layer.effect(DatabaseUrl, freshPostgresDatabase(url)),
      { excludeTestServices: true, timeout: "120 seconds" }
    )("PostgreSQL, two processes", (it) => {
      it.effect("an event appended through one process reaches a subscriber on the other within a second", () =>
        Effect.gen(function*() {
          const dbUrl = yield* DatabaseUrl
          const a = yield* Layer.build(withEventLog(postgresDatabase(dbUrl)))
          const b = yield* Layer.build(withEventLog(postgresDatabase(dbUrl)))
          const logA = Context.get(a, EventLog)
          const logB = Context.get(b, EventLog)
          const stream = uniqueStream("cross-process")
          yield* logA.append(stream, "first", {})
          const { queue } = yield* follow(logB.subscribe(stream, 0))
          assert.deepStrictEqual(seqs(yield* takeN(queue, 1, "2 seconds")), [1])
          for (const i of range(2, 4)) {
            const started = Date.now()
            yield* logA.append(stream, "next", { i })
            const [event] = yield* takeN(queue, 1, "1 second")
            assert.strictEqual(event?.seq, i)
            assert.isBelow(Date.now() - started, 1000)
          }
          // And the other way round, to a subscriber on the appending process itself.
          const own = yield* follow(logA.subscribe(stream, 4))
          yield* logB.append(stream, "back", {})
          assert.deepStrictEqual(seqs(yield* takeN(own.queue, 1, "1 second")), [5])
          assert.deepStrictEqual(seqs(yield* takeN(queue, 1, "1 second")), [5])
        }), T)

      it.effect("subscribers catch up on events appended while the LISTEN connection was down", () =>
        Effect.gen(function*() {
          const dbUrl = yield* DatabaseUrl
          const a = yield* Layer.build(withEventLog(postgresDatabase(dbUrl)))
          const b = yield* Layer.build(withEventLog(postgresDatabase(dbUrl)))
          const logA = Context.get(a, EventLog)
          const logB = Context.get(b, EventLog)
          const sqlB = Context.get(b, PgClient.PgClient)
          const stream = uniqueStream("relisten")
          const { queue } = yield* follow(logB.subscribe(stream, 0))
          yield* logA.append(stream, "before", {})
          assert.deepStrictEqual(seqs(yield* takeN(queue, 1, "2 seconds")), [1])
          // Kill every LISTEN session on this database (both processes' followers).
          const killed = yield* sqlB<{ readonly pid: number }>`
            SELECT pg_terminate_backend(pid) AS killed, pid FROM pg_stat_activity
            WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()`
          assert.isAtLeast(killed.length, 1)
          yield* Effect.forEach(range(2, 4), (i) => logA.append(stream, "during-outage", { i }), { discard: true })
          assert.deepStrictEqual(seqs(yield* takeN(queue, 3, "10 seconds")), [2, 3, 4])
          yield* logA.append(stream, "after", {})
          assert.deepStrictEqual(seqs(yield* takeN(queue, 1, "2 seconds")), [5])
          assert.deepStrictEqual(yield* leftover(queue), [])
        }), T)
    })
  }
})

