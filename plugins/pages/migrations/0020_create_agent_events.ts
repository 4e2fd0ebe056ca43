/**
 * The agent inbox: one row per event a person caused on a page (`PageEvents.emit` with
 * `toAgent`), written in the change's transaction beside the event on the organization's agent
 * stream (`seq` is that event's number in the stream, so `Last-Event-ID: evt_...` resumes).
 * Pending rows (`acked_at IS NULL`) are what `GET /v1/agent/inbox` lists, oldest first.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 20,
  name: "create_agent_events",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      CREATE TABLE agent_events (
        id text PRIMARY KEY,
        organization_id text NOT NULL,
        page_id text NOT NULL,
        type text NOT NULL,
        data jsonb NOT NULL,
        actor text NOT NULL,
        seq bigint NOT NULL,
        created_at timestamptz(3) NOT NULL,
        acked_at timestamptz(3),
        acked_by text
      )
    `)
    yield* sql.unsafe(`CREATE INDEX agent_events_pending ON agent_events (organization_id, created_at, id) WHERE acked_at IS NULL`)
    yield* sql.unsafe(`CREATE INDEX agent_events_page ON agent_events (page_id, created_at, id)`)
    yield* sql.unsafe(`CREATE UNIQUE INDEX agent_events_seq ON agent_events (organization_id, seq)`)
  })
}
