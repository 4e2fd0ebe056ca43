/**
 * Rate-limit groups: which request budget an API group's calls spend.
 *
 * Each seed documents its own limits for its own clients; one budget for every path would make
 * the strictest seed's limit everyone's (PromptOps's console, 8 calls per page, met the mobile
 * runs API's 60 a minute in two minutes of clicking). So a call spends the budget of its group:
 *
 * - `default` (`TRELLIS_RATE_LIMIT_PER_MINUTE`, 600): every API group that declares nothing.
 * - a declared group, e.g. `runsApi` (`TRELLIS_RATE_LIMIT_RUNS_API_PER_MINUTE`, 60): the mobile
 *   runs API's documented "60 req/min default" (seed 002), for its paths only.
 *
 * A plugin declares the group on its API group (or on one endpoint, which wins):
 *
 * ```ts
 * class RunsGroup extends HttpApiGroup.make("runs").add(...).middleware(Authentication)
 *   .annotate(RateGroup, RateGroups.runsApi) {}
 * ```
 *
 * Budgets are per principal and per group, so calls in one group never use up another's. The
 * run, settings and stream limits apply on top, whatever the group. A group named in
 * `RateLimitConfig.groups` takes its quota from there (an environment variable); otherwise the
 * quota it declares applies. `HttpRateLimit`, the fast path and RPC all read the group the same
 * way (`rateGroupOf`).
 *
 * Client-safe: imports only `effect`.
 */
import { Context } from "effect"

/** A named request budget and its documented quota per minute (0: unlimited). */
export interface RateGroupPolicy {
  readonly name: string
  readonly perMinute: number
}

/** The annotation: the rate-limit group of an API group, endpoint or RPC; `undefined` is `default`. */
export const RateGroup = Context.Reference<RateGroupPolicy | undefined>("trellis/ratelimit/RateGroup", {
  defaultValue: () => undefined
})

/** The mobile runs API (seed 002): "Rate limit: 60 req/min default". */
export const runsApi: RateGroupPolicy = { name: "runs-api", perMinute: 60 }

/** The group of a call: its endpoint's annotation, else its API group's, else `undefined` (`default`). */
export const rateGroupOf = (
  endpoint: Context.Context<never>,
  group?: Context.Context<never> | undefined
): RateGroupPolicy | undefined => Context.get(endpoint, RateGroup) ?? (group === undefined ? undefined : Context.get(group, RateGroup))
