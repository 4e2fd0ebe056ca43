/**
 * Rate limits over real HTTP, through a fixture middleware that applies them the way the
 * authentication middleware does: the 61st request in a minute is a 429 problem with
 * `Retry-After` and the RateLimit headers; principals and organizations have separate budgets;
 * runs and settings writes have their own budgets; a fifth live stream is refused until one
 * closes; the admin token is exempt. (Failed sign-ins: test/identity/auth.test.ts.)
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { HttpClientResponse } from "effect/http"
import * as TestKit from "../../src/testing/TestKit.ts"
import { connect } from "../platform/sseClient.ts"
import { as, RlProbePlugin } from "./fixture.ts"

interface ProblemBody {
  readonly code: string
  readonly status: number
  readonly detail: string
  readonly instance: string
  readonly error?: { readonly code: string; readonly message: string }
}

const problemOf = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.map(response.json, (body) => body as unknown as ProblemBody)

/** Sends `count` requests one after another and returns their statuses. */
const burst = (kit: TestKit.TestServer, count: number, method: "GET" | "POST", path: string, headers: Record<string, string>) =>
  Effect.forEach(Array.from({ length: count }), () =>
    Effect.map(kit.request(method, path, { headers, token: null }), (r) => r.status))

const assertRateLimited = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.gen(function*() {
    assert.strictEqual(response.status, 429)
    assert.strictEqual(response.headers["content-type"], "application/problem+json")
    const retryAfter = Number(response.headers["retry-after"])
    assert.isTrue(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After: ${response.headers["retry-after"]}`)
    const body = yield* problemOf(response)
    assert.strictEqual(body.code, "RATE_LIMITED")
    assert.strictEqual(body.status, 429)
    return { retryAfter, body }
  })

/** Sleeps on the real clock (the test runs on a TestClock). */
const realSleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

describe("rate limits", () => {
  // The limits the mobile runs API documents (seed 002), set explicitly: the general default is 600.
  const rateLimits = { perMinute: 60, runPerMinute: 6, settingsPerMinute: 20, streams: 4, loginPerAccount: 10, loginPerAddress: 30 }
  layer(TestKit.layer({ plugins: [RlProbePlugin], config: { rateLimits } }), { timeout: 180_000 })((it) => {
    it.effect("refuses the 61st request in a minute with 429, Retry-After and RateLimit headers", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const alice = as("org_a", "usr_alice")
        const first = yield* kit.request("GET", "/api/rlprobe/ping", { headers: alice, token: null })
        assert.strictEqual(first.status, 200)
        assert.strictEqual(first.headers["ratelimit-policy"], "\"default\";q=60;w=60")
        assert.match(first.headers["ratelimit"] ?? "", /^"default";r=59;t=(59|60)$/)

        const statuses = yield* burst(kit, 59, "GET", "/api/rlprobe/ping", alice)
        assert.deepStrictEqual(statuses, Array.from({ length: 59 }, () => 200))

        const refused = yield* kit.request("GET", "/api/rlprobe/ping", { headers: alice, token: null })
        const { body, retryAfter } = yield* assertRateLimited(refused)
        assert.isAtMost(retryAfter, 60)
        assert.strictEqual(refused.headers["ratelimit-policy"], "\"default\";q=60;w=60")
        assert.match(refused.headers["ratelimit"] ?? "", /^"default";r=0;t=\d+$/)
        assert.include(body.detail, "60 requests in a minute")
        assert.strictEqual(body.instance, "/api/rlprobe/ping")
      }))

    it.effect("adds the RateLimit headers to a handler's problem answers too", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const missing = yield* kit.request("GET", "/api/rlprobe/missing", { headers: as("org_h", "usr_ivy"), token: null })
        assert.strictEqual(missing.status, 404)
        assert.strictEqual((yield* problemOf(missing)).code, "NOT_FOUND")
        assert.strictEqual(missing.headers["ratelimit-policy"], "\"default\";q=60;w=60")
        assert.match(missing.headers["ratelimit"] ?? "", /^"default";r=59;/)
      }))

    it.effect("keeps principals and organizations apart", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const bob = as("org_b", "usr_bob")
        assert.deepStrictEqual(yield* burst(kit, 60, "GET", "/api/rlprobe/ping", bob), Array.from({ length: 60 }, () => 200))
        assert.strictEqual((yield* kit.request("GET", "/api/rlprobe/ping", { headers: bob, token: null })).status, 429)

        // The same principal id in another organization, and another principal in the same one.
        const sameIdOtherOrg = yield* kit.request("GET", "/api/rlprobe/ping", { headers: as("org_c", "usr_bob"), token: null })
        assert.strictEqual(sameIdOtherOrg.status, 200)
        assert.match(sameIdOtherOrg.headers["ratelimit"] ?? "", /r=59;/)
        const otherPrincipal = yield* kit.request("GET", "/api/rlprobe/ping", { headers: as("org_b", "usr_carol"), token: null })
        assert.strictEqual(otherPrincipal.status, 200)
        assert.match(otherPrincipal.headers["ratelimit"] ?? "", /r=59;/)
      }))

    it.effect("answers 429 on /v1 paths with Surflet's error envelope too", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const dave = as("org_d", "usr_dave")
        yield* burst(kit, 60, "GET", "/v1/rlprobe/ping", dave)
        const refused = yield* kit.request("GET", "/v1/rlprobe/ping", { headers: dave, token: null })
        const { body } = yield* assertRateLimited(refused)
        assert.strictEqual(body.error?.code, "RATE_LIMITED")
        assert.include(body.error?.message ?? "", "requests in a minute")
        assert.isDefined(refused.headers["ratelimit"])
      }))

    it.effect("allows 6 runs a minute; runs also spend the general budget, refused ones do not", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const erin = as("org_e", "usr_erin")
        const first = yield* kit.request("POST", "/api/rlprobe/runs", { headers: erin, token: null })
        assert.strictEqual(first.status, 200)
        assert.strictEqual(first.headers["ratelimit-policy"], "\"default\";q=60;w=60, \"run\";q=6;w=60")
        assert.match(first.headers["ratelimit"] ?? "", /^"default";r=59;t=\d+, "run";r=5;t=\d+$/)
        assert.deepStrictEqual(yield* burst(kit, 5, "POST", "/api/rlprobe/runs", erin), [200, 200, 200, 200, 200])

        const refused = yield* kit.request("POST", "/api/rlprobe/runs", { headers: erin, token: null })
        const { body } = yield* assertRateLimited(refused)
        assert.include(body.detail, "6 runs")
        assert.match(refused.headers["ratelimit"] ?? "", /"run";r=0;/)

        // 6 runs spent 6 of the 60; the refused seventh spent nothing.
        const ping = yield* kit.request("GET", "/api/rlprobe/ping", { headers: erin, token: null })
        assert.strictEqual(ping.status, 200)
        assert.match(ping.headers["ratelimit"] ?? "", /^"default";r=53;/)
      }))

    it.effect("allows 20 settings writes a minute", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const frank = as("org_f", "usr_frank")
        assert.deepStrictEqual(yield* burst(kit, 20, "POST", "/api/rlprobe/settings", frank), Array.from({ length: 20 }, () => 200))
        const refused = yield* kit.request("POST", "/api/rlprobe/settings", { headers: frank, token: null })
        const { body } = yield* assertRateLimited(refused)
        assert.include(body.detail, "20 settings changes")
        assert.include(refused.headers["ratelimit-policy"] ?? "", "\"settings\";q=20;w=60")
      }))

    it.effect("refuses a fifth concurrent stream and frees a slot when a stream closes", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const gina = as("org_g", "usr_gina")
        const url = `${kit.baseUrl}/api/rlprobe/stream`
        const open = yield* Effect.promise(() => Promise.all([1, 2, 3, 4].map(() => connect(url, gina))))
        for (const stream of open) {
          assert.strictEqual(stream.status, 200)
          yield* Effect.promise(() => stream.until((frames) => frames.some((f) => f.comment === "ok")))
        }

        const fifth = yield* kit.request("GET", "/api/rlprobe/stream", { headers: gina, token: null })
        yield* assertRateLimited(fifth)
        assert.strictEqual(fifth.headers["ratelimit-policy"], "\"streams\";q=4;qu=\"concurrent-requests\"")
        assert.strictEqual(fifth.headers["ratelimit"], "\"streams\";r=0")
        assert.include((yield* problemOf(fifth)).detail, "At most 4 live streams")

        // Another principal is not affected.
        const other = yield* Effect.promise(() => connect(url, as("org_g", "usr_hank")))
        assert.strictEqual(other.status, 200)
        other.close()

        // Closing one stream gives its slot back (the server notices the disconnect).
        open[0].close()
        let reopened = 0
        for (let attempt = 0; attempt < 50 && reopened !== 200; attempt++) {
          const next = yield* Effect.promise(() => connect(url, gina))
          reopened = next.status
          next.close()
          if (reopened !== 200) yield* realSleep(100)
        }
        assert.strictEqual(reopened, 200)
        for (const stream of open) stream.close()
      }))

    it.effect("never limits the static admin token", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const admin = as("org_default", "admin", "admin-token")
        const statuses = yield* burst(kit, 70, "GET", "/api/rlprobe/ping", admin)
        assert.deepStrictEqual(statuses, Array.from({ length: 70 }, () => 200))
        const last = yield* kit.request("GET", "/api/rlprobe/ping", { headers: admin, token: null })
        assert.isUndefined(last.headers["ratelimit"])
        const runs = yield* burst(kit, 8, "POST", "/api/rlprobe/runs", admin)
        assert.deepStrictEqual(runs, Array.from({ length: 8 }, () => 200))
      }))
  })
})
