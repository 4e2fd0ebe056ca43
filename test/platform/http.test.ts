/**
 * The HTTP platform around the plugins: metrics, OpenAPI and docs, CORS, readiness.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Lifecycle } from "../../src/server/Lifecycle.ts"
import * as TestKit from "../../src/testing/TestKit.ts"
import { ProbePlugin } from "./fixtures.ts"

describe("HTTP platform", () => {
  layer(TestKit.layer({ plugins: [ProbePlugin], config: { corsOrigins: ["https://app.example.org"] } }), { timeout: 120_000 })((it) => {
    it.effect("/health and /ready answer without credentials", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const health = yield* kit.request("GET", "/health", { token: null })
        assert.deepStrictEqual(yield* health.json, { status: "ok" })
        const ready = yield* kit.request("GET", "/ready", { token: null })
        assert.strictEqual(ready.status, 200)
        const body = (yield* ready.json) as { status: string; database: { kind: string; reachable: boolean } }
        assert.strictEqual(body.status, "ready")
        assert.strictEqual(body.database.kind, kit.databaseKind)
        assert.isTrue(body.database.reachable)
      }))

    it.effect("/metrics counts requests by route template and status, with a latency histogram", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        yield* kit.request("POST", "/api/probe/echo", { body: { count: 2, label: "m" } })
        yield* kit.request("GET", "/api/probe/whoami", { token: null })
        const response = yield* kit.request("GET", "/metrics", { token: null })
        assert.strictEqual(response.status, 200)
        assert.include(response.headers["content-type"] ?? "", "text/plain")
        const text = yield* response.text
        assert.match(text, /trellis_http_requests_total\{method="POST",route="\/api\/probe\/echo",status="200"\} [1-9]/)
        assert.match(text, /trellis_http_requests_total\{method="GET",route="\/api\/probe\/whoami",status="401"\} [1-9]/)
        assert.include(text, "trellis_http_request_duration_seconds_bucket{")
        assert.match(text, /trellis_database_up\{kind="(embedded|postgres)"\} 1/)
      }))

    it.effect("/openapi.json documents the composed API and /docs serves a self-contained page", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const doc = (yield* (yield* kit.request("GET", "/openapi.json", { token: null })).json) as {
          info: { title: string }
          paths: Record<string, unknown>
        }
        assert.strictEqual(doc.info.title, "Trellis")
        assert.property(doc.paths, "/api/probe/echo")
        const docs = yield* kit.request("GET", "/docs", { token: null })
        assert.strictEqual(docs.status, 200)
        const html = yield* docs.text
        assert.include(html, "<html")
        // The reference UI is inlined: no script is fetched from elsewhere, so it works offline.
        assert.notMatch(html, /<script[^>]+src=["']https?:/)
      }))

    it.effect("CORS: allowed origins get the headers (and preflights succeed), others do not", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const allowed = yield* kit.request("GET", "/health", { headers: { origin: "https://app.example.org" } })
        assert.strictEqual(allowed.headers["access-control-allow-origin"], "https://app.example.org")
        const preflight = yield* kit.request("OPTIONS", "/api/probe/echo", {
          token: null,
          headers: {
            origin: "https://app.example.org",
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type"
          }
        })
        assert.isBelow(preflight.status, 300)
        assert.include(preflight.headers["access-control-allow-headers"] ?? "", "authorization")
        const other = yield* kit.request("GET", "/health", { headers: { origin: "https://evil.example.com" } })
        assert.notStrictEqual(other.headers["access-control-allow-origin"], "https://evil.example.com")
      }))

    it.effect("/ready answers 503 problem+json once shutdown has begun", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const lifecycle = yield* Lifecycle
        yield* lifecycle.beginShutdown
        const ready = yield* kit.request("GET", "/ready", { token: null })
        assert.strictEqual(ready.status, 503)
        assert.strictEqual(ready.headers["content-type"], "application/problem+json")
        const body = (yield* ready.json) as { code: string; detail: string }
        assert.strictEqual(body.code, "SERVICE_UNAVAILABLE")
        assert.include(body.detail, "shutting down")
        // Liveness is unaffected: the process is still alive while it drains.
        assert.strictEqual((yield* kit.request("GET", "/health", { token: null })).status, 200)
      }))
  })
})
