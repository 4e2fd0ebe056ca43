/**
 * Tenancy tables in the `identity` schema: an organization's workspaces and its invites, and a
 * URL slug for organizations (SessionFS names organizations by slug).
 *
 * Invites are one row per (organization, email): inviting an address again after its invite was
 * declined, expired or accepted updates that row in place with a new id, so an old acceptance
 * link stops working while `created_at` keeps when the address was first invited.
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { Migration } from "../../plugin/Plugin.ts"

export const migration: Migration = {
  id: 2,
  name: "create_tenancy",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`ALTER TABLE identity.organizations ADD COLUMN slug text`)
    yield* sql.unsafe(`CREATE UNIQUE INDEX organizations_slug_key ON identity.organizations (slug) WHERE slug IS NOT NULL`)
    yield* sql.unsafe(`UPDATE identity.organizations SET slug = 'default' WHERE id = 'org_default'`)
    yield* sql.unsafe(`
      CREATE TABLE identity.workspaces (
        id text PRIMARY KEY,
        organization_id text NOT NULL REFERENCES identity.organizations (id) ON DELETE CASCADE,
        name text NOT NULL,
        description text NOT NULL DEFAULT '',
        created_by text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )
    `)
    yield* sql.unsafe(`CREATE UNIQUE INDEX workspaces_org_name_key ON identity.workspaces (organization_id, lower(name))`)
    yield* sql.unsafe(`
      CREATE TABLE identity.invites (
        id text PRIMARY KEY,
        organization_id text NOT NULL REFERENCES identity.organizations (id) ON DELETE CASCADE,
        email text NOT NULL,
        role text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
        invited_by text,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        accepted_at timestamptz,
        accepted_by text,
        declined_at timestamptz,
        decline_reason text,
        last_emailed_at timestamptz
      )
    `)
    yield* sql.unsafe(`CREATE UNIQUE INDEX invites_org_email_key ON identity.invites (organization_id, lower(email))`)
    yield* sql.unsafe(`CREATE INDEX invites_email ON identity.invites (lower(email))`)
  })
}
