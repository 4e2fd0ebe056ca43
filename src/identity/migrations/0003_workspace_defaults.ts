/**
 * Workspaces as PromptOps's console needs them: a `slug` on every workspace (unique within the
 * organization) and one `default` workspace per organization, which cannot be deleted (the
 * console strands its user when the list comes back empty).
 *
 * Existing workspaces get a slug derived from their name (`-2`, `-3`... on a clash); an
 * organization that already has a workspace named "Default" keeps it as its default one, any
 * other gets a new one. New organizations get theirs in the transaction that creates them
 * (`Workspaces.seedDefault`).
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { Migration } from "../../plugin/Plugin.ts"
import { defaultWorkspaceId, uniqueSlug, workspaceSlug } from "../WorkspaceSlug.ts"

export const migration: Migration = {
  id: 3,
  name: "workspace_defaults",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`ALTER TABLE identity.workspaces ADD COLUMN slug text`)
    yield* sql.unsafe(`ALTER TABLE identity.workspaces ADD COLUMN is_default boolean NOT NULL DEFAULT false`)
    const rows = yield* sql<{ readonly id: string; readonly organization_id: string; readonly name: string }>`
      SELECT id, organization_id, name FROM identity.workspaces ORDER BY organization_id, created_at, id`
    const taken = new Map<string, Set<string>>()
    const defaults = new Set<string>()
    for (const row of rows) {
      const slugs = taken.get(row.organization_id) ?? new Set<string>()
      taken.set(row.organization_id, slugs)
      const isDefault = !defaults.has(row.organization_id) && row.name.trim().toLowerCase() === "default"
      const slug = isDefault ? "default" : uniqueSlug(workspaceSlug(row.name), slugs)
      slugs.add(slug)
      if (isDefault) defaults.add(row.organization_id)
      yield* sql`UPDATE identity.workspaces SET slug = ${slug}, is_default = ${isDefault} WHERE id = ${row.id}`
    }
    // A workspace whose name is not "Default" may hold the slug `default`: move it aside.
    const organizations = yield* sql<{ readonly id: string }>`SELECT id FROM identity.organizations ORDER BY id`
    for (const { id } of organizations) {
      if (defaults.has(id)) continue
      const slugs = taken.get(id) ?? new Set<string>()
      if (slugs.has("default")) {
        const moved = uniqueSlug("default", slugs)
        slugs.add(moved)
        yield* sql`UPDATE identity.workspaces SET slug = ${moved} WHERE organization_id = ${id} AND slug = 'default'`
      }
      yield* sql`
        INSERT INTO identity.workspaces (id, organization_id, name, slug, is_default)
        VALUES (${defaultWorkspaceId(id)}, ${id}, 'Default', 'default', true)`
    }
    yield* sql.unsafe(`ALTER TABLE identity.workspaces ALTER COLUMN slug SET NOT NULL`)
    yield* sql.unsafe(`CREATE UNIQUE INDEX workspaces_org_slug_key ON identity.workspaces (organization_id, slug)`)
    yield* sql.unsafe(`CREATE UNIQUE INDEX workspaces_org_default_key ON identity.workspaces (organization_id) WHERE is_default`)
  })
}
