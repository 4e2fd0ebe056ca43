/**
 * Sub-runs known to the engine: a child run names the run and step that started it
 * (`parent_run_id`, `parent_step`), so its end resumes that step in the same transaction, and a
 * cancel of the parent finds its children. The link is in the database: a crash between a
 * child's end and its parent's resume loses nothing. `run_waits.rerun`: a callback wait whose
 * step executes again when a child ends (instead of completing with the child's result).
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 11,
  name: "sub_runs",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`ALTER TABLE runs ADD COLUMN parent_run_id text REFERENCES runs (id) ON DELETE SET NULL`)
    yield* sql.unsafe(`ALTER TABLE runs ADD COLUMN parent_step integer`)
    yield* sql.unsafe(`CREATE INDEX runs_parent_idx ON runs (parent_run_id, parent_step) WHERE parent_run_id IS NOT NULL`)
    yield* sql.unsafe(`ALTER TABLE run_waits ADD COLUMN rerun boolean NOT NULL DEFAULT false`)
  })
}
