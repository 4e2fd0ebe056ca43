/**
 * The authentication surface, at each seed's paths and in each seed's JSON casing:
 *
 * - PromptOps (004): `POST /api/login`, `POST /api/logout`, `GET /api/me` (snake_case, as its
 *   server answers: login `{ ok, token, role, username }`, me `{ username, role }`).
 * - Surflet (003): `GET /v1/auth/me`, `POST /v1/auth/logout`, `/v1/account/api-keys` (camelCase).
 * - SessionFS (001): `POST /api/v1/auth/signup`, `GET /api/v1/auth/me`, `/api/v1/auth/keys` and
 *   `/api/v1/auth/me/api-keys` (the same user keys in the two shapes SessionFS has),
 *   `PUT /api/v1/auth/me/default-org`, `GET /api/v1/auth/verify?token=`,
 *   `/api/v1/orgs/{org_id}/service-keys` (snake_case, SessionFS's role names).
 *
 * Client-safe: imports only `effect`.
 */
import { PromptOpsRole } from "./PromptOpsRole.ts"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { WireDialect } from "../http/WireDialect.ts"
import { Authentication } from "../auth/Authentication.ts"
import { Role } from "../auth/Principal.ts"
import type { Role as RoleType } from "../auth/Principal.ts"
import * as Requirement from "../auth/Requirement.ts"
import { Public, Requires } from "../auth/Requirement.ts"
import { Forbidden, NotFound, RateLimited } from "../problem/Problems.ts"
import { CrossOrgDenied } from "../auth/AuthProblems.ts"
import { AccountExists, InvalidCredentials, InvalidToken, KeyAlreadyRevoked, SignupClosed, UnknownScope } from "./IdentityProblems.ts"

const NullableString = Schema.NullOr(Schema.String)

// ---------------------------------------------------------------------------------------------
// PromptOps

export const LoginRequest = Schema.Struct({
  username: Schema.optionalKey(Schema.String),
  password: Schema.optionalKey(Schema.String),
  /** The static admin token, instead of a username and password. */
  token: Schema.optionalKey(Schema.String)
})

/**
 * `GET /api/me`: PromptOps answers `{ username, role }`; the other fields are Trellis's. `role`
 * is PromptOps's (an owner is `admin`), `trellis_role` the platform's.
 */
export const PromptOpsUser = Schema.Struct({
  username: Schema.String,
  role: PromptOpsRole,
  trellis_role: Role,
  id: Schema.String,
  email: NullableString,
  type: Schema.Literals(["human", "agent", "admin-token"]),
  organization_id: Schema.String
})

/**
 * PromptOps answers `{ ok, token, role, username }`; the other fields are Trellis's. `role` is
 * PromptOps's (an owner is `admin`), `trellis_role` the platform's.
 */
export const LoginResponse = Schema.Struct({
  ok: Schema.Boolean,
  /** The session token: send it as `Authorization: Bearer <token>`. */
  token: Schema.String,
  role: PromptOpsRole,
  trellis_role: Role,
  username: Schema.String,
  user_id: Schema.String,
  organization_id: Schema.String,
  /** Echo this in `X-CSRF-Token` on writes authenticated by the session cookie instead. */
  csrf_token: Schema.String,
  expires_at: Schema.String
})

/** Public: signing in. */
export class LoginGroup extends HttpApiGroup.make("login")
  .annotate(Public, "signing in")
  .annotate(WireDialect, WireDialect.promptOps)
  .add(
    HttpApiEndpoint.post("login", "/api/login", {
      payload: LoginRequest,
      success: LoginResponse,
      error: [InvalidCredentials, RateLimited]
    })
  )
  .annotateMerge(OpenApi.annotations({ title: "Login", description: "Sign in with a username and password or the admin token" }))
{}

export class SessionGroup extends HttpApiGroup.make("session")
  .annotate(WireDialect, WireDialect.promptOps)
  .add(
    HttpApiEndpoint.post("logout", "/api/logout", { success: Schema.Struct({ ok: Schema.Boolean }) })
      .annotate(Requires, Requirement.member()),
    HttpApiEndpoint.get("me", "/api/me", { success: PromptOpsUser }).annotate(Requires, Requirement.member())
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Session", description: "The signed-in principal (PromptOps paths)" }))
{}

// ---------------------------------------------------------------------------------------------
// Surflet

export const SurfletMe = Schema.Struct({
  id: Schema.String,
  email: NullableString,
  tenantId: Schema.String,
  type: Schema.Literals(["human", "agent"])
})

export const SurfletKey = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  prefix: Schema.String,
  createdAt: Schema.String,
  lastUsedAt: NullableString
})

export const SurfletNewKey = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  key: Schema.String,
  createdAt: Schema.String
})

export class SurfletAuthGroup extends HttpApiGroup.make("surfletAuth")
  .annotate(WireDialect, WireDialect.surflet)
  .add(
    HttpApiEndpoint.get("me", "/v1/auth/me", { success: SurfletMe }).annotate(Requires, Requirement.member()),
    HttpApiEndpoint.post("logout", "/v1/auth/logout", { success: HttpApiSchema.NoContent })
      .annotate(Requires, Requirement.member()),
    HttpApiEndpoint.get("listKeys", "/v1/account/api-keys", { success: Schema.Struct({ keys: Schema.Array(SurfletKey) }) })
      .annotate(Requires, Requirement.admin()),
    HttpApiEndpoint.post("createKey", "/v1/account/api-keys", {
      payload: Schema.Struct({ name: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(200)) }),
      success: SurfletNewKey.pipe(HttpApiSchema.status(201))
    }).annotate(Requires, Requirement.admin()),
    HttpApiEndpoint.delete("revokeKey", "/v1/account/api-keys/:id", {
      params: { id: Schema.String },
      success: HttpApiSchema.NoContent,
      error: NotFound
    }).annotate(Requires, Requirement.admin())
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Surflet auth", description: "Current principal and the tenant's API keys (Surflet paths)" }))
{}

// ---------------------------------------------------------------------------------------------
// SessionFS

export const SignupRequest = Schema.Struct({
  email: Schema.String.check(Schema.isPattern(/^[^\s@]+@[^\s@]+$/)),
  username: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(100))),
  password: Schema.optionalKey(Schema.String.check(Schema.isMinLength(8), Schema.isMaxLength(1024))),
  display_name: Schema.optionalKey(Schema.String)
})

export const SignupResponse = Schema.Struct({
  user_id: Schema.String,
  email: Schema.String,
  raw_key: Schema.String,
  key_id: Schema.String,
  /** The account's personal organization (Trellis's; SessionFS answers without it). */
  org_id: Schema.String,
  message: Schema.String
})

const Verified = Schema.Struct({ verified: Schema.Boolean, user_id: Schema.String })

/** Public: creating an account (see `TRELLIS_SIGNUP`) and verifying its email. */
export class SignupGroup extends HttpApiGroup.make("signup")
  .annotate(Public, "creating an account and verifying its email")
  .annotate(WireDialect, WireDialect.sessionFs)
  .add(
    HttpApiEndpoint.post("signup", "/api/v1/auth/signup", {
      payload: SignupRequest,
      success: SignupResponse.pipe(HttpApiSchema.status(201)),
      error: [AccountExists, RateLimited, SignupClosed]
    }),
    // SessionFS's emailed link is `/verify?token=`; the path form is kept for older links.
    HttpApiEndpoint.get("verify", "/api/v1/auth/verify", {
      query: { token: Schema.String },
      success: Verified,
      error: InvalidToken
    }),
    HttpApiEndpoint.get("verifyPath", "/api/v1/auth/verify/:token", {
      params: { token: Schema.String },
      success: Verified,
      error: InvalidToken
    })
  )
  .annotateMerge(OpenApi.annotations({ title: "Signup", description: "Account creation and email verification (SessionFS paths)" }))
{}

/** SessionFS's member roles, as its paths show them (see `sessionFsRole`). */
export const SessionFsRole = Schema.Literals(["admin", "member"])
export type SessionFsRole = typeof SessionFsRole.Type

/** Trellis's role as SessionFS names it: owners and admins are `admin`, editors and viewers `member`. */
export const sessionFsRole = (role: RoleType): SessionFsRole => role === "owner" || role === "admin" ? "admin" : "member"

export const SessionFsMe = Schema.Struct({
  user_id: Schema.String,
  email: NullableString,
  display_name: NullableString,
  email_verified: Schema.Boolean,
  tier: Schema.String,
  effective_tier: Schema.String,
  org_id: Schema.String,
  org_name: NullableString,
  /** SessionFS's role names: `admin` (Trellis owner or admin) or `member` (editor or viewer). */
  org_role: SessionFsRole,
  created_at: NullableString,
  default_org_id: NullableString
})

export const UserKeySummary = Schema.Struct({
  key_id: Schema.String,
  name: NullableString,
  key_prefix: Schema.String,
  created_at: Schema.String,
  last_used_at: NullableString
})

export const NewUserKey = Schema.Struct({
  key_id: Schema.String,
  raw_key: Schema.String,
  name: NullableString,
  created_at: Schema.String
})

export const ServiceKey = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  org_id: Schema.String,
  service_key_name: Schema.String,
  scopes: Schema.Array(Schema.String),
  project_ids: Schema.NullOr(Schema.Array(Schema.String)),
  key_prefix: Schema.String,
  created_at: Schema.String,
  created_by_user_id: NullableString,
  expires_at: NullableString,
  revoked_at: NullableString,
  revoke_reason: NullableString,
  last_used_at: NullableString,
  is_active: Schema.Boolean
})

export const NewServiceKey = Schema.Struct({ ...ServiceKey.fields, key: Schema.String })

export const ServiceKeyRequest = Schema.Struct({
  name: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(200)),
  scopes: Schema.Array(Schema.String).check(Schema.isMinLength(1)),
  expires_at: Schema.optionalKey(Schema.NullOr(Schema.String)),
  expires_in_days: Schema.optionalKey(Schema.NullOr(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 730 })))),
  project_ids: Schema.optionalKey(Schema.NullOr(Schema.Array(Schema.String)))
})

/** `GET /api/v1/auth/me/api-keys` (SessionFS's personal keys; the same keys as `/api/v1/auth/keys`). */
export const PersonalKey = Schema.Struct({
  id: Schema.String,
  name: NullableString,
  key_prefix: Schema.String,
  created_at: Schema.String,
  expires_at: NullableString,
  last_used_at: NullableString,
  last_used_ip: NullableString,
  is_active: Schema.Boolean
})

export const NewPersonalKey = Schema.Struct({ ...PersonalKey.fields, key: Schema.String })

export const PersonalKeyRequest = Schema.Struct({
  name: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(255)),
  expires_in_days: Schema.optionalKey(Schema.NullOr(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 730 }))))
})

/** SessionFS sends `{ reason }`; the body is optional here (an empty one decodes as null). */
const RevokeBody = [
  Schema.Struct({
    revoke_reason: Schema.optionalKey(Schema.NullOr(Schema.String.check(Schema.isMaxLength(500)))),
    reason: Schema.optionalKey(Schema.NullOr(Schema.String.check(Schema.isMaxLength(500))))
  }),
  Schema.Null
] as const

/**
 * Every scope SessionFS documents for service keys (its server's `VALID_SCOPES`), live or
 * reserved: a service key may hold them whether or not a loaded plugin's route opts in (one
 * that none does reaches nothing). `admin:*` is a literal scope name, not a wildcard.
 */
export const sessionFsScopes = [
  "sessions:read",
  "handoffs:read",
  "handoffs:write",
  "tickets:read",
  "tickets:write",
  "personas:read",
  "personas:write",
  "knowledge:read",
  "knowledge:write",
  "rules:read",
  "rules:write",
  "agent_runs:read",
  "agent_runs:write",
  "work_queues:read",
  "work_queues:write",
  "retrieval_audit:read",
  "admin:*"
] as const

const OrgParams = { org_id: Schema.String }
const KeyParams = { org_id: Schema.String, id: Schema.String }

export class SessionFsAuthGroup extends HttpApiGroup.make("sessionfsAuth")
  .annotate(WireDialect, WireDialect.sessionFs)
  .add(
    HttpApiEndpoint.get("me", "/api/v1/auth/me", { success: SessionFsMe }).annotate(Requires, Requirement.member()),
    HttpApiEndpoint.put("setDefaultOrg", "/api/v1/auth/me/default-org", {
      payload: Schema.Struct({ org_id: Schema.optionalKey(Schema.NullOr(Schema.String)) }),
      success: Schema.Struct({ default_org_id: Schema.String }),
      error: [CrossOrgDenied, Forbidden]
    }).annotate(Requires, Requirement.member()),
    HttpApiEndpoint.get("listPersonalKeys", "/api/v1/auth/me/api-keys", { success: Schema.Array(PersonalKey) })
      .annotate(Requires, Requirement.member()),
    HttpApiEndpoint.post("createPersonalKey", "/api/v1/auth/me/api-keys", {
      payload: PersonalKeyRequest,
      success: NewPersonalKey.pipe(HttpApiSchema.status(201)),
      error: Forbidden
    }).annotate(Requires, Requirement.member()),
    HttpApiEndpoint.delete("revokePersonalKey", "/api/v1/auth/me/api-keys/:key_id", {
      params: { key_id: Schema.String },
      payload: RevokeBody,
      success: HttpApiSchema.NoContent,
      error: NotFound
    }).annotate(Requires, Requirement.member()),
    HttpApiEndpoint.post("createKey", "/api/v1/auth/keys", {
      // SessionFS's `name` is optional (`null` when absent).
      payload: [
        Schema.Struct({ name: Schema.optionalKey(Schema.NullOr(Schema.String.check(Schema.isMaxLength(200)))) }),
        Schema.Null
      ],
      success: NewUserKey.pipe(HttpApiSchema.status(201)),
      error: Forbidden
    }).annotate(Requires, Requirement.member()),
    HttpApiEndpoint.get("listKeys", "/api/v1/auth/keys", { success: Schema.Array(UserKeySummary) })
      .annotate(Requires, Requirement.member()),
    HttpApiEndpoint.delete("revokeKey", "/api/v1/auth/keys/:key_id", {
      params: { key_id: Schema.String },
      success: HttpApiSchema.NoContent,
      error: NotFound
    }).annotate(Requires, Requirement.member()),
    HttpApiEndpoint.post("createServiceKey", "/api/v1/orgs/:org_id/service-keys", {
      params: OrgParams,
      payload: ServiceKeyRequest,
      success: NewServiceKey.pipe(HttpApiSchema.status(201)),
      error: [NotFound, UnknownScope]
    }).annotate(Requires, Requirement.admin()),
    HttpApiEndpoint.get("listServiceKeys", "/api/v1/orgs/:org_id/service-keys", {
      params: OrgParams,
      success: Schema.Array(ServiceKey),
      error: NotFound
    }).annotate(Requires, Requirement.admin()),
    HttpApiEndpoint.delete("revokeServiceKey", "/api/v1/orgs/:org_id/service-keys/:id", {
      params: KeyParams,
      // The body is optional: an empty body decodes as `null` (Effect does that when a payload
      // schema is `Schema.Null`), so a bare DELETE works as SessionFS documents.
      payload: RevokeBody,
      success: HttpApiSchema.NoContent,
      error: NotFound
    }).annotate(Requires, Requirement.admin()),
    HttpApiEndpoint.post("rotateServiceKey", "/api/v1/orgs/:org_id/service-keys/:id/rotate", {
      params: KeyParams,
      success: NewServiceKey,
      error: [NotFound, KeyAlreadyRevoked]
    }).annotate(Requires, Requirement.admin())
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "SessionFS auth", description: "Profile, user keys and organization service keys (SessionFS paths)" }))
{}
