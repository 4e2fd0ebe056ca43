/**
 * The engine's additions (migrations 0010 and up are the engine's): a run-level timeout
 * (`timeout_ms`, counted from `started_at`), and an index for the sweep that fails runs past
 * their deadline or left without a job (only runs that are not finished are in it).
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 10,
  name: "run_deadlines",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`ALTER TABLE runs ADD COLUMN timeout_ms bigint`)
    yield* sql.unsafe(`
      CREATE INDEX runs_unfinished_idx ON runs (updated_at)
      WHERE status IN ('queued', 'running', 'paused', 'waiting', 'awaiting_approval')
    `)
  })
}
