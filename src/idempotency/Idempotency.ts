/**
 * `Idempotency-Key` on POST requests, for the authentication middleware (it knows the
 * principal; keys are scoped to it):
 *
 * ```ts
 * return yield* Idempotency.wrap(principal, handler)
 * ```
 *
 * - The first request with a key claims it (atomically, across processes: `IdempotencyStore`),
 *   runs the handler and stores the answer: status, body, `Content-Type`, `Location`.
 * - The same key with the same request (method, path and query, body bytes) replays that answer
 *   without running the handler, adding `Idempotent-Replayed: true`.
 * - The same key with a different request: 422 `idempotency_key_reused`. A duplicate that
 *   arrives while the first still runs: 409 `idempotency_key_in_progress` (retry later).
 * - Like Stripe, 4xx answers are stored and replayed (the request was wrong; retrying it cannot
 *   help), 5xx answers and failures without an HTTP rendering are not: the claim is released
 *   and the key can be retried. So is a request the client abandoned mid-way (interrupted).
 *   Streaming bodies are not stored either (the claim is released).
 * - Keys are kept 24 h. A key may be sent as a bare token or as a Structured Field string
 *   (`"abc"`, as in draft-ietf-httpapi-idempotency-key-header).
 *
 * The body is read here, before the handler decodes it: `@effect/platform-node` caches the body
 * of a request (`arrayBuffer`, which `text` and `json` derive from), so the handler reads the
 * same bytes again. A body that cannot be read (too large, broken) skips idempotency and lets the
 * handler report it as usual.
 *
 * Handler failures inside the authentication middleware arrive wrapped by HttpApi's security
 * middleware (an internal `HandlerError` holding the error in `error`); they are unwrapped to
 * store their rendering and then passed on untouched, so the first answer is rendered exactly
 * as it would be without this wrapper.
 */
import { Cause, Effect, Exit, Option, Predicate } from "effect"
import { Hex } from "effect/encoding"
import { HttpServerRequest, HttpServerRespondable, HttpServerResponse } from "effect/http"
import * as WireDialect from "../http/WireDialect.ts"
import * as ProblemResponse from "../http/ProblemResponse.ts"
import { SecretKeyUnavailable } from "../problem/Problems.ts"
import { IdempotencyKeyInProgress, IdempotencyKeyInvalid, IdempotencyKeyReused } from "./IdempotencyProblems.ts"
import { IdempotencyStore } from "./IdempotencyStore.ts"
import type { KeyRef, StoredResponse } from "./IdempotencyStore.ts"

/** The request header carrying the key. */
export const keyHeader = "idempotency-key"
/** Set on a replayed response. */
export const replayedHeader = "idempotent-replayed"

const maxKeyLength = 255
const printable = /^[\x20-\x7e]+$/

/** The key in a header value (a bare token or a quoted string), or `undefined` when malformed. */
export const parseKey = (raw: string): string | undefined => {
  let value = raw.trim()
  if (value.length >= 2 && value.startsWith("\"") && value.endsWith("\"")) value = value.slice(1, -1).replace(/\\(["\\])/g, "$1")
  return value.length > 0 && value.length <= maxKeyLength && printable.test(value) ? value : undefined
}

const encoder = new TextEncoder()

/** SHA-256 over method, path with query, and body: what "the same request" means. */
const requestHash = (method: string, url: string, body: ArrayBuffer) =>
  Effect.promise(async () => {
    const head = encoder.encode(`${method} ${url}\n`)
    const bytes = new Uint8Array(head.length + body.byteLength)
    bytes.set(head, 0)
    bytes.set(new Uint8Array(body), head.length)
    return Hex.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)))
  })

const problem = (respondable: HttpServerRespondable.Respondable) => HttpServerRespondable.toResponse(respondable)

const replay = (stored: StoredResponse): HttpServerResponse.HttpServerResponse => {
  const headers: Record<string, string> = { [replayedHeader]: "true" }
  if (stored.location !== null) headers.location = stored.location
  return stored.body.length === 0 && stored.contentType === null
    ? HttpServerResponse.empty({ status: stored.status, headers })
    : HttpServerResponse.uint8Array(stored.body, {
      status: stored.status,
      headers,
      ...(stored.contentType === null ? {} : { contentType: stored.contentType })
    })
}

/** What to keep of a response; `undefined` when it must not be stored (5xx, streaming bodies). */
const toStored = (response: HttpServerResponse.HttpServerResponse): StoredResponse | undefined => {
  if (response.status >= 500) return undefined
  const body = response.body
  const contentType = response.headers["content-type"] ?? (body._tag === "Uint8Array" ? body.contentType : undefined) ?? null
  const location = response.headers["location"] ?? null
  switch (body._tag) {
    case "Empty":
      return { status: response.status, contentType: null, location, body: new Uint8Array(0) }
    case "Uint8Array":
      return { status: response.status, contentType, location, body: body.body }
    default:
      return undefined
  }
}

const handlerErrorId = "~effect/http-api/HttpApiBuilder/HandlerError"

/** The error a failed handler answered with, unwrapped from HttpApi's security middleware wrapper. */
const failureOf = (cause: Cause.Cause<unknown>): unknown => {
  const reason = cause.reasons.find(Cause.isFailReason)
  if (reason === undefined) return undefined
  const error = reason.error
  return Predicate.hasProperty(error, handlerErrorId) && Predicate.hasProperty(error, "error") ? error.error : error
}

/**
 * The stored answer for a finished attempt, or `undefined` to release the key. A failure is
 * rendered by the same code that renders it for the client (`ProblemResponse.fromCause`), so a
 * replay carries everything the first answer did (a validation problem's `detail` and
 * `errors`, too); a failure that is a bug (a 500 with a reference) is not kept.
 */
const outcome = <E>(
  exit: Exit.Exit<HttpServerResponse.HttpServerResponse, E>,
  request: HttpServerRequest.HttpServerRequest,
  dialect: WireDialect.Dialect
): Effect.Effect<StoredResponse | undefined> => {
  if (Exit.isSuccess(exit)) return Effect.succeed(toStored(exit.value))
  if (Cause.hasInterruptsOnly(exit.cause)) return Effect.succeed(undefined)
  const error = failureOf(exit.cause)
  if (error === undefined) return Effect.succeed(undefined)
  if (HttpServerResponse.isHttpServerResponse(error)) return Effect.succeed(toStored(error))
  return Effect.map(
    ProblemResponse.fromCause(Cause.fail(error), request, () => [], 0, dialect),
    (failure) => Option.isSome(failure.defect) ? undefined : toStored(ProblemResponse.normalize(failure.response, request, dialect))
  )
}

/**
 * Applies `Idempotency-Key` to a POST handled by `httpEffect` for `principal`. Requests that are
 * not POSTs or carry no key run as they are. Refusals (400, 409, 422) are ready problem
 * responses, so the wrapper adds nothing to the endpoint's declared errors.
 */
export const wrap = <E, R>(
  principal: { readonly organizationId: string; readonly id: string },
  httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
  dialect: WireDialect.Dialect = WireDialect.platform
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | IdempotencyStore | HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const raw = request.headers[keyHeader]
    if (request.method !== "POST" || raw === undefined) return yield* httpEffect
    const key = parseKey(raw)
    if (key === undefined) {
      return yield* problem(new IdempotencyKeyInvalid({
        detail: `Idempotency-Key must be 1 to ${maxKeyLength} printable ASCII characters.`
      }))
    }
    const body = yield* Effect.result(request.arrayBuffer)
    if (body._tag === "Failure") return yield* httpEffect
    const hash = yield* requestHash(request.method, request.url, body.success)
    const store = yield* IdempotencyStore
    const ref: KeyRef = { organizationId: principal.organizationId, principalId: principal.id, key }
    const claimed = yield* Effect.orDie(store.claim(ref, hash))
    if (claimed._tag !== "Claimed") {
      if (claimed.requestHash !== hash) {
        return yield* problem(new IdempotencyKeyReused({
          detail: "This Idempotency-Key was already used with a different request. Use a new key for a new request."
        }))
      }
      if (claimed._tag === "InProgress") {
        return yield* problem(new IdempotencyKeyInProgress({
          detail: "A request with this Idempotency-Key is still being processed. Retry after it has finished."
        }))
      }
      if (claimed._tag === "Unreadable") {
        return yield* problem(new SecretKeyUnavailable({
          detail: `This Idempotency-Key has an answer this server cannot open: ${claimed.detail}`
        }))
      }
      return replay(claimed.response)
    }
    return yield* Effect.onExit(httpEffect, (exit) =>
      outcome(exit, request, dialect).pipe(
        Effect.flatMap((stored) =>
          stored === undefined ? store.release(ref, claimed.claim) : store.complete(ref, claimed.claim, stored)
        ),
        Effect.catchCause((cause) =>
          Effect.logWarning("could not record the idempotent response; the key stays claimed until it goes stale", cause)
        )
      ))
  })
