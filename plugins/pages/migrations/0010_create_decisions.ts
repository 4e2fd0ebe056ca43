/**
 * Decisions, webhook secrets and the runs approval channel's requests.
 *
 * `decisions`: one row per fact of a page's approval (`Chain.ts`): a person's decision on a
 * step (UNIQUE (page_id, step_id, identity): a person counts once however often they send),
 * an escalation marker, a timeout. A page without a chain has one implicit step, `default`:
 * its partial unique index makes an action execute at most once.
 *
 * `webhook_secrets`: each organization's signing secret for action webhooks, sealed with the
 * server's `SecretBox`, created on first use.
 *
 * `run_approvals`: the pages the runs plugin's `approval` channel opened, by the step's
 * idempotency key (a repeated `open` opens nothing new while its page is undecided).
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Migration } from "trellis/plugin"

export const migration: Migration = {
  id: 10,
  name: "create_decisions",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`
      CREATE TABLE decisions (
        id text PRIMARY KEY,
        page_id text NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
        organization_id text NOT NULL,
        step_id text NOT NULL,
        identity text NOT NULL,
        decision text NOT NULL,
        action_id text,
        comment text,
        form_data jsonb,
        implicit boolean NOT NULL DEFAULT false,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        UNIQUE (page_id, step_id, identity)
      )
    `)
    yield* sql.unsafe(`CREATE UNIQUE INDEX decisions_implicit_once ON decisions (page_id) WHERE implicit`)
    yield* sql.unsafe(`
      CREATE TABLE webhook_secrets (
        organization_id text PRIMARY KEY,
        sealed text NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )
    `)
    yield* sql.unsafe(`
      CREATE TABLE run_approvals (
        idempotency_key text PRIMARY KEY,
        organization_id text NOT NULL,
        run_id text NOT NULL,
        page_id text NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )
    `)
    yield* sql.unsafe(`CREATE INDEX run_approvals_page ON run_approvals (page_id)`)
  })
}
