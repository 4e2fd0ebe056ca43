/**
 * Handlers of the authentication surface (see `AuthApi.ts`). Thin: they call `Users`,
 * `Sessions`, `ApiKeys` and `Passwords`, and record every change in the audit log.
 */
import { Effect, Layer, Option } from "effect"
import { HttpEffect, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApi, HttpApiBuilder } from "effect/http-api"
import * as SqlClient from "effect/sql/SqlClient"
import { actorOf, AuditLog } from "../audit/AuditLog.ts"
import { CrossOrgDenied } from "../auth/AuthProblems.ts"
import { csrfCookie, sessionCookie } from "../auth/Authentication.ts"
import { adminTokenMatcher, defaultOrganizationId } from "../auth/Credentials.ts"
import { DeclaredScopes } from "../auth/DeclaredScopes.ts"
import { CurrentPrincipal } from "../auth/Principal.ts"
import type { Principal } from "../auth/Principal.ts"
import { TrellisConfig } from "../config/TrellisConfig.ts"
import { Forbidden, NotFound } from "../problem/Problems.ts"
import { ApiKeys } from "./ApiKeys.ts"
import type { ApiKeyRecord } from "./ApiKeys.ts"
import { LoginGroup, SessionGroup, SessionFsAuthGroup, sessionFsRole, sessionFsScopes, SignupGroup, SurfletAuthGroup } from "./AuthApi.ts"
import { CredentialCache } from "./CredentialCache.ts"
import { InvalidCredentials, InvalidToken, KeyAlreadyRevoked, SignupClosed, UnknownScope } from "./IdentityProblems.ts"
import { slugify } from "./Organizations.ts"
import { LoginGuard } from "./LoginGuard.ts"
import type { AttemptKey } from "./LoginGuard.ts"
import * as PasswordCheck from "./PasswordCheck.ts"
import { Passwords } from "./Passwords.ts"
import { promptOpsRole } from "./PromptOpsRole.ts"
import * as Secrets from "./Secrets.ts"
import { Sessions, sessionTtlSeconds } from "./Sessions.ts"
import { Users } from "./Users.ts"
import type { UserRecord } from "./Users.ts"
import { Verifications } from "./Verifications.ts"
import * as Workspaces from "./Workspaces.ts"
import * as Row from "../database/Row.ts"

export class AuthApi extends HttpApi.make("identity-auth")
  .add(LoginGroup)
  .add(SessionGroup)
  .add(SurfletAuthGroup)
  .add(SignupGroup)
  .add(SessionFsAuthGroup)
{}

/** The user behind a principal, or a stand-in for the admin token and service keys. */
const whoIs = (users: Users["Service"], principal: Principal) =>
  principal.userId === null
    ? Effect.succeed(Option.none<UserRecord>())
    : users.get(principal.userId)

const promptOpsUser = (principal: Principal, user: Option.Option<UserRecord>) =>
  Option.match(user, {
    onNone: () => ({
      username: principal.kind === "admin-token" ? "admin" : principal.id,
      role: promptOpsRole(principal.role),
      trellis_role: principal.role,
      id: principal.id,
      email: null,
      type: "admin-token" as const,
      organization_id: principal.organizationId
    }),
    onSome: (u) => ({
      username: u.username,
      role: promptOpsRole(principal.role),
      trellis_role: principal.role,
      id: u.id,
      email: u.email,
      type: u.kind,
      organization_id: principal.organizationId
    })
  })

/** Ends the caller's session (a no-op for keys and the admin token) and clears the cookies. */
const endSession = (sessions: Sessions["Service"], audit: AuditLog["Service"]) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    if (principal.credentialId !== null && principal.credentialId.startsWith("ses_")) {
      yield* sessions.revoke(principal.credentialId)
      yield* audit.record("identity.session.logout", { type: "session", id: principal.credentialId })
    }
    yield* HttpEffect.appendPreResponseHandler((_request, response) =>
      Effect.succeed(
        HttpServerResponse.setCookiesUnsafe(response, [
          [sessionCookie, "", { path: "/", maxAge: 0, httpOnly: true, sameSite: "lax" }],
          [csrfCookie, "", { path: "/", maxAge: 0, sameSite: "lax" }]
        ])
      )
    )
  })

/** SessionFS shows a key's first 12 characters. */
/**
 * SessionFS's `key_prefix`: the start of the key, long enough to tell keys apart. SessionFS's own
 * keys (`sk_sfs_` and hex) show 12 characters; Trellis's type prefixes are longer
 * (`sk_sfs_user_`), so it shows the type prefix and the first six random characters, as stored.
 */
const sessionFsPrefix = (key: ApiKeyRecord) => key.prefix.replace(/\.\.\.$/, "")

const userKeySummary = (key: ApiKeyRecord) => ({
  key_id: key.id,
  name: key.name === "" ? null : key.name,
  key_prefix: sessionFsPrefix(key),
  created_at: key.createdAt,
  last_used_at: key.lastUsedAt
})

const serviceKey = (key: ApiKeyRecord) => ({
  id: key.id,
  name: key.name,
  org_id: key.organizationId,
  service_key_name: key.name,
  scopes: key.scopes,
  project_ids: key.projectIds,
  key_prefix: sessionFsPrefix(key),
  created_at: key.createdAt,
  created_by_user_id: key.createdBy,
  expires_at: key.expiresAt,
  revoked_at: key.revokedAt,
  revoke_reason: key.revokeReason,
  last_used_at: key.lastUsedAt,
  is_active: key.revokedAt === null && (key.expiresAt === null || Date.parse(key.expiresAt) > Date.now())
})

/** Service-key routes name an organization: it must be the caller's (another's answers 404). */
const ownOrganization = (orgId: string) =>
  Effect.flatMap(CurrentPrincipal, (principal) =>
    principal.organizationId === orgId
      ? Effect.succeed(principal)
      : Effect.fail(new NotFound({ detail: `No organization ${orgId}.` })))

const LoginHandlers = HttpApiBuilder.group(AuthApi, "login", Effect.fn(function*(handlers) {
  const config = yield* TrellisConfig
  const users = yield* Users
  const sessions = yield* Sessions
  const audit = yield* AuditLog
  const guard = yield* LoginGuard
  const isAdmin = adminTokenMatcher(config.adminToken)
  const secure = config.publicUrl?.startsWith("https:") === true
  const invalid = new InvalidCredentials({ detail: "The username or password is wrong." })
  const checkPassword = yield* PasswordCheck.make(invalid)

  return handlers.handle("login", ({ payload }) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const address = Option.getOrElse(request.remoteAddress, () => "unknown")
      let principalUser: { readonly userId: string | null; readonly organizationId: string; readonly user: Option.Option<UserRecord> }
      let key: AttemptKey
      if (payload.token !== undefined) {
        key = { account: { unknownName: "(admin token)" }, address }
        yield* guard.attempt(key)
        if (!isAdmin(payload.token)) return yield* invalid
        principalUser = { userId: null, organizationId: defaultOrganizationId, user: Option.none() }
      } else {
        if (payload.username === undefined || payload.password === undefined) {
          return yield* new InvalidCredentials({ detail: "Send a username and password, or the admin token." })
        }
        // The username or email, any case (see `PasswordCheck`).
        const checked = yield* checkPassword(payload.username.trim(), payload.password, address)
        key = checked.key
        principalUser = { userId: checked.user.id, organizationId: checked.user.defaultOrganizationId, user: Option.some(checked.user) }
      }
      yield* guard.succeeded(key)
      const session = yield* sessions.create({ userId: principalUser.userId, organizationId: principalUser.organizationId })
      const role = principalUser.userId === null
        ? "owner" as const
        : Option.getOrElse(yield* users.roleIn(principalUser.userId, principalUser.organizationId), () => "viewer" as const)
      const actorId = principalUser.userId ?? "admin"
      yield* audit.append({
        organizationId: principalUser.organizationId,
        actor: { id: actorId, kind: principalUser.userId === null ? "admin-token" : "user" },
        action: "identity.session.login",
        target: { type: "session", id: session.id },
      })
      yield* HttpEffect.appendPreResponseHandler((_request, response) =>
        Effect.succeed(HttpServerResponse.setCookiesUnsafe(response, [
          [sessionCookie, session.token, { path: "/", maxAge: `${sessionTtlSeconds} seconds`, httpOnly: true, sameSite: "lax", secure }],
          [csrfCookie, session.csrfToken, { path: "/", maxAge: `${sessionTtlSeconds} seconds`, sameSite: "lax", secure }]
        ]))
      )
      return {
        ok: true,
        token: session.token,
        role: promptOpsRole(role),
        trellis_role: role,
        username: Option.match(principalUser.user, { onNone: () => "admin", onSome: (u) => u.username }),
        user_id: principalUser.userId ?? "admin",
        organization_id: principalUser.organizationId,
        csrf_token: session.csrfToken,
        expires_at: session.expiresAt.toISOString()
      }
    }))
}))

const SessionHandlers = HttpApiBuilder.group(AuthApi, "session", Effect.fn(function*(handlers) {
  const users = yield* Users
  const sessions = yield* Sessions
  const audit = yield* AuditLog
  return handlers
    .handle("logout", () => Effect.as(endSession(sessions, audit), { ok: true }))
    .handle("me", () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        return promptOpsUser(principal, yield* whoIs(users, principal))
      }))
}))

const SurfletHandlers = HttpApiBuilder.group(AuthApi, "surfletAuth", Effect.fn(function*(handlers) {
  const users = yield* Users
  const sessions = yield* Sessions
  const keys = yield* ApiKeys
  const audit = yield* AuditLog
  return handlers
    .handle("me", () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const user = yield* whoIs(users, principal)
        return {
          id: Option.match(user, { onNone: () => principal.id, onSome: (u) => u.id }),
          email: Option.match(user, { onNone: () => null, onSome: (u) => u.email }),
          tenantId: principal.organizationId,
          type: principal.agent ? "agent" as const : "human" as const
        }
      }))
    .handle("logout", () => endSession(sessions, audit))
    .handle("listKeys", () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const list = yield* keys.list({ organizationId: principal.organizationId, kind: "user" })
        return {
          keys: list.map((k) => ({ id: k.id, name: k.name, prefix: k.prefix, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt }))
        }
      }))
    .handle("createKey", ({ payload }) =>
      Effect.map(
        mintUserKey(keys, audit, payload.name, "surfletKey"),
        ({ record, secret }) => ({ id: record.id, name: record.name, key: secret, createdAt: record.createdAt })
      ))
    .handle("revokeKey", ({ params }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const revoked = yield* keys.revoke({ organizationId: principal.organizationId, id: params.id, kind: "user" })
        if (Option.isNone(revoked)) return yield* new NotFound({ detail: `No API key ${params.id}.` })
        yield* audit.record("identity.key.revoke", { type: "api_key", id: params.id })
      }))
}))

/**
 * Mints a user key for the caller (the admin token has no user, so it is refused) and audits
 * it. Surflet's account keys and SessionFS's user keys differ only in their prefix.
 */
const mintUserKey = (
  keys: ApiKeys["Service"],
  audit: AuditLog["Service"],
  name: string,
  secretKind: "userKey" | "surfletKey",
  expiresInDays: number | null = null
) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    if (principal.userId === null) {
      return yield* new Forbidden({ detail: "User keys belong to a user: sign in as one (the admin token has no user)." })
    }
    const created = yield* keys.create({
      kind: "user",
      organizationId: principal.organizationId,
      userId: principal.userId,
      name,
      scopes: ["*"],
      expiresAt: expiresInDays === null ? null : new Date(Date.now() + expiresInDays * 86_400_000),
      createdBy: principal.id,
      secretKind
    })
    yield* audit.record("identity.key.create", { type: "api_key", id: created.record.id }, { name, kind: "user" })
    return created
  })

const SignupHandlers = HttpApiBuilder.group(AuthApi, "signup", Effect.fn(function*(handlers) {
  const config = yield* TrellisConfig
  const sql = yield* SqlClient.SqlClient
  const users = yield* Users
  const keys = yield* ApiKeys
  const passwords = yield* Passwords
  const audit = yield* AuditLog
  const verifications = yield* Verifications
  const guard = yield* LoginGuard

  const invalidLink = new InvalidToken({ detail: "This verification link is unknown, used or expired." })
  const verify = (token: string) =>
    Effect.gen(function*() {
      const userId = yield* verifications.consume(token)
      if (Option.isNone(userId)) return yield* invalidLink
      return { verified: true, user_id: userId.value }
    })

  /** Whether the address has an invite that can still be accepted (for `TRELLIS_SIGNUP=invite`). */
  const invited = (email: string) =>
    sql<{ readonly id: string }>`
      SELECT id FROM identity.invites
      WHERE lower(email) = lower(${email}) AND accepted_at IS NULL AND declined_at IS NULL AND expires_at > now()
      LIMIT 1`.pipe(Effect.map((rows) => rows.length > 0), Effect.orDie)

  return handlers
    .handle("signup", ({ payload }) =>
      Effect.gen(function*() {
        // A signup never joins an existing organization: `closed` refuses it, `open` and
        // `invite` make the account a personal organization of its own (SessionFS gives a new
        // account no organization's access until it creates one or accepts an invite).
        if (config.signup === "closed") {
          return yield* new SignupClosed({
            detail: "This server does not take signups. Ask an administrator to create your account or invite you.",
            mode: "closed"
          })
        }
        const request = yield* HttpServerRequest.HttpServerRequest
        yield* guard.signup(Option.getOrElse(request.remoteAddress, () => "unknown"))
        const email = payload.email.trim().toLowerCase()
        if (config.signup === "invite" && !(yield* invited(email))) {
          return yield* new SignupClosed({
            detail: "This server takes signups only for invited email addresses, and this one has no pending invite.",
            mode: "invite"
          })
        }
        const passwordHash = payload.password === undefined ? null : yield* passwords.hash(payload.password)
        const username = payload.username ?? email
        const { record, secret, user, organizationId } = yield* sql.withTransaction(Effect.gen(function*() {
          const organizationId = Secrets.newId("org")
          const base = slugify(username.split("@")[0] ?? "") ?? "personal"
          yield* sql`
            INSERT INTO identity.organizations (id, name, slug)
            VALUES (${organizationId}, ${`${username}'s organization`}, ${`${base}-${organizationId.slice(4, 12)}`})`
          yield* Workspaces.seedDefault(sql, organizationId)
          const user = yield* users.create({
            username,
            email,
            displayName: payload.display_name ?? null,
            passwordHash,
            organizationId,
            role: "owner"
          })
          const { record, secret } = yield* keys.create({
            kind: "user",
            organizationId,
            userId: user.id,
            name: "default",
            scopes: ["*"],
            createdBy: user.id,
            secretKind: "userKey"
          })
          yield* audit.append({
            organizationId,
            actor: { id: user.id, kind: "user" },
            action: "identity.user.signup",
            target: { type: "user", id: user.id },
            details: { mode: config.signup }
          })
          return { record, secret, user, organizationId }
        })).pipe(Row.dieOnInfrastructure)
        yield* verifications.send(user)
        return {
          user_id: user.id,
          email,
          raw_key: secret,
          key_id: record.id,
          org_id: organizationId,
          message: "Account created. Verify your email address with the link we sent."
        }
      }))
    .handle("verify", ({ query }) => verify(query.token))
    .handle("verifyPath", ({ params }) => verify(params.token))
}))

/** SessionFS's personal-key shape (`/api/v1/auth/me/api-keys`). */
const personalKey = (key: ApiKeyRecord) => ({
  id: key.id,
  name: key.name === "" ? null : key.name,
  key_prefix: sessionFsPrefix(key),
  created_at: key.createdAt,
  expires_at: key.expiresAt,
  last_used_at: key.lastUsedAt,
  last_used_ip: null,
  is_active: key.revokedAt === null && (key.expiresAt === null || Date.parse(key.expiresAt) > Date.now())
})

const SessionFsHandlers = HttpApiBuilder.group(AuthApi, "sessionfsAuth", Effect.fn(function*(handlers) {
  const sql = yield* SqlClient.SqlClient
  const users = yield* Users
  const keys = yield* ApiKeys
  const audit = yield* AuditLog
  const cache = yield* CredentialCache
  const declared = yield* DeclaredScopes
  // Every scope SessionFS documents (a scope no route opts into simply reaches nothing), and
  // those of the loaded plugins.
  const acceptedScopes = new Set([...sessionFsScopes, ...declared.scopes])

  const ownKeys = Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    return principal.userId === null
      ? []
      : yield* keys.list({ userId: principal.userId, kind: "user", includeRevoked: true })
  })

  const revokeOwn = (keyId: string, reason: string | null) =>
    Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      // User keys follow their user across organizations: the key is the caller's, wherever it was made.
      const revoked = principal.userId === null
        ? Option.none()
        : yield* keys.revoke({ id: keyId, userId: principal.userId, kind: "user", reason })
      if (Option.isNone(revoked)) return yield* new NotFound({ detail: `No API key ${keyId}.` })
      yield* audit.record("identity.key.revoke", { type: "api_key", id: keyId }, { reason })
    })

  return handlers
    .handle("me", () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const user = yield* whoIs(users, principal)
        const org = yield* sql<{ readonly name: string }>`
          SELECT name FROM identity.organizations WHERE id = ${principal.organizationId}`.pipe(Effect.orDie)
        return {
          user_id: Option.match(user, { onNone: () => principal.id, onSome: (u) => u.id }),
          email: Option.match(user, { onNone: () => null, onSome: (u) => u.email }),
          display_name: Option.match(user, { onNone: () => null, onSome: (u) => u.displayName }),
          email_verified: Option.match(user, { onNone: () => false, onSome: (u) => u.emailVerified }),
          tier: "self-hosted",
          effective_tier: "self-hosted",
          org_id: principal.organizationId,
          org_name: org[0]?.name ?? null,
          org_role: sessionFsRole(principal.role),
          created_at: Option.match(user, { onNone: () => null, onSome: (u) => u.createdAt }),
          default_org_id: Option.match(user, { onNone: () => principal.organizationId, onSome: (u) => u.defaultOrganizationId })
        }
      }))
    .handle("setDefaultOrg", ({ payload }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const userId = principal.userId
        if (userId === null) {
          return yield* new Forbidden({ detail: "The admin token has no user and no default organization." })
        }
        const wanted = payload.org_id ?? null
        return yield* sql.withTransaction(Effect.gen(function*() {
          // SessionFS's `null` clears the preference; a Trellis user always acts somewhere, so it
          // falls back to the organization the user joined first (their personal one, if any).
          const rows = wanted === null
            ? yield* sql<{ readonly organization_id: string }>`
                SELECT organization_id FROM identity.memberships WHERE user_id = ${userId}
                ORDER BY created_at, organization_id LIMIT 1`
            : yield* sql<{ readonly organization_id: string }>`
                SELECT organization_id FROM identity.memberships WHERE user_id = ${userId} AND organization_id = ${wanted}`
          const target = rows[0]?.organization_id
          // Unknown organizations and others' answer alike (SessionFS: 403, no existence leak).
          if (target === undefined) return yield* new CrossOrgDenied({ detail: "You are not a member of that org." })
          yield* sql`UPDATE identity.users SET default_organization_id = ${target} WHERE id = ${userId}`
          // The user's keys act in the default organization: every process forgets them now.
          yield* cache.changed("user.default_org", userId)
          yield* audit.append({
            organizationId: target,
            actor: actorOf(principal),
            action: "identity.user.default_org",
            target: { type: "user", id: userId },
            details: { default_org_id: target }
          })
          return { default_org_id: target }
        })).pipe(Row.dieOnInfrastructure)
      }))
    .handle("listPersonalKeys", () => Effect.map(ownKeys, (list) => list.map(personalKey)))
    .handle("createPersonalKey", ({ payload }) =>
      Effect.map(
        mintUserKey(keys, audit, payload.name.trim(), "userKey", payload.expires_in_days ?? null),
        ({ record, secret }) => ({ ...personalKey(record), key: secret })
      ))
    .handle("revokePersonalKey", ({ params, payload }) =>
      revokeOwn(params.key_id, payload?.reason ?? payload?.revoke_reason ?? null))
    .handle("createKey", ({ payload }) =>
      Effect.map(
        mintUserKey(keys, audit, payload?.name?.trim() ?? "", "userKey", null),
        ({ record, secret }) => ({
          key_id: record.id,
          raw_key: secret,
          name: record.name === "" ? null : record.name,
          created_at: record.createdAt
        })
      ))
    .handle("listKeys", () =>
      Effect.map(ownKeys, (list) =>
        list.filter((k) => k.revokedAt === null).map(userKeySummary)))
    .handle("revokeKey", ({ params }) => revokeOwn(params.key_id, null))
    .handle("createServiceKey", ({ params, payload }) =>
      Effect.gen(function*() {
        const principal = yield* ownOrganization(params.org_id)
        const unknown = payload.scopes.filter((s) => s === "*" || !acceptedScopes.has(s))
        if (unknown.length > 0) {
          return yield* new UnknownScope({
            detail: `Service keys must enumerate known scopes (never *); not allowed: ${unknown.join(", ")}.`,
            scopes: unknown,
            available: [...acceptedScopes].sort()
          })
        }
        const expiresAt = payload.expires_at !== undefined && payload.expires_at !== null
          ? new Date(payload.expires_at)
          : payload.expires_in_days !== undefined && payload.expires_in_days !== null
          ? new Date(Date.now() + payload.expires_in_days * 86_400_000)
          : null
        if (expiresAt !== null && Number.isNaN(expiresAt.getTime())) {
          return yield* new UnknownScope({ detail: "expires_at is not a date.", scopes: [], available: [] })
        }
        const { record, secret } = yield* keys.create({
          kind: "service",
          organizationId: principal.organizationId,
          userId: null,
          name: payload.name,
          scopes: [...new Set(payload.scopes)],
          projectIds: payload.project_ids ?? null,
          expiresAt,
          createdBy: principal.id,
          secretKind: "serviceKey"
        })
        yield* audit.record("identity.service_key.create", { type: "api_key", id: record.id }, {
          name: record.name,
          scopes: record.scopes
        })
        return { ...serviceKey(record), key: secret }
      }))
    .handle("listServiceKeys", ({ params }) =>
      Effect.gen(function*() {
        const principal = yield* ownOrganization(params.org_id)
        const list = yield* keys.list({ organizationId: principal.organizationId, kind: "service", includeRevoked: true })
        return list.map(serviceKey)
      }))
    .handle("revokeServiceKey", ({ params, payload }) =>
      Effect.gen(function*() {
        const principal = yield* ownOrganization(params.org_id)
        const reason = payload?.revoke_reason ?? payload?.reason ?? null
        const revoked = yield* keys.revoke({ organizationId: principal.organizationId, id: params.id, kind: "service", reason })
        if (Option.isNone(revoked)) return yield* new NotFound({ detail: `No service key ${params.id}.` })
        yield* audit.record("identity.service_key.revoke", { type: "api_key", id: params.id }, { reason })
      }))
    .handle("rotateServiceKey", ({ params }) =>
      Effect.gen(function*() {
        const principal = yield* ownOrganization(params.org_id)
        const rotated = yield* keys.rotate({ organizationId: principal.organizationId, id: params.id, kind: "service" })
        if (Option.isNone(rotated)) {
          const existing = yield* keys.get(principal.organizationId, params.id)
          if (Option.isSome(existing) && existing.value.kind === "service") {
            return yield* new KeyAlreadyRevoked({ detail: "Cannot rotate a revoked key — create a new one." })
          }
          return yield* new NotFound({ detail: `No service key ${params.id}.` })
        }
        yield* audit.record("identity.service_key.rotate", { type: "api_key", id: params.id }, {
          replacedBy: rotated.value.record.id
        })
        return { ...serviceKey(rotated.value.record), key: rotated.value.secret }
      }))
}))

export const AuthHttp = Layer.mergeAll(LoginHandlers, SessionHandlers, SurfletHandlers, SignupHandlers, SessionFsHandlers)

