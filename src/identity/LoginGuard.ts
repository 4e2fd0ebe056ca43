/**
 * Brute-force protection for the public identity endpoints: failed logins are counted per
 * account and per client address in a fixed 15-minute window, and signups per address. Over the limit the endpoint answers 429 with `Retry-After`, before checking the
 * password, so a locked account cannot be probed. A successful login clears its account's count.
 *
 * In-process: with several server processes each counts on its own (documented in the README).
 */
import { Context, Effect, Layer } from "effect"
import { HttpEffect, HttpServerResponse } from "effect/http"
import type { HttpServerRequest } from "effect/http"
import { TrellisConfig } from "../config/TrellisConfig.ts"
import { RateLimited } from "../problem/Problems.ts"

export interface Limits {
  readonly failuresPerAccount: number
  readonly failuresPerAddress: number
  readonly windowSeconds: number
  readonly signupsPerAddress: number
  readonly signupWindowSeconds: number
}

export const defaultLimits: Limits = {
  failuresPerAccount: 10,
  failuresPerAddress: 50,
  windowSeconds: 15 * 60,
  signupsPerAddress: 5,
  signupWindowSeconds: 3600
}

interface Window {
  count: number
  resetAt: number
}

export class LoginGuard extends Context.Service<LoginGuard, {
  /** Fails with 429 when the account or address has too many recent failures; otherwise counts one attempt as failed until `succeeded`. */
  readonly attempt: (key: { readonly account: string; readonly address: string }) => Effect.Effect<void, RateLimited, HttpServerRequest.HttpServerRequest>
  readonly succeeded: (key: { readonly account: string; readonly address: string }) => Effect.Effect<void>
  readonly signup: (address: string) => Effect.Effect<void, RateLimited, HttpServerRequest.HttpServerRequest>
}>()("trellis/identity/LoginGuard") {
  static readonly make = (limits: Limits) =>
    Effect.sync(() => {
      const windows = new Map<string, Window>()
      const hit = (key: string, limit: number, windowSeconds: number): number | undefined => {
        const now = Date.now()
        let window = windows.get(key)
        if (window === undefined || window.resetAt <= now) {
          if (windows.size > 100_000) windows.clear()
          window = { count: 0, resetAt: now + windowSeconds * 1000 }
          windows.set(key, window)
        }
        if (limit > 0 && window.count >= limit) return Math.max(1, Math.ceil((window.resetAt - now) / 1000))
        window.count++
        return undefined
      }
      const refuse = (retryAfter: number, what: string) =>
        HttpEffect.appendPreResponseHandler((_request, response) =>
          Effect.succeed(HttpServerResponse.setHeader(response, "retry-after", String(retryAfter)))
        ).pipe(
          Effect.ignore,
          Effect.andThen(Effect.fail(new RateLimited({ detail: `Too many ${what}. Try again in ${retryAfter} seconds.` })))
        )
      const attempt = (key: { readonly account: string; readonly address: string }) =>
        Effect.suspend(() => {
          const byAccount = hit(`account:${key.account}`, limits.failuresPerAccount, limits.windowSeconds)
          if (byAccount !== undefined) return refuse(byAccount, "failed sign-ins for this account")
          const byAddress = hit(`address:${key.address}`, limits.failuresPerAddress, limits.windowSeconds)
          if (byAddress !== undefined) return refuse(byAddress, "failed sign-ins from this address")
          return Effect.void
        })
      const succeeded = (key: { readonly account: string; readonly address: string }) =>
        Effect.sync(() => {
          windows.delete(`account:${key.account}`)
          const byAddress = windows.get(`address:${key.address}`)
          if (byAddress !== undefined && byAddress.count > 0) byAddress.count--
        })
      const signup = (address: string) =>
        Effect.suspend(() => {
          const retry = hit(`signup:${address}`, limits.signupsPerAddress, limits.signupWindowSeconds)
          return retry === undefined ? Effect.void : refuse(retry, "signups from this address")
        })
      return LoginGuard.of({ attempt, succeeded, signup })
    })

  /** Limits from `TRELLIS_RATE_LIMIT_LOGIN_PER_ACCOUNT` / `_PER_ADDRESS` (signups share the address budget). */
  static readonly layer = Layer.effect(
    LoginGuard,
    Effect.flatMap(TrellisConfig, (config) =>
      LoginGuard.make({
        ...defaultLimits,
        failuresPerAccount: config.rateLimits.loginPerAccount,
        failuresPerAddress: config.rateLimits.loginPerAddress,
        signupsPerAddress: config.rateLimits.loginPerAddress,
        signupWindowSeconds: defaultLimits.windowSeconds
      }))
  )
}
