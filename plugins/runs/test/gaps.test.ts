/**
 * The engine's safety nets, on a server whose runs plugin retries jobs once and sweeps every
 * second: a job that runs out of retries before it could claim its run fails the run (it is not
 * left `queued`); a run whose job is gone (dropped by the queue) is failed by the sweep; a
 * run-level timeout (`timeoutMs`) fails the run naming the step it was at, while a step runs and
 * while it waits for an approval; controls are in the platform's audit log.
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import { SqlClient } from "effect/sql"
import { AuditLog } from "trellis/plugin"
import * as TestKit from "trellis/testing"
import type { StartRun } from "../Domain.ts"
import { makeRunsPlugin } from "../Plugin.ts"
import { as, probePlugin, statusOf, tester } from "./support.ts"
import type { Services } from "./support.ts"

const services = Effect.runSync(Deferred.make<Services>())
const T = 120_000

const plugin = makeRunsPlugin({
  engine: { jobRetryLimit: 1, jobRetryDelaySeconds: 1, concurrency: 5, orphanSweepSeconds: 1, deadlineSweepSeconds: 1 }
})

/** Hands the test the platform's audit log. */
const audits = Effect.runSync(Deferred.make<AuditLog["Service"]>())
const auditProbe = TestKit.probe({ id: "runs_audit_probe", requires: ["audit"] }, Effect.flatMap(AuditLog, (audit) => Deferred.succeed(audits, audit)))

const setup = Effect.map(Deferred.await(services), ({ runs }) => runs)
const run = (input: StartRun) => Effect.flatMap(setup, (runs) => runs.run(input)).pipe(as(tester))

layer(TestKit.layer({ plugins: [plugin, probePlugin(services), auditProbe] }), { timeout: T, excludeTestServices: true })("runs engine safety nets", (it) => {
  it.effect("a job that runs out of retries before it claims its run fails the run, naming the step", () =>
    Effect.gen(function*() {
      const runs = yield* setup
      const sql = yield* SqlClient.SqlClient
      // The database refuses to let this run become `running`: every attempt fails at the claim.
      yield* sql`ALTER TABLE runs.runs ADD CONSTRAINT doomed_never_runs CHECK (status <> 'running' OR title IS DISTINCT FROM 'doomed') NOT VALID`
      const detail = yield* Effect.gen(function*() {
        const started = yield* run({ title: "doomed", steps: [{ name: "first", type: "transform", op: "upper" }] })
        return yield* statusOf(runs, started.id, ["failed", "succeeded"])
      }).pipe(Effect.ensuring(Effect.orDie(sql`ALTER TABLE runs.runs DROP CONSTRAINT doomed_never_runs`)))
      assert.strictEqual(detail.run.status, "failed")
      assert.strictEqual(detail.run.error?.step, "first")
      assert.include(detail.run.error?.message ?? "", "the engine gave up")
      const attempts = yield* sql<{ retry_count: number }>`
        SELECT retry_count FROM pgboss.job WHERE name = 'runs.execute' AND singleton_key = ${detail.run.id}`
      assert.deepStrictEqual(attempts.map((a) => Number(a.retry_count)), [1])
    }), T)

  it.effect("a run whose job is gone (dropped by the queue) is failed by the sweep, naming the step", () =>
    Effect.gen(function*() {
      const runs = yield* setup
      const sql = yield* SqlClient.SqlClient
      const started = yield* run({ steps: [{ name: "nap", type: "sleep", ms: 3_600_000 }, { name: "after", type: "transform", op: "upper" }] })
      yield* statusOf(runs, started.id, ["waiting"])
      // The delayed job that would wake it is dropped (as the queue's retention drops a job queued too long).
      const dropped = yield* sql`DELETE FROM pgboss.job WHERE name = 'runs.execute' AND singleton_key = ${started.id} AND state = 'created' RETURNING id`
      assert.strictEqual(dropped.length, 1)
      const detail = yield* statusOf(runs, started.id, ["failed", "succeeded"])
      assert.strictEqual(detail.run.error?.step, "nap")
      assert.include(detail.run.error?.message ?? "", "its job is gone")
    }), T)

  it.effect("a run-level timeout interrupts the step it is at and fails the run naming it", () =>
    Effect.gen(function*() {
      const runs = yield* setup
      const started = yield* run({
        timeoutMs: 300,
        steps: [{ name: "quick", type: "transform", op: "upper" }, { name: "slow", type: "mock", delayMs: 600_000, timeoutMs: 600_000 }]
      })
      const detail = yield* statusOf(runs, started.id, ["failed", "succeeded"])
      assert.deepStrictEqual(detail.run.error, { stepIndex: 1, step: "slow", message: "the run timed out" })
      assert.deepStrictEqual(detail.checkpoints.map((c) => c.name), ["quick"])
      const errors = yield* runs.events(started.id, { kinds: ["error"] }).pipe(as(tester))
      assert.deepStrictEqual(errors.map((e) => e.data._tag === "error" ? e.data.message : ""), ["step slow: the run timed out"])
    }), T)

  it.effect("a run-level timeout also ends a wait for an approval (waits count)", () =>
    Effect.gen(function*() {
      const runs = yield* setup
      const started = yield* run({ timeoutMs: 500, steps: [{ name: "draft", type: "render", template: "x" }, { name: "gate", type: "approval" }] })
      yield* statusOf(runs, started.id, ["awaiting_approval"])
      const detail = yield* statusOf(runs, started.id, ["failed", "succeeded"])
      assert.deepStrictEqual(detail.run.error, { stepIndex: 1, step: "gate", message: "the run timed out" })
    }), T)

  it.effect("controls are audited: who paused, cancelled or approved which run", () =>
    Effect.gen(function*() {
      const runs = yield* setup
      const audit = yield* Deferred.await(audits)
      const gated = yield* run({ steps: [{ name: "gate", type: "approval" }, { name: "after", type: "transform", op: "upper" }] })
      yield* statusOf(runs, gated.id, ["awaiting_approval"])
      yield* runs.approve(gated.id, { notes: "ok" }).pipe(as(tester))
      const held = yield* run({ steps: [{ name: "long", type: "mock", delayMs: 600_000 }] })
      yield* statusOf(runs, held.id, ["running"])
      yield* runs.pause(held.id).pipe(as(tester))
      yield* runs.cancel(held.id).pipe(as(tester))
      const entries = (yield* audit.list(tester.organizationId, { limit: 100, offset: 0 })).items
        .filter((e) => e.targetType === "run" && (e.targetId === gated.id || e.targetId === held.id))
        .map((e) => [e.action, e.targetId, e.actorId])
      assert.includeDeepMembers(entries, [
        ["runs.run.approve", gated.id, tester.id],
        ["runs.run.pause", held.id, tester.id],
        ["runs.run.cancel", held.id, tester.id]
      ])
    }), T)
})
