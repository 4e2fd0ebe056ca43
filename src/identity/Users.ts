/**
 * Users and their memberships. A user belongs to one or more organizations with one role in
 * each; `default_organization_id` is where their sessions act unless they pick another.
 * Agents (Surflet's self-registered agents) are users of kind `agent`.
 */
import { Context, Effect, Layer, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { Role } from "../auth/Principal.ts"
import { AccountExists } from "./IdentityProblems.ts"
import { iso, uniqueViolation } from "./Rows.ts"
import * as Secrets from "./Secrets.ts"

export interface UserRecord {
  readonly id: string
  readonly username: string
  readonly email: string | null
  readonly displayName: string | null
  readonly kind: "human" | "agent"
  readonly active: boolean
  readonly emailVerified: boolean
  readonly defaultOrganizationId: string
  readonly createdAt: string
}

export interface NewUser {
  readonly username: string
  readonly email?: string | null | undefined
  readonly displayName?: string | null | undefined
  /** An Argon2id hash (see `Passwords`), or `null` for accounts that sign in with keys only. */
  readonly passwordHash: string | null
  readonly kind?: "human" | "agent" | undefined
  readonly organizationId: string
  readonly role: Role
  readonly emailVerified?: boolean | undefined
}

interface UserRow {
  readonly id: string
  readonly username: string
  readonly email: string | null
  readonly display_name: string | null
  readonly kind: "human" | "agent"
  readonly active: boolean
  readonly email_verified_at: unknown
  readonly default_organization_id: string
  readonly created_at: unknown
}

const toRecord = (row: UserRow): UserRecord => ({
  id: row.id,
  username: row.username,
  email: row.email,
  displayName: row.display_name,
  kind: row.kind,
  active: row.active,
  emailVerified: row.email_verified_at !== null,
  defaultOrganizationId: row.default_organization_id,
  createdAt: iso(row.created_at) ?? ""
})

const columns = "id, username, email, display_name, kind, active, email_verified_at, default_organization_id, created_at"

export class Users extends Context.Service<Users, {
  /** Creates the user and its membership; joins the caller's transaction. */
  readonly create: (input: NewUser) => Effect.Effect<UserRecord, AccountExists>
  readonly get: (id: string) => Effect.Effect<Option.Option<UserRecord>>
  /** By username or email (case-insensitive), with the password hash, for login. */
  readonly findForLogin: (login: string) => Effect.Effect<Option.Option<UserRecord & { readonly passwordHash: string | null }>>
  readonly setPasswordHash: (id: string, hash: string) => Effect.Effect<void>
  readonly markEmailVerified: (id: string) => Effect.Effect<void>
  /** The user's role in an organization, if a member. */
  readonly roleIn: (userId: string, organizationId: string) => Effect.Effect<Option.Option<Role>>
  readonly count: Effect.Effect<number>
}>()("trellis/identity/Users") {
  static readonly layer = Layer.effect(
    Users,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient

      const create = (input: NewUser) =>
        sql.withTransaction(Effect.gen(function*() {
          const id = Secrets.newId("usr")
          const rows = yield* sql<UserRow>`
            INSERT INTO identity.users
              (id, username, email, display_name, password_hash, kind, default_organization_id, email_verified_at)
            VALUES (${id}, ${input.username}, ${input.email ?? null}, ${input.displayName ?? null},
              ${input.passwordHash}, ${input.kind ?? "human"}, ${input.organizationId},
              ${input.emailVerified === true ? new Date() : null})
            RETURNING ${sql.unsafe(columns)}`
          yield* sql`
            INSERT INTO identity.memberships (organization_id, user_id, role)
            VALUES (${input.organizationId}, ${id}, ${input.role})`
          return toRecord(rows[0])
        })).pipe(
          Effect.catchTag("SqlError", (error) => {
            const constraint = uniqueViolation(error)
            return constraint === undefined
              ? Effect.die(error)
              : Effect.fail(new AccountExists({
                field: constraint.includes("email") ? "email" : "username",
                detail: constraint.includes("email")
                  ? "Another account already uses this email address."
                  : `The username "${input.username}" is taken.`
              }))
          })
        )

      const get = (id: string) =>
        sql<UserRow>`SELECT ${sql.unsafe(columns)} FROM identity.users WHERE id = ${id}`.pipe(
          Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), toRecord)),
          Effect.orDie
        )

      const findForLogin = (login: string) =>
        sql<UserRow & { readonly password_hash: string | null }>`
          SELECT ${sql.unsafe(columns)}, password_hash FROM identity.users
          WHERE lower(username) = lower(${login}) OR lower(email) = lower(${login})
          ORDER BY (lower(username) = lower(${login})) DESC
          LIMIT 1`.pipe(
          Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), (row) => ({ ...toRecord(row), passwordHash: row.password_hash }))),
          Effect.orDie
        )

      const setPasswordHash = (id: string, hash: string) =>
        sql`UPDATE identity.users SET password_hash = ${hash} WHERE id = ${id}`.pipe(Effect.asVoid, Effect.orDie)

      const markEmailVerified = (id: string) =>
        sql`UPDATE identity.users SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = ${id}`.pipe(
          Effect.asVoid,
          Effect.orDie
        )

      const roleIn = (userId: string, organizationId: string) =>
        sql<{ readonly role: Role }>`
          SELECT role FROM identity.memberships WHERE user_id = ${userId} AND organization_id = ${organizationId}`.pipe(
          Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), (row) => row.role)),
          Effect.orDie
        )

      const count = sql<{ readonly n: number | string | bigint }>`SELECT count(*)::int AS n FROM identity.users`.pipe(
        Effect.map((rows) => Number(rows[0]?.n ?? 0)),
        Effect.orDie
      )

      return Users.of({ create, get, findForLogin, setPasswordHash, markEmailVerified, roleIn, count })
    })
  )
}
