/**
 * Per-workspace provider configuration (`ProviderSettings`): one row per organization,
 * workspace and provider. The API key is stored only sealed (AES-256-GCM, see `src/secrets/SecretBox.ts`)
 * with its last four characters for display; never in the clear.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 2,
  name: "create_provider_configs",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      CREATE TABLE prompts.provider_configs (
        organization_id text NOT NULL,
        workspace_id text NOT NULL DEFAULT '',
        provider text NOT NULL,
        base_url text NOT NULL,
        model text NOT NULL DEFAULT '',
        api_key_sealed text,
        api_key_last4 text NOT NULL DEFAULT '',
        created_by text NOT NULL,
        updated_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, workspace_id, provider)
      )
    `
  })
}
