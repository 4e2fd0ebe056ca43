/**
 * File bytes in the database (`FileStore.layerDatabase`): one row per stored object, so several
 * processes on one PostgreSQL share every file. `bytea` works on PGlite and PostgreSQL alike.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 30,
  name: "create_file_blobs",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      CREATE TABLE file_blobs (
        storage_key text PRIMARY KEY,
        organization_id text NOT NULL,
        bytes bytea NOT NULL,
        mime_type text NOT NULL,
        size_bytes bigint NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )
    `)
  })
}
