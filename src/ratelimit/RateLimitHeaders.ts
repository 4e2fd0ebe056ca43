/**
 * The rate-limit response headers of draft-ietf-httpapi-ratelimit-headers (revision 10), so
 * clients can pace themselves before they are refused:
 *
 * - `RateLimit-Policy: "default";q=60;w=60, "run";q=6;w=60`: each policy that applied, with its
 *   quota `q` and window `w` in seconds (`qu="concurrent-requests"` for the stream limit).
 * - `RateLimit: "default";r=54;t=12`: what remains (`r`) and the seconds until the quota is whole
 *   again (`t`).
 * - `Retry-After: 7` (RFC 9110, seconds) on a 429: when the exhausted budget frees a unit.
 *
 * Both fields are Structured Field lists of quoted policy names with integer parameters.
 */
import type { BudgetState } from "./SlidingWindow.ts"

/** A policy as advertised: its name, quota, and window (absent for concurrency limits). */
export interface Policy {
  readonly name: string
  readonly quota: number
  readonly windowSeconds?: number | undefined
  /** `concurrent-requests` for the stream limit; requests otherwise. */
  readonly unit?: "concurrent-requests" | undefined
}

/** A policy's live state. */
export interface PolicyState {
  readonly policy: Policy
  readonly remaining: number
  /** Seconds until the quota is whole again; absent for concurrency limits. */
  readonly resetSeconds?: number | undefined
}

const quoted = new Map<string, string>()

/** The name as a Structured Field string (memoised: a handful of policy names, on every request). */
const quote = (name: string): string => {
  let found = quoted.get(name)
  if (found === undefined) {
    found = `"${name.replace(/[\\"]/g, "\\$&")}"`
    if (quoted.size < 64) quoted.set(name, found)
  }
  return found
}

const seconds = (ms: number) => Math.ceil(ms / 1000)

/** The live state of a window budget, named `name`. */
export const stateOf = (name: string, state: BudgetState): PolicyState => ({
  policy: { name, quota: state.budget.limit, windowSeconds: seconds(state.budget.windowMs) },
  remaining: state.remaining,
  resetSeconds: seconds(state.resetMs)
})

/** `RateLimit-Policy` and `RateLimit` for these states (nothing when there are none). */
export const headers = (states: ReadonlyArray<PolicyState>): Record<string, string> => {
  if (states.length === 0) return {}
  const policy = states.map(({ policy: p }) =>
    quote(p.name) + `;q=${p.quota}` + (p.windowSeconds === undefined ? "" : `;w=${p.windowSeconds}`) +
    (p.unit === undefined ? "" : `;qu="${p.unit}"`)
  )
  const current = states.map((s) =>
    quote(s.policy.name) + `;r=${s.remaining}` + (s.resetSeconds === undefined ? "" : `;t=${s.resetSeconds}`)
  )
  return { "ratelimit-policy": policy.join(", "), ratelimit: current.join(", ") }
}

/** `Retry-After` in whole seconds, at least 1. */
export const retryAfter = (retryMs: number): Record<string, string> => ({ "retry-after": String(Math.max(1, seconds(retryMs))) })
