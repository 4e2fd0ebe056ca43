/**
 * The run engine on a real server (embedded PGlite, or PostgreSQL with
 * TRELLIS_TEST_DATABASE_URL), through the `Runs` service other plugins use: PromptOps's
 * render/transform threading, conditions, mock retries, checkpoints and idempotency keys at a
 * local HTTP sink, cancel aborting an in-flight HTTP step, pause at the step boundary, retry
 * from the failed step, sleep, racing controls, the event sequence, validation and tenancy.
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Result, Stream } from "effect"
import { SqlClient } from "effect/sql"
import * as TestKit from "trellis/testing"
import { InvalidRunDefinition, RunNotFound, RunStatusConflict } from "../Errors.ts"
import type { RunPage, StartRun } from "../Domain.ts"
import { done } from "../StepRegistry.ts"
import { as, eventually, outsider, probePlugin, sink, statusOf, tester, testRunsPlugin } from "./support.ts"
import type { Services } from "./support.ts"

const services = Effect.runSync(Deferred.make<Services>())
const T = 120_000

const setup = Effect.gen(function*() {
  const { runs, steps } = yield* Deferred.await(services)
  return { runs, steps }
})

const run = (input: StartRun) => Effect.flatMap(setup, ({ runs }) => runs.run(input)).pipe(as(tester))

layer(TestKit.layer({ plugins: [testRunsPlugin(), probePlugin(services)] }), { timeout: T, excludeTestServices: true })("runs engine", (it) => {
  it.effect("threads render, transform and mock outputs through the steps", () =>
    Effect.gen(function*() {
      const { runs } = yield* setup
      const started = yield* run({
        title: "greeting",
        source: "workflow",
        input: { name: "Ada" },
        steps: [
          { name: "greet", type: "render", template: "  hello {{name}}  " },
          { name: "trim", type: "transform", op: "trim" },
          { name: "shout", type: "transform", op: "upper" },
          { name: "model", type: "mock", text: "model says {{input}} to {{ steps.greet }}" }
        ]
      })
      assert.strictEqual(started.status, "queued")
      const detail = yield* statusOf(runs, started.id, ["succeeded", "failed"])
      assert.strictEqual(detail.run.status, "succeeded")
      assert.deepStrictEqual(detail.run.output, { provider: "mock", model: "mock-1", output: "model says HELLO ADA to   hello Ada  " })
      assert.deepStrictEqual(detail.checkpoints.map((c) => [c.name, c.output]), [
        ["greet", "  hello Ada  "],
        ["trim", "hello Ada"],
        ["shout", "HELLO ADA"],
        ["model", { provider: "mock", model: "mock-1", output: "model says HELLO ADA to   hello Ada  " }]
      ])
      assert.deepStrictEqual(detail.checkpoints.map((c) => c.idempotencyKey), [0, 1, 2, 3].map((i) => `${started.id}:${i}`))
      // Events are numbered 1..n with no gap, and tell the story in order.
      const events = yield* runs.events(started.id, {}).pipe(as(tester))
      assert.deepStrictEqual(events.map((e) => e.seq), events.map((_, i) => i + 1))
      const statuses = events.flatMap((e) => (e.data._tag === "status" ? [e.data.to] : []))
      assert.deepStrictEqual(statuses, ["queued", "running", "succeeded"])
      assert.strictEqual(events.filter((e) => e.data._tag === "step_completed").length, 4)
      // Replay from a Last-Event-ID: exactly the later events.
      const later = yield* runs.events(started.id, { since: 3 }).pipe(as(tester))
      assert.deepStrictEqual(later.map((e) => e.seq), events.slice(3).map((e) => e.seq))
      const followed = yield* runs.follow(started.id, events.length - 2).pipe(as(tester))
      const tail = yield* followed.pipe(Stream.take(2), Stream.runCollect)
      assert.deepStrictEqual(tail.map((e) => e.seq), [events.length - 1, events.length])
    }), T)

  it.effect("a condition ends the run or jumps forward; mock errors retry per the step's policy", () =>
    Effect.gen(function*() {
      const { runs } = yield* setup
      const ended = yield* run({
        input: { mode: "draft" },
        steps: [
          { name: "check", type: "condition", value: "{{mode}}", equals: "publish" },
          { name: "never", type: "mock", error: "must not run", retryable: false }
        ]
      })
      const endedDetail = yield* statusOf(runs, ended.id, ["succeeded", "failed"])
      assert.strictEqual(endedDetail.run.status, "succeeded")
      assert.deepStrictEqual(endedDetail.checkpoints.map((c) => c.name), ["check"])

      const flaky = yield* run({
        steps: [
          { name: "flaky", type: "mock", text: "ok", error: "provider outage", errorTimes: 2, retry: { limit: 2, delayMs: 1 } },
          { name: "skip", type: "condition", contains: "nope", else: "last" },
          { name: "skipped", type: "mock", error: "must not run", retryable: false },
          { name: "last", type: "transform", op: "upper" }
        ]
      })
      const flakyDetail = yield* statusOf(runs, flaky.id, ["succeeded", "failed"])
      assert.strictEqual(flakyDetail.run.status, "succeeded", JSON.stringify(flakyDetail.run.error))
      assert.deepStrictEqual(flakyDetail.checkpoints.map((c) => [c.name, c.attempts]), [["flaky", 3], ["skip", 1], ["last", 1]])
      const failures = (yield* runs.events(flaky.id, { kinds: ["step_failed"] }).pipe(as(tester))).map((e) => e.data)
      assert.deepStrictEqual(failures.map((f) => f._tag === "step_failed" && f.willRetry), [true, true])

      const broken = yield* run({ steps: [{ name: "down", type: "mock", error: "provider outage", retry: { limit: 1, delayMs: 1 } }] })
      const brokenDetail = yield* statusOf(runs, broken.id, ["succeeded", "failed"])
      assert.strictEqual(brokenDetail.run.status, "failed")
      assert.deepStrictEqual(brokenDetail.run.error, { stepIndex: 0, step: "down", message: "provider outage" })
    }), T)

  it.effect("bad definitions are refused naming the step, and nothing is stored", () =>
    Effect.gen(function*() {
      const { runs } = yield* setup
      const before = (yield* runs.list({ limit: 100 }).pipe(as(tester))).data.length
      const unknown = yield* Effect.flip(run({ steps: [{ name: "a", type: "render", template: "x" }, { name: "b", type: "teleport" }] }))
      assert.instanceOf(unknown, InvalidRunDefinition)
      assert.strictEqual(unknown.stepIndex, 1)
      assert.strictEqual(unknown.step, "b")
      const badMembers = yield* Effect.flip(run({ steps: [{ name: "t", type: "transform", op: "reverse" }] }))
      assert.strictEqual(badMembers.step, "t")
      const duplicate = yield* Effect.flip(run({ steps: [{ name: "t", type: "transform", op: "upper" }, { name: "t", type: "transform", op: "lower" }] }))
      assert.include(duplicate.reason, "duplicate")
      const backwards = yield* Effect.flip(run({
        steps: [{ name: "a", type: "transform", op: "upper" }, { name: "c", type: "condition", equals: "x", else: "a" }]
      }))
      assert.include(backwards.reason, "later step")
      const scheme = yield* Effect.flip(run({ steps: [{ name: "get", type: "http", url: "file:///etc/passwd" }] }))
      assert.deepStrictEqual([scheme.step, scheme.reason], ["get", "url must be http(s)"])
      assert.strictEqual((yield* runs.list({ limit: 100 }).pipe(as(tester))).data.length, before)
    }), T)

  it.effect("a completed http step is checkpointed with its idempotency key and not re-run by later segments", () =>
    Effect.gen(function*() {
      const { runs } = yield* setup
      const http = yield* sink
      const started = yield* run({
        steps: [
          { name: "call", type: "http", url: http.url("/count"), method: "POST", body: "{\"a\":1}" },
          { name: "nap", type: "sleep", ms: 300 },
          { name: "after", type: "http", url: http.url("/after") }
        ]
      })
      yield* statusOf(runs, started.id, ["waiting", "succeeded"])
      const detail = yield* statusOf(runs, started.id, ["succeeded", "failed"])
      assert.strictEqual(detail.run.status, "succeeded")
      assert.deepStrictEqual(http.hits("/count"), [{ path: "/count", key: `${started.id}:0` }])
      assert.deepStrictEqual(http.hits("/after"), [{ path: "/after", key: `${started.id}:2` }])
      const call = detail.checkpoints.find((c) => c.name === "call")!
      assert.deepStrictEqual((call.output as { json: unknown }).json, { ok: true, path: "/count" })
      const waits = (yield* runs.events(started.id, { kinds: ["step_waiting"] }).pipe(as(tester))).length
      assert.strictEqual(waits, 1)
    }), T)

  it.effect("cancel aborts the in-flight http step: the sink sees the connection closed", () =>
    Effect.gen(function*() {
      const { runs } = yield* setup
      const http = yield* sink
      http.setMode("/hang", "hang")
      const started = yield* run({
        steps: [{ name: "hang", type: "http", url: http.url("/hang") }, { name: "next", type: "http", url: http.url("/next") }]
      })
      yield* http.arrived("/hang", 1)
      const cancelled = yield* runs.cancel(started.id).pipe(as(tester))
      assert.strictEqual(cancelled.status, "cancelled")
      yield* Effect.gen(function*() {
        while (http.aborted("/hang") < 1) yield* Effect.sleep("20 millis")
      })
      const again = yield* Effect.flip(runs.cancel(started.id).pipe(as(tester)))
      assert.instanceOf(again, RunStatusConflict)
      assert.strictEqual(again.currentStatus, "cancelled")
      const detail = yield* runs.get(started.id).pipe(as(tester))
      assert.deepStrictEqual(detail.checkpoints, [])
      assert.strictEqual(http.hits("/next").length, 0)
    }), T)

  it.effect("cancel during a retry backoff ends the job at once", () =>
    Effect.gen(function*() {
      const { runs } = yield* setup
      const sql = yield* SqlClient.SqlClient
      const started = yield* run({ steps: [{ name: "down", type: "mock", error: "provider outage", retry: { limit: 5, delayMs: 600_000 } }] })
      yield* eventually(Effect.map(runs.events(started.id, { kinds: ["step_failed"] }).pipe(as(tester)), (e) => e.length === 1))
      yield* runs.cancel(started.id).pipe(as(tester))
      // The job (which would otherwise sleep ten minutes before its next attempt) completes.
      yield* eventually(Effect.map(
        sql<{ state: string }>`SELECT state::text AS state FROM pgboss.job WHERE name = 'runs.execute' AND data -> 'payload' ->> 'runId' = ${started.id}`,
        (rows) => rows.length === 1 && rows[0].state === "completed"
      ))
      assert.strictEqual((yield* runs.events(started.id, { kinds: ["step_started"] }).pipe(as(tester))).length, 1)
    }), T)

  it.effect("pause holds at the next step boundary (the in-flight step is checkpointed); resume continues", () =>
    Effect.gen(function*() {
      const { runs } = yield* setup
      const http = yield* sink
      http.setMode("/first", "hold")
      const started = yield* run({
        steps: [{ name: "first", type: "http", url: http.url("/first") }, { name: "second", type: "http", url: http.url("/second") }]
      })
      yield* http.arrived("/first", 1)
      const paused = yield* runs.pause(started.id).pipe(as(tester))
      assert.strictEqual(paused.status, "paused")
      http.release("/first")
      // The first step completes and is checkpointed; the second does not start.
      yield* Effect.gen(function*() {
        while ((yield* runs.get(started.id).pipe(as(tester))).checkpoints.length < 1) yield* Effect.sleep("20 millis")
      })
      const held = yield* runs.get(started.id).pipe(as(tester))
      assert.strictEqual(held.run.status, "paused")
      const resumed = yield* runs.resume(started.id).pipe(as(tester))
      assert.strictEqual(resumed.status, "queued")
      const detail = yield* statusOf(runs, started.id, ["succeeded", "failed"])
      assert.strictEqual(detail.run.status, "succeeded")
      assert.strictEqual(http.hits("/first").length, 1)
      assert.strictEqual(http.hits("/second").length, 1)
      const statuses = (yield* runs.events(started.id, { kinds: ["status"] }).pipe(as(tester))).map((e) => e.data._tag === "status" ? e.data.to : "")
      assert.deepStrictEqual(statuses, ["queued", "running", "paused", "queued", "running", "succeeded"])
    }), T)

  it.effect("retry of a failed run continues from the failed step", () =>
    Effect.gen(function*() {
      const { runs } = yield* setup
      const http = yield* sink
      http.setMode("/flaky", "fail")
      const started = yield* run({
        steps: [
          { name: "once", type: "http", url: http.url("/once") },
          { name: "flaky", type: "http", url: http.url("/flaky"), retry: { limit: 0 } },
          { name: "done", type: "transform", op: "upper" }
        ]
      })
      const failed = yield* statusOf(runs, started.id, ["failed", "succeeded"])
      assert.strictEqual(failed.run.status, "failed")
      assert.deepStrictEqual(failed.run.error, { stepIndex: 1, step: "flaky", message: "HTTP 500" })
      const early = yield* Effect.flip(runs.resume(started.id).pipe(as(tester)))
      assert.instanceOf(early, RunStatusConflict)
      if (early._tag === "RunStatusConflict") assert.deepStrictEqual([early.currentStatus, early.allowed], ["failed", ["retry"]])
      http.setMode("/flaky", "ok")
      const retried = yield* runs.retry(started.id).pipe(as(tester))
      assert.deepStrictEqual([retried.status, retried.retries, retried.error], ["queued", 1, null])
      const detail = yield* statusOf(runs, started.id, ["succeeded", "failed"])
      assert.strictEqual(detail.run.status, "succeeded")
      assert.strictEqual(http.hits("/once").length, 1)
      assert.deepStrictEqual(http.hits("/flaky").map((h) => h.key), [`${started.id}:1`, `${started.id}:1`])
    }), T)

  it.effect("racing controls: exactly one wins, the other gets the status it left", () =>
    Effect.gen(function*() {
      const { runs } = yield* setup
      const started = yield* run({ steps: [{ name: "ok", type: "approval" }] })
      yield* statusOf(runs, started.id, ["awaiting_approval"])
      // approve and reject both start from awaiting_approval only.
      const results = yield* Effect.all([
        Effect.result(runs.approve(started.id, { notes: "yes" })),
        Effect.result(runs.reject(started.id, { notes: "no" }))
      ], { concurrency: "unbounded" }).pipe(as(tester))
      const winners = results.filter(Result.isSuccess)
      const losers = results.filter(Result.isFailure).map((r) => r.failure)
      assert.strictEqual(winners.length, 1)
      assert.strictEqual(losers.length, 1)
      assert.instanceOf(losers[0], RunStatusConflict)
      if (losers[0]._tag === "RunStatusConflict") assert.notStrictEqual(losers[0].currentStatus, "awaiting_approval")
      // Two cancels of one run: one cancels, the other is told it is cancelled.
      const victim = yield* run({ steps: [{ name: "wait", type: "approval" }] })
      const cancels = yield* Effect.all([Effect.result(runs.cancel(victim.id)), Effect.result(runs.cancel(victim.id))], { concurrency: "unbounded" }).pipe(as(tester))
      assert.strictEqual(cancels.filter(Result.isSuccess).length, 1)
      const second = cancels.find(Result.isFailure)!.failure
      assert.instanceOf(second, RunStatusConflict)
      if (second._tag === "RunStatusConflict") assert.strictEqual(second.currentStatus, "cancelled")
      const draft = yield* Effect.flatMap(setup, ({ runs }) => runs.create({ steps: [{ name: "a", type: "transform", op: "upper" }], input: {} })).pipe(as(tester))
      assert.strictEqual(draft.status, "draft")
      const starts = yield* Effect.all([Effect.result(runs.start(draft.id)), Effect.result(runs.start(draft.id))], { concurrency: "unbounded" }).pipe(as(tester))
      assert.strictEqual(starts.filter(Result.isSuccess).length, 1)
      const conflict = starts.find(Result.isFailure)!.failure
      assert.instanceOf(conflict, RunStatusConflict)
      if (conflict._tag === "RunStatusConflict") assert.notStrictEqual(conflict.currentStatus, "draft")
    }), T)

  it.effect("an approval waits holding no worker; reject fails the step; retry asks again; approve continues", () =>
    Effect.gen(function*() {
      const { runs } = yield* setup
      const started = yield* run({ input: { x: "v" }, steps: [{ name: "gate", type: "approval", message: "ship?" }, { name: "after", type: "render", template: "{{steps.gate.notes}}" }] })
      const waiting = yield* statusOf(runs, started.id, ["awaiting_approval"])
      assert.strictEqual(waiting.wait?.kind, "approval")
      const rejected = yield* runs.reject(started.id, { notes: "not yet" }).pipe(as(tester))
      assert.deepStrictEqual([rejected.status, rejected.error], ["failed", { stepIndex: 0, step: "gate", message: "rejected" }])
      yield* runs.retry(started.id).pipe(as(tester))
      yield* statusOf(runs, started.id, ["awaiting_approval"])
      yield* runs.approve(started.id, { notes: "go" }).pipe(as(tester))
      const detail = yield* statusOf(runs, started.id, ["succeeded", "failed"])
      assert.strictEqual(detail.run.output, "go")
    }), T)

  it.effect("a step that outlives its timeout is interrupted and fails the run naming the step", () =>
    Effect.gen(function*() {
      const { runs } = yield* setup
      const started = yield* run({ steps: [{ name: "slow", type: "mock", delayMs: 600_000, timeoutMs: 100, retry: { limit: 1, delayMs: 1 } }] })
      const detail = yield* statusOf(runs, started.id, ["failed", "succeeded"])
      assert.deepStrictEqual(detail.run.error, { stepIndex: 0, step: "slow", message: "timed out after 100 ms" })
      const attempts = (yield* runs.events(started.id, { kinds: ["step_started"] }).pipe(as(tester))).length
      assert.strictEqual(attempts, 2)
    }), T)

  it.effect("waiting runs hold no worker: more approvals than the engine's concurrency wait, and other runs still run", () =>
    Effect.gen(function*() {
      const { runs } = yield* setup
      // The test plugin runs 20 jobs at once per process; 25 runs wait on approval.
      const waiting = yield* Effect.forEach(Array.from({ length: 25 }, (_, i) => i), (i) =>
        run({ title: `wait ${i}`, steps: [{ name: "gate", type: "approval" }, { name: "after", type: "transform", op: "upper" }] }))
      yield* Effect.forEach(waiting, (r) => statusOf(runs, r.id, ["awaiting_approval"]), { concurrency: 5 })
      const other = yield* run({ input: { x: "still runs" }, steps: [{ name: "r", type: "render", template: "{{x}}" }] })
      assert.strictEqual((yield* statusOf(runs, other.id, ["succeeded", "failed"])).run.output, "still runs")
      yield* Effect.forEach(waiting, (r) => runs.approve(r.id, {}).pipe(as(tester)), { concurrency: 5 })
      const finished = yield* Effect.forEach(waiting, (r) => statusOf(runs, r.id, ["succeeded", "failed"]), { concurrency: 5 })
      assert.isTrue(finished.every((d) => d.run.status === "succeeded"))
    }), T)

  it.effect("later plugins add step types through the registry", () =>
    Effect.gen(function*() {
      const { runs, steps } = yield* setup
      yield* steps.register({
        type: "double",
        timeoutMs: 1000,
        retry: { limit: 0 },
        validate: () => undefined,
        execute: (context) => Effect.succeed(done(`${String(context.input)}${String(context.input)}`))
      })
      const duplicate = yield* Effect.flip(steps.register({ type: "http", timeoutMs: 1, retry: { limit: 0 }, validate: () => undefined, execute: () => Effect.succeed(done(null)) }))
      assert.strictEqual(duplicate._tag, "DuplicateStepType")
      const started = yield* run({ steps: [{ name: "r", type: "render", template: "ab" }, { name: "d", type: "double" }] })
      const detail = yield* statusOf(runs, started.id, ["succeeded", "failed"])
      assert.strictEqual(detail.run.output, "abab")
    }), T)

  it.effect("another organization's run is not found, and not listed", () =>
    Effect.gen(function*() {
      const { runs } = yield* setup
      const started = yield* run({ steps: [{ name: "a", type: "transform", op: "upper" }] })
      const missing = yield* Effect.flip(runs.get(started.id).pipe(as(outsider)))
      assert.instanceOf(missing, RunNotFound)
      const cancel = yield* Effect.flip(runs.cancel(started.id).pipe(as(outsider)))
      assert.instanceOf(cancel, RunNotFound)
      assert.deepStrictEqual((yield* runs.list({}).pipe(as(outsider))).data, [])
      // Pages of the caller's own runs follow the cursor with no overlap.
      const first = yield* runs.list({ limit: 2 }).pipe(as(tester))
      assert.isNotNull(first.nextCursor)
      const second = yield* runs.list({ limit: 2, cursor: first.nextCursor! }).pipe(as(tester))
      const ids = new Set(first.data.map((r) => r.id))
      assert.isTrue(second.data.every((r) => !ids.has(r.id)))
      const all = yield* runs.list({ limit: 100 }).pipe(as(tester))
      assert.deepStrictEqual(second.data.map((r) => r.id), all.data.slice(2, 4).map((r) => r.id))
      // Walking every page with a small limit gives the whole list, in order, once.
      const walked: Array<string> = []
      let cursor: string | undefined = undefined
      for (;;) {
        const page: RunPage = yield* runs.list({ limit: 3, ...(cursor === undefined ? {} : { cursor }) }).pipe(as(tester))
        walked.push(...page.data.map((r) => r.id))
        if (page.nextCursor === null) break
        cursor = page.nextCursor
      }
      assert.deepStrictEqual(walked, all.data.map((r) => r.id))
    }), T)
})
