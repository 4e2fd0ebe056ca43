/**
 * The HTTP platform around the plugins: metrics, OpenAPI and docs, CORS, readiness, the
 * request id handlers see, and the body limit on chunked bodies.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as NodeHttp from "node:http"
import { PlatformApi } from "../../src/client/Client.ts"
import { Lifecycle } from "../../src/runtime/Lifecycle.ts"
import * as TestKit from "../../src/testing/TestKit.ts"
import { ProbePlugin } from "./fixtures.ts"

/**
 * POSTs a JSON body in chunks (`Transfer-Encoding: chunked`, no `Content-Length`), so that
 * only reading the body can tell its size.
 */
const postChunked = (url: string, token: string, chunks: ReadonlyArray<string>) =>
  Effect.callback<{ status: number; contentType: string | undefined; body: string }, Error>((resume) => {
    const request = NodeHttp.request(url, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "transfer-encoding": "chunked" }
    }, (response) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => { body += chunk })
      response.on("end", () => resume(Effect.succeed({ status: response.statusCode ?? 0, contentType: response.headers["content-type"], body })))
    })
    // The server may answer and close before the whole body is sent: only a missing answer fails.
    request.on("error", (error) => resume(Effect.fail(error)))
    for (const chunk of chunks) request.write(chunk)
    request.end()
    return Effect.sync(() => request.destroy())
  })

const maxBodyBytes = 4096

describe("HTTP platform", () => {
  layer(TestKit.layer({ plugins: [ProbePlugin], config: { corsOrigins: ["https://app.example.org"], maxBodyBytes } }), { timeout: 120_000 })((it) => {
    it.effect("/health and /ready answer without credentials", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const health = yield* kit.request("GET", "/health", { token: null })
        assert.deepStrictEqual(yield* health.json, { status: "ok", ok: true })
        const body = yield* (yield* kit.client(PlatformApi, { token: null })).ready()
        assert.strictEqual(body.status, "ready")
        assert.strictEqual(body.database.kind, kit.databaseKind)
        assert.isTrue(body.database.reachable)
      }))

    it.effect("/metrics counts requests by route template and status, with a latency histogram", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        yield* kit.request("POST", "/api/probe/echo", { body: { count: 2, label: "m" } })
        // Only this test calls /api/probe/whoami here: its series count exactly these three.
        for (let i = 0; i < 3; i++) yield* kit.request("GET", "/api/probe/whoami", { token: null })
        const response = yield* kit.request("GET", "/metrics", { token: null })
        assert.strictEqual(response.status, 200)
        assert.include(response.headers["content-type"] ?? "", "text/plain")
        const text = yield* response.text
        assert.match(text, /trellis_http_requests_total\{method="POST",route="\/api\/probe\/echo",status="200"\} [1-9]/)
        assert.include(text, `trellis_http_requests_total{method="GET",route="/api/probe/whoami",status="401"} 3\n`)
        const series = `{method="GET",route="/api/probe/whoami"`
        assert.include(text, `trellis_http_request_duration_seconds_count${series}} 3\n`)
        assert.include(text, `trellis_http_request_duration_seconds_bucket${series},le="+Inf"} 3\n`)
        const buckets = [...text.matchAll(/trellis_http_request_duration_seconds_bucket\{method="GET",route="\/api\/probe\/whoami",le="([^"]+)"\} (\d+)/g)]
        assert.strictEqual(buckets.length, 14, "13 boundaries and +Inf")
        const counts = buckets.map((m) => Number(m[2]))
        assert.deepStrictEqual(counts, counts.toSorted((a, b) => a - b), "cumulative buckets")
        const sum = /trellis_http_request_duration_seconds_sum\{method="GET",route="\/api\/probe\/whoami"\} ([0-9.e-]+)/.exec(text)
        assert.isAbove(Number(sum?.[1]), 0)
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

    it.effect("handlers see the request id (CurrentRequestId): the one sent, else the generated one", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const sent = yield* kit.request("GET", "/api/probe/request-id", { headers: { "x-request-id": "probe-req-42" } })
        assert.strictEqual(sent.status, 200)
        assert.strictEqual(sent.headers["x-request-id"], "probe-req-42")
        assert.deepStrictEqual(yield* sent.json, { requestId: "probe-req-42" })
        const generated = yield* kit.request("GET", "/api/probe/request-id")
        const header = generated.headers["x-request-id"] ?? ""
        assert.match(header, /^[0-9a-f-]{36}$/)
        assert.deepStrictEqual(yield* generated.json, { requestId: header })
      }))

    it.effect("413 problem for a chunked body over the limit (no Content-Length to check up front)", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const label = "x".repeat(3000)
        const chunks = ['{"count":1,"label":"', label, label, label, '"}']
        const tooBig = yield* postChunked(`${kit.baseUrl}/api/probe/echo`, kit.adminToken, chunks)
        assert.strictEqual(tooBig.status, 413, tooBig.body.slice(0, 300))
        assert.strictEqual(tooBig.contentType, "application/problem+json")
        const problem = JSON.parse(tooBig.body) as { code: string; limit: number; instance: string }
        assert.strictEqual(problem.code, "PAYLOAD_TOO_LARGE")
        assert.strictEqual(problem.limit, maxBodyBytes)
        assert.strictEqual(problem.instance, "/api/probe/echo")
        // The same body under the limit, chunked too, is read and answered.
        const small = yield* postChunked(`${kit.baseUrl}/api/probe/echo`, kit.adminToken, ['{"count":1,', '"label":"', "x".repeat(100), '"}'])
        assert.strictEqual(small.status, 200, small.body.slice(0, 300))
        assert.deepStrictEqual(JSON.parse(small.body), { count: 1, label: "x".repeat(100) })
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
