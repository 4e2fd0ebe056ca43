/**
 * `ticket` steps with `wait` no longer poll: the step records what it waits for in
 * `ticket_waits` (in the transaction that creates the ticket), and the plugin's follower of the
 * tickets change stream ends the wait with `Runs.complete` when the ticket is done, closed or
 * cancelled. `event_positions` is the follower's stored position in that stream (the last event
 * it handled), so a restarted server resumes after it.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 2,
  name: "ticket_waits",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      CREATE TABLE ticket_waits (
        run_id text NOT NULL,
        step_index integer NOT NULL,
        organization_id text NOT NULL,
        project_id text NOT NULL,
        ticket_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, step_index)
      )
    `
    yield* sql`CREATE INDEX ticket_waits_ticket ON ticket_waits (organization_id, ticket_id)`
    yield* sql`
      CREATE TABLE event_positions (
        stream text PRIMARY KEY,
        last_seq bigint NOT NULL
      )
    `
  })
}
