/**
 * Job-queue benchmark (`npm run bench:jobs`): enqueue-to-start latency (p50/p99) with an idle
 * worker in the same process, throughput (jobs/s) of a burst, and on PostgreSQL the latency to
 * a worker of a second, independent client (its own pool and LISTEN: what another process
 * sees). Embedded PGlite always; PostgreSQL when `BENCH_DATABASE_URL` (or
 * `TRELLIS_TEST_DATABASE_URL`) is set. Prints figures only; fails only when something breaks.
 *
 * Environment:
 *   BENCH_DATABASE_URL   PostgreSQL to measure (a scratch database: pg-boss creates `pgboss`)
 *   BENCH_JOBS_SAMPLES   latency samples per scenario (default 200)
 *   BENCH_JOBS_BURST     jobs in the throughput burst (default 2000)
 */
import { Deferred, Effect, Layer, Redacted, Schema } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { TrellisConfig } from "../src/config/TrellisConfig.ts"
import * as Database from "../src/database/Database.ts"
import { JobQueue, systemPrincipal } from "../src/jobs/JobQueue.ts"
import * as JobQueueLive from "../src/jobs/JobQueueLive.ts"

const samples = Number(process.env.BENCH_JOBS_SAMPLES ?? 200)
const burst = Number(process.env.BENCH_JOBS_BURST ?? 2000)
const pgUrl = process.env.BENCH_DATABASE_URL || process.env.TRELLIS_TEST_DATABASE_URL || undefined
const Payload = Schema.Struct({ i: Schema.Number, at: Schema.Number })
const principal = systemPrincipal("bench")

const config = Layer.unwrap(Effect.map(Effect.orDie(TrellisConfig.fromRecord({ TRELLIS_LOG_LEVEL: "warn" })), TrellisConfig.layer))
const queueOn = (database: ReturnType<typeof Database.layer>) =>
  JobQueueLive.layer.pipe(Layer.provide(config), Layer.provideMerge(database))

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN
const fmt = (ms: number) => `${ms.toFixed(1)} ms`

/** Enqueues one job at a time on `producer`, waiting for `consumer`'s worker to start it. */
const latency = (producer: JobQueue["Service"], consumer: JobQueue["Service"], name: string) =>
  Effect.gen(function*() {
    let waiting: Deferred.Deferred<number> | undefined
    yield* consumer.register(name, {
      schema: Payload,
      handler: (p) => Effect.suspend(() => waiting === undefined ? Effect.void : Deferred.succeed(waiting, performance.now() - p.at))
    })
    const out: Array<number> = []
    for (let i = 0; i < samples + 10; i++) {
      waiting = yield* Deferred.make<number>()
      yield* Effect.sleep("20 millis") // let the worker go idle
      yield* producer.enqueue(name, Payload, { i, at: performance.now() }, { principal })
      const ms = yield* Deferred.await(waiting)
      if (i >= 10) out.push(ms)
    }
    out.sort((a, b) => a - b)
    return { p50: percentile(out, 0.5), p99: percentile(out, 0.99), max: out[out.length - 1] ?? NaN }
  })

const throughput = (jobs: JobQueue["Service"], name: string) =>
  Effect.gen(function*() {
    let done = 0
    const all = yield* Deferred.make<void>()
    yield* jobs.register(name, {
      schema: Payload,
      concurrency: 50,
      handler: () => Effect.suspend(() => ++done === burst ? Deferred.succeed(all, undefined) : Effect.void)
    })
    const t0 = performance.now()
    yield* Effect.forEach(Array.from({ length: burst }, (_, i) => i), (i) => jobs.enqueue(name, Payload, { i, at: 0 }, { principal }), { concurrency: 20 })
    const enqueued = performance.now() - t0
    yield* Deferred.await(all)
    const total = performance.now() - t0
    return { enqueuePerSecond: burst / (enqueued / 1000), jobsPerSecond: burst / (total / 1000) }
  })

const run = (label: string, database: ReturnType<typeof Database.layer>, second: ReturnType<typeof Database.layer> | undefined) =>
  Effect.gen(function*() {
    const jobs = yield* JobQueue
    const tag = Date.now().toString(36)
    const same = yield* latency(jobs, jobs, `bench.lat.${tag}`)
    console.log(`${label}: enqueue-to-start, same process: p50 ${fmt(same.p50)}, p99 ${fmt(same.p99)}, max ${fmt(same.max)} (${samples} samples, idle worker)`)
    const rate = yield* throughput(jobs, `bench.burst.${tag}`)
    console.log(`${label}: burst of ${burst}: ${rate.jobsPerSecond.toFixed(0)} jobs/s end to end (enqueue alone ${rate.enqueuePerSecond.toFixed(0)}/s, 20 concurrent enqueuers, worker concurrency 50)`)
    if (second !== undefined) {
      const other = yield* Effect.gen(function*() {
        const consumer = yield* JobQueue
        return yield* latency(jobs, consumer, `bench.cross.${tag}`)
      }).pipe(Effect.provide(queueOn(second)))
      console.log(`${label}: enqueue-to-start, other client (own pool, LISTEN/NOTIFY): p50 ${fmt(other.p50)}, p99 ${fmt(other.p99)}, max ${fmt(other.max)}`)
    }
  }).pipe(Effect.provide(queueOn(database)))

const main = Effect.gen(function*() {
  console.log(`node ${process.version}, ${NodeOs.cpus().length} CPUs (${NodeOs.cpus()[0]?.model ?? "?"})`)
  const dataDir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "trellis-bench-jobs-"))
  try {
    yield* run("embedded", Database.layer({ databaseUrl: undefined, dataDir }), undefined)
  } finally {
    NodeFs.rmSync(dataDir, { recursive: true, force: true })
  }
  if (pgUrl !== undefined) {
    const pg = () => Database.layer({ databaseUrl: Redacted.make(pgUrl), dataDir: "" })
    yield* run("postgres", pg(), pg())
  } else {
    console.log("postgres: skipped (set BENCH_DATABASE_URL)")
  }
})

Effect.runPromise(Effect.scoped(main)).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  }
)
