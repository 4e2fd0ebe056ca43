/**
 * Pages: one row per page, its blocks and actions inline (a page is read whole by the viewer
 * and written by one guarded UPDATE per change: append bumps `version` atomically), the
 * declared approval chain (its progress lives in the decisions tables), and the counters the
 * `stats` answer shows.
 *
 * Migration ids of this plugin are ranges per part, so the parts grow independently:
 * 1-9 pages, 10-19 decisions and deliveries, 20-29 comments and events, 30-39 files,
 * 40-49 people (magic links, viewer sessions), 50-59 templates, workflows, inbox, analytics.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 1,
  name: "create_pages",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      CREATE TABLE pages (
        id text PRIMARY KEY,
        organization_id text NOT NULL,
        status text NOT NULL,
        page_type text NOT NULL,
        title text NOT NULL,
        summary text,
        priority text NOT NULL,
        tags jsonb NOT NULL DEFAULT '[]',
        blocks jsonb NOT NULL DEFAULT '[]',
        actions jsonb NOT NULL DEFAULT '[]',
        access jsonb NOT NULL,
        notify jsonb,
        on_action jsonb,
        approval_chain jsonb,
        metadata jsonb,
        version integer NOT NULL DEFAULT 1,
        created_by text NOT NULL,
        principal jsonb NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        published_at timestamptz(3),
        expires_at timestamptz(3),
        revoked_at timestamptz(3),
        revoke_reason text,
        completed_at timestamptz(3),
        outcome jsonb,
        view_count integer NOT NULL DEFAULT 0,
        action_count integer NOT NULL DEFAULT 0,
        last_viewed_at timestamptz(3)
      )
    `)
    yield* sql.unsafe(`CREATE INDEX pages_organization ON pages (organization_id, created_at DESC)`)
    yield* sql.unsafe(`CREATE INDEX pages_expiry ON pages (expires_at) WHERE status = 'active'`)
  })
}
