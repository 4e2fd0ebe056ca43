/** Creates the plugin's one table, inside its own schema (`hello`). */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 1,
  name: "create_greetings",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      CREATE TABLE hello.greetings (
        id text PRIMARY KEY,
        name text NOT NULL,
        message text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )
    `
  })
}
