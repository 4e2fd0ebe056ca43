/**
 * Typed event streams on the real event log (embedded PGlite): appends are encoded by the
 * stream's Schema, subscribers receive decoded values, an append that does not fit the Schema
 * writes nothing, and a stored event that no longer decodes arrives as a one-event gap.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Exit, Schema, Stream } from "effect"
import { EventLog } from "../../src/events/EventLog.ts"
import * as EventStream from "../../src/events/EventStream.ts"
import { embeddedDatabase, uniqueStream, withEventLog } from "../events/support.ts"

const Moved = Schema.Struct({
  id: Schema.String,
  at: Schema.Date
})

describe("EventStream", () => {
  layer(withEventLog(embeddedDatabase), { excludeTestServices: true, timeout: "120 seconds" })((it) => {
    it.effect("encodes on append, decodes on subscribe", () =>
      Effect.gen(function*() {
        const log = yield* EventLog
        const stream = EventStream.make(uniqueStream("typed"), Moved)
        const handle = stream.at("org_a")
        assert.strictEqual(handle.name, `${stream.prefix}.org_a`)
        const at = new Date("2026-01-02T03:04:05.000Z")
        const appended = yield* handle.append(log, "moved", { id: "m1", at })
        assert.strictEqual(appended.seq, 1)
        // Stored in its encoded (JSON) form.
        const [stored] = yield* log.read(handle.name, 0)
        assert.deepStrictEqual(stored?.data, { id: "m1", at: "2026-01-02T03:04:05.000Z" })
        const [received] = yield* handle.subscribe(log, 0).pipe(Stream.take(1), Stream.runCollect)
        assert.instanceOf(received?.data.at, Date)
        assert.strictEqual(received?.data.at.toISOString(), at.toISOString())
        assert.strictEqual(received?.data.id, "m1")
      }))

    it.effect("refuses data that does not fit the schema and writes nothing", () =>
      Effect.gen(function*() {
        const log = yield* EventLog
        const handle = EventStream.make(uniqueStream("typed"), Moved).at()
        const bad = { id: "m1", at: new Date("not a date") }
        const exit = yield* Effect.exit(handle.append(log, "moved", bad))
        assert.isTrue(Exit.isFailure(exit))
        assert.strictEqual(yield* log.lastSeq(handle.name), 0)
      }))

    it.effect("a stored event that does not decode is delivered as a gap of that event", () =>
      Effect.gen(function*() {
        const log = yield* EventLog
        const handle = EventStream.make(uniqueStream("typed"), Moved).at()
        yield* log.append(handle.name, "moved", { id: 42 })
        yield* handle.append(log, "moved", { id: "ok", at: new Date(0) })
        const deliveries = yield* handle.subscribeWithGaps(log, 0).pipe(Stream.take(2), Stream.runCollect)
        assert.deepStrictEqual(deliveries[0], { _tag: "Gap", stream: handle.name, from: 1, to: 1 })
        assert.strictEqual(deliveries[1]?._tag, "Event")
        const typed = yield* handle.subscribe(log, 0).pipe(Stream.take(1), Stream.runCollect)
        assert.deepStrictEqual(typed.map((e) => e.seq), [2])
      }))
  })
})
