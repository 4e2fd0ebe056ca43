/**
 * Invites to an organization, by email address (SessionFS's org invites).
 *
 * - One row per (organization, address). Inviting an address whose invite is still pending is
 *   a conflict; inviting it again after the invite was declined, expired or accepted (by a
 *   member since removed) updates the row in place with a new id, which invalidates old links,
 *   and keeps `created_at` as when the address was first invited.
 * - Only the addressee answers an invite: a signed-in user whose verified email is the invite's
 *   address. Anyone else gets 404, as for another organization's resource (an unverified
 *   address would let anyone who signs up with someone else's address take their invites).
 * - The email is best effort: the invite is committed first, a delivery failure is logged and
 *   reported as `sent: false`, and an admin can resend it.
 */
import { Cause, Context, Effect, Layer, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { actorOf, AuditLog } from "../audit/AuditLog.ts"
import type { Principal, Role } from "../auth/Principal.ts"
import { TrellisConfig } from "../config/TrellisConfig.ts"
import { Forbidden, NotFound } from "../problem/Problems.ts"
import { CredentialCache } from "./CredentialCache.ts"
import { Mailer } from "./Mailer.ts"
import { Members } from "./Members.ts"
import { iso, uniqueViolation } from "./Rows.ts"
import * as Secrets from "./Secrets.ts"
import { AlreadyMember, EmailNotVerified, InviteExists, InviteNotPending, InviteNotResendable } from "./TenancyProblems.ts"
import { Users } from "./Users.ts"
import type { UserRecord } from "./Users.ts"
import * as Row from "../database/Row.ts"

/** Invites expire after a week. */
export const inviteTtlMillis = 7 * 24 * 3600 * 1000

export type InviteRole = Exclude<Role, "owner">

export type InviteState = "pending" | "accepted" | "declined" | "expired"

export interface InviteRecord {
  readonly id: string
  readonly organizationId: string
  readonly email: string
  readonly role: InviteRole
  readonly invitedBy: string | null
  readonly createdAt: string
  readonly expiresAt: string
  readonly acceptedAt: string | null
  readonly declinedAt: string | null
  readonly lastEmailedAt: string | null
  readonly state: InviteState
}

/** An invite addressed to the caller, with where it is from. */
export interface ReceivedInvite extends InviteRecord {
  readonly organizationName: string
  readonly invitedByEmail: string | null
}

interface InviteRow {
  readonly id: string
  readonly organization_id: string
  readonly email: string
  readonly role: InviteRole
  readonly invited_by: string | null
  readonly created_at: unknown
  readonly expires_at: unknown
  readonly accepted_at: unknown
  readonly declined_at: unknown
  readonly last_emailed_at: unknown
}

const stateOf = (row: InviteRow): InviteState =>
  row.accepted_at !== null
    ? "accepted"
    : row.declined_at !== null
    ? "declined"
    : new Date(iso(row.expires_at) ?? 0).getTime() <= Date.now()
    ? "expired"
    : "pending"

const toRecord = (row: InviteRow): InviteRecord => ({
  id: row.id,
  organizationId: row.organization_id,
  email: row.email,
  role: row.role,
  invitedBy: row.invited_by,
  createdAt: iso(row.created_at) ?? "",
  expiresAt: iso(row.expires_at) ?? "",
  acceptedAt: iso(row.accepted_at),
  declinedAt: iso(row.declined_at),
  lastEmailedAt: iso(row.last_emailed_at),
  state: stateOf(row)
})

const columns = "id, organization_id, email, role, invited_by, created_at, expires_at, accepted_at, declined_at, last_emailed_at"

export interface Delivery {
  readonly sent: boolean
  readonly lastEmailedAt: string | null
}

export class Invites extends Context.Service<Invites, {
  /** Invites an address to the actor's organization and mails it (best effort). */
  readonly create: (
    actor: Principal,
    input: { readonly email: string; readonly role: InviteRole }
  ) => Effect.Effect<{ readonly invite: InviteRecord; readonly delivery: Delivery }, InviteExists | AlreadyMember>
  readonly accept: (
    principal: Principal,
    inviteId: string
  ) => Effect.Effect<InviteRecord, NotFound | Forbidden | EmailNotVerified | InviteNotPending | AlreadyMember>
  readonly decline: (
    principal: Principal,
    inviteId: string,
    reason: string | null
  ) => Effect.Effect<InviteRecord, NotFound | Forbidden | EmailNotVerified | InviteNotPending>
  /** The organization's unanswered invites (pending and expired), oldest first. */
  readonly listOpen: (organizationId: string) => Effect.Effect<ReadonlyArray<InviteRecord>>
  /** Pending invites addressed to the principal's verified email, from any organization. */
  readonly listReceived: (principal: Principal) => Effect.Effect<ReadonlyArray<ReceivedInvite>>
  readonly revoke: (actor: Principal, inviteId: string) => Effect.Effect<void, NotFound>
  readonly resend: (actor: Principal, inviteId: string) => Effect.Effect<
    { readonly invite: InviteRecord; readonly delivery: Delivery },
    NotFound | InviteNotResendable
  >
}>()("trellis/identity/Invites") {
  static readonly layer = Layer.effect(
    Invites,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const config = yield* TrellisConfig
      const users = yield* Users
      const members = yield* Members
      const mailer = yield* Mailer
      const cache = yield* CredentialCache
      const audit = yield* AuditLog
      const base = (config.publicUrl ?? `http://${config.host}:${config.port}`).replace(/\/$/, "")

      const find = (inviteId: string, organizationId?: string) =>
        sql<InviteRow>`
          SELECT ${sql.unsafe(columns)} FROM identity.invites
          WHERE id = ${inviteId} AND (${organizationId ?? null}::text IS NULL OR organization_id = ${organizationId ?? null})`.pipe(
          Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), toRecord)),
          Effect.orDie
        )

      const notFound = (inviteId: string) => new NotFound({ detail: `No invite ${inviteId}.` })

      /** Mails the invite; stamps `last_emailed_at` when the mailer took it. Never fails. */
      const deliver = (invite: InviteRecord, inviter: Principal) =>
        Effect.gen(function*() {
          const org = yield* sql<{ readonly name: string }>`
            SELECT name FROM identity.organizations WHERE id = ${invite.organizationId}`.pipe(Effect.orDie)
          const inviterUser = inviter.userId === null ? Option.none<UserRecord>() : yield* users.get(inviter.userId)
          const inviterName = Option.match(inviterUser, {
            onNone: () => "An administrator",
            onSome: (u) => u.displayName ?? u.username
          })
          const orgName = org[0]?.name ?? invite.organizationId
          const sent = yield* mailer.send({
            to: invite.email,
            subject: `${inviterName} invited you to ${orgName}`,
            text: [
              `${inviterName} invited you to join ${orgName} as ${invite.role}.`,
              "",
              `Sign in with this email address (${invite.email}), then accept the invite:`,
              `  POST ${base}/api/v1/org/invite/${invite.id}/accept`,
              "or decline it:",
              `  POST ${base}/api/v1/org/invite/${invite.id}/decline`,
              `Your pending invites: GET ${base}/api/v1/org/invites/me`,
              "",
              `The invite expires on ${invite.expiresAt.slice(0, 10)}.`,
              ""
            ].join("\n")
          }).pipe(
            Effect.as(true),
            Effect.catchCause((cause) =>
              Effect.as(
                Effect.logWarning(`invite ${invite.id}: email to ${invite.email} not sent`, Cause.squash(cause)),
                false
              )
            )
          )
          if (!sent) return { sent, lastEmailedAt: invite.lastEmailedAt }
          const stamped = yield* sql<{ readonly last_emailed_at: unknown }>`
            UPDATE identity.invites SET last_emailed_at = now() WHERE id = ${invite.id} RETURNING last_emailed_at`.pipe(Effect.orDie)
          return { sent, lastEmailedAt: iso(stamped[0]?.last_emailed_at) }
        })

      const create = (actor: Principal, input: { readonly email: string; readonly role: InviteRole }) =>
        Effect.gen(function*() {
          const email = input.email.trim().toLowerCase()
          const organizationId = actor.organizationId
          const invite = yield* sql.withTransaction(Effect.gen(function*() {
            const existing = yield* sql<InviteRow>`
              SELECT ${sql.unsafe(columns)} FROM identity.invites
              WHERE organization_id = ${organizationId} AND lower(email) = ${email}
              FOR UPDATE`
            const stale = existing[0]
            if (stale !== undefined && stateOf(stale) === "pending") {
              return yield* new InviteExists({ detail: `An active invite already exists for ${email}.`, invite_id: stale.id })
            }
            const member = yield* sql`
              SELECT 1 FROM identity.memberships m JOIN identity.users u ON u.id = m.user_id
              WHERE m.organization_id = ${organizationId} AND lower(u.email) = ${email}`
            if (member.length > 0) return yield* new AlreadyMember({ detail: `${email} is already a member of this organization.` })
            const id = Secrets.newId("inv")
            const expiresAt = new Date(Date.now() + inviteTtlMillis)
            const rows = stale === undefined
              ? yield* sql<InviteRow>`
                  INSERT INTO identity.invites (id, organization_id, email, role, invited_by, expires_at)
                  VALUES (${id}, ${organizationId}, ${email}, ${input.role}, ${actor.id}, ${expiresAt})
                  RETURNING ${sql.unsafe(columns)}`
              : yield* sql<InviteRow>`
                  UPDATE identity.invites SET id = ${id}, email = ${email}, role = ${input.role}, invited_by = ${actor.id},
                    expires_at = ${expiresAt}, accepted_at = NULL, accepted_by = NULL, declined_at = NULL,
                    decline_reason = NULL, last_emailed_at = NULL
                  WHERE id = ${stale.id}
                  RETURNING ${sql.unsafe(columns)}`
            yield* audit.append({
              organizationId,
              actor: actorOf(actor),
              action: "identity.invite.create",
              target: { type: "invite", id },
              details: stale === undefined ? { email, role: input.role } : { email, role: input.role, replaces: stale.id }
            })
            return toRecord(rows[0])
          })).pipe(
            Effect.catchTag("SqlError", (error) =>
              uniqueViolation(error) === undefined
                ? Effect.die(error)
                // A concurrent invite of the same address won the insert.
                : Effect.fail(new InviteExists({ detail: `An active invite already exists for ${email}.`, invite_id: "" })))
          )
          const delivery = yield* deliver(invite, actor)
          return { invite: { ...invite, lastEmailedAt: delivery.lastEmailedAt }, delivery }
        })

      /** The invite if the principal is its addressee with a verified address, locked for the answer. */
      const addressedTo = (principal: Principal, inviteId: string) =>
        Effect.gen(function*() {
          if (principal.userId === null) {
            return yield* new Forbidden({ detail: "Invites are answered by the invited user: sign in as that user." })
          }
          const user = yield* users.get(principal.userId)
          const rows = yield* sql<InviteRow>`
            SELECT ${sql.unsafe(columns)} FROM identity.invites WHERE id = ${inviteId} FOR UPDATE`.pipe(Effect.orDie)
          const row = rows[0]
          const email = Option.match(user, { onNone: () => null, onSome: (u) => u.email })
          if (row === undefined || email === null || row.email.toLowerCase() !== email.toLowerCase()) {
            return yield* notFound(inviteId)
          }
          if (Option.isSome(user) && !user.value.emailVerified) {
            return yield* new EmailNotVerified({
              detail: "Verify your email address (the link in the verification email) before answering invites."
            })
          }
          const invite = toRecord(row)
          if (invite.state !== "pending") {
            return yield* new InviteNotPending({ detail: `This invite was already ${invite.state}.`, state: invite.state })
          }
          return { invite, userId: principal.userId }
        })

      const accept = (principal: Principal, inviteId: string) =>
        sql.withTransaction(Effect.gen(function*() {
          const { invite, userId } = yield* addressedTo(principal, inviteId)
          const added = yield* members.add(invite.organizationId, userId, invite.role)
          if (!added) return yield* new AlreadyMember({ detail: "You are already a member of this organization." })
          yield* sql`UPDATE identity.invites SET accepted_at = now(), accepted_by = ${userId} WHERE id = ${invite.id}`
          // Like SessionFS's "your organization": new sessions start in the one just joined.
          yield* sql`UPDATE identity.users SET default_organization_id = ${invite.organizationId} WHERE id = ${userId}`
          yield* cache.changed("membership.added", userId)
          yield* audit.append({
            organizationId: invite.organizationId,
            actor: actorOf(principal),
            action: "identity.invite.accept",
            target: { type: "invite", id: invite.id },
            details: { email: invite.email, role: invite.role }
          })
          return { ...invite, state: "accepted" as const }
        })).pipe(Row.dieOnInfrastructure)

      const decline = (principal: Principal, inviteId: string, reason: string | null) =>
        sql.withTransaction(Effect.gen(function*() {
          const { invite } = yield* addressedTo(principal, inviteId)
          const declined = yield* sql<{ readonly declined_at: unknown }>`
            UPDATE identity.invites SET declined_at = now(), decline_reason = ${reason} WHERE id = ${invite.id}
            RETURNING declined_at`
          yield* audit.append({
            organizationId: invite.organizationId,
            actor: actorOf(principal),
            action: "identity.invite.decline",
            target: { type: "invite", id: invite.id },
            details: { email: invite.email, reason }
          })
          return { ...invite, state: "declined" as const, declinedAt: iso(declined[0]?.declined_at) }
        })).pipe(Row.dieOnInfrastructure)

      const listOpen = (organizationId: string) =>
        sql<InviteRow>`
          SELECT ${sql.unsafe(columns)} FROM identity.invites
          WHERE organization_id = ${organizationId} AND accepted_at IS NULL AND declined_at IS NULL
          ORDER BY created_at, id`.pipe(Effect.map((rows) => rows.map(toRecord)), Effect.orDie)

      const listReceived = (principal: Principal) =>
        Effect.gen(function*() {
          if (principal.userId === null) return []
          const user = yield* users.get(principal.userId)
          if (Option.isNone(user) || user.value.email === null || !user.value.emailVerified) return []
          const rows = yield* sql<InviteRow & { readonly org_name: string; readonly invited_by_email: string | null }>`
            SELECT i.id, i.organization_id, i.email, i.role, i.invited_by, i.created_at, i.expires_at, i.accepted_at,
              i.declined_at, i.last_emailed_at, o.name AS org_name, u.email AS invited_by_email
            FROM identity.invites i
            JOIN identity.organizations o ON o.id = i.organization_id
            LEFT JOIN identity.users u ON u.id = i.invited_by
            WHERE lower(i.email) = lower(${user.value.email}) AND i.accepted_at IS NULL AND i.declined_at IS NULL
              AND i.expires_at > now()
            ORDER BY i.created_at, i.id`.pipe(Effect.orDie)
          return rows.map((row): ReceivedInvite => ({
            ...toRecord(row),
            organizationName: row.org_name,
            invitedByEmail: row.invited_by_email
          }))
        })

      const revoke = (actor: Principal, inviteId: string) =>
        sql.withTransaction(Effect.gen(function*() {
          const rows = yield* sql<{ readonly email: string }>`
            DELETE FROM identity.invites WHERE organization_id = ${actor.organizationId} AND id = ${inviteId}
            RETURNING email`
          if (rows.length === 0) return yield* notFound(inviteId)
          yield* audit.append({
            organizationId: actor.organizationId,
            actor: actorOf(actor),
            action: "identity.invite.revoke",
            target: { type: "invite", id: inviteId },
            details: { email: rows[0].email }
          })
        })).pipe(Row.dieOnInfrastructure)

      const resend = (actor: Principal, inviteId: string) =>
        Effect.gen(function*() {
          const found = yield* find(inviteId, actor.organizationId)
          if (Option.isNone(found)) return yield* notFound(inviteId)
          const invite = found.value
          if (invite.state !== "pending") {
            return yield* new InviteNotResendable({
              detail: `This invite was ${invite.state}; send a new invite instead of resending.`,
              state: invite.state
            })
          }
          const delivery = yield* deliver(invite, actor)
          yield* audit.append({
            organizationId: actor.organizationId,
            actor: actorOf(actor),
            action: "identity.invite.resend",
            target: { type: "invite", id: invite.id },
            details: { email: invite.email, sent: delivery.sent }
          })
          return { invite: { ...invite, lastEmailedAt: delivery.lastEmailedAt }, delivery }
        })

      return Invites.of({ create, accept, decline, listOpen, listReceived, revoke, resend })
    })
  )
}
