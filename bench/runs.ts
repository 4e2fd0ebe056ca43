/**
 * Runs-engine benchmark (`npm run bench:runs`, issue 12 "Scale and faults"). The real server
 * (runs plugin, job queue, event log) boots in this process on the embedded database, and on
 * PostgreSQL when `BENCH_DATABASE_URL` (or `TRELLIS_TEST_DATABASE_URL`) is set (a fresh
 * database is created there and dropped after). Prints figures only; fails only when something
 * breaks.
 *
 * Figures:
 * - throughput: completed runs/s of a burst of 3-step no-op runs (three `transform` steps),
 *   started by 20 concurrent callers, from the first start to the last `succeeded`, and this
 *   process's CPU time per run;
 * - enqueue-to-first-step p50/p99: from `Runs.run` to the first step executing (idle engine);
 * - per-step overhead: (run of 21 steps - run of 1 step) / 20, medians of idle runs;
 * - cancel: `Runs.cancel` returned (status `cancelled`) and the in-flight step interrupted, p50/p99;
 *   on PostgreSQL also with a second server on the same database cancelling a step the first runs;
 * - approve-to-resumed: `Runs.approve` to the next step executing, p50/p99;
 * - RSS and heap with 1,000 runs awaiting approval (and the runs jobs active meanwhile: none).
 *
 * Two probe step types are registered for the measurement: `bench_stamp` (records when it runs)
 * and `bench_hold` (runs until interrupted, records when).
 *
 * Environment:
 *   BENCH_DATABASE_URL        PostgreSQL to measure (a server: a scratch database is created on it)
 *   BENCH_RUNS_BURST          runs in the throughput burst (default 1000)
 *   BENCH_RUNS_SAMPLES        latency samples per scenario (default 100)
 *   BENCH_RUNS_WAITING        runs awaiting approval for the memory figure (default 1000)
 *   BENCH_RUNS_CONCURRENCY    the engine's concurrent runs per process (default: the engine's, 20)
 *   BENCH_RUNS_ONLY           `embedded` or `postgres`: measure one database only
 */
import { Deferred, Effect } from "effect"
import type { Scope } from "effect"
import { SqlClient } from "effect/sql"
import * as NodeOs from "node:os"
import { CurrentPrincipal, systemPrincipal } from "trellis/plugin"
import * as TestKit from "trellis/testing"
import { makeRunsPlugin } from "../plugins/runs/Plugin.ts"
import { defaultEngineSettings } from "../plugins/runs/Runs.ts"
import { Runs } from "../plugins/runs/RunsService.ts"
import { done, StepRegistry } from "../plugins/runs/StepRegistry.ts"
import type { StepDefinition } from "../plugins/runs/Domain.ts"

const burst = Number(process.env.BENCH_RUNS_BURST ?? 1000)
const samples = Number(process.env.BENCH_RUNS_SAMPLES ?? 100)
const waitingCount = Number(process.env.BENCH_RUNS_WAITING ?? 1000)
const concurrency = Number(process.env.BENCH_RUNS_CONCURRENCY ?? defaultEngineSettings.concurrency)
const only = process.env.BENCH_RUNS_ONLY
const pgUrl = process.env.BENCH_DATABASE_URL || process.env.TRELLIS_TEST_DATABASE_URL || undefined
const principal = systemPrincipal("bench")
const asBench = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provideService(effect, CurrentPrincipal, principal)

// ── probes ───────────────────────────────────────────────────────────────

/** When each probe step ran (performance.now()), by run id; shared by every server in this process. */
const stamps = new Map<string, Deferred.Deferred<{ readonly at: number; readonly server: string }>>()
const stampOf = (runId: string) => {
  let deferred = stamps.get(runId)
  if (deferred === undefined) {
    deferred = Deferred.makeUnsafe()
    stamps.set(runId, deferred)
  }
  return deferred
}
const interrupted = new Map<string, Deferred.Deferred<number>>()
const interruptOf = (runId: string) => {
  let deferred = interrupted.get(runId)
  if (deferred === undefined) {
    deferred = Deferred.makeUnsafe()
    interrupted.set(runId, deferred)
  }
  return deferred
}

interface Booted {
  readonly runs: Runs["Service"]
  readonly sql: SqlClient.SqlClient
}

const probePlugin = (label: string, out: Deferred.Deferred<Booted>) =>
  TestKit.probe({ id: "bench_probe", requires: ["runs"], description: "bench probe" }, Effect.gen(function*() {
    const runs = yield* Runs
    const steps = yield* StepRegistry
    const sql = yield* SqlClient.SqlClient
    yield* Effect.orDie(steps.register({
      type: "bench_stamp",
      timeoutMs: 5_000,
      retry: { limit: 0 },
      validate: () => undefined,
      execute: (context) =>
        Effect.as(Deferred.succeed(stampOf(context.runId), { at: performance.now(), server: label }), done(context.input))
    }))
    yield* Effect.orDie(steps.register({
      type: "bench_hold",
      timeoutMs: 600_000,
      retry: { limit: 0 },
      validate: () => undefined,
      execute: (context) =>
        Effect.gen(function*() {
          yield* Deferred.succeed(stampOf(context.runId), { at: performance.now(), server: label })
          return yield* Effect.never
        }).pipe(Effect.onInterrupt(() => Deferred.succeed(interruptOf(context.runId), performance.now())))
    }))
    yield* Deferred.succeed(out, { runs, sql })
  }))

/** The engine as measured: its default settings, `BENCH_RUNS_CONCURRENCY` runs per process. */
const benchRunsPlugin = () => makeRunsPlugin({ engine: { ...defaultEngineSettings, concurrency } })

const boot = (server: TestKit.Restartable, label: string): Effect.Effect<Booted, never, Scope.Scope> =>
  Effect.gen(function*() {
    const out = yield* Deferred.make<Booted>()
    yield* Effect.orDie(server.boot([benchRunsPlugin(), probePlugin(label, out)]))
    return yield* Deferred.await(out)
  })

// ── figures ──────────────────────────────────────────────────────────────

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN
}
const ms = (value: number) => `${value.toFixed(1)} ms`
const spread = (values: ReadonlyArray<number>) => `p50 ${ms(percentile(values, 0.5))}, p99 ${ms(percentile(values, 0.99))}, max ${ms(Math.max(...values))}`
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`

const transforms = (n: number): Array<StepDefinition> =>
  Array.from({ length: n }, (_, i) => ({ name: `t${i}`, type: "transform", op: i % 2 === 0 ? "upper" : "lower" }))

const countStatus = (sql: SqlClient.SqlClient, title: string, status: string) =>
  sql<{ n: number | string }>`SELECT count(*) AS n FROM runs.runs WHERE title = ${title} AND status = ${status}`.pipe(
    Effect.map((rows) => Number(rows[0]?.n ?? 0)),
    Effect.orDie
  )

const waitForCount = (sql: SqlClient.SqlClient, title: string, status: string, n: number) =>
  Effect.gen(function*() {
    while ((yield* countStatus(sql, title, status)) < n) yield* Effect.sleep("20 millis")
  })

const statusOf = (runs: Runs["Service"], runId: string, status: string) =>
  Effect.gen(function*() {
    while ((yield* asBench(runs.get(runId))).run.status !== status) yield* Effect.sleep("5 millis")
  })

/** A burst of 3-step runs: completed runs/s. */
const throughput = (runs: Runs["Service"], sql: SqlClient.SqlClient, tag: string) =>
  Effect.gen(function*() {
    const title = `burst-${tag}`
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    yield* Effect.forEach(
      Array.from({ length: burst }, (_, i) => i),
      (i) => asBench(runs.run({ title, input: { input: `run ${i}` }, steps: transforms(3) })),
      { concurrency: 20, discard: true }
    )
    const started = performance.now() - t0
    yield* waitForCount(sql, title, "succeeded", burst)
    const total = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    return {
      runsPerSecond: burst / (total / 1000),
      startsPerSecond: burst / (started / 1000),
      seconds: total / 1000,
      cpuMsPerRun: (cpu.user + cpu.system) / 1000 / burst
    }
  })

/** Idle runs, one at a time: `Runs.run` to the stamp step running. */
const toStamp = (runs: Runs["Service"], steps: ReadonlyArray<StepDefinition>) =>
  Effect.gen(function*() {
    const t0 = performance.now()
    const run = yield* asBench(runs.run({ title: "latency", steps: [...steps, { name: "stamp", type: "bench_stamp" }] }))
    const stamp = yield* Deferred.await(stampOf(run.id))
    return stamp.at - t0
  })

const latencies = (runs: Runs["Service"]) =>
  Effect.gen(function*() {
    for (let i = 0; i < 10; i++) yield* toStamp(runs, transforms(i % 2 === 0 ? 0 : 20)) // warm-up
    const first: Array<number> = []
    const long: Array<number> = []
    for (let i = 0; i < samples; i++) {
      first.push(yield* toStamp(runs, []))
      long.push(yield* toStamp(runs, transforms(20)))
    }
    return { first, perStep: (percentile(long, 0.5) - percentile(first, 0.5)) / 20 }
  })

/** Cancels a `bench_hold` step running on `executor`'s engine through `canceller`. */
const cancels = (executor: Booted, canceller: Booted, wantServer: string | undefined) =>
  Effect.gen(function*() {
    const returned: Array<number> = []
    const stopped: Array<number> = []
    while (returned.length < samples) {
      const run = yield* asBench(executor.runs.run({ title: "cancel", steps: [{ name: "hold", type: "bench_hold" }] }))
      const holding = yield* Deferred.await(stampOf(run.id))
      if (wantServer !== undefined && holding.server !== wantServer) {
        // Executed by the canceller's process itself: not the cross-process case; cancel it and try again.
        yield* asBench(canceller.runs.cancel(run.id))
        continue
      }
      const t0 = performance.now()
      yield* asBench(canceller.runs.cancel(run.id))
      returned.push(performance.now() - t0)
      stopped.push((yield* Deferred.await(interruptOf(run.id))) - t0)
    }
    return { returned, stopped }
  })

const approvals = (runs: Runs["Service"]) =>
  Effect.gen(function*() {
    const out: Array<number> = []
    for (let i = 0; i < samples; i++) {
      const run = yield* asBench(runs.run({ title: "approve", steps: [{ name: "ok", type: "approval" }, { name: "stamp", type: "bench_stamp" }] }))
      yield* statusOf(runs, run.id, "awaiting_approval")
      const t0 = performance.now()
      yield* asBench(runs.approve(run.id, {}))
      out.push((yield* Deferred.await(stampOf(run.id))).at - t0)
    }
    return out
  })

const memory = (runs: Runs["Service"], sql: SqlClient.SqlClient, tag: string) =>
  Effect.gen(function*() {
    const title = `waiting-${tag}`
    const gc = (globalThis as { gc?: () => void }).gc
    gc?.()
    const before = process.memoryUsage()
    yield* Effect.forEach(
      Array.from({ length: waitingCount }, (_, i) => i),
      () => asBench(runs.run({ title, steps: [{ name: "ok", type: "approval" }, { name: "after", type: "transform", op: "upper" }] })),
      { concurrency: 20, discard: true }
    )
    yield* waitForCount(sql, title, "awaiting_approval", waitingCount)
    yield* Effect.sleep("500 millis")
    gc?.()
    const after = process.memoryUsage()
    const active = yield* sql<{ n: number | string }>`SELECT count(*) AS n FROM pgboss.job WHERE name = 'runs.execute' AND state = 'active'`.pipe(
      Effect.map((rows) => Number(rows[0]?.n ?? 0)),
      Effect.orDie
    )
    return { before, after, active }
  })

/** Measures on a fresh database: embedded, or one created on the PostgreSQL server at `postgres`. */
const measure = (label: string, postgres: string | false) =>
  Effect.gen(function*() {
    // The platform's job polling and monitoring (the figures are production's), a short shutdown.
    const server = yield* Effect.orDie(TestKit.restartable({
      postgres,
      env: { TRELLIS_JOBS_POLL_SECONDS: undefined, TRELLIS_JOBS_MONITOR_SECONDS: undefined }
    }))
    const embedded = server.databaseKind === "embedded"
    const main = yield* boot(server, "a")
    const tag = Date.now().toString(36)
    const line = (text: string) => Effect.sync(() => console.log(`${label}: ${text}`))

    const rate = yield* throughput(main.runs, main.sql, tag)
    yield* line(`throughput: ${rate.runsPerSecond.toFixed(0)} completed runs/s (${burst} runs of 3 transform steps in ${rate.seconds.toFixed(1)} s; starts alone ${rate.startsPerSecond.toFixed(0)}/s by 20 callers; engine concurrency ${concurrency}); this process's CPU ${rate.cpuMsPerRun.toFixed(2)} ms per run${embedded ? " (the database included)" : ""}`)
    const idle = yield* latencies(main.runs)
    yield* line(`enqueue-to-first-step (idle): ${spread(idle.first)} (${samples} samples)`)
    yield* line(`per-step overhead (idle, (21 steps - 1 step) / 20, medians): ${ms(idle.perStep)}`)
    const cancelled = yield* cancels(main, main, undefined)
    yield* line(`cancel: returned (status cancelled) ${spread(cancelled.returned)}; in-flight step interrupted ${spread(cancelled.stopped)}`)
    const approved = yield* approvals(main.runs)
    yield* line(`approve-to-resumed (next step running): ${spread(approved)}`)
    const mem = yield* memory(main.runs, main.sql, tag)
    yield* line(`${waitingCount} runs awaiting approval: RSS ${mb(mem.before.rss)} -> ${mb(mem.after.rss)}, heap used ${mb(mem.before.heapUsed)} -> ${mb(mem.after.heapUsed)}; runs jobs active meanwhile: ${mem.active}`)

    if (!embedded) {
      // A second server on the same database: a cancel it receives interrupts the step the first runs.
      const second = yield* boot(server, "b")
      const crossed = yield* cancels(main, second, "a")
      yield* line(`cancel from another server process: returned ${spread(crossed.returned)}; in-flight step interrupted ${spread(crossed.stopped)}`)
    }
  }).pipe(Effect.scoped)

const main = Effect.gen(function*() {
  const gcNote = typeof (globalThis as { gc?: unknown }).gc === "function" ? "" : " (run with --expose-gc for steadier memory figures)"
  console.log(`node ${process.version}, ${NodeOs.cpus().length} CPUs (${NodeOs.cpus()[0]?.model ?? "?"})${gcNote}`)
  if (only !== "postgres") yield* measure("embedded", false)
  if (only !== "embedded") {
    if (pgUrl === undefined) console.log("postgres: skipped (set BENCH_DATABASE_URL)")
    else yield* measure("postgres", pgUrl)
  }
})

Effect.runPromise(main).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  }
)
