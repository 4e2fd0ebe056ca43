/**
 * Brute-force protection for the public identity endpoints: failed logins are counted per
 * account and per client address in a fixed 15-minute window, and signups per address.
 *
 * - The account is the user the name resolves to (`user:<id>`), whatever name reached it
 *   (username, email, any letter case); a name that matches no account is counted by its
 *   normalised form (`name:<trimmed lowercase>`), so probing unknown names is limited too.
 * - `attempt` reserves one failure on the account and the address before the password check,
 *   and refuses (429 with `Retry-After`) without counting anything when either is locked: a
 *   locked account is never probed, and at most `failuresPerAccount` password checks run per
 *   window, even for parallel requests. `succeeded` gives the reservation back.
 * - Memory is bounded (`maxEntries`): when the table is full, expired windows go first, then
 *   live windows that are not locked; a locked window is never dropped before it expires (that
 *   would unlock the account early). When only locked windows remain, a new unknown name or
 *   address is refused rather than counted; a known account is still counted (there are only
 *   as many of those as accounts).
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
  /** Most windows kept in memory (see the module comment). */
  readonly maxEntries: number
}

export const defaultLimits: Limits = {
  failuresPerAccount: 10,
  failuresPerAddress: 50,
  windowSeconds: 15 * 60,
  signupsPerAddress: 5,
  signupWindowSeconds: 3600,
  maxEntries: 100_000
}

/** Who a sign-in names: the account it resolved to, or the unknown name as typed. */
export type Account = { readonly userId: string } | { readonly unknownName: string }

export interface AttemptKey {
  readonly account: Account
  readonly address: string
}

/** The counter key of an account: its user id, or the normalised unknown name. */
export const accountKey = (account: Account): string =>
  "userId" in account ? `user:${account.userId}` : `name:${account.unknownName.trim().toLowerCase()}`

interface Window {
  count: number
  readonly limit: number
  readonly resetAt: number
}

/** How many entries an eviction looks at before giving up (keeps a full table cheap). */
const evictionScan = 1_000

export class LoginGuard extends Context.Service<LoginGuard, {
  /** Fails with 429 when the account or address is locked (counting nothing); otherwise reserves one failure on both until `succeeded`. */
  readonly attempt: (key: AttemptKey) => Effect.Effect<void, RateLimited, HttpServerRequest.HttpServerRequest>
  readonly succeeded: (key: AttemptKey) => Effect.Effect<void>
  readonly signup: (address: string) => Effect.Effect<void, RateLimited, HttpServerRequest.HttpServerRequest>
  /** The number of windows held (for tests of the memory bound). */
  readonly size: () => number
}>()("trellis/identity/LoginGuard") {
  static readonly make = (limits: Limits) =>
    Effect.sync(() => {
      const windows = new Map<string, Window>()
      let lastSweep = 0

      /** The live window of a key, or undefined (an expired one is dropped). */
      const live = (key: string, now: number): Window | undefined => {
        const window = windows.get(key)
        if (window === undefined) return undefined
        if (window.resetAt <= now) {
          windows.delete(key)
          return undefined
        }
        return window
      }
      const locked = (window: Window | undefined): boolean => window !== undefined && window.limit > 0 && window.count >= window.limit
      const retryAfter = (window: Window, now: number) => Math.max(1, Math.ceil((window.resetAt - now) / 1000))

      /** Makes room for one new entry; false when only locked windows remain. */
      const makeRoom = (now: number): boolean => {
        if (windows.size < limits.maxEntries) return true
        // Expired windows first (a full sweep at most once a second).
        if (now - lastSweep >= 1000) {
          lastSweep = now
          for (const [key, window] of windows) if (window.resetAt <= now) windows.delete(key)
          if (windows.size < limits.maxEntries) return true
        }
        // Then the oldest live window that is not locked.
        let scanned = 0
        for (const [key, window] of windows) {
          if (window.resetAt <= now || !locked(window)) {
            windows.delete(key)
            return true
          }
          if (++scanned >= evictionScan) break
        }
        return false
      }

      /** Counts one on `key`; false when there is no room for a new entry and `mayExceed` is false. */
      const count = (key: string, limit: number, windowSeconds: number, now: number, mayExceed: boolean): boolean => {
        const window = live(key, now)
        if (window !== undefined) {
          window.count++
          return true
        }
        if (!makeRoom(now) && !mayExceed) return false
        windows.set(key, { count: 1, limit, resetAt: now + windowSeconds * 1000 })
        return true
      }

      const refuse = (retry: number, what: string) =>
        HttpEffect.appendPreResponseHandler((_request, response) =>
          Effect.succeed(HttpServerResponse.setHeader(response, "retry-after", String(retry)))
        ).pipe(
          Effect.ignore,
          Effect.andThen(Effect.fail(new RateLimited({ detail: `Too many ${what}. Try again in ${retry} seconds.` })))
        )

      const attempt = (key: AttemptKey) =>
        Effect.suspend(() => {
          const now = Date.now()
          const accountId = accountKey(key.account)
          const addressId = `address:${key.address}`
          const byAccount = limits.failuresPerAccount > 0 ? live(accountId, now) : undefined
          if (byAccount !== undefined && locked(byAccount)) return refuse(retryAfter(byAccount, now), "failed sign-ins for this account")
          const byAddress = limits.failuresPerAddress > 0 ? live(addressId, now) : undefined
          if (byAddress !== undefined && locked(byAddress)) return refuse(retryAfter(byAddress, now), "failed sign-ins from this address")
          // Neither is locked: reserve one failure on each (nothing yields in between, so
          // parallel requests cannot all pass the check before any of them counts).
          if (limits.failuresPerAddress > 0 && !count(addressId, limits.failuresPerAddress, limits.windowSeconds, now, false)) {
            return refuse(limits.windowSeconds, "sign-in attempts right now")
          }
          if (limits.failuresPerAccount > 0) {
            const known = "userId" in key.account
            if (!count(accountId, limits.failuresPerAccount, limits.windowSeconds, now, known)) {
              const address = live(addressId, now)
              if (address !== undefined && address.count > 0) address.count--
              return refuse(limits.windowSeconds, "sign-in attempts right now")
            }
          }
          return Effect.void
        })

      const succeeded = (key: AttemptKey) =>
        Effect.sync(() => {
          windows.delete(accountKey(key.account))
          const byAddress = windows.get(`address:${key.address}`)
          if (byAddress !== undefined && byAddress.count > 0) byAddress.count--
        })

      const signup = (address: string) =>
        Effect.suspend(() => {
          if (limits.signupsPerAddress <= 0) return Effect.void
          const now = Date.now()
          const key = `signup:${address}`
          const window = live(key, now)
          if (window !== undefined && locked(window)) return refuse(retryAfter(window, now), "signups from this address")
          return count(key, limits.signupsPerAddress, limits.signupWindowSeconds, now, false)
            ? Effect.void
            : refuse(limits.signupWindowSeconds, "signups right now")
        })

      return LoginGuard.of({ attempt, succeeded, signup, size: () => windows.size })
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
