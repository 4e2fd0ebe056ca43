/**
 * Comments on pages: threaded (`parent_id`, a comment of the same page), optionally anchored
 * to a block (`block_id`). A deletion keeps the row (`deleted_at`) so replies keep their parent
 * and the audit trail its target; deleted comments are left out of the lists.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 21,
  name: "create_comments",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      CREATE TABLE comments (
        id text PRIMARY KEY,
        page_id text NOT NULL,
        organization_id text NOT NULL,
        content text NOT NULL,
        author_name text,
        author_type text NOT NULL,
        author_identity text,
        block_id text,
        parent_id text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3),
        deleted_at timestamptz(3)
      )
    `)
    yield* sql.unsafe(`CREATE INDEX comments_page ON comments (page_id, created_at, id)`)
  })
}
