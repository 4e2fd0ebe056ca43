/**
 * The `Runs` seams other plugins code against, on a real server: `complete` ending a
 * `callback` wait (completed, failed, while paused, twice, racing), `awaitEnd` (the run once
 * ended; interruptible; another organization's run is not found) and `record` (a finished
 * one-step run with its usage and events).
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Option, Result } from "effect"
import * as TestKit from "trellis/testing"
import { RunNotFound, RunStatusConflict } from "../Errors.ts"
import type { StartRun } from "../Domain.ts"
import { as, outsider, statusOf, tester, testRunsPlugin } from "./support.ts"
import type { Services } from "./support.ts"
import { stepsPlugin } from "./httpSupport.ts"

const services = Effect.runSync(Deferred.make<Services>())
const T = 120_000

const callbackRun: StartRun = {
  title: "parent",
  steps: [
    { name: "child", type: "await_callback" },
    { name: "after", type: "render", template: "{{input}}!" }
  ],
  input: {}
}

layer(TestKit.layer({ plugins: [testRunsPlugin(), stepsPlugin(services)] }), { timeout: T, excludeTestServices: true })("runs service seams", (it) => {
  it.effect("complete ends a callback wait: the step gets a checkpoint, the run continues; a second call is a conflict", () =>
    Effect.gen(function*() {
      const { runs } = yield* Deferred.await(services)
      const run = yield* runs.run(callbackRun).pipe(as(tester))
      assert.match(run.id, /^\d+$/)
      const waiting = yield* statusOf(runs, run.id, ["waiting"])
      assert.strictEqual(waiting.wait?.kind, "callback")
      const wrongStep = yield* runs.complete(run.id, 1, { _tag: "Completed", output: "x" }).pipe(as(tester), Effect.result)
      assert.isTrue(Result.isFailure(wrongStep) && wrongStep.failure instanceof RunStatusConflict)
      const continued = yield* runs.complete(run.id, 0, { _tag: "Completed", output: "from the child" }).pipe(as(tester))
      assert.include(["queued", "running", "succeeded"], continued.status)
      const ended = yield* runs.awaitEnd(run.id).pipe(as(tester))
      assert.strictEqual(ended.status, "succeeded")
      assert.strictEqual(ended.output, "from the child!")
      const detail = yield* runs.get(run.id).pipe(as(tester))
      assert.deepStrictEqual(detail.checkpoints.map((c) => [c.name, c.output]), [["child", "from the child"], ["after", "from the child!"]])
      const again = yield* runs.complete(run.id, 0, { _tag: "Completed", output: "again" }).pipe(as(tester), Effect.result)
      assert.isTrue(Result.isFailure(again) && again.failure instanceof RunStatusConflict)
      assert.strictEqual((yield* runs.get(run.id).pipe(as(tester))).checkpoints[0]?.output, "from the child", "nothing changed")
    }), T)

  it.effect("a failed callback fails the run naming the step", () =>
    Effect.gen(function*() {
      const { runs } = yield* Deferred.await(services)
      const run = yield* runs.run(callbackRun).pipe(as(tester))
      yield* statusOf(runs, run.id, ["waiting"])
      yield* runs.complete(run.id, 0, { _tag: "Failed", message: "the child run failed" }).pipe(as(tester))
      const ended = yield* runs.awaitEnd(run.id).pipe(as(tester))
      assert.strictEqual(ended.status, "failed")
      assert.deepStrictEqual(ended.error, { stepIndex: 0, step: "child", message: "the child run failed" })
    }), T)

  it.effect("a callback that arrives while the run is paused is kept; resume continues without running the step again", () =>
    Effect.gen(function*() {
      const { runs } = yield* Deferred.await(services)
      const run = yield* runs.run(callbackRun).pipe(as(tester))
      yield* statusOf(runs, run.id, ["waiting"])
      yield* runs.pause(run.id).pipe(as(tester))
      const stillPaused = yield* runs.complete(run.id, 0, { _tag: "Completed", output: "late" }).pipe(as(tester))
      assert.strictEqual(stillPaused.status, "paused")
      yield* runs.resume(run.id).pipe(as(tester))
      // The callback step would wait again if it ran: the run ending proves it was replayed.
      const ended = yield* runs.awaitEnd(run.id).pipe(as(tester))
      assert.deepStrictEqual([ended.status, ended.output], ["succeeded", "late!"])
    }), T)

  it.effect("two racing completes: exactly one wins", () =>
    Effect.gen(function*() {
      const { runs } = yield* Deferred.await(services)
      const run = yield* runs.run(callbackRun).pipe(as(tester))
      yield* statusOf(runs, run.id, ["waiting"])
      const results = yield* Effect.all(
        [1, 2].map((n) => runs.complete(run.id, 0, { _tag: "Completed", output: `winner ${n}` }).pipe(as(tester), Effect.result)),
        { concurrency: 2 }
      )
      assert.strictEqual(results.filter(Result.isSuccess).length, 1)
      const ended = yield* runs.awaitEnd(run.id).pipe(as(tester))
      assert.include(["winner 1!", "winner 2!"], ended.output)
    }), T)

  it.effect("awaitEnd is interruptible and keeps to the caller's organization", () =>
    Effect.gen(function*() {
      const { runs } = yield* Deferred.await(services)
      const run = yield* runs.run(callbackRun).pipe(as(tester))
      yield* statusOf(runs, run.id, ["waiting"])
      const waited = yield* runs.awaitEnd(run.id).pipe(as(tester), Effect.timeoutOption("300 millis"))
      assert.isTrue(Option.isNone(waited), "the run is still waiting")
      const foreign = yield* runs.awaitEnd(run.id).pipe(as(outsider), Effect.result)
      assert.isTrue(Result.isFailure(foreign) && foreign.failure instanceof RunNotFound)
      const foreignComplete = yield* runs.complete(run.id, 0, { _tag: "Completed", output: "x" }).pipe(as(outsider), Effect.result)
      assert.isTrue(Result.isFailure(foreignComplete) && foreignComplete.failure instanceof RunNotFound)
      yield* runs.cancel(run.id).pipe(as(tester))
      assert.strictEqual((yield* runs.awaitEnd(run.id).pipe(as(tester))).status, "cancelled")
    }), T)

  it.effect("record stores a finished one-step run with its usage and events", () =>
    Effect.gen(function*() {
      const { runs } = yield* Deferred.await(services)
      const recorded = yield* runs.record({
        source: "playground",
        refKey: "hello",
        title: "playground call",
        input: { name: "Ada" },
        output: { text: "hi Ada" },
        usage: { provider: "mock", model: "mock-1", promptTokens: 3, outputTokens: 4, latencyMs: 12, status: "ok" }
      }).pipe(as(tester))
      assert.deepStrictEqual([recorded.status, recorded.source, recorded.refKey, recorded.output], ["succeeded", "playground", "hello", { text: "hi Ada" }])
      assert.deepStrictEqual(recorded.usage, { provider: "mock", model: "mock-1", modelCalls: 1, promptTokens: 3, outputTokens: 4, latencyMs: 12 })
      assert.isNotNull(recorded.finishedAt)
      const events = yield* runs.events(recorded.id, {}).pipe(as(tester))
      assert.deepStrictEqual(events.map((e) => e.kind), ["status", "model_call", "step_completed"])
      assert.strictEqual((yield* runs.awaitEnd(recorded.id).pipe(as(tester))).status, "succeeded")
      const failed = yield* runs.record({
        source: "agent",
        input: {},
        output: null,
        error: "boom",
        usage: { provider: "mock", model: "mock-1", promptTokens: 1, outputTokens: 0, latencyMs: 2, status: "error", error: "boom" }
      }).pipe(as(tester))
      assert.deepStrictEqual([failed.status, failed.error], ["failed", { stepIndex: 0, step: "agent", message: "boom" }])
      assert.isTrue(Number(failed.id) > Number(recorded.id), "ids come from one sequence")
    }), T)
})
