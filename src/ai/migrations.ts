/**
 * The `ai` platform plugin's tables (schema `ai`):
 * - `usage`: one row per model call, ok or failed, for every caller (playground, agents,
 *   workflows, third-party plugins): who (organization, source, ref key, run id), what
 *   (provider, model), cost (tokens, latency) and outcome. Kept `TRELLIS_LLM_USAGE_RETENTION_DAYS`.
 * - `provider_states`: per organization, the providers an admin switched off (a row only when
 *   it differs from the default, enabled).
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { Migration } from "../plugin/Plugin.ts"

export const migrations: ReadonlyArray<Migration> = [
  {
    id: 1,
    name: "create_usage_and_provider_states",
    up: Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe(`
        CREATE TABLE ai.usage (
          id text PRIMARY KEY,
          organization_id text NOT NULL,
          source text NOT NULL,
          ref_key text NOT NULL DEFAULT '',
          run_id text,
          actor_id text NOT NULL DEFAULT '',
          provider text NOT NULL,
          model text NOT NULL,
          prompt_tokens integer NOT NULL DEFAULT 0,
          output_tokens integer NOT NULL DEFAULT 0,
          latency_ms integer NOT NULL DEFAULT 0,
          status text NOT NULL CHECK (status IN ('ok', 'error')),
          error text NOT NULL DEFAULT '',
          created_at timestamptz NOT NULL DEFAULT now()
        )
      `)
      yield* sql.unsafe(`CREATE INDEX usage_org_created ON ai.usage (organization_id, created_at DESC)`)
      yield* sql.unsafe(`CREATE INDEX usage_created ON ai.usage (created_at)`)
      yield* sql.unsafe(`CREATE INDEX usage_run ON ai.usage (run_id) WHERE run_id IS NOT NULL`)
      yield* sql.unsafe(`
        CREATE TABLE ai.provider_states (
          organization_id text NOT NULL,
          provider text NOT NULL,
          enabled boolean NOT NULL,
          updated_by text NOT NULL,
          updated_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (organization_id, provider)
        )
      `)
    })
  }
]
