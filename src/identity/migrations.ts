/**
 * The identity tables, in the `identity` schema: organizations, users and their memberships
 * (one role per organization), login sessions, API keys and email verifications.
 *
 * Secrets never reach a row: sessions, keys and verification tokens are stored as SHA-256
 * digests of high-entropy random values (a password KDF would only slow every request), and
 * passwords as Argon2id hashes with their parameters. The default organization exists from
 * the first start: the static admin token acts in it.
 */
import { Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { Migration } from "../plugin/Plugin.ts"

export const migrations: ReadonlyArray<Migration> = [
  {
    id: 1,
    name: "create_identity",
    up: Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe(`
        CREATE TABLE organizations (
          id text PRIMARY KEY,
          name text NOT NULL,
          plan text NOT NULL DEFAULT 'self-hosted',
          created_at timestamptz NOT NULL DEFAULT now(),
          created_by_agent boolean NOT NULL DEFAULT false,
          owner_email text,
          claim_code_hash text UNIQUE,
          claimed_at timestamptz,
          settings jsonb NOT NULL DEFAULT '{}'::jsonb
        )
      `)
      yield* sql.unsafe(`INSERT INTO organizations (id, name) VALUES ('org_default', 'Default')`)
      yield* sql.unsafe(`
        CREATE TABLE users (
          id text PRIMARY KEY,
          username text NOT NULL,
          email text,
          display_name text,
          password_hash text,
          kind text NOT NULL DEFAULT 'human' CHECK (kind IN ('human', 'agent')),
          active boolean NOT NULL DEFAULT true,
          email_verified_at timestamptz,
          default_organization_id text NOT NULL REFERENCES organizations (id),
          created_at timestamptz NOT NULL DEFAULT now()
        )
      `)
      yield* sql.unsafe(`CREATE UNIQUE INDEX users_username_key ON users (lower(username))`)
      yield* sql.unsafe(`CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email IS NOT NULL`)
      yield* sql.unsafe(`
        CREATE TABLE memberships (
          organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
          user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
          role text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin', 'owner')),
          created_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (organization_id, user_id)
        )
      `)
      yield* sql.unsafe(`CREATE INDEX memberships_user ON memberships (user_id)`)
      yield* sql.unsafe(`
        CREATE TABLE sessions (
          id text PRIMARY KEY,
          token_hash text NOT NULL UNIQUE,
          csrf_hash text NOT NULL,
          user_id text REFERENCES users (id) ON DELETE CASCADE,
          organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
          created_at timestamptz NOT NULL DEFAULT now(),
          expires_at timestamptz NOT NULL,
          revoked_at timestamptz
        )
      `)
      yield* sql.unsafe(`
        CREATE TABLE api_keys (
          id text PRIMARY KEY,
          kind text NOT NULL CHECK (kind IN ('user', 'service')),
          organization_id text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
          user_id text REFERENCES users (id) ON DELETE CASCADE,
          name text NOT NULL,
          prefix text NOT NULL,
          secret_hash text NOT NULL UNIQUE,
          scopes jsonb NOT NULL DEFAULT '["*"]'::jsonb,
          project_ids jsonb,
          expires_at timestamptz,
          revoked_at timestamptz,
          revoke_reason text,
          created_by text,
          created_at timestamptz NOT NULL DEFAULT now(),
          rotated_at timestamptz,
          last_used_at timestamptz,
          CHECK (kind = 'service' OR user_id IS NOT NULL)
        )
      `)
      yield* sql.unsafe(`CREATE INDEX api_keys_org ON api_keys (organization_id, kind)`)
      yield* sql.unsafe(`CREATE INDEX api_keys_user ON api_keys (user_id)`)
      yield* sql.unsafe(`
        CREATE TABLE email_verifications (
          token_hash text PRIMARY KEY,
          user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
          expires_at timestamptz NOT NULL,
          used_at timestamptz
        )
      `)
    })
  }
]
