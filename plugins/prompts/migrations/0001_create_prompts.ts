/**
 * The plugin's tables, in its own schema (`prompts`): prompts (the working copy and which
 * version is live), versions (immutable snapshots: a trigger refuses updates), rollouts (one
 * per prompt), the run log of model calls and the live hot-reload connections of every server
process. Every row carries its organization.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 1,
  name: "create_prompts",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      CREATE TABLE prompts.prompts (
        id text PRIMARY KEY,
        organization_id text NOT NULL,
        workspace_id text NOT NULL DEFAULT '',
        key text NOT NULL,
        env text NOT NULL,
        name text NOT NULL DEFAULT '',
        description text NOT NULL DEFAULT '',
        content text NOT NULL DEFAULT '',
        model text NOT NULL DEFAULT '',
        category text NOT NULL DEFAULT '',
        tags jsonb NOT NULL DEFAULT '[]',
        live_version_id text,
        latest_version_number integer NOT NULL DEFAULT 0,
        created_by text NOT NULL,
        updated_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT prompts_key_unique UNIQUE (organization_id, workspace_id, env, key)
      )
    `
    yield* sql`CREATE INDEX prompts_org_updated ON prompts.prompts (organization_id, updated_at DESC)`
    yield* sql`CREATE INDEX prompts_org_env_key ON prompts.prompts (organization_id, env, key)`
    yield* sql`
      CREATE TABLE prompts.versions (
        id text PRIMARY KEY,
        organization_id text NOT NULL,
        prompt_id text NOT NULL REFERENCES prompts.prompts (id) ON DELETE CASCADE,
        number integer NOT NULL,
        key text NOT NULL,
        env text NOT NULL,
        name text NOT NULL,
        model text NOT NULL,
        content text NOT NULL,
        note text NOT NULL DEFAULT '',
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT versions_number_unique UNIQUE (prompt_id, number)
      )
    `
    yield* sql`
      CREATE FUNCTION prompts.refuse_version_update() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'prompt versions are immutable';
      END
      $$
    `
    yield* sql`
      CREATE TRIGGER versions_immutable BEFORE UPDATE ON prompts.versions
      FOR EACH ROW EXECUTE FUNCTION prompts.refuse_version_update()
    `
    yield* sql`
      CREATE TABLE prompts.rollouts (
        id text PRIMARY KEY,
        organization_id text NOT NULL,
        prompt_id text NOT NULL UNIQUE REFERENCES prompts.prompts (id) ON DELETE CASCADE,
        enabled boolean NOT NULL,
        salt text NOT NULL,
        variants jsonb NOT NULL,
        created_by text NOT NULL,
        updated_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )
    `
    yield* sql`
      CREATE TABLE prompts.runs (
        id text PRIMARY KEY,
        organization_id text NOT NULL,
        source text NOT NULL,
        ref_key text NOT NULL DEFAULT '',
        prompt_id text,
        provider text NOT NULL,
        model text NOT NULL,
        prompt_tokens integer NOT NULL,
        output_tokens integer NOT NULL,
        latency_ms integer NOT NULL,
        status text NOT NULL,
        error text NOT NULL DEFAULT '',
        actor_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )
    `
    yield* sql`CREATE INDEX runs_org_created ON prompts.runs (organization_id, created_at DESC)`
    yield* sql`
      CREATE TABLE prompts.clients (
        id text PRIMARY KEY,
        organization_id text NOT NULL,
        client_type text NOT NULL,
        app text NOT NULL,
        namespace text NOT NULL,
        remote_addr text NOT NULL,
        user_agent text NOT NULL,
        principal_id text NOT NULL,
        connected_at timestamptz NOT NULL,
        last_seen_at timestamptz NOT NULL DEFAULT now()
      )
    `
    yield* sql`CREATE INDEX clients_org ON prompts.clients (organization_id, last_seen_at)`
  })
}
