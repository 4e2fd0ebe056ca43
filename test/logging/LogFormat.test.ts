/**
 * The two line formats and the logger layer: what a JSON line and a pretty line hold (the
 * request id, annotations, structured fields, the cause), the minimum level, and the flush
 * when the layer closes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { CurrentRequestId } from "../../src/http/RequestId.ts"
import * as TrellisLogger from "../../src/logging/TrellisLogger.ts"
import type { LogFormat } from "../../src/logging/LogFormat.ts"

/** Runs `effect` with the Trellis logger writing to memory; returns the lines once it closed. */
const linesOf = <A, E>(effect: Effect.Effect<A, E>, format: LogFormat, level: TrellisLogger.Level = "info") =>
  Effect.gen(function*() {
    const chunks: Array<string> = []
    const layer = TrellisLogger.layer({ format, level, output: (chunk) => { chunks.push(chunk) } })
    yield* Effect.scoped(Effect.gen(function*() {
      const context = yield* Layer.build(layer)
      yield* Effect.exit(effect.pipe(Effect.provideContext(context)))
      // Still buffered: the sink writes on the next turn of the event loop, or when it closes.
      assert.deepStrictEqual(chunks, [])
    }))
    return chunks.join("").split("\n").filter((line) => line !== "")
  })

const accessLine = Effect.logInfo("http", { method: "GET", path: "/api/things", route: "/api/things/:id", status: 200, durationMs: 1.25 })

describe("log formats", () => {
  it.effect("json: one flat object per line, with the request id, annotations and fields", () =>
    Effect.gen(function*() {
      const lines = yield* linesOf(
        accessLine.pipe(Effect.annotateLogs({ plugin: "hello" }), Effect.provideService(CurrentRequestId, "req-7")),
        "json"
      )
      assert.strictEqual(lines.length, 1)
      const record = JSON.parse(lines[0]) as Record<string, unknown>
      assert.match(String(record.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      assert.strictEqual(record.level, "INFO")
      assert.strictEqual(record.message, "http")
      assert.strictEqual(record.requestId, "req-7")
      assert.strictEqual(record.plugin, "hello")
      assert.strictEqual(record.method, "GET")
      assert.strictEqual(record.route, "/api/things/:id")
      assert.strictEqual(record.status, 200)
      assert.strictEqual(record.durationMs, 1.25)
      assert.notProperty(record, "cause")
    }))

  it.effect("json: the cause as text; fields cannot override the line's own keys", () =>
    Effect.gen(function*() {
      const lines = yield* linesOf(
        Effect.logError("unhandled failure", { level: "fake", message: "fake", extra: 1 }).pipe(
          Effect.andThen(Effect.fail(new Error("the disk is full"))),
          Effect.catchCause((cause) => Effect.logError("it failed", cause))
        ),
        "json"
      )
      assert.strictEqual(lines.length, 2)
      const first = JSON.parse(lines[0]) as Record<string, unknown>
      assert.strictEqual(first.level, "ERROR")
      assert.strictEqual(first.message, "unhandled failure")
      assert.strictEqual(first.extra, 1)
      assert.notProperty(first, "requestId")
      const second = JSON.parse(lines[1]) as Record<string, unknown>
      assert.strictEqual(second.message, "it failed")
      assert.include(String(second.cause), "the disk is full")
    }))

  it.effect("pretty: time, level, message and key=value pairs on one line, the cause indented below", () =>
    Effect.gen(function*() {
      const lines = yield* linesOf(
        accessLine.pipe(
          Effect.andThen(Effect.logWarning("slow query", { sql: "select 1", ms: 250 })),
          Effect.andThen(Effect.die(new Error("kaput"))),
          Effect.catchCause((cause) => Effect.logError("bug", cause)),
          Effect.provideService(CurrentRequestId, "req-8")
        ),
        "pretty"
      )
      assert.match(
        lines[0],
        /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO http requestId=req-8 method=GET path=\/api\/things route=\/api\/things\/:id status=200 durationMs=1\.25$/
      )
      assert.match(lines[1], /\] WARN slow query requestId=req-8 sql="select 1" ms=250$/)
      assert.match(lines[2], /\] ERROR bug requestId=req-8$/)
      assert.match(lines[3], /^ {2}Error: kaput$/)
      assert.isTrue(lines.slice(4).every((line) => line.startsWith("  ")), "the stack stays indented")
    }))

  it.effect("the minimum level drops lower levels before they are formatted", () =>
    Effect.gen(function*() {
      const lines = yield* linesOf(
        Effect.logDebug("noise").pipe(Effect.andThen(accessLine), Effect.andThen(Effect.logWarning("kept"))),
        "json",
        "warn"
      )
      assert.deepStrictEqual(lines.map((line) => (JSON.parse(line) as { message: string }).message), ["kept"])
    }))
})
