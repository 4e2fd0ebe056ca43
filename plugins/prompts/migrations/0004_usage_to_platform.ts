/**
 * The playground's calls are recorded by the platform's `Models` service in `ai.usage` now
 * (every caller's model calls in one table, which `GET /api/v1/llm-usage` sums): the rows of
 * `prompts.runs` move there, so usage reports keep their history, and the table is dropped.
 * (The `ai` platform plugin migrates before any plugin.)
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 4,
  name: "usage_to_platform",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      INSERT INTO ai.usage (id, organization_id, source, ref_key, run_id, actor_id, provider, model,
        prompt_tokens, output_tokens, latency_ms, status, error, created_at)
      SELECT id, organization_id, source, ref_key, NULL, actor_id, provider, model,
        prompt_tokens, output_tokens, latency_ms, CASE WHEN status = 'ok' THEN 'ok' ELSE 'error' END, error, created_at
      FROM prompts.runs
      ON CONFLICT (id) DO NOTHING
    `
    yield* sql`DROP TABLE prompts.runs`
  })
}
