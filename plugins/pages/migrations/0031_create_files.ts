/**
 * Uploads and files. An upload is one presigned URL (`POST /v1/pages/:id/files/presign`): its
 * token is kept as a SHA-256 digest, `used_at` makes it single-use (one guarded UPDATE, so two
 * racing PUTs cannot both store), `stored_at` says the bytes are in the store. A file is a
 * completed upload (`complete`), one per storage key; `download_secret` signs its short-lived
 * download URLs (any process can check them); a deleted file keeps its row (`deleted_at`) and
 * loses its bytes.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 31,
  name: "create_files",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      CREATE TABLE uploads (
        storage_key text PRIMARY KEY,
        page_id text NOT NULL,
        organization_id text NOT NULL,
        filename text NOT NULL,
        mime_type text NOT NULL,
        size_bytes bigint NOT NULL,
        uploaded_by text NOT NULL,
        upload_type text NOT NULL,
        token_digest text NOT NULL,
        expires_at timestamptz(3) NOT NULL,
        used_at timestamptz(3),
        stored_at timestamptz(3),
        stored_bytes bigint,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )
    `)
    yield* sql.unsafe(`CREATE INDEX uploads_page ON uploads (page_id)`)
    yield* sql.unsafe(`
      CREATE TABLE files (
        id text PRIMARY KEY,
        page_id text NOT NULL,
        organization_id text NOT NULL,
        filename text NOT NULL,
        mime_type text NOT NULL,
        size_bytes bigint NOT NULL,
        storage_key text NOT NULL UNIQUE,
        uploaded_by text NOT NULL,
        upload_type text NOT NULL,
        download_secret text NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        deleted_at timestamptz(3)
      )
    `)
    yield* sql.unsafe(`CREATE INDEX files_page ON files (page_id, created_at) WHERE deleted_at IS NULL`)
  })
}
