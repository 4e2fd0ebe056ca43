/**
 * Handlers of seed 002's account surface (`MobileApi.ts`). A mobile token is a user key
 * (`sk_mob_`, named by `deviceName`) carrying abilities: it acts as its user in the user's
 * default organization, shows among the user's keys, and is revoked by `logout` (or from
 * those key lists). Sign-in failures count on the same lockout as every other sign-in.
 */
import { Effect, Layer, Option } from "effect"
import { HttpServerRequest } from "effect/http"
import { HttpApi, HttpApiBuilder } from "effect/http-api"
import * as SqlClient from "effect/sql/SqlClient"
import { AuditLog } from "../audit/AuditLog.ts"
import * as Abilities from "../auth/Abilities.ts"
import { CurrentPrincipal, roleAtLeast } from "../auth/Principal.ts"
import type { Role } from "../auth/Principal.ts"
import { Forbidden, NotFound } from "../problem/Problems.ts"
import * as Row from "../database/Row.ts"
import { ApiKeys } from "./ApiKeys.ts"
import { InvalidCredentials } from "./IdentityProblems.ts"
import { LoginGuard } from "./LoginGuard.ts"
import { DevicesGroup, MobileAccountGroup, MobileTokenGroup } from "./MobileApi.ts"
import { AbilityNotAllowed, UnknownAbility } from "./MobileProblems.ts"
import * as PasswordCheck from "./PasswordCheck.ts"
import * as Secrets from "./Secrets.ts"
import { Sessions } from "./Sessions.ts"
import { Users } from "./Users.ts"

export class MobileApi extends HttpApi.make("identity-mobile").add(MobileTokenGroup).add(MobileAccountGroup).add(DevicesGroup) {}

/** The lowest role that may hold each elevated ability (the endpoints behind them need it anyway). */
export const elevatedRole: Readonly<Record<string, Role>> = { "git:push": "editor", "settings:write": "admin" }

const TokenHandlers = HttpApiBuilder.group(MobileApi, "mobileToken", Effect.fn(function*(handlers) {
  const users = yield* Users
  const keys = yield* ApiKeys
  const audit = yield* AuditLog
  const guard = yield* LoginGuard
  const checkPassword = yield* PasswordCheck.make(new InvalidCredentials({ detail: "The email or password is wrong." }))

  return handlers.handle("token", ({ payload }) =>
    Effect.gen(function*() {
      // The abilities are checked first: a malformed request spends nothing of the lockout budget.
      const asked = payload.abilities === undefined ? [...Abilities.defaults] : [...new Set(payload.abilities)]
      const unknown = asked.filter((a) => !Abilities.isAbility(a))
      if (unknown.length > 0) {
        return yield* new UnknownAbility({
          detail: `Not abilities: ${unknown.join(", ")}.`,
          abilities: unknown,
          available: [...Abilities.all]
        })
      }
      const request = yield* HttpServerRequest.HttpServerRequest
      const address = Option.getOrElse(request.remoteAddress, () => "unknown")
      const { key, user } = yield* checkPassword(payload.email.trim(), payload.password, address)
      yield* guard.succeeded(key)
      const role = Option.getOrElse(yield* users.roleIn(user.id, user.defaultOrganizationId), () => "viewer" as const)
      for (const ability of asked) {
        const required = elevatedRole[ability]
        if (required !== undefined && !roleAtLeast(role, required)) {
          return yield* new AbilityNotAllowed({
            detail: `The ability ${ability} needs the ${required} role; you are ${role}.`,
            ability,
            required,
            current: role
          })
        }
      }
      const abilities = Abilities.all.filter((a) => asked.includes(a))
      const created = yield* keys.create({
        kind: "user",
        organizationId: user.defaultOrganizationId,
        userId: user.id,
        name: payload.deviceName?.trim() || "mobile",
        scopes: ["*"],
        abilities,
        createdBy: user.id,
        secretKind: "mobileToken"
      })
      yield* audit.append({
        organizationId: user.defaultOrganizationId,
        actor: { id: user.id, kind: "user" },
        action: "identity.token.create",
        target: { type: "api_key", id: created.record.id },
        details: { abilities, name: created.record.name }
      })
      return { token: created.secret, abilities }
    }))
}))

const AccountHandlers = HttpApiBuilder.group(MobileApi, "mobileAccount", Effect.fn(function*(handlers) {
  const sql = yield* SqlClient.SqlClient
  const users = yield* Users
  const keys = yield* ApiKeys
  const sessions = yield* Sessions
  const audit = yield* AuditLog
  return handlers
    .handle("logout", () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const credential = principal.credentialId
        // The admin token itself (no credential id) has nothing to revoke.
        if (credential === null) return
        if (credential.startsWith("ses_")) {
          yield* sessions.revoke(credential)
          yield* audit.record("identity.session.logout", { type: "session", id: credential })
        } else if (principal.userId !== null) {
          yield* keys.revoke({ id: credential, userId: principal.userId, kind: "user", reason: "logout" })
          yield* audit.record("identity.token.revoke", { type: "api_key", id: credential }, { reason: "logout" })
        }
        // The devices this token registered stop being the user's: the next user of the phone signs in anew.
        yield* sql`DELETE FROM identity.devices WHERE credential_id = ${credential}`.pipe(Effect.orDie)
      }))
    .handle("me", () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const user = principal.userId === null ? Option.none() : yield* users.get(principal.userId)
        const abilities = principal.abilities ?? [...Abilities.all]
        return Option.match(user, {
          onNone: () => ({
            id: principal.id,
            username: principal.kind === "admin-token" ? "admin" : principal.id,
            email: null,
            displayName: null,
            emailVerified: false,
            type: "admin-token" as const,
            organizationId: principal.organizationId,
            role: principal.role,
            createdAt: null,
            abilities
          }),
          onSome: (u) => ({
            id: u.id,
            username: u.username,
            email: u.email,
            displayName: u.displayName,
            emailVerified: u.emailVerified,
            type: u.kind,
            organizationId: principal.organizationId,
            role: principal.role,
            createdAt: u.createdAt,
            abilities
          })
        })
      }))
}))

interface DeviceRow {
  readonly id: string
  readonly platform: "ios" | "android"
  readonly name: string | null
  readonly created_at: string
  readonly updated_at: string
}

const deviceColumns = `id, platform, name, ${Row.isoColumn("created_at")} AS created_at, ${Row.isoColumn("updated_at")} AS updated_at`

const toDevice = (row: DeviceRow) => ({
  id: row.id,
  platform: row.platform,
  name: row.name,
  createdAt: row.created_at,
  updatedAt: row.updated_at
})

const DeviceHandlers = HttpApiBuilder.group(MobileApi, "devices", Effect.fn(function*(handlers) {
  const sql = yield* SqlClient.SqlClient
  const audit = yield* AuditLog
  const columns = sql.literal(deviceColumns)
  return handlers
    .handle("list", () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const rows = principal.userId === null
          ? []
          : yield* sql<DeviceRow>`
              SELECT ${columns} FROM identity.devices WHERE user_id = ${principal.userId}
              ORDER BY created_at DESC, id DESC LIMIT 1000`.pipe(Effect.orDie)
        return { data: rows.map(toDevice), meta: { nextCursor: null } }
      }))
    .handle("register", ({ payload }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        if (principal.userId === null) {
          return yield* new Forbidden({ detail: "Devices belong to a user: sign in as one (the admin token has no user)." })
        }
        const id = Secrets.newId("dev")
        // One statement, so two racing registrations of one token make one device.
        const rows = yield* sql<DeviceRow>`
          INSERT INTO identity.devices (id, user_id, token, platform, name, credential_id)
          VALUES (${id}, ${principal.userId}, ${payload.token}, ${payload.platform ?? "ios"}, ${payload.name ?? null}, ${principal.credentialId})
          ON CONFLICT (user_id, token) DO UPDATE SET
            platform = EXCLUDED.platform,
            name = CASE WHEN ${payload.name === undefined} THEN identity.devices.name ELSE EXCLUDED.name END,
            credential_id = EXCLUDED.credential_id,
            updated_at = now()
          RETURNING ${columns}`.pipe(Effect.orDie)
        const device = rows[0]
        if (device.id === id) yield* audit.record("identity.device.register", { type: "device", id }, { platform: device.platform })
        return toDevice(device)
      }))
    .handle("unregister", ({ params }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const rows = principal.userId === null
          ? []
          : yield* sql`DELETE FROM identity.devices WHERE id = ${params.device} AND user_id = ${principal.userId} RETURNING id`.pipe(Effect.orDie)
        if (rows.length === 0) return yield* new NotFound({ detail: `No device ${params.device}.` })
        yield* audit.record("identity.device.unregister", { type: "device", id: params.device })
      }))
}))

export const MobileHttp = Layer.mergeAll(TokenHandlers, AccountHandlers, DeviceHandlers)
