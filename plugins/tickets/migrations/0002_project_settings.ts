/**
 * Project settings SessionFS's clients read or write: `auto_narrative` and the knowledge-base
 * limits (`kb_retention_days`, `kb_max_context_words`, `kb_section_page_limit`, carried with
 * SessionFS's defaults), and `lease_seconds`, how long a claim holds a ticket of this project
 * (`NULL`: the server's `TRELLIS_TICKETS_LEASE_SECONDS`; `0`: never expires).
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 2,
  name: "project_settings",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      ALTER TABLE projects
        ADD COLUMN auto_narrative boolean NOT NULL DEFAULT false,
        ADD COLUMN kb_retention_days integer NOT NULL DEFAULT 180,
        ADD COLUMN kb_max_context_words integer NOT NULL DEFAULT 2000,
        ADD COLUMN kb_section_page_limit integer NOT NULL DEFAULT 30,
        ADD COLUMN lease_seconds integer CHECK (lease_seconds IS NULL OR (lease_seconds >= 0 AND lease_seconds <= 31536000))
    `)
  })
}
