/**
 * Page workflows (`POST /v1/workflows`): a group of pages published all at once (`parallel`) or
 * one after the other (`sequential`: the rest wait as drafts until the page before completes).
 * `status`: `active`, `completed` (every page completed) or `cancelled` (a page was revoked or
 * expired before completing).
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 51,
  name: "create_page_groups",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      CREATE TABLE page_groups (
        id text PRIMARY KEY,
        organization_id text NOT NULL,
        name text NOT NULL,
        flow text NOT NULL,
        status text NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )
    `)
    yield* sql.unsafe(`
      CREATE TABLE page_group_members (
        group_id text NOT NULL REFERENCES page_groups (id) ON DELETE CASCADE,
        position integer NOT NULL,
        page_id text NOT NULL UNIQUE,
        input jsonb NOT NULL,
        PRIMARY KEY (group_id, position)
      )
    `)
  })
}
