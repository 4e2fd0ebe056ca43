/**
 * Rate limits: per-principal request budgets and a per-principal cap on open live streams
 * (`TRELLIS_RATE_LIMIT_*`; 0 disables one). Failed sign-ins are limited by
 * `src/identity/LoginGuard.ts`, with the `TRELLIS_RATE_LIMIT_LOGIN_*` values.
 *
 * - Keys hold the organization id and the principal id, so one organization never spends
 *   another's budget. A user's sessions and user keys share the user's budget.
 * - Every authenticated call spends the budget of its rate-limit group (`RateGroup.ts`):
 *   `default` unless its API group declares one (the mobile runs API's `runs-api`); a
 *   run-start call also spends `run` and a settings write also spends `settings`. Budgets are
 *   spent all-or-nothing: a refused run call does not eat the general budget.
 * - The static admin token is the operator's tool (scripts, the benchmark) and is never limited.
 * - Counters live in this process's memory (exact sliding windows, see `SlidingWindow`). Several
 *   server processes on one PostgreSQL each count separately, so a principal spread over N
 *   processes may make up to N times the limit. A restart forgets the counts.
 *
 * The authentication middleware applies the request and stream limits with
 * `HttpRateLimit.enforce`.
 */
import { Clock, Context, Effect, Layer, Scope } from "effect"
import type { HttpServerRequest } from "effect/http"
import type { LimitClass } from "../auth/Requirement.ts"
import type { PrincipalKind } from "../auth/Principal.ts"
import { TrellisConfig } from "../config/TrellisConfig.ts"
import type { RateLimited } from "../problem/Problems.ts"
import type { RateLimitConfig } from "../config/TrellisConfig.ts"
import * as RateLimitHeaders from "./RateLimitHeaders.ts"
import type { PolicyState } from "./RateLimitHeaders.ts"
import type { RateGroupPolicy } from "./RateGroup.ts"
import { RateLimitExceeded } from "./RateLimitExceeded.ts"
import { SlidingWindow } from "./SlidingWindow.ts"
import type { Budget } from "./SlidingWindow.ts"

/** Who a budget belongs to: a principal within its organization. */
export interface PrincipalKey {
  readonly organizationId: string
  readonly id: string
  readonly kind: PrincipalKind
}

/** The outcome of spending a budget: the headers to send either way, and on refusal why. */
export type Decision =
  | { readonly _tag: "Allowed"; readonly headers: Readonly<Record<string, string>> }
  | { readonly _tag: "Refused"; readonly error: RateLimitExceeded }

/** Seconds a client refused a stream slot is told to wait (a slot frees when one of its streams closes). */
export const streamRetryAfterSeconds = 5

const minute = 60_000

/** Whether the principal is exempt from every limit (the static admin token). */
export const isExempt = (principal: Pick<PrincipalKey, "kind">): boolean => principal.kind === "admin-token"

const principalPart = (p: PrincipalKey) => `${p.organizationId}\u0000${p.id}`

export interface RateLimiterShape {
  readonly config: RateLimitConfig
  /**
   * Spends one request of the principal's budgets for a call of class `limit` in rate-limit
   * group `group` (its group's budget always, `default` when `group` is absent, plus `run` or
   * `settings`). Exempt principals are always allowed, with no headers.
   */
  readonly consume: (principal: PrincipalKey, limit: LimitClass, group?: RateGroupPolicy | undefined) => Effect.Effect<Decision>
  /** `consume` at the given time (ms since the epoch), for code that runs outside a fiber. */
  readonly consumeAt: (principal: PrincipalKey, limit: LimitClass, now: number, group?: RateGroupPolicy | undefined) => Decision
  /** Takes one of the principal's live-stream slots; `release` gives it back (a second call does nothing). */
  readonly tryAcquireStream: (principal: PrincipalKey) => Effect.Effect<
    { readonly _tag: "Acquired"; readonly release: Effect.Effect<void> } | { readonly _tag: "Refused"; readonly error: RateLimitExceeded }
  >
  /** Streams the principal holds open now. */
  readonly openStreams: (principal: PrincipalKey) => Effect.Effect<number>
}

export class RateLimiter extends Context.Service<RateLimiter, RateLimiterShape>()("trellis/ratelimit/RateLimiter") {
  /** The limiter configured by `TRELLIS_RATE_LIMIT_*`. */
  static readonly layer: Layer.Layer<RateLimiter, never, TrellisConfig> = Layer.effect(
    RateLimiter,
    Effect.gen(function*() {
      const config = yield* TrellisConfig
      return make(config.rateLimits)
    })
  )

  /** A limiter with the given limits (tests). */
  static readonly layerWith = (config: RateLimitConfig): Layer.Layer<RateLimiter> => Layer.sync(RateLimiter, () => make(config))
}

/** Builds a limiter with its own counters. */
export const make = (config: RateLimitConfig): RateLimiterShape => {
  const windows = new SlidingWindow()
  const streams = new Map<string, number>()

  const spend = (named: ReadonlyArray<readonly [string, Budget]>, what: (name: string) => string, now: number): Decision => {
    const outcome = windows.take(named.map(([, b]) => b), now)
    const names = new Map(named.map(([name, b]) => [b.key, name]))
    const states: Array<PolicyState> = outcome.states.map((s) => RateLimitHeaders.stateOf(names.get(s.budget.key) ?? "default", s))
    const headers = RateLimitHeaders.headers(states)
    if (outcome.allowed) return { _tag: "Allowed", headers }
    const exhausted = outcome.states.filter((s) => s.retryMs > 0)
    const retryMs = Math.max(...exhausted.map((s) => s.retryMs))
    const first = exhausted[0]
    const name = first === undefined ? "default" : names.get(first.budget.key) ?? "default"
    return {
      _tag: "Refused",
      error: new RateLimitExceeded({
        detail: what(name) + ` Retry in ${Math.max(1, Math.ceil(retryMs / 1000))} s.`,
        headers: { ...headers, ...RateLimitHeaders.retryAfter(retryMs) }
      })
    }
  }

  /** A declared group's quota: the configured one for its name, else the one it declares. */
  const quotaOf = (group: RateGroupPolicy): number => config.groups?.[group.name] ?? group.perMinute

  const requestBudgets = (principal: PrincipalKey, limit: LimitClass, group: RateGroupPolicy | undefined): Array<readonly [string, Budget]> => {
    const base = principalPart(principal)
    const budgets: Array<readonly [string, Budget]> = [
      group === undefined || group.name === "default"
        ? ["default", { key: `${base}\u0000default`, limit: config.perMinute, windowMs: minute }]
        : [group.name, { key: `${base}\u0000group\u0000${group.name}`, limit: quotaOf(group), windowMs: minute }]
    ]
    if (limit === "run") budgets.push(["run", { key: `${base}\u0000run`, limit: config.runPerMinute, windowMs: minute }])
    if (limit === "settings") {
      budgets.push(["settings", { key: `${base}\u0000settings`, limit: config.settingsPerMinute, windowMs: minute }])
    }
    return budgets
  }

  const limitsText: Record<string, string> = {
    default: `More than ${config.perMinute} requests in a minute.`,
    run: `More than ${config.runPerMinute} runs started in a minute.`,
    settings: `More than ${config.settingsPerMinute} settings changes in a minute.`
  }
  const describeIn = (group: RateGroupPolicy | undefined) => (name: string) =>
    limitsText[name] ?? (group !== undefined && name === group.name
      ? `More than ${quotaOf(group)} requests in a minute to the ${group.name} API.`
      : "Too many requests.")
  const describe = describeIn(undefined)

  const allowed: Decision = { _tag: "Allowed", headers: {} }
  const allowedWithoutHeaders: Effect.Effect<Decision> = Effect.succeed(allowed)
  const consumeAt = (principal: PrincipalKey, limit: LimitClass, now: number, group?: RateGroupPolicy | undefined): Decision =>
    isExempt(principal)
      ? allowed
      : spend(requestBudgets(principal, limit, group), group === undefined ? describe : describeIn(group), now)

  return {
    config,
    consume: (principal, limit, group) =>
      isExempt(principal)
        ? allowedWithoutHeaders
        : Effect.map(Clock.currentTimeMillis, (now) => consumeAt(principal, limit, now, group)),
    consumeAt,
    tryAcquireStream: (principal) =>
      Effect.sync(() => {
        const noop = { _tag: "Acquired" as const, release: Effect.void }
        if (isExempt(principal) || config.streams <= 0) return noop
        const key = principalPart(principal)
        const open = streams.get(key) ?? 0
        if (open >= config.streams) {
          return {
            _tag: "Refused" as const,
            error: new RateLimitExceeded({
              detail: `At most ${config.streams} live streams may be open at once; close one first.`,
              headers: {
                ...RateLimitHeaders.headers([{
                  policy: { name: "streams", quota: config.streams, unit: "concurrent-requests" },
                  remaining: 0
                }]),
                "retry-after": String(streamRetryAfterSeconds)
              }
            })
          }
        }
        streams.set(key, open + 1)
        let released = false
        const release = Effect.sync(() => {
          if (released) return
          released = true
          const now = (streams.get(key) ?? 1) - 1
          if (now <= 0) streams.delete(key)
          else streams.set(key, now)
        })
        return { _tag: "Acquired" as const, release }
      }),
    openStreams: (principal) => Effect.sync(() => streams.get(principalPart(principal)) ?? 0)
  }
}

/**
 * Holds one of the principal's live-stream slots until the enclosing scope closes. With the
 * maximum already open it fails with the `RateLimited` problem, and the response carries
 * `Retry-After` and the RateLimit headers. (`HttpRateLimit.enforce` does this for endpoints
 * whose requirement is a stream; this is for handlers that open streams some other way.)
 */
export const acquireStream = (
  principal: PrincipalKey
): Effect.Effect<void, RateLimited, RateLimiter | Scope.Scope | HttpServerRequest.HttpServerRequest> =>
  Effect.uninterruptible(Effect.gen(function*() {
    const limiter = yield* RateLimiter
    const slot = yield* limiter.tryAcquireStream(principal)
    if (slot._tag === "Refused") return yield* slot.error.fail
    yield* Effect.addFinalizer(() => slot.release)
  }))
