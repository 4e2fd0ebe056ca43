/**
 * Greetings belong to an organization, like every resource: rows from before this migration
 * go to the default organization. (A second migration, rather than an edited first one, so
 * that a server that already ran 0001 upgrades in place: migrations are append-only.)
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 2,
  name: "greetings_per_organization",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`ALTER TABLE hello.greetings ADD COLUMN organization_id text NOT NULL DEFAULT 'org_default'`
    yield* sql`ALTER TABLE hello.greetings ALTER COLUMN organization_id DROP DEFAULT`
    yield* sql`CREATE INDEX greetings_organization ON hello.greetings (organization_id, created_at)`
  })
}
