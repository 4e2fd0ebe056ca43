/**
 * Workflows (PromptOps's definitions, per organization and workspace; keys unique in a
 * workspace) and the outside effects their steps started, keyed by the step's idempotency key
 * (`run:<step>`): the sub-run a `workflow` step started, the ticket a `ticket` step created. A
 * step executed again after a crash finds its row and does not start or create twice; the row is
 * written in the same transaction as the run or ticket it names.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 1,
  name: "create_workflows",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      CREATE TABLE workflows (
        id text PRIMARY KEY,
        organization_id text NOT NULL,
        workspace_id text NOT NULL DEFAULT '',
        key text NOT NULL,
        name text NOT NULL DEFAULT '',
        description text NOT NULL DEFAULT '',
        steps jsonb NOT NULL,
        created_by text NOT NULL,
        updated_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (organization_id, workspace_id, key)
      )
    `
    yield* sql`
      CREATE TABLE step_effects (
        idempotency_key text PRIMARY KEY,
        organization_id text NOT NULL,
        kind text NOT NULL,
        ref text NOT NULL,
        detail jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
      )
    `
  })
}
