/**
 * Runs, their checkpoints (one row per completed step, with the stored result that a retried
 * job replays), their waits (approval, sleep) and their events (numbered per run, gap-free:
 * the number is the event log's, allocated in the same transaction, and is SSE's
 * `Last-Event-ID`). `epoch` fences executions: each claim bumps it, and a stale execution's
 * writes match no row.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 1,
  name: "create_runs",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      CREATE TABLE runs (
        id text PRIMARY KEY,
        organization_id text NOT NULL,
        created_by text NOT NULL,
        title text,
        source text NOT NULL,
        ref_key text,
        status text NOT NULL,
        steps jsonb NOT NULL,
        input jsonb NOT NULL,
        current_step integer NOT NULL DEFAULT 0,
        output jsonb,
        error jsonb,
        epoch integer NOT NULL DEFAULT 0,
        retries integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz
      )
    `)
    yield* sql.unsafe(`CREATE INDEX runs_org_created_idx ON runs (organization_id, created_at DESC, id DESC)`)
    yield* sql.unsafe(`
      CREATE TABLE run_steps (
        run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        step_index integer NOT NULL,
        name text NOT NULL,
        type text NOT NULL,
        output jsonb,
        next integer NOT NULL,
        attempts integer NOT NULL,
        idempotency_key text NOT NULL,
        started_at timestamptz NOT NULL,
        finished_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, step_index)
      )
    `)
    yield* sql.unsafe(`
      CREATE TABLE run_waits (
        run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        step_index integer NOT NULL,
        kind text NOT NULL,
        until timestamptz,
        decision text,
        notes text,
        decided_by text,
        decided_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, step_index)
      )
    `)
    yield* sql.unsafe(`
      CREATE TABLE run_events (
        run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        seq integer NOT NULL,
        kind text NOT NULL,
        severity text NOT NULL,
        data jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, seq)
      )
    `)
  })
}
