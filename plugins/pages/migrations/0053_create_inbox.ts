/**
 * Inbox entries: one per page and person (email address) the page names, with that person's
 * read, starred and archived state.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 53,
  name: "create_inbox",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      CREATE TABLE inbox_entries (
        id text PRIMARY KEY,
        organization_id text NOT NULL,
        page_id text NOT NULL,
        email text NOT NULL,
        status text NOT NULL DEFAULT 'unread',
        starred boolean NOT NULL DEFAULT false,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        UNIQUE (page_id, email)
      )
    `)
    yield* sql.unsafe(`CREATE INDEX inbox_entries_email ON inbox_entries (email, created_at DESC)`)
  })
}
