/**
 * Durability across "processes": the server is booted, closed and booted again on the same
 * database (embedded directory, or PostgreSQL with TRELLIS_TEST_DATABASE_URL).
 *
 * - A crash mid-run: the first step's HTTP call completes and is checkpointed, the process goes
 *   away while the second step's call is in flight. The next process retries the job: the
 *   first step replays from its checkpoint (the sink counts one call), the second runs again
 *   with the same idempotency key.
 * - An approval wait holds no job; it survives a restart, and approving in the next process
 *   continues the run. A sleeping run wakes in the next process.
 * - PostgreSQL only (two processes on one database): a cancel made in one process interrupts
 *   the step the other is running (through the `runs.control` event stream's NOTIFY).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { as, eventually, restartable, sink, statusOf, tester } from "./support.ts"

const T = 180_000

describe("runs across restarts", () => {
  it.live("a step that completed before a crash is not executed again; the in-flight one re-runs with the same key", () =>
    Effect.gen(function*() {
      const server = yield* restartable
      const http = yield* sink
      http.setMode("/second", "hang")
      const runId = yield* Effect.scoped(Effect.gen(function*() {
        const { runs } = yield* server.boot
        const started = yield* runs.run({
          steps: [
            { name: "first", type: "http", url: http.url("/first"), method: "POST" },
            { name: "second", type: "http", url: http.url("/second"), method: "POST" },
            { name: "third", type: "transform", op: "upper" }
          ]
        }).pipe(as(tester))
        yield* http.arrived("/second", 1)
        return started.id
      }))
      // The first process is gone with the second step in flight.
      yield* eventually(Effect.sync(() => http.aborted("/second") === 1))
      http.setMode("/second", "ok")
      yield* Effect.scoped(Effect.gen(function*() {
        const { runs } = yield* server.boot
        const detail = yield* statusOf(runs, runId, ["succeeded", "failed", "cancelled"])
        assert.strictEqual(detail.run.status, "succeeded", JSON.stringify(detail.run.error))
        assert.deepStrictEqual(http.hits("/first").map((h) => h.key), [`${runId}:0`])
        assert.deepStrictEqual(http.hits("/second").map((h) => h.key), [`${runId}:1`, `${runId}:1`])
        assert.deepStrictEqual(detail.checkpoints.map((c) => c.name), ["first", "second", "third"])
        // The event history has no gap and no duplicate across the two processes.
        const events = yield* runs.events(runId, { limit: 1000 }).pipe(as(tester))
        assert.deepStrictEqual(events.map((e) => e.seq), events.map((_, i) => i + 1))
        assert.strictEqual(events.filter((e) => e.data._tag === "step_completed" && e.data.name === "first").length, 1)
      }))
    }), T)

  it.live("an approval wait survives a restart; approving in the next process continues the run", () =>
    Effect.gen(function*() {
      const server = yield* restartable
      const runId = yield* Effect.scoped(Effect.gen(function*() {
        const { runs } = yield* server.boot
        const started = yield* runs.run({
          input: { topic: "release" },
          steps: [
            { name: "draft", type: "render", template: "notes for {{topic}}" },
            { name: "review", type: "approval" },
            { name: "publish", type: "render", template: "{{steps.draft}} approved: {{steps.review.notes}}" }
          ]
        }).pipe(as(tester))
        const waiting = yield* statusOf(runs, started.id, ["awaiting_approval"])
        assert.strictEqual(waiting.wait?.kind, "approval")
        return started.id
      }))
      yield* Effect.scoped(Effect.gen(function*() {
        const { runs } = yield* server.boot
        const still = yield* runs.get(runId).pipe(as(tester))
        assert.strictEqual(still.run.status, "awaiting_approval")
        yield* runs.approve(runId, { notes: "lgtm" }).pipe(as(tester))
        const detail = yield* statusOf(runs, runId, ["succeeded", "failed"])
        assert.strictEqual(detail.run.output, "notes for release approved: lgtm")
        assert.strictEqual(detail.checkpoints.find((c) => c.name === "review")?.output !== undefined, true)
      }))
    }), T)

  it.live("a sleeping run wakes after a restart (its delayed job is in the database)", () =>
    Effect.gen(function*() {
      const server = yield* restartable
      const runId = yield* Effect.scoped(Effect.gen(function*() {
        const { runs } = yield* server.boot
        const started = yield* runs.run({ input: { x: "later" }, steps: [{ name: "nap", type: "sleep", ms: 1500 }, { name: "r", type: "render", template: "{{x}}" }] })
          .pipe(as(tester))
        yield* statusOf(runs, started.id, ["waiting"])
        return started.id
      }))
      yield* Effect.scoped(Effect.gen(function*() {
        const { runs } = yield* server.boot
        const detail = yield* statusOf(runs, runId, ["succeeded", "failed"])
        assert.strictEqual(detail.run.output, "later")
      }))
    }), T)

  it.live.skipIf(process.env.TRELLIS_TEST_DATABASE_URL === undefined || process.env.TRELLIS_TEST_DATABASE_URL === "")(
    "a cancel in one process aborts the step another process is running",
    () =>
      Effect.gen(function*() {
        const server = yield* restartable
        const http = yield* sink
        http.setMode("/hang", "hang")
        const first = yield* server.boot
        const started = yield* first.runs.run({
          steps: [{ name: "hang", type: "http", url: http.url("/hang") }, { name: "next", type: "http", url: http.url("/next") }]
        }).pipe(as(tester))
        yield* http.arrived("/hang", 1)
        // The run is executing in the first process; the second one cancels it.
        const second = yield* Effect.scoped(server.boot.pipe(Effect.flatMap(({ runs }) => runs.cancel(started.id).pipe(as(tester)))))
        assert.strictEqual(second.status, "cancelled")
        yield* eventually(Effect.sync(() => http.aborted("/hang") === 1))
        const detail = yield* first.runs.get(started.id).pipe(as(tester))
        assert.strictEqual(detail.run.status, "cancelled")
        assert.strictEqual(http.hits("/next").length, 0)
      }),
    T
  )
})
