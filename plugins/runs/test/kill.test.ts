/**
 * `kill -9` of the server process executing a run (issue 12 "Scale and faults"), with real
 * server processes (`trellis serve`) loading the runs plugin and a `sink` step type
 * (fixtures/): the run is four steps, each a POST to this test's local HTTP sink with the step's
 * idempotency key; the third hangs until its process is killed.
 *
 * - PostgreSQL: two processes on one database; the one executing the run is killed and the
 *   other completes it.
 * - Embedded database: one process is killed and the next one started on the same directory
 *   completes it.
 *
 * Either way: no completed step ran twice (the sink counts one call for each of the first two
 * steps and for the last), the killed step ran again with the same idempotency key, and the
 * run's event stream read back from seq 1 has no gap and no duplicate, in `runs.run_events` and in
 * the event log alike.
 */
import { afterEach, assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import * as Database from "../../../src/database/Database.ts"
import { freshPostgresDatabase, postgresUrl } from "../../../test/events/support.ts"
import { freshDataDir, killAll, start, waitReady } from "../../../test/platform/serverProcess.ts"
import type { RunningServer } from "../../../test/platform/serverProcess.ts"
import { eventually, sink } from "./support.ts"
import type { Sink } from "./support.ts"

afterEach(() => killAll())

const T = 240_000
const plugins = "./plugins/runs/test/fixtures/runsPlugin.ts,./plugins/runs/test/fixtures/killPlugin.ts"
const fast = { TRELLIS_JOBS_POLL_SECONDS: "1", TRELLIS_JOBS_MONITOR_SECONDS: "1", TRELLIS_LOG_LEVEL: "warn" }

/** The checks on the finished run, through the database. */
const verify = (http: Sink, survivorPid: number | undefined) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const runs = yield* sql<{ id: string; status: string }>`SELECT id, status FROM runs.runs`
    assert.strictEqual(runs.length, 1)
    const runId = runs[0].id
    // Waits until the survivor has finished it (the last call arrived: its checkpoint follows).
    yield* eventually(Effect.map(sql<{ status: string }>`SELECT status FROM runs.runs WHERE id = ${runId}`, (rows) => rows[0]?.status === "succeeded"))
    assert.deepStrictEqual(http.hits("/a").map((h) => h.key), [`${runId}:0`])
    assert.deepStrictEqual(http.hits("/b").map((h) => h.key), [`${runId}:1`])
    assert.deepStrictEqual(http.hits("/c").map((h) => h.key), [`${runId}:2`, `${runId}:2`])
    assert.deepStrictEqual(http.hits("/d").map((h) => h.key), [`${runId}:3`])
    if (survivorPid !== undefined) assert.deepStrictEqual([http.pids("/c")[1], http.pids("/d")[0]], [survivorPid, survivorPid])
    const copies = yield* sql<{ seq: number; kind: string; name: string | null }>`
      SELECT seq, kind, data ->> 'name' AS name FROM runs.run_events WHERE run_id = ${runId} ORDER BY seq`
    assert.deepStrictEqual(copies.map((e) => Number(e.seq)), copies.map((_, i) => i + 1))
    const logged = yield* sql<{ seq: number | string }>`SELECT seq FROM trellis.events WHERE stream = ${`runs.run.${runId}`} ORDER BY seq`
    assert.deepStrictEqual(logged.map((e) => Number(e.seq)), copies.map((e) => Number(e.seq)))
    const completed = copies.filter((e) => e.kind === "step_completed").map((e) => e.name)
    assert.deepStrictEqual(completed, ["a", "b", "c", "d"])
    const checkpoints = yield* sql<{ name: string }>`SELECT name FROM runs.run_steps WHERE run_id = ${runId} ORDER BY step_index`
    assert.deepStrictEqual(checkpoints.map((c) => c.name), ["a", "b", "c", "d"])
  })

const killed = (victim: RunningServer) =>
  Effect.promise(async () => {
    victim.child.kill("SIGKILL")
    return await victim.exited
  })

describe("runs survive kill -9 of the process executing them", () => {
  it.live.skipIf(postgresUrl === undefined)("PostgreSQL: the other process completes the run", () =>
    Effect.gen(function*() {
      const url = yield* freshPostgresDatabase(postgresUrl!)
      const http = yield* sink
      http.setMode("/c", "hang")
      const env = { ...fast, DATABASE_URL: url, TRELLIS_PLUGINS: plugins }
      const a = yield* Effect.promise(() => start({ ...env, RUNS_KILL_START: http.url("") }))
      yield* Effect.promise(() => waitReady(a))
      const b = yield* Effect.promise(() => start(env))
      yield* Effect.promise(() => waitReady(b))

      yield* http.arrived("/c", 1)
      const pid = http.pids("/c")[0]
      const victim = pid === a.child.pid ? a : b
      const survivor = victim === a ? b : a
      assert.strictEqual(victim.child.pid, pid)
      http.setMode("/c", "ok")
      const killedAt = Date.now()
      yield* killed(victim)
      yield* http.arrived("/d", 1)
      yield* Effect.logInfo(`run completed by the other process ${Date.now() - killedAt} ms after kill -9`)
      yield* verify(http, survivor.child.pid).pipe(
        Effect.provide(Database.layer({ databaseUrl: Redacted.make(url), dataDir: "" }))
      )
      killAll()
    }).pipe(Effect.scoped), T)

  it.live("embedded database: the next process on the same directory completes the run", () =>
    Effect.gen(function*() {
      const dataDir = freshDataDir()
      const http = yield* sink
      http.setMode("/c", "hang")
      const env = { ...fast, TRELLIS_DATA_DIR: dataDir, TRELLIS_PLUGINS: plugins }
      const first = yield* Effect.promise(() => start({ ...env, RUNS_KILL_START: http.url("") }))
      yield* Effect.promise(() => waitReady(first))
      yield* http.arrived("/c", 1)
      http.setMode("/c", "ok")
      yield* killed(first)
      const killedAt = Date.now()
      const next = yield* Effect.promise(() => start(env))
      yield* Effect.promise(() => waitReady(next))
      yield* http.arrived("/d", 1)
      yield* Effect.logInfo(`run completed by the next process ${Date.now() - killedAt} ms after kill -9`)
      // The embedded database is one process's: stop the server (its job finishes within the grace period), then read it.
      next.child.kill("SIGTERM")
      yield* Effect.promise(() => next.exited)
      yield* verify(http, undefined).pipe(
        Effect.provide(Layer.fresh(Database.layer({ databaseUrl: undefined, dataDir })))
      )
    }).pipe(Effect.scoped), T)
})
