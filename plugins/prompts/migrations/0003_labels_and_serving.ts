/**
 * Version labels and serving modes (PromptOps compatibility):
 * - `prompts.prompts.version_label`: the working copy's label as the client sent it (`v1`,
 *   `v2-beta`); `NULL` for a prompt never given one (publish then labels `v<number>`).
 * - `prompts.versions.label`: the label a version was published under; `NULL` reads as
 *   `v<number>` (versions are immutable, so rows from before this migration keep `NULL`).
 * - `prompts.workspace_settings`: per workspace, whether SDKs are served the working copy
 *   (`live`, the default when there is no row) or published versions only.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 3,
  name: "labels_and_serving",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`ALTER TABLE prompts.prompts ADD COLUMN version_label text`
    yield* sql`ALTER TABLE prompts.versions ADD COLUMN label text`
    yield* sql`CREATE INDEX versions_prompt_label ON prompts.versions (prompt_id, label)`
    yield* sql`
      CREATE TABLE prompts.workspace_settings (
        organization_id text NOT NULL,
        workspace_id text NOT NULL,
        serving text NOT NULL CHECK (serving IN ('live', 'published')),
        updated_by text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (organization_id, workspace_id)
      )
    `
  })
}
