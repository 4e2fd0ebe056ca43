/**
 * The audit log's tables: `audit.entries`, one hash-chained row per audited action, numbered
 * per organization; and `audit.chain_heads`, each organization's last number and hash. An
 * append locks the head row, so numbers are allocated one at a time and with no gaps; the
 * head also lets verification notice a chain whose tail was cut off.
 *
 * A trigger refuses UPDATE, DELETE and TRUNCATE on the entries: the log is append-only for
 * the application. (The hash chain is what detects tampering by someone who can disable it.)
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "../../plugin/Plugin.ts"

export const migration: Migration = {
  id: 1,
  name: "create_audit",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      CREATE TABLE audit.entries (
        organization_id text NOT NULL,
        seq bigint NOT NULL CHECK (seq > 0),
        actor_id text NOT NULL,
        actor_kind text NOT NULL,
        action text NOT NULL,
        target_type text,
        target_id text,
        details jsonb NOT NULL DEFAULT '{}'::jsonb,
        request_id text,
        created_at timestamptz NOT NULL,
        prev_hash text NOT NULL,
        hash text NOT NULL,
        PRIMARY KEY (organization_id, seq)
      )
    `)
    yield* sql.unsafe(`
      CREATE TABLE audit.chain_heads (
        organization_id text PRIMARY KEY,
        last_seq bigint NOT NULL CHECK (last_seq >= 0),
        last_hash text NOT NULL
      )
    `)
    yield* sql.unsafe(`
      CREATE FUNCTION audit.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $body$
      BEGIN
        RAISE EXCEPTION 'audit.entries is append-only: % refused', TG_OP;
      END
      $body$
    `)
    yield* sql.unsafe(`
      CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON audit.entries
      FOR EACH ROW EXECUTE FUNCTION audit.refuse_change()
    `)
    yield* sql.unsafe(`
      CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON audit.entries
      FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change()
    `)
  })
}
