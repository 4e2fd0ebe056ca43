/**
 * The HTTP contracts' needs (issue 12):
 *
 * - Run ids from a sequence, as decimal digit strings: seed 002's clients read `id` and `runId`
 *   as JSON numbers. Runs created before this migration keep their ids (`id` stays text).
 * - The run log's usage roll-up (PromptOps's `provider`, `model`, `prompt_tokens`,
 *   `output_tokens`, `latency_ms`), updated with each `model_call` event in its transaction:
 *   tokens and latency are sums over the run's model calls, provider and model the last call's.
 * - `labels`: free-form strings a caller attaches (seed 002's `projectId`, `ragEnabled`,
 *   `safeMode`); projects belong to another plugin, so they are kept as text, not a reference.
 * - `run_reviews`: one row per approve or reject (seed 002's `run_reviews`).
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 2,
  name: "run_log",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`CREATE SEQUENCE run_ids`)
    yield* sql.unsafe(`
      ALTER TABLE runs
        ADD COLUMN labels jsonb NOT NULL DEFAULT '{}'::jsonb,
        ADD COLUMN provider text,
        ADD COLUMN model text,
        ADD COLUMN model_calls integer NOT NULL DEFAULT 0,
        ADD COLUMN prompt_tokens bigint NOT NULL DEFAULT 0,
        ADD COLUMN output_tokens bigint NOT NULL DEFAULT 0,
        ADD COLUMN latency_ms bigint NOT NULL DEFAULT 0
    `)
    yield* sql.unsafe(`
      CREATE TABLE run_reviews (
        id bigserial PRIMARY KEY,
        run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        step_index integer,
        decision text NOT NULL,
        notes text,
        commit_requested boolean NOT NULL DEFAULT false,
        reviewed_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )
    `)
    yield* sql.unsafe(`CREATE INDEX run_reviews_run_idx ON run_reviews (run_id, id)`)
  })
}
