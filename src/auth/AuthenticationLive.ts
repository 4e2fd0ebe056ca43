/**
 * The server side of `Authentication` and `RpcAuthentication`: resolves the credential through
 * `Credentials`, applies `X-Trellis-Organization`, checks CSRF on cookie-authenticated writes,
 * enforces the endpoint's `Requires`, spends the principal's rate-limit budget (and a stream
 * slot for live streams), applies `Idempotency-Key` to POSTs, and provides `CurrentPrincipal`.
 */
import { rateGroupOf } from "../ratelimit/RateGroup.ts"
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { HttpServerRequest } from "effect/http"
import { Unauthorized } from "../problem/Problems.ts"
import { Authentication, csrfHeader, organizationHeader, sessionCookie } from "./Authentication.ts"
import { CsrfFailed } from "./AuthProblems.ts"
import { authorize } from "./Authorization.ts"
import { Credentials } from "./Credentials.ts"
import { CurrentPrincipal } from "./Principal.ts"
import type { Principal } from "./Principal.ts"
import { Requires } from "./Requirement.ts"
import type { Requirement } from "./Requirement.ts"
import * as WireDialect from "../http/WireDialect.ts"
import * as Idempotency from "../idempotency/Idempotency.ts"
import { IdempotencyStore } from "../idempotency/IdempotencyStore.ts"
import * as HttpRateLimit from "../ratelimit/HttpRateLimit.ts"
import { isExempt, RateLimiter } from "../ratelimit/RateLimiter.ts"
import { RpcAuthentication } from "./RpcAuthentication.ts"
import { createHash, timingSafeEqual } from "node:crypto"

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"])

const sha256 = (value: string): Buffer => createHash("sha256").update(value).digest()

const csrfMatches = (presented: string | undefined, expectedDigest: string): boolean =>
  presented !== undefined && presented !== "" && timingSafeEqual(sha256(presented), Buffer.from(expectedDigest, "hex"))

const missingToken = (where: string) =>
  new Unauthorized({ detail: `${where} needs a credential: send Authorization: Bearer <token>.` })

const invalidToken = new Unauthorized({ detail: "The credential is not valid." })

/** Resolves a token and the organization header into the principal (no authorization yet). */
const principalFor = (
  credentials: Credentials["Service"],
  token: string,
  organization: string | undefined,
  csrf: { readonly cookie: boolean; readonly method: string; readonly header: string | undefined }
) =>
  Effect.gen(function*() {
    const resolved = yield* credentials.resolve(token)
    if (Option.isNone(resolved)) return yield* invalidToken
    const { csrfDigest, principal } = resolved.value
    if (csrf.cookie && !safeMethods.has(csrf.method) && (csrfDigest === null || !csrfMatches(csrf.header, csrfDigest))) {
      return yield* new CsrfFailed({
        detail: "A write authenticated by the session cookie must send the session's CSRF token in X-CSRF-Token."
      })
    }
    return organization === undefined || organization === ""
      ? principal
      : yield* credentials.actAs(principal, organization)
  })

/** Enforces the requirement; returns it (defined) for the rate limiter. */
const authorized = (principal: Principal, requirement: Requirement | undefined) =>
  Effect.as(authorize(principal, requirement), requirement as Requirement)

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function*() {
    const credentials = yield* Credentials
    const limiter = yield* RateLimiter
    const idempotency = yield* IdempotencyStore
    return Authentication.of({
      bearer: Effect.fnUntraced(function*(httpEffect, { credential, endpoint, group }) {
        const request = yield* HttpServerRequest.HttpServerRequest
        let token = Redacted.value(credential)
        let cookie = false
        if (token === "") {
          token = request.cookies[sessionCookie] ?? ""
          cookie = token !== ""
        }
        if (token === "") return yield* missingToken("This endpoint")
        const principal: Principal = yield* principalFor(credentials, token, request.headers[organizationHeader], {
          cookie,
          method: request.method,
          header: request.headers[csrfHeader]
        })
        const requirement = yield* authorized(principal, Context.get(endpoint.annotations, Requires))
        // Each wrapper is applied only where it can act (every provideService copies the
        // context, on the hot path): idempotency on POSTs that carry a key, rate limits on
        // principals that are not exempt.
        const handler = Effect.provideService(httpEffect, CurrentPrincipal, principal)
        const idempotent = request.method === "POST" && request.headers[Idempotency.keyHeader] !== undefined
          ? Idempotency.wrap(principal, handler, WireDialect.endpointDialect(group.annotations, endpoint.annotations)).pipe(Effect.provideService(IdempotencyStore, idempotency))
          : handler
        if (isExempt(principal)) return yield* idempotent
        return yield* HttpRateLimit.enforce(principal, requirement, idempotent, rateGroupOf(endpoint.annotations, group.annotations)).pipe(
          Effect.provideService(RateLimiter, limiter)
        )
      })
    })
  })
)

export const RpcAuthenticationLive = Layer.effect(
  RpcAuthentication,
  Effect.gen(function*() {
    const credentials = yield* Credentials
    const limiter = yield* RateLimiter
    return RpcAuthentication.of(Effect.fnUntraced(function*(effect, { headers, rpc }) {
      const match = /^Bearer\s+(.+)$/i.exec(headers["authorization"] ?? "")
      if (match === null) return yield* missingToken("An RPC call")
      const principal = yield* principalFor(credentials, match[1].trim(), headers[organizationHeader], {
        cookie: false,
        method: "POST",
        header: undefined
      })
      const requirement = yield* authorized(principal, Context.get(rpc.annotations, Requires))
      const decision = yield* limiter.consume(principal, requirement.limit, rateGroupOf(rpc.annotations))
      if (decision._tag === "Refused") return yield* decision.error.problem
      return yield* Effect.provideService(effect, CurrentPrincipal, principal)
    }))
  })
)
