/**
 * The plugin's tables, in its own schema (`agents`): the agent definitions, and the loop's
 * checkpoints: one row per finished model call or tool call of an `agent` step, keyed by the
 * step's idempotency key, the turn and the call (0: the model call; n: the turn's n-th tool
 * call), so a step re-run after a crash replays them instead of calling again. A sub-run tool
 * call first stores the sub-run's id (`kind` `subrun`), so a re-run waits for that same run.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 1,
  name: "create_agents",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      CREATE TABLE agents.agents (
        id text PRIMARY KEY,
        organization_id text NOT NULL,
        workspace_id text NOT NULL DEFAULT '',
        key text NOT NULL,
        name text NOT NULL DEFAULT '',
        description text NOT NULL DEFAULT '',
        prompt text NOT NULL DEFAULT '',
        provider text NOT NULL DEFAULT 'mock',
        model text NOT NULL DEFAULT '',
        tools jsonb NOT NULL DEFAULT '[]',
        max_steps integer NOT NULL DEFAULT 10,
        token_budget integer,
        mock jsonb,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT agents_key_unique UNIQUE (organization_id, workspace_id, key)
      )
    `
    yield* sql`CREATE INDEX agents_org_updated ON agents.agents (organization_id, updated_at DESC)`
    yield* sql`
      CREATE TABLE agents.loop_checkpoints (
        idempotency_key text NOT NULL,
        turn integer NOT NULL,
        call_index integer NOT NULL,
        organization_id text NOT NULL,
        run_id text NOT NULL,
        kind text NOT NULL,
        data jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (idempotency_key, turn, call_index)
      )
    `
    yield* sql`CREATE INDEX agents_checkpoints_run ON agents.loop_checkpoints (run_id)`
  })
}
