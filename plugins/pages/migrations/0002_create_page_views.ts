/**
 * Page views: one row per view the viewer renders (`Pages.countView`), for analytics (views,
 * unique viewers by `viewer_key`, daily views); the page's own counters (`view_count`,
 * `last_viewed_at`) are updated in the same transaction.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 2,
  name: "create_page_views",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      CREATE TABLE page_views (
        page_id text NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
        organization_id text NOT NULL,
        viewer_key text NOT NULL,
        day date NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )
    `)
    yield* sql.unsafe(`CREATE INDEX page_views_page ON page_views (page_id, day)`)
    yield* sql.unsafe(`CREATE INDEX page_views_organization ON page_views (organization_id, day)`)
  })
}
