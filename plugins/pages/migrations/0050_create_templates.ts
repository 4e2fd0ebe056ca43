/**
 * Page templates an organization adds (the built-in set lives in code, `Templates.ts`): a
 * page body with `{{variable}}` placeholders and the variables it declares. Names are unique
 * per organization.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 50,
  name: "create_templates",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      CREATE TABLE templates (
        organization_id text NOT NULL,
        name text NOT NULL,
        description text NOT NULL,
        variables jsonb NOT NULL,
        page jsonb NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, name)
      )
    `)
  })
}
