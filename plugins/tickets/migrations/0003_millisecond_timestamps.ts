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
    const columns: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
      ["projects", ["created_at", "updated_at"]],
      ["tickets", ["lease_expires_at", "created_at", "updated_at", "resolved_at"]],
      ["ticket_comments", ["created_at"]],
      ["ticket_edits", ["edited_at"]],
      ["organization_settings", ["updated_at"]]
    ]
    for (const [table, names] of columns) {
      yield* sql.unsafe(`ALTER TABLE ${table} ${names.map((c) => `ALTER COLUMN ${c} TYPE timestamptz(3)`).join(", ")}`)
    }
  })
}
