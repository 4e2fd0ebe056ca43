/**
 * Members of an organization: users with a role in it. Serves PromptOps's `/api/users` and
 * SessionFS's member routes with one set of rules:
 *
 * - Nobody changes their own role or removes themselves (another admin must), so an admin
 *   cannot lock the organization out by accident.
 * - Only an owner grants the owner role or changes, deactivates or removes an owner.
 * - The last active owner or admin cannot be demoted, deactivated or removed. The check locks
 *   the organization's owner and admin memberships first, so two admins demoting each other at
 *   once cannot both succeed.
 * - Password, email, name and deactivation change the account, which may belong to other
 *   organizations too: an organization's admin may change them only when this is the account's
 *   only organization (the static admin token, the operator's tool, always may).
 *
 * Every change that lowers what a credential may do (role change, deactivation, removal,
 * password change) announces itself through `CredentialCache.changed` in its transaction, so
 * existing sessions and keys see it on their next request. Removal also revokes the user's
 * sessions and keys in that organization, and deactivates an account left with no organization.
 */
import { Context, Effect, Layer, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { actorOf, AuditLog } from "../audit/AuditLog.ts"
import { roleAtLeast } from "../auth/Principal.ts"
import type { Principal, Role } from "../auth/Principal.ts"
import { NotFound } from "../problem/Problems.ts"
import { CredentialCache } from "./CredentialCache.ts"
import { AccountExists } from "./IdentityProblems.ts"
import { Passwords } from "./Passwords.ts"
import { iso, uniqueViolation } from "./Rows.ts"
import { Sessions } from "./Sessions.ts"
import { AccountShared, LastAdministrator, OwnerProtected, SelfMembershipChange } from "./TenancyProblems.ts"
import { Users } from "./Users.ts"
import { Verifications } from "./Verifications.ts"
import * as Row from "../database/Row.ts"

export interface MemberRecord {
  readonly organizationId: string
  readonly userId: string
  readonly username: string
  readonly email: string | null
  readonly displayName: string | null
  readonly kind: "human" | "agent"
  readonly active: boolean
  readonly emailVerified: boolean
  readonly role: Role
  readonly joinedAt: string
  readonly createdAt: string
}

/** SessionFS's `member` is the platform's `editor`. */
export const normalizeRole = (role: Role | "member"): Role => role === "member" ? "editor" : role

export interface NewMember {
  readonly username: string
  readonly password: string
  readonly email?: string | null | undefined
  readonly displayName?: string | null | undefined
  readonly role?: Role | undefined
}

export interface MemberPatch {
  readonly role?: Role | undefined
  readonly active?: boolean | undefined
  readonly password?: string | undefined
  readonly email?: string | null | undefined
  readonly displayName?: string | null | undefined
}

export type RuleViolation = NotFound | LastAdministrator | SelfMembershipChange | OwnerProtected

interface MemberRow {
  readonly organization_id: string
  readonly user_id: string
  readonly username: string
  readonly email: string | null
  readonly display_name: string | null
  readonly kind: "human" | "agent"
  readonly active: boolean
  readonly email_verified_at: unknown
  readonly role: Role
  readonly joined_at: unknown
  readonly created_at: unknown
}

const toRecord = (row: MemberRow): MemberRecord => ({
  organizationId: row.organization_id,
  userId: row.user_id,
  username: row.username,
  email: row.email,
  displayName: row.display_name,
  kind: row.kind,
  active: row.active,
  emailVerified: row.email_verified_at !== null,
  role: row.role,
  joinedAt: iso(row.joined_at) ?? "",
  createdAt: iso(row.created_at) ?? ""
})

const columns = `m.organization_id, m.user_id, u.username, u.email, u.display_name, u.kind, u.active,
  u.email_verified_at, m.role, m.created_at AS joined_at, u.created_at`

/** What a change does to the target's administrative standing. */
type Change = { readonly _tag: "role"; readonly role: Role } | { readonly _tag: "deactivate" } | { readonly _tag: "remove" }

export class Members extends Context.Service<Members, {
  readonly list: (organizationId: string) => Effect.Effect<ReadonlyArray<MemberRecord>>
  readonly get: (organizationId: string, userId: string) => Effect.Effect<Option.Option<MemberRecord>>
  /** Adds a membership; `false` when the user already is a member. Joins the caller's transaction. */
  readonly add: (organizationId: string, userId: string, role: Role) => Effect.Effect<boolean>
  /** Creates an account whose only organization is the actor's, and mails an address verification. */
  readonly create: (actor: Principal, input: NewMember) => Effect.Effect<MemberRecord, AccountExists | OwnerProtected>
  readonly changeRole: (actor: Principal, userId: string, role: Role) => Effect.Effect<MemberRecord, RuleViolation>
  readonly update: (actor: Principal, userId: string, patch: MemberPatch) => Effect.Effect<MemberRecord, RuleViolation | AccountShared | AccountExists>
  readonly remove: (actor: Principal, userId: string) => Effect.Effect<void, RuleViolation>
}>()("trellis/identity/Members") {
  static readonly layer = Layer.effect(
    Members,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const users = yield* Users
      const passwords = yield* Passwords
      const sessions = yield* Sessions
      const verifications = yield* Verifications
      const cache = yield* CredentialCache
      const audit = yield* AuditLog

      const get = (organizationId: string, userId: string) =>
        sql<MemberRow>`
          SELECT ${sql.unsafe(columns)} FROM identity.memberships m JOIN identity.users u ON u.id = m.user_id
          WHERE m.organization_id = ${organizationId} AND m.user_id = ${userId}`.pipe(
          Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), toRecord)),
          Effect.orDie
        )

      const list = (organizationId: string) =>
        sql<MemberRow>`
          SELECT ${sql.unsafe(columns)} FROM identity.memberships m JOIN identity.users u ON u.id = m.user_id
          WHERE m.organization_id = ${organizationId}
          ORDER BY m.created_at, u.username`.pipe(Effect.map((rows) => rows.map(toRecord)), Effect.orDie)

      const add = (organizationId: string, userId: string, role: Role) =>
        sql<{ readonly user_id: string }>`
          INSERT INTO identity.memberships (organization_id, user_id, role) VALUES (${organizationId}, ${userId}, ${role})
          ON CONFLICT (organization_id, user_id) DO NOTHING
          RETURNING user_id`.pipe(Effect.map((rows) => rows.length > 0), Effect.orDie)

      const getOrFail = (organizationId: string, userId: string) =>
        Effect.flatMap(get(organizationId, userId), Option.match({
          onNone: () => Effect.fail(new NotFound({ detail: `No member ${userId} in this organization.` })),
          onSome: Effect.succeed
        }))

      /** Active owners and admins of the organization, locked until the transaction ends. */
      const lockedAdministrators = (organizationId: string) =>
        sql<{ readonly user_id: string }>`
          SELECT m.user_id FROM identity.memberships m JOIN identity.users u ON u.id = m.user_id
          WHERE m.organization_id = ${organizationId} AND m.role IN ('owner', 'admin') AND u.active
          FOR UPDATE OF m`.pipe(Effect.orDie)

      /** The rules every change to another member's standing obeys (see the module comment). */
      const checkChange = (actor: Principal, target: MemberRecord, change: Change) =>
        Effect.gen(function*() {
          if (actor.userId !== null && actor.userId === target.userId) {
            return yield* new SelfMembershipChange({
              detail: "You cannot change your own role, deactivate or remove yourself; ask another admin."
            })
          }
          const grantsOwner = change._tag === "role" && change.role === "owner"
          if ((target.role === "owner" || grantsOwner) && actor.role !== "owner") {
            return yield* new OwnerProtected({ detail: "Only an owner may grant the owner role or change an owner." })
          }
          const losesAdmin = change._tag !== "role" || !roleAtLeast(change.role, "admin")
          if (losesAdmin && target.active && roleAtLeast(target.role, "admin")) {
            const administrators = yield* lockedAdministrators(target.organizationId)
            if (administrators.length <= 1) {
              return yield* new LastAdministrator({
                detail: "This is the organization's last active owner or admin; promote another member first."
              })
            }
          }
        })

      /** Fails unless the account belongs to no other organization (or the actor is the operator). */
      const checkOwnAccount = (actor: Principal, target: MemberRecord) =>
        Effect.gen(function*() {
          if (actor.kind === "admin-token") return
          const others = yield* sql<{ readonly n: number }>`
            SELECT count(*)::int AS n FROM identity.memberships
            WHERE user_id = ${target.userId} AND organization_id <> ${target.organizationId}`.pipe(Effect.orDie)
          if (Number(others[0]?.n ?? 0) > 0) {
            return yield* new AccountShared({
              detail: "This account belongs to other organizations too; only its owner can change its password, email or name, or it can be removed from this organization instead."
            })
          }
        })

      const create = (actor: Principal, input: NewMember) =>
        Effect.gen(function*() {
          const role = input.role ?? "viewer"
          if (role === "owner" && actor.role !== "owner") {
            return yield* new OwnerProtected({ detail: "Only an owner may create another owner." })
          }
          const passwordHash = yield* passwords.hash(input.password)
          const user = yield* sql.withTransaction(Effect.gen(function*() {
            const created = yield* users.create({
              username: input.username,
              email: input.email ?? null,
              displayName: input.displayName ?? null,
              passwordHash,
              organizationId: actor.organizationId,
              role
            })
            yield* audit.append({
              organizationId: actor.organizationId,
              actor: actorOf(actor),
              action: "identity.user.create",
              target: { type: "user", id: created.id },
              details: { username: created.username, role }
            })
            return created
          })).pipe(Row.dieOnInfrastructure)
          yield* verifications.send(user)
          return yield* Effect.orDie(getOrFail(actor.organizationId, user.id))
        })

      const changeRole = (actor: Principal, userId: string, role: Role) =>
        sql.withTransaction(Effect.gen(function*() {
          const target = yield* getOrFail(actor.organizationId, userId)
          if (target.role === role) return target
          yield* checkChange(actor, target, { _tag: "role", role })
          yield* sql`
            UPDATE identity.memberships SET role = ${role}
            WHERE organization_id = ${actor.organizationId} AND user_id = ${userId}`.pipe(Effect.orDie)
          yield* cache.changed("membership.role", userId)
          yield* audit.append({
            organizationId: actor.organizationId,
            actor: actorOf(actor),
            action: "identity.member.role_change",
            target: { type: "user", id: userId },
            details: { from: target.role, to: role }
          })
          return { ...target, role }
        })).pipe(Row.dieOnInfrastructure)

      const setEmail = (userId: string, email: string | null) =>
        sql.withTransaction(
          sql`UPDATE identity.users SET email = ${email}, email_verified_at = NULL WHERE id = ${userId}`
        ).pipe(
          Effect.asVoid,
          Effect.catchTag("SqlError", (error: SqlError) =>
            uniqueViolation(error) === undefined
              ? Effect.die(error)
              : Effect.fail(new AccountExists({ field: "email", detail: "Another account already uses this email address." })))
        )

      const update = (actor: Principal, userId: string, patch: MemberPatch) =>
        Effect.gen(function*() {
          const passwordHash = patch.password === undefined ? undefined : yield* passwords.hash(patch.password)
          const result = yield* sql.withTransaction(Effect.gen(function*() {
            let target = yield* getOrFail(actor.organizationId, userId)
            const changes: Record<string, unknown> = {}
            let credentialsChanged = false
            if (patch.role !== undefined && patch.role !== target.role) {
              yield* checkChange(actor, target, { _tag: "role", role: patch.role })
              yield* sql`
                UPDATE identity.memberships SET role = ${patch.role}
                WHERE organization_id = ${actor.organizationId} AND user_id = ${userId}`.pipe(Effect.orDie)
              changes.role = { from: target.role, to: patch.role }
              credentialsChanged = true
            }
            const activeChange = patch.active !== undefined && patch.active !== target.active
            const emailChange = patch.email !== undefined && patch.email !== target.email
            const nameChange = patch.displayName !== undefined && patch.displayName !== target.displayName
            if (activeChange || emailChange || nameChange || passwordHash !== undefined) {
              yield* checkOwnAccount(actor, target)
            }
            if (activeChange && patch.active === false) {
              yield* checkChange(actor, target, { _tag: "deactivate" })
            }
            if (activeChange) {
              yield* sql`UPDATE identity.users SET active = ${patch.active === true} WHERE id = ${userId}`.pipe(Effect.orDie)
              changes.active = patch.active
              credentialsChanged = true
            }
            if (emailChange) {
              yield* setEmail(userId, patch.email ?? null)
              changes.email = patch.email ?? null
            }
            if (nameChange) {
              yield* sql`UPDATE identity.users SET display_name = ${patch.displayName ?? null} WHERE id = ${userId}`.pipe(Effect.orDie)
              changes.display_name = patch.displayName ?? null
            }
            if (passwordHash !== undefined) {
              yield* users.setPasswordHash(userId, passwordHash)
              // A password reset signs the account out everywhere: sessions and the mobile tokens
              // signed in with the old password (other keys stay: they are revoked on their own).
              yield* sessions.revokeAllOf(userId)
              yield* sql`
                UPDATE identity.api_keys SET revoked_at = now(), revoke_reason = 'password reset'
                WHERE user_id = ${userId} AND abilities IS NOT NULL AND revoked_at IS NULL`.pipe(Effect.orDie)
              changes.password = "changed"
              credentialsChanged = true
            }
            if (credentialsChanged) yield* cache.changed("user.updated", userId)
            if (Object.keys(changes).length > 0) {
              yield* audit.append({
                organizationId: actor.organizationId,
                actor: actorOf(actor),
                action: "identity.user.update",
                target: { type: "user", id: userId },
                details: changes
              })
            }
            target = yield* getOrFail(actor.organizationId, userId)
            return { target, emailChange }
          })).pipe(Row.dieOnInfrastructure)
          if (result.emailChange && result.target.email !== null) {
            const user = yield* users.get(userId)
            if (Option.isSome(user)) yield* verifications.send(user.value)
          }
          return result.target
        })

      const remove = (actor: Principal, userId: string) =>
        sql.withTransaction(Effect.gen(function*() {
          const target = yield* getOrFail(actor.organizationId, userId)
          yield* checkChange(actor, target, { _tag: "remove" })
          const organizationId = actor.organizationId
          yield* sql`DELETE FROM identity.memberships WHERE organization_id = ${organizationId} AND user_id = ${userId}`
          yield* sql`
            UPDATE identity.api_keys SET revoked_at = now(), revoke_reason = 'member removed from the organization'
            WHERE organization_id = ${organizationId} AND user_id = ${userId} AND revoked_at IS NULL`
          yield* sql`
            UPDATE identity.sessions SET revoked_at = now()
            WHERE organization_id = ${organizationId} AND user_id = ${userId} AND revoked_at IS NULL`
          const remaining = yield* sql<{ readonly organization_id: string }>`
            SELECT organization_id FROM identity.memberships WHERE user_id = ${userId}
            ORDER BY created_at, organization_id LIMIT 1`
          const deactivated = remaining.length === 0
          if (deactivated) {
            yield* sql`UPDATE identity.users SET active = false WHERE id = ${userId}`
          } else {
            // Sessions start in the default organization: move it to one the user still belongs to.
            yield* sql`
              UPDATE identity.users SET default_organization_id = ${remaining[0].organization_id}
              WHERE id = ${userId} AND default_organization_id = ${organizationId}`
          }
          yield* cache.changed("membership.removed", userId)
          yield* audit.append({
            organizationId,
            actor: actorOf(actor),
            action: "identity.member.remove",
            target: { type: "user", id: userId },
            details: { role: target.role, deactivated }
          })
        })).pipe(Row.dieOnInfrastructure)

      return Members.of({ list, get, add, create, changeRole, update, remove })
    })
  )
}
