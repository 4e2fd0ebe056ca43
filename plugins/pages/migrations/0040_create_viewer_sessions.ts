/**
 * Viewer sessions: a person who proved an email address (a magic link, an OAuth sign-in) and
 * may open the pages shared with it. Only the SHA-256 digest of the token is stored.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 40,
  name: "create_viewer_sessions",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      CREATE TABLE viewer_sessions (
        id text PRIMARY KEY,
        token_digest text NOT NULL UNIQUE,
        email text NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        expires_at timestamptz(3) NOT NULL,
        revoked_at timestamptz(3),
        last_seen_at timestamptz(3)
      )
    `)
    yield* sql.unsafe(`CREATE INDEX viewer_sessions_email ON viewer_sessions (email)`)
  })
}
