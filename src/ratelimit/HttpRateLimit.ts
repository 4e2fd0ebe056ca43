/**
 * Rate limits around one authenticated HTTP call, for the authentication middleware: once the
 * principal and the endpoint's `Requirement` are known,
 *
 * ```ts
 * return yield* HttpRateLimit.enforce(principal, requirement, handler, rateGroupOf(endpoint.annotations, group.annotations))
 * ```
 *
 * spends the call's budgets (those of its rate-limit group, see `RateGroup.ts`) and either answers a ready 429 problem response (with
 * `Retry-After`, `RateLimit-Policy` and `RateLimit`; Surflet's `/v1/` paths get their `error`
 * envelope from the pipeline like every problem) without running the handler, or runs it and
 * adds `RateLimit-Policy` / `RateLimit` to the response it ends with (a handler's problem too). A live stream (`requirement.stream`)
 * also holds one of the principal's stream slots until the response ends: the slot is released
 * by the request's scope, which closes when the body stream finishes, fails or the client goes
 * away, and also when the handler fails before streaming.
 *
 * `enforceWith` does the same with a limiter in hand (the authentication middleware's, on
 * every rate-limited request): no generator and no context update for the limiter.
 *
 * The refusal is a response rather than a failure so that it needs no place in the endpoint's
 * declared errors (nor in the middleware's).
 */
import { Effect } from "effect"
import type { RateLimiterShape } from "./RateLimiter.ts"
import type { Scope } from "effect"
import type { HttpServerRequest, HttpServerResponse } from "effect/http"
import { addHeaders } from "./RateLimitExceeded.ts"
import type { Requirement } from "../auth/Requirement.ts"
import { RateLimiter } from "./RateLimiter.ts"
import type { PrincipalKey } from "./RateLimiter.ts"
import type { RateGroupPolicy } from "./RateGroup.ts"

/** Spends the principal's budget (and holds a stream slot for a stream), then runs `httpEffect`. */
export const enforce = <E, R>(
  principal: PrincipalKey,
  requirement: Pick<Requirement, "limit" | "stream">,
  httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
  group?: RateGroupPolicy | undefined
): Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  E,
  R | RateLimiter | Scope.Scope | HttpServerRequest.HttpServerRequest
> => Effect.flatMap(Effect.service(RateLimiter), (limiter) => enforceWith(limiter, principal, requirement, httpEffect, group))

/** `enforce` with the limiter given rather than read from the context (the hot path: no generator). */
export const enforceWith = <E, R>(
  limiter: RateLimiterShape,
  principal: PrincipalKey,
  requirement: Pick<Requirement, "limit" | "stream">,
  httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
  group?: RateGroupPolicy | undefined
): Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  E,
  R | Scope.Scope | HttpServerRequest.HttpServerRequest
> =>
  Effect.flatMap(limiter.consume(principal, requirement.limit, group), (decision) => {
    if (decision._tag === "Refused") return decision.error.response
    const run = Effect.andThen(addHeaders(decision.headers), httpEffect)
    if (!requirement.stream) return run
    // A stream also holds one of the principal's slots until it ends.
    return Effect.flatMap(
      Effect.uninterruptible(Effect.flatMap(limiter.tryAcquireStream(principal), (slot) =>
        slot._tag === "Refused" ? Effect.succeed(slot.error) : Effect.as(Effect.addFinalizer(() => slot.release), undefined))),
      (refused) => refused === undefined ? run : refused.response
    )
  })
