/**
 * The platform's own problems: the ones any endpoint may answer with, whatever plugin owns it.
 * Plugins declare their domain problems next to their API contract, with {@link Problem}.
 *
 * Client-safe: imports only `effect`.
 */
import { Schema } from "effect"
import { FieldIssue, Problem } from "./Problem.ts"

/** 400: the request could not be decoded (bad JSON, a field failing its schema). */
export class InvalidRequest extends Problem<InvalidRequest>()("InvalidRequest", {
  code: "INVALID_REQUEST",
  status: 400,
  title: "Invalid request"
}, { errors: Schema.optionalKey(Schema.Array(FieldIssue)) }) {}

/** 401: no credential, or one that does not resolve to a principal. */
export class Unauthorized extends Problem<Unauthorized>()("Unauthorized", {
  code: "UNAUTHORIZED",
  status: 401,
  title: "Unauthorized"
}) {}

/** 403: a known principal that may not do this. */
export class Forbidden extends Problem<Forbidden>()("Forbidden", {
  code: "FORBIDDEN",
  status: 403,
  title: "Forbidden"
}) {}

/** 404: no such route, or no such resource visible to the caller. */
export class NotFound extends Problem<NotFound>()("NotFound", {
  code: "NOT_FOUND",
  status: 404,
  title: "Not found"
}) {}

/** 405: the path exists, the method does not. The response carries `Allow`. */
export class MethodNotAllowed extends Problem<MethodNotAllowed>()("MethodNotAllowed", {
  code: "METHOD_NOT_ALLOWED",
  status: 405,
  title: "Method not allowed"
}, { allow: Schema.Array(Schema.String) }) {}

/** 409: the request conflicts with the current state. */
export class Conflict extends Problem<Conflict>()("Conflict", {
  code: "CONFLICT",
  status: 409,
  title: "Conflict"
}) {}

/** 413: the body is larger than `TRELLIS_MAX_BODY_BYTES`. */
export class PayloadTooLarge extends Problem<PayloadTooLarge>()("PayloadTooLarge", {
  code: "PAYLOAD_TOO_LARGE",
  status: 413,
  title: "Payload too large"
}, { limit: Schema.Number }) {}

/** 415: the body's media type is not one the endpoint accepts. */
export class UnsupportedMediaType extends Problem<UnsupportedMediaType>()("UnsupportedMediaType", {
  code: "UNSUPPORTED_MEDIA_TYPE",
  status: 415,
  title: "Unsupported media type"
}) {}

/** 429: too many requests. The response carries `Retry-After`. */
export class RateLimited extends Problem<RateLimited>()("RateLimited", {
  code: "RATE_LIMITED",
  status: 429,
  title: "Too many requests"
}) {}

/** 500: a bug. The body carries only a reference id; the log line with that id has the cause. */
export class InternalError extends Problem<InternalError>()("InternalError", {
  code: "INTERNAL_ERROR",
  status: 500,
  title: "Internal server error"
}, { reference: Schema.String }) {}

/** 503: the server is starting, shutting down, or its database is not reachable. */
export class ServiceUnavailable extends Problem<ServiceUnavailable>()("ServiceUnavailable", {
  code: "SERVICE_UNAVAILABLE",
  status: 503,
  title: "Service unavailable"
}) {}

/**
 * 503: the server has no key to encrypt a secret with (see `SecretBox`), or a stored secret was
 * encrypted with another server key (processes sharing one database need the same
 * `TRELLIS_SECRET_KEY`), or was altered.
 */
export class SecretKeyUnavailable extends Problem<SecretKeyUnavailable>()("SecretKeyUnavailable", {
  code: "SECRET_KEY_UNAVAILABLE",
  status: 503,
  title: "The server's secret key cannot encrypt or decrypt this value"
}) {}

/** Every platform problem, for the catalogue. */
export const platformProblems = [
  InvalidRequest,
  Unauthorized,
  Forbidden,
  NotFound,
  MethodNotAllowed,
  Conflict,
  PayloadTooLarge,
  UnsupportedMediaType,
  RateLimited,
  InternalError,
  ServiceUnavailable,
  SecretKeyUnavailable
] as const
