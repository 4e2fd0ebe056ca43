/**
 * Automations, the times their triggers fired (one row per firing, unique per automation and
 * delivery key: a cron job id, a webhook delivery's digest, an event's number, so a repeat
 * starts nothing twice) and the event log positions the event triggers have consumed (one per
 * followed stream, advanced in the transaction that starts the runs).
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 1,
  name: "create_automations",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      CREATE TABLE automations (
        id text PRIMARY KEY,
        organization_id text NOT NULL,
        workspace_id text NOT NULL,
        workspace_default boolean NOT NULL DEFAULT false,
        name text NOT NULL,
        description text NOT NULL DEFAULT '',
        enabled boolean NOT NULL,
        trigger_type text NOT NULL,
        trigger jsonb NOT NULL,
        target jsonb NOT NULL,
        webhook_secret text,
        event_stream text,
        event_after_seq bigint NOT NULL DEFAULT 0,
        principal jsonb NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        last_fired_at timestamptz(3)
      )
    `)
    yield* sql.unsafe(`CREATE INDEX automations_workspace ON automations (organization_id, workspace_id, created_at)`)
    yield* sql.unsafe(`CREATE INDEX automations_event_triggers ON automations (event_stream) WHERE trigger_type = 'event'`)
    yield* sql.unsafe(`
      CREATE TABLE firings (
        id text PRIMARY KEY,
        automation_id text NOT NULL,
        organization_id text NOT NULL,
        trigger text NOT NULL,
        dedupe_key text NOT NULL,
        run_id text,
        error text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        UNIQUE (automation_id, dedupe_key)
      )
    `)
    yield* sql.unsafe(`CREATE INDEX firings_automation ON firings (automation_id, created_at DESC)`)
    yield* sql.unsafe(`
      CREATE TABLE event_cursors (
        stream text PRIMARY KEY,
        organization_id text NOT NULL,
        last_seq bigint NOT NULL
      )
    `)
  })
}
