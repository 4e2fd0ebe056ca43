/**
 * The limiter's arithmetic on a test clock: windows slide (a unit comes back exactly when its
 * request leaves the window), a value of 0 disables a limit, the admin token is exempt, stream
 * slots come back when their scope closes, and the `TRELLIS_RATE_LIMIT_*` variables are read.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { HttpServerRequest } from "effect/http"
import { TestClock } from "effect/testing"
import { TrellisConfig } from "../../src/config/TrellisConfig.ts"
import type { RateLimitConfig } from "../../src/config/TrellisConfig.ts"
import { RateLimiter } from "../../src/ratelimit/RateLimiter.ts"
import * as RateLimiterModule from "../../src/ratelimit/RateLimiter.ts"

const limits: RateLimitConfig = {
  perMinute: 3,
  runPerMinute: 2,
  settingsPerMinute: 2,
  streams: 2,
  loginPerAccount: 2,
  loginPerAddress: 3
}

const user = { organizationId: "org_a", id: "usr_a", kind: "user" as const }

const tags = (limiter: RateLimiter["Service"], count: number, limit: "default" | "run" | "settings" = "default") =>
  Effect.forEach(Array.from({ length: count }), () => Effect.map(limiter.consume(user, limit), (d) => d._tag))

describe("RateLimiter", () => {
  it.effect("slides its window: a unit returns when the request that spent it is a minute old", () =>
    Effect.gen(function*() {
      const limiter = RateLimiterModule.make(limits)
      assert.deepStrictEqual(yield* tags(limiter, 1), ["Allowed"])
      yield* TestClock.adjust("20 seconds")
      assert.deepStrictEqual(yield* tags(limiter, 3), ["Allowed", "Allowed", "Refused"])
      const refused = yield* limiter.consume(user, "default")
      assert.strictEqual(refused._tag, "Refused")
      if (refused._tag === "Refused") {
        // The oldest request (at 0 s) leaves the window at 60 s: 40 s from now.
        assert.strictEqual(refused.error.headers["retry-after"], "40")
        assert.strictEqual(refused.error.headers["ratelimit"], "\"default\";r=0;t=60")
      }
      yield* TestClock.adjust("39 seconds")
      assert.deepStrictEqual(yield* tags(limiter, 1), ["Refused"])
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* tags(limiter, 2), ["Allowed", "Refused"])
    }))

  it.effect("spends budgets all or nothing", () =>
    Effect.gen(function*() {
      const limiter = RateLimiterModule.make(limits)
      assert.deepStrictEqual(yield* tags(limiter, 3, "run"), ["Allowed", "Allowed", "Refused"])
      // Two runs spent two of the three general units; the refused run spent none.
      assert.deepStrictEqual(yield* tags(limiter, 2), ["Allowed", "Refused"])
    }))

  it.effect("treats 0 as no limit and never limits the admin token", () =>
    Effect.gen(function*() {
      const open = RateLimiterModule.make({ ...limits, perMinute: 0, streams: 0 })
      const decisions = yield* tags(open, 50)
      assert.isTrue(decisions.every((d) => d === "Allowed"))
      const limiter = RateLimiterModule.make(limits)
      const admin = { organizationId: "org_default", id: "admin", kind: "admin-token" as const }
      for (let i = 0; i < 10; i++) assert.strictEqual((yield* limiter.consume(admin, "run"))._tag, "Allowed")
      for (let i = 0; i < 5; i++) assert.strictEqual((yield* open.tryAcquireStream(user))._tag, "Acquired")
    }))

  it.effect("holds stream slots until their scope closes", () =>
    Effect.gen(function*() {
      const limiter = RateLimiterModule.make(limits)
      const request = HttpServerRequest.fromWeb(new Request("http://localhost/api/stream"))
      const acquire = (scope: Scope.Scope) =>
        RateLimiterModule.acquireStream(user).pipe(
          Effect.provideService(RateLimiter, limiter),
          Effect.provideService(HttpServerRequest.HttpServerRequest, request),
          Scope.provide(scope),
          Effect.exit
        )
      const first = yield* Scope.make()
      const second = yield* Scope.make()
      assert.isTrue(Exit.isSuccess(yield* acquire(first)))
      assert.isTrue(Exit.isSuccess(yield* acquire(second)))
      assert.strictEqual(yield* limiter.openStreams(user), 2)
      const third = yield* Scope.make()
      const refused = yield* acquire(third)
      const error = Exit.findErrorOption(refused)
      assert.isTrue(error._tag === "Some" && error.value.code === "RATE_LIMITED")
      yield* Scope.close(third, Exit.void)
      assert.strictEqual(yield* limiter.openStreams(user), 2)
      yield* Scope.close(first, Exit.void)
      assert.strictEqual(yield* limiter.openStreams(user), 1)
      const again = yield* limiter.tryAcquireStream(user)
      assert.strictEqual(again._tag, "Acquired")
      if (again._tag === "Acquired") {
        yield* again.release
        yield* again.release // releasing twice gives back one slot only
      }
      assert.strictEqual(yield* limiter.openStreams(user), 1)
      yield* Scope.close(second, Exit.void)
      assert.strictEqual(yield* limiter.openStreams(user), 0)
    }))

  it.effect("reads TRELLIS_RATE_LIMIT_* (defaults 600, runs API 60, 6, 20, 4, 10, 30) and refuses bad values", () =>
    Effect.gen(function*() {
      const defaults = yield* TrellisConfig.fromRecord({})
      assert.deepStrictEqual(defaults.rateLimits, {
        perMinute: 600,
        groups: { "runs-api": 60 },
        runPerMinute: 6,
        settingsPerMinute: 20,
        streams: 4,
        loginPerAccount: 10,
        loginPerAddress: 30
      })
      const set = yield* TrellisConfig.fromRecord({
        TRELLIS_RATE_LIMIT_PER_MINUTE: "120",
        TRELLIS_RATE_LIMIT_RUNS_API_PER_MINUTE: "30",
        TRELLIS_RATE_LIMIT_RUN_PER_MINUTE: "0",
        TRELLIS_RATE_LIMIT_SETTINGS_PER_MINUTE: "5",
        TRELLIS_RATE_LIMIT_STREAMS: "8",
        TRELLIS_RATE_LIMIT_LOGIN_PER_ACCOUNT: "3",
        TRELLIS_RATE_LIMIT_LOGIN_PER_ADDRESS: "9"
      })
      assert.deepStrictEqual(set.rateLimits, {
        perMinute: 120,
        groups: { "runs-api": 30 },
        runPerMinute: 0,
        settingsPerMinute: 5,
        streams: 8,
        loginPerAccount: 3,
        loginPerAddress: 9
      })
      const bad = yield* Effect.flip(TrellisConfig.fromRecord({ TRELLIS_RATE_LIMIT_STREAMS: "-1" }))
      assert.include(bad.message, "TRELLIS_RATE_LIMIT_STREAMS")
    }))
})
