/**
 * Magic links: single-use sign-in links mailed to a page's people (15 minutes). Only the
 * SHA-256 digest of the token is stored; `used_at` is set by the one guarded UPDATE that
 * spends it, so two racing clicks cannot both sign in.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 41,
  name: "create_magic_links",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      CREATE TABLE magic_links (
        token_digest text PRIMARY KEY,
        email text NOT NULL,
        page_id text,
        redirect text NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        expires_at timestamptz(3) NOT NULL,
        used_at timestamptz(3)
      )
    `)
    yield* sql.unsafe(`CREATE INDEX magic_links_expiry ON magic_links (expires_at)`)
  })
}
