/**
 * Every error path of the platform answers `application/problem+json` with the right status
 * and `code`, over a real HTTP server (point 5 of the platform issue).
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { HttpClientResponse } from "effect/http"
import * as TestKit from "../../src/testing/TestKit.ts"
import { ProbePlugin } from "./fixtures.ts"

interface ProblemBody {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly detail: string
  readonly instance: string
  readonly code: string
  readonly [key: string]: unknown
}

const problemOf = Effect.fnUntraced(function*(response: HttpClientResponse.HttpClientResponse, status: number, code: string) {
  assert.strictEqual(response.status, status)
  assert.strictEqual(response.headers["content-type"], "application/problem+json")
  const body = (yield* response.json) as ProblemBody
  assert.strictEqual(body.status, status)
  assert.strictEqual(body.code, code)
  assert.isString(body.type)
  assert.isString(body.title)
  assert.isString(body.detail)
  assert.isString(body.instance)
  return body
})

describe("problem+json on every error path", () => {
  layer(TestKit.layer({ plugins: [ProbePlugin], config: { maxBodyBytes: 1024 } }), { timeout: 120_000 })((it) => {
    it.effect("401 without a token and with a wrong one", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const missing = yield* problemOf(yield* kit.request("GET", "/api/probe/whoami", { token: null }), 401, "UNAUTHORIZED")
        assert.strictEqual(missing.instance, "/api/probe/whoami")
        yield* problemOf(yield* kit.request("GET", "/api/probe/whoami", { token: "wrong-token-wrong-token" }), 401, "UNAUTHORIZED")
        const ok = yield* kit.request("GET", "/api/probe/whoami")
        assert.strictEqual(ok.status, 200)
        assert.deepStrictEqual(yield* ok.json, { id: "admin", kind: "admin-token" })
      }))

    it.effect("404 for an unknown route", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const body = yield* problemOf(yield* kit.request("GET", "/api/no/such/thing?x=1"), 404, "NOT_FOUND")
        assert.strictEqual(body.instance, "/api/no/such/thing")
      }))

    it.effect("405 with Allow for a known path and a wrong method", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const response = yield* kit.request("DELETE", "/api/probe/echo")
        assert.strictEqual(response.headers["allow"], "POST")
        const body = yield* problemOf(response, 405, "METHOD_NOT_ALLOWED")
        assert.deepStrictEqual(body.allow, ["POST"])
      }))

    it.effect("400 for malformed JSON", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const response = yield* kit.request("POST", "/api/probe/echo", {
          headers: { "content-type": "application/json" }
        }).pipe(Effect.provideService(TestKit.TrellisTest, kit))
        // An empty body is not JSON either; then a truncated one.
        yield* problemOf(response, 400, "INVALID_REQUEST")
      }))

    it.effect("400 naming the field that fails its schema", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const body = yield* problemOf(
          yield* kit.request("POST", "/api/probe/echo", { body: { count: 0, label: "x" } }),
          400,
          "INVALID_REQUEST"
        )
        assert.include(body.detail, "count")
        const errors = body.errors as ReadonlyArray<{ path: string; message: string }>
        assert.strictEqual(errors[0].path, "body.count")
        const missing = yield* problemOf(yield* kit.request("POST", "/api/probe/echo", { body: { count: 1 } }), 400, "INVALID_REQUEST")
        assert.include(missing.detail, "label")
      }))

    it.effect("413 for a body over the limit", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const body = yield* problemOf(
          yield* kit.request("POST", "/api/probe/echo", { body: { count: 1, label: "x".repeat(5000) } }),
          413,
          "PAYLOAD_TOO_LARGE"
        )
        assert.strictEqual(body.limit, 1024)
      }))

    it.effect("415 for an unsupported media type", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const response = yield* kit.request("POST", "/api/probe/echo", {
          headers: { "content-type": "text/csv" }
        })
        yield* problemOf(response, 415, "UNSUPPORTED_MEDIA_TYPE")
      }))

    it.effect("500 for a defect: a reference id, no internals", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const response = yield* kit.request("GET", "/api/probe/boom")
        const text = yield* response.text
        assert.notInclude(text, "secret internal detail")
        const body = JSON.parse(text) as ProblemBody
        assert.strictEqual(response.status, 500)
        assert.strictEqual(body.code, "INTERNAL_ERROR")
        assert.match(String(body.reference), /^[0-9a-f-]{36}$/)
        assert.include(body.detail, String(body.reference))
      }))

    it.effect("X-Request-Id is echoed when sent and generated otherwise", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const echoed = yield* kit.request("GET", "/health", { headers: { "x-request-id": "req-abc.123" } })
        assert.strictEqual(echoed.headers["x-request-id"], "req-abc.123")
        const generated = yield* kit.request("GET", "/health", { headers: { "x-request-id": "bad id with spaces" } })
        assert.match(generated.headers["x-request-id"] ?? "", /^[0-9a-f-]{36}$/)
        assert.strictEqual(generated.headers["x-content-type-options"], "nosniff")
      }))
  })
})
