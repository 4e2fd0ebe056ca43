/**
 * PromptOps's web console against Trellis: the observability page's run-log calls, as its
 * `web/src/api/client.ts` makes them (`api.runStats()` is `GET /api/runs/stats`,
 * `api.listRuns({limit: 50, offset})` is `GET /api/runs?limit=50&offset=...`), with the fields
 * of its `RunEntry` and `RunStats` interfaces, signed in through `/api/login` like the console.
 * The runs are recorded through the `Runs` service, as the playground, agents and workflows
 * plugins record theirs.
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import * as TestKit from "trellis/testing"
import { RunsPlugin } from "../../../plugins/runs/Plugin.ts"
import { expect, member, request, stepsPlugin } from "../../../plugins/runs/test/httpSupport.ts"
import { as, tester } from "../../../plugins/runs/test/support.ts"
import type { Services } from "../../../plugins/runs/test/support.ts"

type Json = Record<string, unknown>

const services = Effect.runSync(Deferred.make<Services>())
const T = 120_000

/** The console's login form. */
const login = Effect.gen(function*() {
  const signedIn = yield* expect<{ token: string }>(
    yield* request("POST", "/api/login", { body: { username: "admin", password: TestKit.adminPassword } }),
    200
  )
  return signedIn.token
})

const runEntryFields = ["id", "source", "ref_key", "provider", "model", "prompt_tokens", "output_tokens", "latency_ms", "status", "error", "created_at"]

layer(TestKit.layer({ plugins: [RunsPlugin, stepsPlugin(services)] }), { timeout: T, excludeTestServices: true })("PromptOps console: run log and stats", (it) => {
  it.effect("api.runStats() and api.listRuns({limit: 50, offset}) with the fields RunEntry and RunStats read", () =>
    Effect.gen(function*() {
      const token = yield* login
      // An empty log first: zeros and an empty provider list (the page shows "no runs").
      const empty = yield* expect<Json>(yield* request("GET", "/api/runs/stats", { token }), 200)
      assert.deepStrictEqual(empty, { total: 0, ok: 0, error: 0, prompt_tokens: 0, output_tokens: 0, avg_latency_ms: 0, by_provider: [] })
      assert.deepStrictEqual(yield* expect<Json>(yield* request("GET", "/api/runs?limit=50&offset=0", { token }), 200), { data: [], total: 0 })

      const { runs } = yield* Deferred.await(services)
      for (let i = 0; i < 55; i++) {
        yield* runs.record({
          source: i % 2 === 0 ? "agent" : "workflow",
          refKey: `key-${i}`,
          input: {},
          output: `out ${i}`,
          ...(i % 5 === 0 ? { error: "provider timeout" } : {}),
          usage: {
            provider: i % 3 === 0 ? "ollama" : "mock",
            model: "m",
            promptTokens: 2,
            outputTokens: 3,
            latencyMs: 10 * (i + 1),
            status: i % 5 === 0 ? "error" : "ok"
          }
        }).pipe(as(tester))
      }

      const stats = yield* expect<Json>(yield* request("GET", "/api/runs/stats", { token }), 200)
      assert.deepStrictEqual(Object.keys(stats).sort(), ["avg_latency_ms", "by_provider", "error", "ok", "output_tokens", "prompt_tokens", "total"])
      assert.deepStrictEqual([stats.total, stats.ok, stats.error, stats.prompt_tokens, stats.output_tokens], [55, 44, 11, 110, 165])
      assert.strictEqual(stats.avg_latency_ms, 280, "AVG over 10..550 ms, truncated to an integer as PromptOps")
      assert.sameDeepMembers(stats.by_provider as Array<Json>, [{ provider: "ollama", count: 19 }, { provider: "mock", count: 36 }])

      // Page 1 and page 2 of the console's table (PAGE_SIZE 50), newest first.
      const page1 = yield* expect<{ data: Array<Json>; total: number }>(yield* request("GET", "/api/runs?limit=50&offset=0", { token }), 200)
      assert.strictEqual(page1.total, 55)
      assert.strictEqual(page1.data.length, 50)
      for (const field of runEntryFields) assert.property(page1.data[0], field)
      assert.deepStrictEqual(
        [page1.data[0].ref_key, page1.data[0].source, page1.data[0].provider, page1.data[0].status, page1.data[0].error],
        ["key-54", "agent", "ollama", "ok", ""]
      )
      assert.isString(page1.data[0].id)
      assert.isFalse(Number.isNaN(new Date(String(page1.data[0].created_at)).getTime()), "fmtTime(created_at)")
      const page2 = yield* expect<{ data: Array<Json>; total: number }>(yield* request("GET", "/api/runs?limit=50&offset=50", { token }), 200)
      assert.deepStrictEqual(page2.data.map((r) => r.ref_key), ["key-4", "key-3", "key-2", "key-1", "key-0"])
      assert.deepStrictEqual([page2.data[4].status, page2.data[4].error], ["error", "step agent: provider timeout"])

      // A viewer (the console's read-only role) reads both; no token is the 401 the console's interceptor handles.
      const viewer = yield* member("viewer")
      yield* expect(yield* request("GET", "/api/runs/stats", { token: viewer }), 200)
      yield* expect(yield* request("GET", "/api/runs?limit=50&offset=0", { token: viewer }), 200)
      const kit = yield* TestKit.TrellisTest
      const anonymous = yield* kit.request("GET", "/api/runs/stats", { token: null })
      assert.strictEqual(anonymous.status, 401)
      assert.isString(((yield* anonymous.json) as Json).error, "PromptOps's error body")
    }), T)
})
