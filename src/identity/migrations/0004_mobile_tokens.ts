/**
 * Seed 002's mobile client: its tokens are user keys that carry abilities (`api_keys.abilities`,
 * `NULL` for every other key: not restricted by abilities), and the devices (APNs-style push
 * tokens) a user registers, one row per user and token.
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { Migration } from "../../plugin/Plugin.ts"

export const migration: Migration = {
  id: 4,
  name: "mobile_tokens",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`ALTER TABLE identity.api_keys ADD COLUMN abilities jsonb`)
    yield* sql.unsafe(`
      CREATE TABLE identity.devices (
        id text PRIMARY KEY,
        user_id text NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
        token text NOT NULL,
        platform text NOT NULL,
        name text,
        credential_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT devices_user_token UNIQUE (user_id, token)
      )
    `)
  })
}
