/**
 * Embedded database: the directory is one process's (locked), so a job still `active` when the
 * queue starts was left by a process that died mid-job. The queue fails it at start (so it is
 * retried per its policy) instead of waiting for a heartbeat timeout. The job here has no
 * heartbeat and an hour's expiry: without that, nothing would retry it before the test times out.
 * The crash is made the way it leaves the database: the job row `active`, with no worker.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Layer, Schema } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as Database from "../../src/database/Database.ts"
import { JobQueue, systemPrincipal } from "../../src/jobs/JobQueue.ts"
import * as JobQueueLive from "../../src/jobs/JobQueueLive.ts"
import { configFrom } from "../events/support.ts"

const Payload = Schema.Struct({ n: Schema.Number })
const name = "t.orphan"

describe("jobs on the embedded database across a crash", () => {
  it.live("a job left active by a process that died is retried when the queue starts again", () =>
    Effect.gen(function*() {
      const dataDir = yield* Effect.acquireRelease(
        Effect.sync(() => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "trellis-jobs-orphan-"))),
        (dir) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
      )
      const queueOn = () =>
        JobQueueLive.layer.pipe(
          Layer.provide(configFrom({ TRELLIS_JOBS_POLL_SECONDS: "1" })),
          Layer.provideMerge(Database.layer({ databaseUrl: undefined, dataDir }))
        )
      const seen = yield* Deferred.make<number>()
      const worker = {
        schema: Payload,
        retryDelay: 0,
        retryBackoff: false,
        heartbeatSeconds: null,
        expireInSeconds: 3600,
        handler: (_: typeof Payload.Type, job: { readonly retryCount: number }) => Deferred.succeed(seen, job.retryCount)
      }

      // The first process: the job was fetched and was running when the process died.
      const id = yield* Effect.gen(function*() {
        const jobs = yield* JobQueue
        const sql = yield* SqlClient.SqlClient
        yield* jobs.register(name, worker)
        const id = yield* jobs.enqueue(name, Payload, { n: 1 }, { principal: systemPrincipal("t"), startAfter: 3600 })
        yield* sql`UPDATE pgboss.job SET state = 'active', started_on = now(), start_after = now() WHERE name = ${name} AND id = ${id}::uuid`
        return id
      }).pipe(Effect.provide(queueOn()), Effect.scoped)

      // The next process on the same directory runs it again.
      yield* Effect.gen(function*() {
        const jobs = yield* JobQueue
        const sql = yield* SqlClient.SqlClient
        yield* jobs.register(name, worker)
        assert.strictEqual(yield* Deferred.await(seen), 1)
        const rows = yield* sql<{ retry_count: number }>`SELECT retry_count FROM pgboss.job WHERE name = ${name} AND id = ${id}::uuid`
        assert.deepStrictEqual(rows.map((r) => Number(r.retry_count)), [1])
      }).pipe(Effect.provide(queueOn()), Effect.scoped)
    }).pipe(Effect.scoped), 120_000)
})
