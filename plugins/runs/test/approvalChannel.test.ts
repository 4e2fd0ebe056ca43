/**
 * The approval seam the pages plugin (issue 13) builds on: a plugin registers an
 * `ApprovalChannel`; an `approval` step asks every channel (once, with the step's idempotency
 * key) before it waits, and the decision comes back through `Runs.approve` into the same wait.
 * A channel that fails is asked again per the step's retry policy (same key), then fails the
 * run naming the step and the channel.
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import * as TestKit from "trellis/testing"
import { StepFailed, StepRegistry } from "../StepRegistry.ts"
import type { ApprovalRequest } from "../StepRegistry.ts"
import { as, probePlugin, statusOf, tester, testRunsPlugin } from "./support.ts"
import type { Services } from "./support.ts"

const T = 120_000
const services = Effect.runSync(Deferred.make<Services>())

/** What the channel was asked, and how many times it should still fail ("flaky" messages). */
const asked: Array<ApprovalRequest> = []
const failures = new Map<string, number>()

const channelPlugin = TestKit.probe({ id: "approval_channel_probe", requires: ["runs"] }, Effect.gen(function*() {
  const steps = yield* StepRegistry
  yield* steps.addApprovalChannel({
    name: "recorder",
    open: (request) =>
      Effect.suspend(() => {
        asked.push(request)
        const left = failures.get(request.message ?? "") ?? 0
        if (left <= 0) return Effect.void
        failures.set(request.message ?? "", left - 1)
        return Effect.fail(new StepFailed({ message: "page store unavailable", retryable: true }))
      })
  })
}))

layer(TestKit.layer({ plugins: [testRunsPlugin(), probePlugin(services), channelPlugin] }), { timeout: T, excludeTestServices: true })(
  "runs: approval channels",
  (it) => {
    it.effect("an approval step asks the channel once with its key, then waits; approve continues the run", () =>
      Effect.gen(function*() {
        const { runs } = yield* Deferred.await(services)
        const started = yield* runs.run({
          input: { amount: "42" },
          steps: [
            { name: "draft", type: "render", template: "refund {{amount}}" },
            { name: "review", type: "approval", message: "Refund 42?" },
            { name: "after", type: "transform", op: "upper" }
          ]
        }).pipe(as(tester))
        yield* statusOf(runs, started.id, ["awaiting_approval"]).pipe(as(tester))
        const mine = asked.filter((r) => r.runId === started.id)
        assert.deepStrictEqual(mine.map((r) => [r.step, r.stepIndex, r.message, r.input, r.idempotencyKey]), [
          ["review", 1, "Refund 42?", "refund 42", `${started.id}:1`]
        ])
        yield* runs.approve(started.id, { notes: "ok" }).pipe(as(tester))
        const ended = yield* statusOf(runs, started.id, ["succeeded", "failed"]).pipe(as(tester))
        assert.strictEqual(ended.run.status, "succeeded")
        assert.deepStrictEqual(ended.checkpoints.map((c) => c.name), ["draft", "review", "after"])
        // Asked once: the step that ran again after the decision did not ask anew.
        assert.strictEqual(asked.filter((r) => r.runId === started.id).length, 1)
      }), T)

    it.effect("a failing channel is asked again with the same key; one that keeps failing fails the run naming the step", () =>
      Effect.gen(function*() {
        const { runs } = yield* Deferred.await(services)
        failures.set("flaky once", 1)
        const flaky = yield* runs.run({ steps: [{ name: "ask", type: "approval", message: "flaky once", retry: { limit: 2, delayMs: 10 } }] }).pipe(as(tester))
        yield* statusOf(runs, flaky.id, ["awaiting_approval"]).pipe(as(tester))
        const keys = asked.filter((r) => r.runId === flaky.id).map((r) => r.idempotencyKey)
        assert.deepStrictEqual(keys, [`${flaky.id}:0`, `${flaky.id}:0`])

        failures.set("down", 100)
        const down = yield* runs.run({ steps: [{ name: "ask", type: "approval", message: "down", retry: { limit: 1, delayMs: 10 } }] }).pipe(as(tester))
        const failed = yield* statusOf(runs, down.id, ["failed", "awaiting_approval"]).pipe(as(tester))
        assert.strictEqual(failed.run.status, "failed")
        assert.strictEqual(failed.run.error?.step, "ask")
        assert.include(failed.run.error?.message ?? "", "approval channel recorder: page store unavailable")
      }), T)
  }
)
