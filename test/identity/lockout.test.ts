/**
 * Login lockout that cannot be walked around: the account is counted whatever name reaches it
 * (username, email, any letter case), a locked account is refused without a password check,
 * and the guard's bounded memory never unlocks an account early.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { HttpServerRequest } from "effect/http"
import type { HttpClientResponse } from "effect/http"
import * as TestKit from "trellis/testing"
import { defaultLimits, LoginGuard } from "../../src/identity/LoginGuard.ts"
import type { AttemptKey } from "../../src/identity/LoginGuard.ts"

const json = <A>(response: HttpClientResponse.HttpClientResponse) => Effect.map(response.json, (body) => body as A)

const password = "lockout password 123"

describe("login lockout over HTTP", () => {
  const limits = { perMinute: 0, runPerMinute: 0, settingsPerMinute: 0, streams: 0, loginPerAccount: 3, loginPerAddress: 1000 }
  layer(TestKit.layer({ plugins: [], config: { rateLimits: limits } }), { timeout: 120_000 })((it) => {
    it.effect("failures by username, email and any letter case count on one account; the right password by email stays locked", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const username = `lock-${crypto.randomUUID().slice(0, 8)}`
        const email = `${username}@Example.test`
        const created = yield* kit.request("POST", "/api/users", { body: { username, password, email, role: "viewer" } })
        assert.strictEqual(created.status, 201)
        const attempt = (name: string, secret: string) => kit.request("POST", "/api/login", { body: { username: name, password: secret }, token: null })
        // Three failures, each by another name of the same account: the budget of 3 is spent.
        assert.strictEqual((yield* attempt(username, "wrong password 1")).status, 401)
        assert.strictEqual((yield* attempt(email.toUpperCase(), "wrong password 2")).status, 401)
        assert.strictEqual((yield* attempt(` ${username.toUpperCase()} `, "wrong password 3")).status, 401)
        // Locked, whichever name is used, even with the right password.
        for (const name of [username, email, email.toLowerCase(), email.toUpperCase(), username.toUpperCase()]) {
          const refused = yield* attempt(name, password)
          assert.strictEqual(refused.status, 429, name)
          assert.include((yield* json<{ detail: string }>(refused)).detail, "this account")
          assert.isAbove(Number(refused.headers["retry-after"]), 0)
        }
        // Another account is not affected.
        assert.strictEqual((yield* attempt("admin", TestKit.adminPassword)).status, 200)
      }))

    it.effect("parallel wrong passwords run at most the account's budget of password checks", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const username = `race-${crypto.randomUUID().slice(0, 8)}`
        assert.strictEqual((yield* kit.request("POST", "/api/users", { body: { username, password, role: "viewer" } })).status, 201)
        const replies = yield* Effect.forEach(
          Array.from({ length: 12 }, (_, i) => i),
          (i) => kit.request("POST", "/api/login", { body: { username: i % 2 === 0 ? username : username.toUpperCase(), password: `wrong ${i}` }, token: null }),
          { concurrency: "unbounded" }
        )
        const statuses = replies.map((r) => r.status)
        // 401 means a password was checked: never more than the budget of 3.
        assert.strictEqual(statuses.filter((s) => s === 401).length, 3, String(statuses))
        assert.strictEqual(statuses.filter((s) => s === 429).length, 9, String(statuses))
      }))
  })
})

describe("LoginGuard memory bound", () => {
  const request = HttpServerRequest.fromWeb(new Request("http://localhost/api/login", { method: "POST" }))
  const run = <A, E>(effect: Effect.Effect<A, E, HttpServerRequest.HttpServerRequest>) =>
    Effect.provideService(effect, HttpServerRequest.HttpServerRequest, request)
  const limits = { ...defaultLimits, failuresPerAccount: 3, failuresPerAddress: 1_000_000, maxEntries: 20 }

  it.effect("a locked account stays locked however many other names fill the table", () =>
    Effect.gen(function*() {
      const guard = yield* LoginGuard.make(limits)
      const victim: AttemptKey = { account: { userId: "usr_victim" }, address: "10.0.0.1" }
      for (let i = 0; i < 3; i++) yield* run(guard.attempt(victim))
      assert.isTrue(Exit.isFailure(yield* Effect.exit(run(guard.attempt(victim)))))
      // Thousands of failures with other names from other addresses (far past the cap of 20).
      let refusedUnknown = 0
      for (let i = 0; i < 5_000; i++) {
        const exit = yield* Effect.exit(run(guard.attempt({ account: { unknownName: `spray-${i}` }, address: `10.1.${i >> 8}.${i & 255}` })))
        if (Exit.isFailure(exit)) refusedUnknown++
        assert.isAtMost(guard.size(), limits.maxEntries + 1)
      }
      // Still locked: the victim's window was never evicted.
      const again = yield* Effect.exit(run(guard.attempt(victim)))
      assert.isTrue(Exit.isFailure(again))
      // Nothing was refused as long as unlocked windows could be evicted.
      assert.strictEqual(refusedUnknown, 0)
    }))

  it.effect("when only locked windows remain, a new unknown name is refused rather than a lock dropped", () =>
    Effect.gen(function*() {
      const guard = yield* LoginGuard.make({ ...limits, failuresPerAddress: 0, maxEntries: 4 })
      const lock = (key: AttemptKey) =>
        Effect.gen(function*() {
          for (let i = 0; i < 3; i++) yield* run(guard.attempt(key))
        })
      const locked = [0, 1, 2, 3].map((i): AttemptKey => ({ account: { unknownName: `locked-${i}` }, address: "a" }))
      for (const key of locked) yield* lock(key)
      assert.strictEqual(guard.size(), 4)
      // Full of locked windows: a new unknown name is refused and nothing is dropped.
      assert.isTrue(Exit.isFailure(yield* Effect.exit(run(guard.attempt({ account: { unknownName: "newcomer" }, address: "a" })))))
      assert.strictEqual(guard.size(), 4)
      for (const key of locked) assert.isTrue(Exit.isFailure(yield* Effect.exit(run(guard.attempt(key)))))
      // A known account is still counted (there are only as many of those as accounts).
      yield* run(guard.attempt({ account: { userId: "usr_known" }, address: "a" }))
      assert.strictEqual(guard.size(), 5)
      // A success gives the reservation back.
      yield* guard.succeeded({ account: { userId: "usr_known" }, address: "a" })
      assert.strictEqual(guard.size(), 4)
    }))

  it.effect("refused attempts while locked add no entries", () =>
    Effect.gen(function*() {
      const guard = yield* LoginGuard.make({ ...limits, failuresPerAddress: 2 })
      for (let i = 0; i < 2; i++) yield* run(guard.attempt({ account: { unknownName: `n-${i}` }, address: "b" }))
      const before = guard.size()
      for (let i = 0; i < 50; i++) {
        assert.isTrue(Exit.isFailure(yield* Effect.exit(run(guard.attempt({ account: { unknownName: `more-${i}` }, address: "b" })))))
      }
      assert.strictEqual(guard.size(), before)
    }))
})
