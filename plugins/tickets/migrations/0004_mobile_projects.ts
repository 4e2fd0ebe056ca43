/**
 * What seed 002's mobile client keeps on a project besides SessionFS's fields: a description,
 * the default branch, the repository URL as given (without credentials; `NULL` for projects
 * made through SessionFS's routes, which know only the normalized remote) and `archived_at`,
 * its soft delete. An archived project is gone from every route, so its remote is free again:
 * the one-project-per-remote rule holds among live projects only.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 4,
  name: "mobile_projects",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      ALTER TABLE projects
        ADD COLUMN description text NOT NULL DEFAULT '',
        ADD COLUMN default_branch text NOT NULL DEFAULT 'main',
        ADD COLUMN repository_url text,
        ADD COLUMN archived_at timestamptz
    `)
    yield* sql.unsafe(`ALTER TABLE projects DROP CONSTRAINT projects_remote_unique`)
    yield* sql.unsafe(`CREATE UNIQUE INDEX projects_remote_live ON projects (organization_id, git_remote_normalized) WHERE archived_at IS NULL`)
    yield* sql.unsafe(`CREATE INDEX projects_org_created ON projects (organization_id, created_at DESC, id DESC) WHERE archived_at IS NULL`)
  })
}
