/**
 * OAuth sign-in states: the `state` of each authorize URL handed out (10 minutes, single use),
 * so that a callback is only accepted for a sign-in this server started. Digest only.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 42,
  name: "create_oauth_states",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      CREATE TABLE oauth_states (
        state_digest text PRIMARY KEY,
        provider text NOT NULL,
        redirect text NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        expires_at timestamptz(3) NOT NULL,
        used_at timestamptz(3)
      )
    `)
    yield* sql.unsafe(`CREATE INDEX oauth_states_expiry ON oauth_states (expires_at)`)
  })
}
