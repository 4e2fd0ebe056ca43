/**
 * The tickets schema: projects (keyed per organization by git remote), tickets with their
 * lifecycle status and lease (epoch, holder, expiry, and the claim's Idempotency-Key and audit
 * id, so a retried claim returns the same answer), the dependency DAG (with each edge's
 * position, to keep the order the caller gave), the comment thread, the per-field edit audit of
 * updates, and the per-organization settings.
 *
 * Every row carries `organization_id`, and every query filters on it. List-valued ticket
 * fields are `jsonb` arrays of strings.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 1,
  name: "create_tickets",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      CREATE TABLE projects (
        id text PRIMARY KEY,
        organization_id text NOT NULL,
        name text NOT NULL,
        git_remote_normalized text NOT NULL,
        context_document text NOT NULL DEFAULT '',
        owner_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT projects_remote_unique UNIQUE (organization_id, git_remote_normalized)
      )
    `)
    yield* sql.unsafe(`
      CREATE TABLE tickets (
        id text PRIMARY KEY,
        organization_id text NOT NULL,
        project_id text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
        title text NOT NULL,
        description text NOT NULL DEFAULT '',
        priority text NOT NULL DEFAULT 'medium' CHECK (priority IN ('critical', 'high', 'medium', 'low')),
        kind text NOT NULL DEFAULT 'task' CHECK (kind IN ('task', 'issue')),
        status text NOT NULL CHECK (status IN ('suggested', 'open', 'in_progress', 'blocked', 'review', 'done', 'closed', 'cancelled')),
        source text NOT NULL DEFAULT 'human' CHECK (source IN ('human', 'agent')),
        parent_ticket_id text REFERENCES tickets (id) ON DELETE SET NULL,
        assigned_to text,
        created_by_user_id text NOT NULL,
        created_by_session_id text,
        created_by_persona text,
        context_refs jsonb NOT NULL DEFAULT '[]'::jsonb,
        file_refs jsonb NOT NULL DEFAULT '[]'::jsonb,
        related_sessions jsonb NOT NULL DEFAULT '[]'::jsonb,
        acceptance_criteria jsonb NOT NULL DEFAULT '[]'::jsonb,
        changed_files jsonb NOT NULL DEFAULT '[]'::jsonb,
        knowledge_entry_ids jsonb NOT NULL DEFAULT '[]'::jsonb,
        completion_notes text,
        resolver_session_id text,
        resolver_user_id text,
        lease_epoch integer NOT NULL DEFAULT 0,
        lease_holder text,
        lease_claim_key text,
        lease_audit_id text,
        lease_expires_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        resolved_at timestamptz
      )
    `)
    yield* sql.unsafe(`CREATE INDEX tickets_project_idx ON tickets (organization_id, project_id, created_at DESC)`)
    yield* sql.unsafe(`CREATE INDEX tickets_parent_idx ON tickets (project_id, parent_ticket_id)`)
    yield* sql.unsafe(`
      CREATE TABLE ticket_dependencies (
        ticket_id text NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
        depends_on_id text NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
        position integer NOT NULL DEFAULT 0,
        PRIMARY KEY (ticket_id, depends_on_id),
        CONSTRAINT ticket_dependencies_no_self CHECK (ticket_id <> depends_on_id)
      )
    `)
    yield* sql.unsafe(`CREATE INDEX ticket_dependencies_reverse_idx ON ticket_dependencies (depends_on_id)`)
    yield* sql.unsafe(`
      CREATE TABLE ticket_comments (
        id text PRIMARY KEY,
        organization_id text NOT NULL,
        ticket_id text NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
        author_user_id text NOT NULL,
        author_persona text,
        content text NOT NULL,
        session_id text,
        actor_kind text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )
    `)
    yield* sql.unsafe(`CREATE INDEX ticket_comments_thread_idx ON ticket_comments (ticket_id, created_at, id)`)
    yield* sql.unsafe(`
      CREATE TABLE ticket_edits (
        id text PRIMARY KEY,
        organization_id text NOT NULL,
        ticket_id text NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
        edited_by_user_id text NOT NULL,
        field_name text NOT NULL,
        old_value jsonb,
        new_value jsonb,
        lease_epoch integer NOT NULL,
        edited_at timestamptz NOT NULL DEFAULT now()
      )
    `)
    yield* sql.unsafe(`CREATE INDEX ticket_edits_ticket_idx ON ticket_edits (ticket_id, edited_at)`)
    yield* sql.unsafe(`
      CREATE TABLE organization_settings (
        organization_id text PRIMARY KEY,
        require_lease_epoch_on_ticket_writes boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL DEFAULT now()
      )
    `)
  })
}
