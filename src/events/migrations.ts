/**
 * The event log's tables, in the platform's own `trellis` schema (the migration runner creates
 * the schema). Events are rows numbered per stream; `event_streams` holds each stream's last
 * number so that an append allocates the next one under a row lock, in the same transaction as
 * the event itself: numbers are gap-free and unique even with concurrent writers, and a rolled
 * back append gives its number back. Pruning (retention) deletes old rows from `events` only:
 * `event_streams` keeps counting, so numbers never restart. Migration 3 indexes `created_at`
 * for the pruner (2 is the idempotency keys table, in the same schema).
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { Migration } from "../plugin/Plugin.ts"

export const migrations: ReadonlyArray<Migration> = [
  {
    id: 1,
    name: "create_events",
    up: Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe(`
        CREATE TABLE trellis.event_streams (
          stream text PRIMARY KEY,
          last_seq bigint NOT NULL
        )
      `)
      yield* sql.unsafe(`
        CREATE TABLE trellis.events (
          stream text NOT NULL,
          seq bigint NOT NULL,
          event text NOT NULL,
          data jsonb NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (stream, seq)
        )
      `)
    })
  },
  {
    id: 3,
    name: "index_events_created_at",
    up: Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe(`CREATE INDEX IF NOT EXISTS events_created_at_idx ON trellis.events (created_at)`)
    })
  }
]
