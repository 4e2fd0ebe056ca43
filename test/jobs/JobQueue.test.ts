/**
 * The job queue against real databases: embedded PGlite always, PostgreSQL when
 * `TRELLIS_TEST_DATABASE_URL` is set. Enqueue joins the caller's transaction, handlers run as
 * the enqueuing principal, retries end dead-lettered, timeouts, singletons, delays, cron, and
 * exactly-once over 2,000 jobs.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Queue, Schema } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { CurrentPrincipal } from "../../src/auth/Principal.ts"
import { JobQueue, systemPrincipal } from "../../src/jobs/JobQueue.ts"
import * as JobQueueLive from "../../src/jobs/JobQueueLive.ts"
import { configFrom, embeddedDatabase, freshPostgres, postgresUrl } from "../events/support.ts"

const T = 120_000
const Payload = Schema.Struct({ n: Schema.Number })
const unique = (prefix: string) => `t.${prefix}.${Math.random().toString(36).slice(2, 8)}`

const withJobs = (database: typeof embeddedDatabase) =>
  JobQueueLive.layer.pipe(Layer.provide(configFrom({ TRELLIS_JOBS_POLL_SECONDS: "1", TRELLIS_JOBS_MONITOR_SECONDS: "1" })), Layer.provideMerge(database))

const someone = systemPrincipal("tester")

/** Polls `check` until it is true (the test's own timeout bounds it). */
const eventually = <E, R>(check: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function*() {
    while (!(yield* check)) yield* Effect.sleep("100 millis")
  })

const countJobs = (name: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM pgboss.job WHERE name = ${name}`
    return rows[0]!.n
  })

const suite = (label: string, database: typeof embeddedDatabase) =>
  layer(withJobs(database), { excludeTestServices: true, timeout: "300 seconds" })(label, (it) => {
    it.effect("runs a job with its payload and the enqueuing principal", () =>
      Effect.gen(function*() {
        const jobs = yield* JobQueue
        const name = unique("echo")
        const seen = yield* Queue.unbounded<{ n: number; actor: string }>()
        yield* jobs.register(name, {
          schema: Payload,
          handler: (p) => Effect.gen(function*() {
            const who = yield* CurrentPrincipal
            yield* Queue.offer(seen, { n: p.n, actor: who.id })
          })
        })
        const id = yield* jobs.enqueue(name, Payload, { n: 7 }).pipe(Effect.provideService(CurrentPrincipal, someone))
        assert.isString(id)
        const got = yield* Queue.take(seen).pipe(Effect.timeout("20 seconds"), Effect.tapError(() => Effect.flatMap(jobs.dead("org_default", 10), (d) => Effect.logError(JSON.stringify(d)))))
        assert.deepStrictEqual(got, { n: 7, actor: "system:tester" })
      }), T)

    it.effect("a job enqueued in a rolled-back transaction does not exist; a committed one runs", () =>
      Effect.gen(function*() {
        const jobs = yield* JobQueue
        const sql = yield* SqlClient.SqlClient
        const name = unique("tx")
        const seen = yield* Queue.unbounded<number>()
        yield* jobs.register(name, { schema: Payload, handler: (p) => Queue.offer(seen, p.n) })
        const failed = yield* sql.withTransaction(
          Effect.andThen(jobs.enqueue(name, Payload, { n: 1 }), Effect.fail("rollback" as const))
        ).pipe(Effect.flip)
        assert.strictEqual(failed, "rollback")
        assert.strictEqual(yield* countJobs(name), 0)
        yield* sql.withTransaction(jobs.enqueue(name, Payload, { n: 2 }))
        assert.strictEqual(yield* Queue.take(seen), 2)
        assert.strictEqual(yield* countJobs(name), 1)
      }), T)

    it.effect("retries with backoff, then the job is dead-lettered and listed", () =>
      Effect.gen(function*() {
        const jobs = yield* JobQueue
        const name = unique("fail")
        const attempts = yield* Queue.unbounded<number>()
        yield* jobs.register(name, {
          schema: Payload,
          retryLimit: 2,
          retryDelay: 1,
          retryBackoff: true,
          handler: (_, job) => Effect.andThen(Queue.offer(attempts, job.retryCount), Effect.fail("boom"))
        })
        const id = yield* jobs.enqueue(name, Payload, { n: 3 }, { principal: someone })
        yield* eventually(Effect.map(jobs.dead(someone.organizationId, 100), (d) => d.some((j) => j.id === id)))
        const dead = (yield* jobs.dead(someone.organizationId, 100)).find((j) => j.id === id)!
        assert.strictEqual(dead.name, name)
        assert.deepStrictEqual(dead.payload, { n: 3 })
        assert.strictEqual(dead.attempts, 3)
        assert.strictEqual(dead.actor_id, "system:tester")
        assert.include(JSON.stringify(dead.error), "boom")
        assert.deepStrictEqual(yield* Queue.takeAll(attempts), [0, 1, 2])
        assert.deepStrictEqual(yield* jobs.dead("org_other", 100), [])
      }), T)

    it.effect("an attempt longer than expireInSeconds is interrupted and fails", () =>
      Effect.gen(function*() {
        const jobs = yield* JobQueue
        const name = unique("slow")
        yield* jobs.register(name, { schema: Payload, retryLimit: 0, expireInSeconds: 1, handler: () => Effect.sleep("60 seconds") })
        const id = yield* jobs.enqueue(name, Payload, { n: 1 }, { principal: someone })
        yield* eventually(Effect.map(jobs.dead(someone.organizationId, 100), (d) => d.some((j) => j.id === id)))
        const dead = (yield* jobs.dead(someone.organizationId, 100)).find((j) => j.id === id)!
        assert.include(JSON.stringify(dead.error), "timed out", JSON.stringify(dead.error).slice(0, 600))
      }), T)

    it.effect("a singleton key admits one queued job (exclusive policy); a delayed job waits", () =>
      Effect.gen(function*() {
        const jobs = yield* JobQueue
        const sql = yield* SqlClient.SqlClient
        const name = unique("single")
        const seen = yield* Queue.unbounded<number>()
        yield* jobs.register(name, { schema: Payload, policy: "exclusive", handler: (p) => Queue.offer(seen, p.n) })
        const first = yield* jobs.enqueue(name, Payload, { n: 1 }, { singletonKey: "k", startAfter: 3600 })
        const second = yield* jobs.enqueue(name, Payload, { n: 2 }, { singletonKey: "k", startAfter: 3600 })
        assert.isString(first)
        assert.isNull(second)
        const rows = yield* sql<{ later: boolean; state: string }>`
          SELECT start_after > now() + interval '50 minutes' AS later, state::text AS state FROM pgboss.job WHERE id = ${first!}::uuid`
        assert.deepStrictEqual(rows.map((r) => [r.later, r.state]), [[true, "created"]])
        const soon = yield* jobs.enqueue(name, Payload, { n: 3 }, { startAfter: 1 })
        assert.isString(soon)
        assert.strictEqual(yield* Queue.take(seen), 3)
      }), T)

    it.effect("registers a cron schedule", () =>
      Effect.gen(function*() {
        const jobs = yield* JobQueue
        const sql = yield* SqlClient.SqlClient
        const name = unique("cron")
        yield* jobs.register(name, { schema: Schema.Unknown, handler: () => Effect.void })
        yield* jobs.schedule(name, "*/5 * * * *", { hello: 1 })
        const rows = yield* sql<{ cron: string }>`SELECT cron FROM pgboss.schedule WHERE name = ${name}`
        assert.deepStrictEqual(rows.map((r) => r.cron), ["*/5 * * * *"])
        yield* jobs.unschedule(name)
        assert.lengthOf(yield* sql`SELECT 1 FROM pgboss.schedule WHERE name = ${name}`, 0)
      }), T)

    it.effect("runs each of 2,000 jobs exactly once", () =>
      Effect.gen(function*() {
        const jobs = yield* JobQueue
        const name = unique("many")
        const runs = new Map<number, number>()
        const done = yield* Queue.unbounded<number>()
        yield* jobs.register(name, {
          schema: Payload,
          concurrency: 50,
          handler: (p) => Effect.andThen(Effect.sync(() => runs.set(p.n, (runs.get(p.n) ?? 0) + 1)), Queue.offer(done, p.n))
        })
        yield* Effect.forEach(Array.from({ length: 2000 }, (_, i) => i), (n) => jobs.enqueue(name, Payload, { n }, { principal: someone }), {
          concurrency: 20
        })
        for (let i = 0; i < 2000; i++) yield* Queue.take(done)
        yield* Effect.sleep("1 second")
        assert.strictEqual(runs.size, 2000)
        assert.isTrue([...runs.values()].every((c) => c === 1))
      }), T)
  })

describe("JobQueue", () => {
  suite("embedded", embeddedDatabase)
  if (postgresUrl !== undefined) suite("postgres", freshPostgres(postgresUrl))
})
