/**
 * Sub-runs known to the engine (`Runs.run(input, { parent })`), on a real server with a test
 * step type `spawn` that starts its `children` (each a list of steps) as sub-runs of itself and
 * waits (`callback`; with `rerun` unless `mode: "complete"`):
 *
 * - a child's end resumes the parent in the child's terminal transaction, with no job held
 *   while the parent waits; with `rerun` the step executes again and reads its children, without
 *   it the step completes with the child's output (a failed child fails it, naming the step);
 * - a cancel or run-level timeout of the parent cancels its children, and theirs;
 * - the link is in the database: a restart while the parent waits, or right after its child
 *   ended, loses nothing.
 */
import { assert, describe, layer } from "@effect/vitest"
import { it } from "@effect/vitest"
import { Deferred, Effect, Layer } from "effect"
import * as TestKit from "trellis/testing"
import { CurrentPrincipal, JobQueue, Plugin, Principal, systemPrincipal } from "trellis/plugin"
import type { StepDefinition } from "../Domain.ts"
import { executeQueue } from "../Runs.ts"
import { Runs } from "../RunsService.ts"
import { done, StepRegistry, wait } from "../StepRegistry.ts"
import { as, eventually, restartableWith, statusOf, tester, testRunsPlugin } from "./support.ts"

const T = 180_000

interface Probe {
  readonly runs: Runs["Service"]
  readonly jobs: JobQueue["Service"]
}

/** The `spawn` step type, and a probe handing the test `Runs` and `JobQueue`. */
const spawnPlugin = (probe?: Deferred.Deferred<Probe>) =>
  Plugin.make({
    id: "runs_test_spawn",
    version: "0.0.0",
    description: "test step type starting sub-runs",
    groups: [],
    migrations: [],
    requires: ["runs"],
    layer: Layer.effectDiscard(Effect.gen(function*() {
      const runs = yield* Runs
      const steps = yield* StepRegistry
      const jobs = yield* JobQueue
      yield* steps.register({
        type: "spawn",
        timeoutMs: 10_000,
        retry: { limit: 0 },
        validate: (step) => (Array.isArray(step.children) ? undefined : "children: a list of step lists"),
        execute: (context) =>
          Effect.gen(function*() {
            const rerun = context.step.mode !== "complete"
            yield* context.log("spawn executed")
            const children = yield* context.children
            if (children.length === 0) {
              const principal = new Principal({ ...systemPrincipal("spawn"), organizationId: context.organizationId })
              for (const [i, childSteps] of (context.step.children as ReadonlyArray<ReadonlyArray<StepDefinition>>).entries()) {
                yield* runs.run({ title: `child ${i}`, source: "spawn", steps: childSteps }, {
                  parent: { runId: context.runId, stepIndex: context.stepIndex }
                }).pipe(Effect.provideService(CurrentPrincipal, principal), Effect.orDie)
              }
              return wait("callback", undefined, { rerun })
            }
            const open = children.filter((c) => c.status !== "succeeded" && c.status !== "failed" && c.status !== "cancelled")
            if (!rerun || open.length > 0) return wait("callback", undefined, { rerun })
            return done(children.map((c) => `${c.status}:${JSON.stringify(c.output)}`))
          })
      }).pipe(Effect.orDie)
      if (probe !== undefined) yield* Deferred.succeed(probe, { runs, jobs })
    }))
  })

const approvalChild: ReadonlyArray<StepDefinition> = [{ name: "hold", type: "approval" }, { name: "say", type: "render", template: "approved" }]

/** The `count` sub-runs (and theirs) started after `parentId`, oldest first (the tests run one at a time). */
const childrenOf = (runs: Runs["Service"], parentId: string, count: number) =>
  Effect.gen(function*() {
    for (;;) {
      const page = yield* runs.list({ source: "spawn", limit: 100 })
      const found = page.data.filter((r) => r.title?.startsWith("child ") === true && Number(r.id) > Number(parentId))
      if (found.length >= count) return found.slice(-count).reverse()
      yield* Effect.sleep("50 millis")
    }
  }).pipe(as(tester))

const executions = (runs: Runs["Service"], runId: string) =>
  Effect.map(runs.events(runId, { kinds: ["log"], limit: 1000 }), (events) =>
    events.filter((e) => e.data._tag === "log" && e.data.message === "spawn executed").length).pipe(as(tester))

const probe = Effect.runSync(Deferred.make<Probe>())

layer(TestKit.layer({ plugins: [testRunsPlugin(), spawnPlugin(probe)] }), { timeout: T, excludeTestServices: true })("sub-runs", (it) => {
  it.effect("each child's end re-executes the waiting step (rerun); no job is held while it waits", () =>
    Effect.gen(function*() {
      const { runs, jobs } = yield* Deferred.await(probe)
      const parent = yield* runs.run({ title: "parent", steps: [{ name: "fan", type: "spawn", children: [approvalChild, approvalChild] }] }).pipe(as(tester))
      const [first, second] = yield* childrenOf(runs, parent.id, 2)
      yield* statusOf(runs, first.id, ["awaiting_approval"])
      yield* statusOf(runs, second.id, ["awaiting_approval"])
      const waiting = yield* statusOf(runs, parent.id, ["waiting"])
      assert.strictEqual(waiting.wait?.kind, "callback")
      // Nothing executes or watches: no job of the parent or its children is queued or running.
      assert.strictEqual((yield* jobs.unsettled(executeQueue, [parent.id, first.id, second.id])).size, 0)
      const before = yield* executions(runs, parent.id)

      yield* runs.approve(first.id, {}).pipe(as(tester))
      yield* statusOf(runs, first.id, ["succeeded"])
      // The step ran again, saw one child open, and waits again.
      yield* eventually(Effect.map(executions(runs, parent.id), (n) => n > before))
      yield* statusOf(runs, parent.id, ["waiting"])
      assert.strictEqual((yield* runs.get(parent.id).pipe(as(tester))).run.status, "waiting")

      yield* runs.approve(second.id, {}).pipe(as(tester))
      const ended = yield* runs.awaitEnd(parent.id).pipe(as(tester))
      assert.strictEqual(ended.status, "succeeded", JSON.stringify(ended.error))
      assert.deepStrictEqual(ended.output, [`succeeded:"approved"`, `succeeded:"approved"`])
    }), T)

  it.effect("many quick children ending while the parent stores its wait, and at once: none is lost", () =>
    Effect.gen(function*() {
      const { runs } = yield* Deferred.await(probe)
      const quick = Array.from({ length: 8 }, (_, i): ReadonlyArray<StepDefinition> => [{ name: "r", type: "render", template: `c${i}` }])
      const parents = yield* Effect.forEach([1, 2, 3], () =>
        runs.run({ title: "parent", steps: [{ name: "fan", type: "spawn", children: quick }] }).pipe(as(tester)), { concurrency: 3 })
      for (const parent of parents) {
        const ended = yield* runs.awaitEnd(parent.id).pipe(as(tester))
        assert.strictEqual(ended.status, "succeeded", JSON.stringify(ended.error))
        assert.deepStrictEqual(ended.output, quick.map((_, i) => `succeeded:"c${i}"`))
      }
    }), T)

  it.effect("without rerun the child's result completes the step: executed once; a failed child fails it, naming the step", () =>
    Effect.gen(function*() {
      const { runs } = yield* Deferred.await(probe)
      const parent = yield* runs.run({
        title: "parent",
        steps: [{ name: "one", type: "spawn", mode: "complete", children: [approvalChild] }, { name: "after", type: "render", template: "<{{input}}>" }]
      }).pipe(as(tester))
      const [child] = yield* childrenOf(runs, parent.id, 1)
      yield* statusOf(runs, child.id, ["awaiting_approval"])
      yield* statusOf(runs, parent.id, ["waiting"])
      yield* runs.approve(child.id, {}).pipe(as(tester))
      const ended = yield* runs.awaitEnd(parent.id).pipe(as(tester))
      assert.strictEqual(ended.status, "succeeded", JSON.stringify(ended.error))
      assert.strictEqual(ended.output, "<approved>")
      assert.strictEqual(yield* executions(runs, parent.id), 1)

      // A child that ends before its parent stored the wait (a render is quick) still completes it.
      const quick = yield* runs.run({
        title: "parent",
        steps: [{ name: "one", type: "spawn", mode: "complete", children: [[{ name: "r", type: "render", template: "fast" }]] }]
      }).pipe(as(tester))
      assert.strictEqual((yield* runs.awaitEnd(quick.id).pipe(as(tester))).output, "fast")

      const failing = yield* runs.run({ title: "parent", steps: [{ name: "one", type: "spawn", mode: "complete", children: [approvalChild] }] }).pipe(as(tester))
      const [rejected] = yield* childrenOf(runs, failing.id, 1)
      yield* statusOf(runs, rejected.id, ["awaiting_approval"])
      yield* statusOf(runs, failing.id, ["waiting"])
      yield* runs.reject(rejected.id, {}).pipe(as(tester))
      const failed = yield* runs.awaitEnd(failing.id).pipe(as(tester))
      assert.strictEqual(failed.status, "failed")
      assert.strictEqual(failed.error?.step, "one")
      assert.include(failed.error?.message ?? "", `sub-run ${rejected.id} failed`)
    }), T)

  it.effect("cancelling a parent cancels its children and theirs; a parent's run-level timeout cancels them too", () =>
    Effect.gen(function*() {
      const { runs } = yield* Deferred.await(probe)
      const parent = yield* runs.run({
        title: "parent",
        steps: [{ name: "fan", type: "spawn", children: [[{ name: "inner", type: "spawn", children: [approvalChild] }]] }]
      }).pipe(as(tester))
      const [child, grandchild] = yield* childrenOf(runs, parent.id, 2)
      yield* statusOf(runs, grandchild.id, ["awaiting_approval"])
      yield* statusOf(runs, child.id, ["waiting"])
      yield* statusOf(runs, parent.id, ["waiting"])
      yield* runs.cancel(parent.id).pipe(as(tester))
      // In the cancel's transaction: all three have ended when it returns.
      for (const id of [parent.id, child.id, grandchild.id]) {
        assert.strictEqual((yield* runs.get(id).pipe(as(tester))).run.status, "cancelled", id)
      }

      const timed = yield* runs.run({ title: "parent", timeoutMs: 300, steps: [{ name: "fan", type: "spawn", children: [approvalChild] }] }).pipe(as(tester))
      const [held] = yield* childrenOf(runs, timed.id, 1)
      assert.strictEqual((yield* runs.awaitEnd(timed.id).pipe(as(tester))).status, "failed")
      assert.strictEqual((yield* runs.awaitEnd(held.id).pipe(as(tester))).status, "cancelled")
    }), T)
})

describe("sub-runs across restarts", () => {
  it.live("the link is in the database: a restart while the parent waits, and one right after the child ended, lose nothing", () =>
    Effect.gen(function*() {
      const server = yield* restartableWith([spawnPlugin()])
      const start = (runs: Runs["Service"]) =>
        Effect.gen(function*() {
          const parent = yield* runs.run({ title: "parent", steps: [{ name: "one", type: "spawn", mode: "complete", children: [approvalChild] }] })
          const [child] = yield* childrenOf(runs, parent.id, 1)
          yield* statusOf(runs, child.id, ["awaiting_approval"])
          yield* statusOf(runs, parent.id, ["waiting"])
          return { parent: parent.id, child: child.id }
        }).pipe(as(tester))
      // 1: the process goes away while the parent waits; the child is approved in the next one.
      // 2: the child is approved and the process goes away at once (its job and the parent's may
      //    or may not have run): the next process finishes both.
      const [waitingPair, endedPair] = yield* Effect.scoped(Effect.gen(function*() {
        const { runs } = yield* server.boot
        const a = yield* start(runs)
        const b = yield* start(runs)
        yield* runs.approve(b.child, {}).pipe(as(tester))
        return [a, b] as const
      }))
      yield* Effect.scoped(Effect.gen(function*() {
        const { runs } = yield* server.boot
        assert.strictEqual((yield* runs.get(waitingPair.parent).pipe(as(tester))).run.status, "waiting")
        yield* runs.approve(waitingPair.child, {}).pipe(as(tester))
        for (const pair of [waitingPair, endedPair]) {
          const parent = yield* statusOf(runs, pair.parent, ["succeeded", "failed", "cancelled"])
          assert.strictEqual(parent.run.status, "succeeded", JSON.stringify(parent.run.error))
          assert.strictEqual(parent.run.output, "approved")
          assert.strictEqual((yield* runs.get(pair.child).pipe(as(tester))).run.status, "succeeded")
        }
      }))
    }), T)
})
