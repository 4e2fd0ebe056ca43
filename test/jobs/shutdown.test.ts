/**
 * Shutdown: when the job queue's layer closes (the server's shutdown), workers stop taking
 * jobs, a job still running after the grace period is released (failed, so retried) and its
 * handler interrupted, and nothing stays `active`: the next start runs it again.
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

describe("JobQueue shutdown", () => {
  it.live("releases a running job at the end of the grace period; the next start runs it", () =>
    Effect.gen(function*() {
      const dataDir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "trellis-jobs-shutdown-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => NodeFs.rmSync(dataDir, { recursive: true, force: true })))
      const stack = () =>
        JobQueueLive.layer.pipe(
          Layer.provide(configFrom({ TRELLIS_SHUTDOWN_GRACE_SECONDS: "1", TRELLIS_JOBS_POLL_SECONDS: "1" })),
          Layer.provideMerge(Database.layer({ databaseUrl: undefined, dataDir }))
        )
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const id = yield* Effect.gen(function*() {
        const jobs = yield* JobQueue
        yield* jobs.register("t.long", {
          schema: Payload,
          retryDelay: 1,
          retryBackoff: false,
          handler: () =>
            Deferred.succeed(started, undefined).pipe(
              Effect.andThen(Effect.never),
              Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
            )
        })
        const id = yield* jobs.enqueue("t.long", Payload, { n: 1 }, { principal: systemPrincipal("t") })
        yield* Deferred.await(started)
        return id!
      }).pipe(Effect.provide(stack()), Effect.scoped)
      // The layer is closed: the handler was interrupted and the job is no longer active.
      assert.isTrue(yield* Deferred.isDone(interrupted))
      const ran = yield* Deferred.make<number>()
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ state: string; retry_count: number }>`SELECT state::text AS state, retry_count FROM pgboss.job WHERE id = ${id}::uuid`
        assert.deepStrictEqual(rows.map((r) => r.state), ["retry"])
        const jobs = yield* JobQueue
        // Registering again (here with another policy, which a queue keeps from its creation) does not fail.
        yield* jobs.register("t.long", { schema: Payload, policy: "exclusive", handler: (_, job) => Deferred.succeed(ran, job.retryCount) })
        assert.strictEqual(yield* Deferred.await(ran), 1)
      }).pipe(Effect.provide(stack()), Effect.scoped)
    }), 120_000)
})
