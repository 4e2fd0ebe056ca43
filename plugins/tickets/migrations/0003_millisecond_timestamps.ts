/**
 * Timestamps at the platform's one precision, milliseconds (`Row.iso`): what is stored is what
 * the API shows, so a comment's `created_at` passed back as `since` is an exact cursor.
 * Existing values are rounded to the millisecond.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 3,
  name: "millisecond_timestamps",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      ALTER TABLE projects
        ALTER COLUMN created_at TYPE timestamptz(3),
        ALTER COLUMN updated_at TYPE timestamptz(3);
      ALTER TABLE tickets
        ALTER COLUMN lease_expires_at TYPE timestamptz(3),
        ALTER COLUMN created_at TYPE timestamptz(3),
        ALTER COLUMN updated_at TYPE timestamptz(3),
        ALTER COLUMN resolved_at TYPE timestamptz(3);
      ALTER TABLE ticket_comments ALTER COLUMN created_at TYPE timestamptz(3);
      ALTER TABLE ticket_edits ALTER COLUMN edited_at TYPE timestamptz(3);
      ALTER TABLE organization_settings ALTER COLUMN updated_at TYPE timestamptz(3);
    `)
  })
}
