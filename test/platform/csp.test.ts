/**
 * Content-Security-Policy over HTTP (the browser test, `docs.browser.test.ts`, checks that the
 * page still renders under it): `/docs` allows exactly its own inline scripts, by hash; every
 * other response, the fast path's included, allows nothing.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import * as TestKit from "../../src/testing/TestKit.ts"
import { ProbePlugin } from "./fixtures.ts"

const strict = "default-src 'none'; frame-ancestors 'none'"

describe("Content-Security-Policy", () => {
  layer(TestKit.layer({ plugins: [ProbePlugin] }), { timeout: 120_000 })((it) => {
    it.effect("/docs allows its own inline scripts by hash and nothing from elsewhere", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const response = yield* kit.request("GET", "/docs", { token: null })
        assert.strictEqual(response.status, 200)
        const html = yield* response.text
        const policy = response.headers["content-security-policy"] ?? ""
        const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!)
        assert.isAtLeast(scripts.length, 2)
        const hashes = scripts.map((s) => `'sha256-${createHash("sha256").update(s, "utf8").digest("base64")}'`)
        const directives = new Map(policy.split(";").map((d) => d.trim().split(" ")).map(([name, ...values]) => [name!, values]))
        assert.deepStrictEqual(directives.get("script-src"), hashes)
        assert.deepStrictEqual(directives.get("default-src"), ["'none'"])
        assert.deepStrictEqual(directives.get("connect-src"), ["'self'"])
        assert.deepStrictEqual(directives.get("frame-ancestors"), ["'none'"])
        assert.notInclude(policy, "unsafe-eval")
        // The same page, the same policy.
        const again = yield* kit.request("GET", "/docs", { token: null })
        assert.strictEqual(again.headers["content-security-policy"], policy)
      }))

    it.effect("JSON responses and problems carry a policy that allows nothing", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        for (const path of ["/health", "/api/plugins", "/api/plugins", "/openapi.json", "/api/nothing-here"]) {
          const response = yield* kit.request("GET", path)
          assert.strictEqual(response.headers["content-security-policy"], strict, path)
        }
      }))
  })
})
