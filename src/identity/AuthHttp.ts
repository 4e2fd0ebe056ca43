/**
 * Handlers of the authentication surface (see `AuthApi.ts`). Thin: they call `Users`,
 * `Sessions`, `ApiKeys` and `Passwords`, and record every change in the audit log.
 */
import { promptOpsRole } from "./PromptOpsRole.ts"
import { Effect, Layer, Option } from "effect"
import { HttpEffect, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApi, HttpApiBuilder } from "effect/http-api"
import { AuditLog } from "../audit/AuditLog.ts"
import { csrfCookie, sessionCookie } from "../auth/Authentication.ts"
import { adminTokenMatcher, defaultOrganizationId } from "../auth/Credentials.ts"
import { CurrentPrincipal } from "../auth/Principal.ts"
import type { Principal } from "../auth/Principal.ts"
import { TrellisConfig } from "../config/TrellisConfig.ts"
import { Forbidden, NotFound } from "../problem/Problems.ts"
import { PluginRegistry } from "../server/PluginRegistry.ts"
import { ApiKeys } from "./ApiKeys.ts"
import type { ApiKeyRecord } from "./ApiKeys.ts"
import { LoginApi, SessionApi, SessionFsAuthApi, SignupApi, SurfletAuthApi } from "./AuthApi.ts"
import { InvalidCredentials, InvalidToken, UnknownScope } from "./IdentityProblems.ts"
import { LoginGuard } from "./LoginGuard.ts"
import { Passwords } from "./Passwords.ts"
import * as Secrets from "./Secrets.ts"
import { Sessions, sessionTtlSeconds } from "./Sessions.ts"
import { Users } from "./Users.ts"
import type { UserRecord } from "./Users.ts"
import { Verifications } from "./Verifications.ts"

export class AuthApi extends HttpApi.make("identity-auth")
  .add(LoginApi)
  .add(SessionApi)
  .add(SurfletAuthApi)
  .add(SignupApi)
  .add(SessionFsAuthApi)
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

const userKeySummary = (key: ApiKeyRecord) => ({
  key_id: key.id,
  name: key.name,
  key_prefix: key.prefix,
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
  key_prefix: key.prefix,
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
  const passwords = yield* Passwords
  const audit = yield* AuditLog
  const guard = yield* LoginGuard
  const isAdmin = adminTokenMatcher(config.adminToken)
  const secure = config.publicUrl?.startsWith("https:") === true
  // Checked against a missing account too, so a wrong username costs the same time as a wrong password.
  const decoy = yield* passwords.hash(Secrets.generate("csrf"))

  const invalid = new InvalidCredentials({ detail: "The username or password is wrong." })

  return handlers.handle("login", ({ payload }) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const address = Option.getOrElse(request.remoteAddress, () => "unknown")
      const account = payload.token !== undefined ? "(token)" : (payload.username ?? "").toLowerCase()
      yield* guard.attempt({ account, address })
      let principalUser: { readonly userId: string | null; readonly organizationId: string; readonly user: Option.Option<UserRecord> }
      if (payload.token !== undefined) {
        if (!isAdmin(payload.token)) return yield* invalid
        principalUser = { userId: null, organizationId: defaultOrganizationId, user: Option.none() }
      } else {
        if (payload.username === undefined || payload.password === undefined) {
          return yield* new InvalidCredentials({ detail: "Send a username and password, or the admin token." })
        }
        const found = yield* users.findForLogin(payload.username)
        const hash = Option.match(found, { onNone: () => decoy, onSome: (u) => u.passwordHash ?? decoy })
        const check = yield* passwords.verify(payload.password, hash)
        if (Option.isNone(found) || found.value.passwordHash === null || !check.valid || !found.value.active) {
          return yield* invalid
        }
        if (check.needsRehash) yield* users.setPasswordHash(found.value.id, yield* passwords.hash(payload.password))
        principalUser = { userId: found.value.id, organizationId: found.value.defaultOrganizationId, user: found }
      }
      yield* guard.succeeded({ account, address })
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
  secretKind: "userKey" | "surfletKey"
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
      createdBy: principal.id,
      secretKind
    })
    yield* audit.record("identity.key.create", { type: "api_key", id: created.record.id }, { name, kind: "user" })
    return created
  })

const SignupHandlers = HttpApiBuilder.group(AuthApi, "signup", Effect.fn(function*(handlers) {
  const users = yield* Users
  const keys = yield* ApiKeys
  const passwords = yield* Passwords
  const audit = yield* AuditLog
  const verifications = yield* Verifications
  const guard = yield* LoginGuard
  return handlers
    .handle("signup", ({ payload }) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        yield* guard.signup(Option.getOrElse(request.remoteAddress, () => "unknown"))
        const passwordHash = payload.password === undefined ? null : yield* passwords.hash(payload.password)
        // Signing up joins the default organization as a viewer; an admin raises the role.
        const user = yield* users.create({
          username: payload.username ?? payload.email,
          email: payload.email,
          displayName: payload.display_name ?? null,
          passwordHash,
          organizationId: defaultOrganizationId,
          role: "viewer"
        })
        const { record, secret } = yield* keys.create({
          kind: "user",
          organizationId: defaultOrganizationId,
          userId: user.id,
          name: "default",
          scopes: ["*"],
          createdBy: user.id,
          secretKind: "userKey"
        })
        yield* verifications.send(user)
        yield* audit.append({
          organizationId: defaultOrganizationId,
          actor: { id: user.id, kind: "user" },
          action: "identity.user.signup",
          target: { type: "user", id: user.id },
          })
        return {
          user_id: user.id,
          email: payload.email,
          raw_key: secret,
          key_id: record.id,
          message: "Account created. Verify your email address with the link we sent."
        }
      }))
    .handle("verify", ({ params }) =>
      Effect.gen(function*() {
        const userId = yield* verifications.consume(params.token)
        if (Option.isNone(userId)) return yield* new InvalidToken({ detail: "This verification link is unknown, used or expired." })
        return { verified: true, user_id: userId.value }
      }))
}))

const SessionFsHandlers = HttpApiBuilder.group(AuthApi, "sessionfsAuth", Effect.fn(function*(handlers) {
  const users = yield* Users
  const keys = yield* ApiKeys
  const audit = yield* AuditLog
  const registry = yield* PluginRegistry
  const declaredScopes = new Set(registry.composition.plugins.flatMap((p) => p.scopes ?? []))

  return handlers
    .handle("me", () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const user = yield* whoIs(users, principal)
        return {
          user_id: Option.match(user, { onNone: () => principal.id, onSome: (u) => u.id }),
          email: Option.match(user, { onNone: () => null, onSome: (u) => u.email }),
          display_name: Option.match(user, { onNone: () => null, onSome: (u) => u.displayName }),
          email_verified: Option.match(user, { onNone: () => false, onSome: (u) => u.emailVerified }),
          tier: "self-hosted",
          effective_tier: "self-hosted",
          org_id: principal.organizationId,
          org_name: null,
          org_role: principal.role,
          created_at: Option.match(user, { onNone: () => null, onSome: (u) => u.createdAt }),
          default_org_id: Option.match(user, { onNone: () => principal.organizationId, onSome: (u) => u.defaultOrganizationId })
        }
      }))
    .handle("createKey", ({ payload }) =>
      Effect.map(
        mintUserKey(keys, audit, payload.name, "userKey"),
        ({ record, secret }) => ({ key_id: record.id, raw_key: secret, name: record.name, created_at: record.createdAt })
      ))
    .handle("listKeys", () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        if (principal.userId === null) return []
        const list = yield* keys.list({ organizationId: principal.organizationId, userId: principal.userId, kind: "user" })
        return list.map(userKeySummary)
      }))
    .handle("revokeKey", ({ params }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const revoked = principal.userId === null
          ? Option.none()
          : yield* keys.revoke({ organizationId: principal.organizationId, id: params.key_id, userId: principal.userId, kind: "user" })
        if (Option.isNone(revoked)) return yield* new NotFound({ detail: `No API key ${params.key_id}.` })
        yield* audit.record("identity.key.revoke", { type: "api_key", id: params.key_id })
      }))
    .handle("createServiceKey", ({ params, payload }) =>
      Effect.gen(function*() {
        const principal = yield* ownOrganization(params.org_id)
        const unknown = payload.scopes.filter((s) => s === "*" || !declaredScopes.has(s))
        if (unknown.length > 0) {
          return yield* new UnknownScope({
            detail: `Service keys must enumerate declared scopes; not allowed: ${unknown.join(", ")}.`,
            scopes: unknown,
            available: [...declaredScopes].sort()
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
        if (Option.isNone(rotated)) return yield* new NotFound({ detail: `No live service key ${params.id}.` })
        yield* audit.record("identity.service_key.rotate", { type: "api_key", id: params.id }, {
          replacedBy: rotated.value.record.id
        })
        return { ...serviceKey(rotated.value.record), key: rotated.value.secret }
      }))
}))

export const AuthHttp = Layer.mergeAll(LoginHandlers, SessionHandlers, SurfletHandlers, SignupHandlers, SessionFsHandlers)

