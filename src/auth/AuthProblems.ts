/**
 * The structured 401/403 problems of authentication and authorization, with SessionFS's codes
 * (seed 001) so its clients can branch on them: `api_key_revoked`, `api_key_expired`,
 * `service_key_not_allowed`, `insufficient_scope` (with `required` and `current`),
 * `cross_org_denied`, `service_key_project_*`; plus `insufficient_role` and `csrf_failed`.
 *
 * Client-safe: imports only `effect`.
 */
import { Schema } from "effect"
import { Problem } from "../problem/Problem.ts"

/** 401: the key was revoked; it fails on every request from then on. */
export class ApiKeyRevoked extends Problem<ApiKeyRevoked>()("ApiKeyRevoked", {
  code: "api_key_revoked",
  status: 401,
  title: "API key revoked"
}) {}

/** 401: the key's `expires_at` has passed. */
export class ApiKeyExpired extends Problem<ApiKeyExpired>()("ApiKeyExpired", {
  code: "api_key_expired",
  status: 401,
  title: "API key expired"
}) {}

/** 401: the session was revoked (logout) or expired. */
export class SessionExpired extends Problem<SessionExpired>()("SessionExpired", {
  code: "session_expired",
  status: 401,
  title: "Session expired"
}) {}

/** 403: a service key called an endpoint that did not opt in to service keys (deny by default). */
export class ServiceKeyNotAllowed extends Problem<ServiceKeyNotAllowed>()("ServiceKeyNotAllowed", {
  code: "service_key_not_allowed",
  status: 403,
  title: "Service keys may not call this endpoint"
}) {}

/** 403: the credential lacks the scope the endpoint requires. */
export class InsufficientScope extends Problem<InsufficientScope>()("InsufficientScope", {
  code: "insufficient_scope",
  status: 403,
  title: "Insufficient scope"
}, {
  required: Schema.Array(Schema.String),
  current: Schema.Array(Schema.String)
}) {}

/** 403: the user's role in the organization is below what the endpoint requires. */
export class InsufficientRole extends Problem<InsufficientRole>()("InsufficientRole", {
  code: "insufficient_role",
  status: 403,
  title: "Insufficient role"
}, {
  required: Schema.String,
  current: Schema.String
}) {}

/** 403: the caller asked to act in an organization it is not a member of. */
export class CrossOrgDenied extends Problem<CrossOrgDenied>()("CrossOrgDenied", {
  code: "cross_org_denied",
  status: 403,
  title: "Not a member of that organization"
}) {}

/** 403: a project-restricted service key named a project outside its restriction. */
export class ServiceKeyProjectNotRegistered extends Problem<ServiceKeyProjectNotRegistered>()(
  "ServiceKeyProjectNotRegistered",
  { code: "service_key_project_not_registered", status: 403, title: "Project not allowed for this service key" }
) {}

/** 403: a cookie-authenticated write without the matching `X-CSRF-Token` header. */
export class CsrfFailed extends Problem<CsrfFailed>()("CsrfFailed", {
  code: "csrf_failed",
  status: 403,
  title: "Missing or wrong CSRF token"
}) {}

export const authProblems = [
  ApiKeyRevoked,
  ApiKeyExpired,
  SessionExpired,
  ServiceKeyNotAllowed,
  InsufficientScope,
  InsufficientRole,
  CrossOrgDenied,
  ServiceKeyProjectNotRegistered,
  CsrfFailed
] as const
