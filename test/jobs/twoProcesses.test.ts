/**
 * Two real server processes on one PostgreSQL (PostgreSQL only): they share the work, each job
 * runs exactly once, and when one process is killed (`kill -9`) mid-job the other takes the job
 * over. The hanging job is on a queue without heartbeats and with an hour's expiry, so only the
 * queue's process liveness (the killed process's advisory lock is gone) can retry it before the
 * test times out; the takeover time is printed. The test process enqueues through its own `JobQueue`.
 */
import { afterEach, assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import * as Database from "../../src/database/Database.ts"
import { JobQueue, systemPrincipal } from "../../src/jobs/JobQueue.ts"
import * as JobQueueLive from "../../src/jobs/JobQueueLive.ts"
import { configFrom, freshPostgresDatabase, postgresUrl } from "../events/support.ts"
import { killAll, start, waitReady } from "../platform/serverProcess.ts"
import { Work } from "./fixtures/workerPlugin.ts"

afterEach(() => killAll())

const who = systemPrincipal("t")

describe.skipIf(postgresUrl === undefined)("jobs across two processes (PostgreSQL)", () => {
  it.live("share the work, run each job once, and take over a killed process's job", () =>
    Effect.gen(function*() {
      const url = yield* freshPostgresDatabase(postgresUrl!)
      const env = { DATABASE_URL: url, TRELLIS_PLUGINS: "./test/jobs/fixtures/workerPlugin.ts" }
      const a = yield* Effect.promise(() => start(env))
      yield* Effect.promise(() => waitReady(a))
      const b = yield* Effect.promise(() => start(env))
      yield* Effect.promise(() => waitReady(b))

      yield* Effect.gen(function*() {
        const jobs = yield* JobQueue
        const sql = yield* SqlClient.SqlClient
        const runs = () => sql<{ n: number; pid: number; attempt: number }>`SELECT n, pid, attempt FROM jobproc.runs`

        // 300 jobs: each runs exactly once, in both processes.
        yield* Effect.forEach(Array.from({ length: 300 }, (_, n) => n), (n) => jobs.enqueue("jobproc.work", Work, { n, hang: false }, { principal: who }), { concurrency: 10 })
        while ((yield* runs()).length < 300) yield* Effect.sleep("200 millis")
        yield* Effect.sleep("1 second")
        const done = yield* runs()
        assert.strictEqual(done.length, 300)
        assert.strictEqual(new Set(done.map((r) => r.n)).size, 300)
        assert.deepStrictEqual(new Set(done.map((r) => r.pid)), new Set([a.child.pid, b.child.pid]))

        // A job that hangs: kill -9 its process; the other runs it again.
        yield* jobs.enqueue("jobproc.unbeaten", Work, { n: 1000, hang: true }, { principal: who })
        let first: { pid: number } | undefined
        while (first === undefined) {
          first = (yield* runs()).find((r) => r.n === 1000)
          if (first === undefined) yield* Effect.sleep("100 millis")
        }
        const victim = first.pid === a.child.pid ? a : b
        const survivor = victim === a ? b : a
        const killedAt = Date.now()
        victim.child.kill("SIGKILL")
        yield* Effect.promise(() => victim.exited)
        let retried: { pid: number; attempt: number } | undefined
        while (retried === undefined) {
          retried = (yield* runs()).find((r) => r.n === 1000 && r.attempt === 1)
          if (retried === undefined) yield* Effect.sleep("200 millis")
        }
        assert.strictEqual(retried.pid, survivor.child.pid)
        yield* Effect.logInfo(`taken over ${Date.now() - killedAt} ms after kill -9`)
      }).pipe(
        Effect.provide(JobQueueLive.layer.pipe(
          Layer.provide(configFrom({})),
          Layer.provideMerge(Database.layer({ databaseUrl: Redacted.make(url), dataDir: "" }))
        )),
        Effect.scoped
      )
      killAll()
    }).pipe(Effect.scoped), 180_000)
})
