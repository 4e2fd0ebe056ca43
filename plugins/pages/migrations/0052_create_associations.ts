/** Typed links between two pages of one organization (`follow_up`, `duplicate`, `related`...). */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 52,
  name: "create_associations",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      CREATE TABLE associations (
        id text PRIMARY KEY,
        organization_id text NOT NULL,
        source_page_id text NOT NULL,
        target_page_id text NOT NULL,
        relation_type text NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        UNIQUE (source_page_id, target_page_id, relation_type)
      )
    `)
    yield* sql.unsafe(`CREATE INDEX associations_target ON associations (target_page_id)`)
  })
}
