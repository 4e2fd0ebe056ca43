/**
 * Rate-limit groups through the real authentication middleware: with the default
 * configuration a console path advertises 600 a minute and the runs API's paths 60; each group
 * has its own budget (spending one leaves the other whole); the run budget still applies inside
 * the runs group; the fast path spends the same group's budget as the pipeline;
 * `TRELLIS_RATE_LIMIT_RUNS_API_PER_MINUTE` sets the group's quota; the 429 names the group.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { HttpClientResponse } from "effect/http"
import * as TestKit from "../../src/testing/TestKit.ts"
import { RlgPlugin } from "./groupFixture.ts"

const json = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.map(response.json, (body) => body as unknown as Record<string, unknown>)

/** A service key of the default organization with the fixture's scopes (one principal, one set of budgets). */
const serviceKey = Effect.gen(function*() {
  const kit = yield* TestKit.TrellisTest
  const created = yield* kit.request("POST", "/api/v1/orgs/org_default/service-keys", {
    body: { name: `rlg ${crypto.randomUUID()}`, scopes: ["rlg:read", "rlg:run"] }
  })
  assert.strictEqual(created.status, 201)
  return String((yield* json(created)).key)
})

const statuses = (method: "GET" | "POST", path: string, token: string, count: number) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const out: Array<number> = []
    for (let i = 0; i < count; i++) out.push((yield* kit.request(method, path, { token })).status)
    return out
  })

/** How many requests the fast path answered for a route (from `/metrics`). */
const fastCount = (route: string) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const metrics = yield* Effect.flatMap(kit.request("GET", "/metrics"), (r) => r.text)
    const line = metrics.split("\n").find((l) => l.startsWith(`trellis_http_fast_path_requests_total{route="${route}"}`))
    return line === undefined ? 0 : Number(line.split(" ").at(-1))
  })

describe("rate-limit groups", () => {
  layer(TestKit.layer({ plugins: [RlgPlugin] }), { timeout: 180_000 })((it) => {
    it.effect("by default: 600 a minute on console paths, the runs API's 60 on its paths, separate budgets", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        assert.strictEqual(kit.config.rateLimits.perMinute, 600)
        const key = yield* serviceKey
        const consoleCall = yield* kit.request("GET", "/api/rlg/console", { token: key })
        assert.strictEqual(consoleCall.status, 200)
        assert.strictEqual(consoleCall.headers["ratelimit-policy"], "\"default\";q=600;w=60")
        assert.match(consoleCall.headers["ratelimit"] ?? "", /^"default";r=599;t=\d+$/)

        const first = yield* kit.request("GET", "/api/rlg/runs", { token: key })
        assert.strictEqual(first.headers["ratelimit-policy"], "\"runs-api\";q=60;w=60")
        assert.deepStrictEqual(yield* statuses("GET", "/api/rlg/runs", key, 59), Array.from({ length: 59 }, () => 200))
        const refused = yield* kit.request("GET", "/api/rlg/runs", { token: key })
        assert.strictEqual(refused.status, 429)
        assert.isTrue(Number(refused.headers["retry-after"]) >= 1)
        const problem = yield* json(refused)
        assert.strictEqual(problem.code, "RATE_LIMITED")
        assert.include(String(problem.detail), "runs-api")

        // The runs API's budget is spent; the console's is not (one call so far).
        const after = yield* kit.request("GET", "/api/rlg/console", { token: key })
        assert.strictEqual(after.status, 200)
        assert.match(after.headers["ratelimit"] ?? "", /^"default";r=598;/)
      }))

    it.effect("the fast path spends the runs group's budget like the pipeline", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const key = yield* serviceKey
        // The first call resolves the key (the pipeline); later ones may take the fast path.
        const first = yield* kit.request("GET", "/api/rlg/runs", { token: key })
        assert.match(first.headers["ratelimit"] ?? "", /^"runs-api";r=59;/)
        const before = yield* fastCount("/api/rlg/runs")
        const fast = yield* kit.request("GET", "/api/rlg/runs", { token: key })
        assert.strictEqual(yield* fastCount("/api/rlg/runs"), before + 1, "the fast path answered")
        assert.strictEqual(fast.headers["ratelimit-policy"], "\"runs-api\";q=60;w=60")
        assert.match(fast.headers["ratelimit"] ?? "", /^"runs-api";r=58;/)
        // An organization header sends the request through the pipeline: the same budget, one less.
        const slow = yield* kit.request("GET", "/api/rlg/runs", { token: key, headers: { "x-trellis-organization": "org_default" } })
        assert.strictEqual(yield* fastCount("/api/rlg/runs"), before + 1, "the pipeline answered")
        assert.strictEqual(slow.headers["ratelimit-policy"], "\"runs-api\";q=60;w=60")
        assert.match(slow.headers["ratelimit"] ?? "", /^"runs-api";r=57;/)
        assert.deepStrictEqual(yield* fast.json, yield* slow.json)
      }))

    it.effect("a run start in the runs group spends the group's budget and the run budget (6)", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const key = yield* serviceKey
        const started = yield* kit.request("POST", "/api/rlg/runs/start", { token: key })
        assert.strictEqual(started.status, 200)
        assert.strictEqual(started.headers["ratelimit-policy"], "\"runs-api\";q=60;w=60, \"run\";q=6;w=60")
        assert.deepStrictEqual(yield* statuses("POST", "/api/rlg/runs/start", key, 6), [200, 200, 200, 200, 200, 429])
        // The refused start spent nothing: 6 of the group's 60 are gone.
        const list = yield* kit.request("GET", "/api/rlg/runs", { token: key })
        assert.match(list.headers["ratelimit"] ?? "", /^"runs-api";r=53;/)
      }))
  })

  layer(
    TestKit.layer({
      plugins: [RlgPlugin],
      config: {
        rateLimits: {
          perMinute: 5,
          groups: { "runs-api": 3 },
          runPerMinute: 6,
          settingsPerMinute: 20,
          streams: 4,
          loginPerAccount: 10,
          loginPerAddress: 30
        }
      }
    }),
    { timeout: 180_000 }
  )((it) => {
    it.effect("takes each group's quota from the configuration", () =>
      Effect.gen(function*() {
        const key = yield* serviceKey
        assert.deepStrictEqual(yield* statuses("GET", "/api/rlg/runs", key, 4), [200, 200, 200, 429])
        assert.deepStrictEqual(yield* statuses("GET", "/api/rlg/console", key, 6), [200, 200, 200, 200, 200, 429])
      }))
  })
})
