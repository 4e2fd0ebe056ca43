/**
 * The idempotency keys table, in the platform's own `trellis` schema (migration 2 there; 1 is
 * the event log). One row per (organization, principal, key): the claim of the attempt that
 * holds the key, a digest of the request it was first used with, and, once the handler has
 * answered, the response to replay. The primary key makes the claim atomic across processes;
 * `expires_at` is indexed so expired rows can be swept.
 *
 * Migration 4 (3 is the event log's) seals stored answers: the body column becomes
 * `body_sealed` (a `SecretBox` value instead of base64), and answers stored before, in the
 * clear, are deleted (their keys are forgotten: a retry of such a request runs again).
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { Migration } from "../plugin/Plugin.ts"

export const migrations: ReadonlyArray<Migration> = [
  {
    id: 2,
    name: "create_idempotency_keys",
    up: Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe(`
        CREATE TABLE trellis.idempotency_keys (
          organization_id text NOT NULL,
          principal_id text NOT NULL,
          key text NOT NULL,
          request_hash text NOT NULL,
          claim text NOT NULL,
          state text NOT NULL CHECK (state IN ('running', 'done')),
          status integer,
          content_type text,
          location text,
          body_base64 text,
          claimed_at timestamptz NOT NULL DEFAULT now(),
          expires_at timestamptz NOT NULL,
          PRIMARY KEY (organization_id, principal_id, key)
        )
      `)
      yield* sql.unsafe(`CREATE INDEX idempotency_keys_expires_at ON trellis.idempotency_keys (expires_at)`)
    })
  },
  {
    id: 4,
    name: "seal_idempotency_bodies",
    up: Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe(`DELETE FROM trellis.idempotency_keys WHERE body_base64 IS NOT NULL`)
      yield* sql.unsafe(`ALTER TABLE trellis.idempotency_keys RENAME COLUMN body_base64 TO body_sealed`)
    })
  }
]
