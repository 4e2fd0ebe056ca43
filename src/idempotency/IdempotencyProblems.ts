/**
 * The problems an `Idempotency-Key` can answer with. Stable codes, so clients can tell a key
 * they reused by mistake (422) from a retry that arrived while the first attempt still runs
 * (409, retry later).
 *
 * Client-safe: imports only `effect`.
 */
import { Problem } from "../problem/Problem.ts"

/** 400: the `Idempotency-Key` header is empty, too long or holds control characters. */
export class IdempotencyKeyInvalid extends Problem<IdempotencyKeyInvalid>()("IdempotencyKeyInvalid", {
  code: "idempotency_key_invalid",
  status: 400,
  title: "Invalid Idempotency-Key"
}) {}

/** 422: the key was already used with a different request (method, path or body). */
export class IdempotencyKeyReused extends Problem<IdempotencyKeyReused>()("IdempotencyKeyReused", {
  code: "idempotency_key_reused",
  status: 422,
  title: "Idempotency-Key reused"
}) {}

/** 409: the first request with this key is still being processed. */
export class IdempotencyKeyInProgress extends Problem<IdempotencyKeyInProgress>()("IdempotencyKeyInProgress", {
  code: "idempotency_key_in_progress",
  status: 409,
  title: "Idempotency-Key in progress"
}) {}

/** Every idempotency problem, for the catalogue. */
export const idempotencyProblems = [IdempotencyKeyInvalid, IdempotencyKeyReused, IdempotencyKeyInProgress] as const
