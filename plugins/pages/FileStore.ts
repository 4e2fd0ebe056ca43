/**
 * Where a page's file bytes live: a storage interface with three operations, so the rest of the
 * files part never knows the medium.
 *
 * `layerDatabase` (the default) keeps each file's bytes in one `bytea` row of
 * `pages.file_blobs`: every process on one PostgreSQL serves every file, backups carry the
 * files with their pages, and a `put` in the caller's transaction commits (or rolls back) with
 * the upload's own rows. Files are bounded by `TRELLIS_PAGES_MAX_FILE_BYTES` (25 MB by default).
 *
 * An S3-compatible store plugs in by providing `FileStore` with another layer: `put` is a
 * `PutObject` of the key (the key is already unique and safe as an object name), `get` a
 * `GetObject` (`None` on `NoSuchKey`), `delete` a `DeleteObject`; provide it in place of
 * `layerDatabase` in `Plugin.ts`. Such a store is outside the database transaction: the files
 * part writes its rows after `put` succeeds, so a failure leaves an orphaned object at worst,
 * never a file row without bytes.
 */
import { Context, Data, Effect, Layer, Option } from "effect"
import { Buffer } from "node:buffer"
import { SqlClient } from "effect/sql"

/** The store could not be reached or refused the operation (a 500: nothing the caller can fix). */
export class StorageError extends Data.TaggedError("StorageError")<{ readonly cause: unknown }> {}

export interface StoredObject {
  readonly bytes: Uint8Array
  readonly mimeType: string
}

export class FileStore extends Context.Service<FileStore, {
  /** Stores `bytes` under `key` (replacing what was there). */
  readonly put: (
    key: string,
    bytes: Uint8Array,
    meta: { readonly mimeType: string; readonly organizationId: string }
  ) => Effect.Effect<void, StorageError>
  readonly get: (key: string) => Effect.Effect<Option.Option<StoredObject>, StorageError>
  /** Removes the object; removing a missing one is not an error. */
  readonly delete: (key: string) => Effect.Effect<void, StorageError>
}>()("pages/FileStore") {}

const asBytes = (value: unknown): Uint8Array =>
  value instanceof Uint8Array ? value : typeof value === "string" && value.startsWith("\\x")
    ? Uint8Array.from(Buffer.from(value.slice(2), "hex"))
    : new Uint8Array(0)

/** The database store: `pages.file_blobs` (migration 30). */
export const layerDatabase = Layer.effect(
  FileStore,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const failed = (cause: unknown) => new StorageError({ cause })
    return FileStore.of({
      put: (key, bytes, meta) =>
        sql`
          INSERT INTO pages.file_blobs (storage_key, organization_id, bytes, mime_type, size_bytes)
          VALUES (${key}, ${meta.organizationId}, ${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)}, ${meta.mimeType}, ${bytes.byteLength})
          ON CONFLICT (storage_key) DO UPDATE SET bytes = EXCLUDED.bytes, mime_type = EXCLUDED.mime_type, size_bytes = EXCLUDED.size_bytes
        `.pipe(Effect.asVoid, Effect.mapError(failed)),
      get: (key) =>
        sql<{ readonly bytes: unknown; readonly mime_type: string }>`
          SELECT bytes, mime_type FROM pages.file_blobs WHERE storage_key = ${key}
        `.pipe(
          Effect.map((rows) =>
            rows.length === 0
              ? Option.none()
              : Option.some({ bytes: asBytes(rows[0]!.bytes), mimeType: rows[0]!.mime_type })
          ),
          Effect.mapError(failed)
        ),
      delete: (key) => sql`DELETE FROM pages.file_blobs WHERE storage_key = ${key}`.pipe(Effect.asVoid, Effect.mapError(failed))
    })
  })
)
