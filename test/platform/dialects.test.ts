/**
 * Wire dialects over real HTTP: each API group's errors carry its seed's `error` member
 * (PromptOps's string, SessionFS's and Surflet's `{ code, message, details }`, none for the
 * platform) and its validation status (422 for SessionFS), for typed problems, 401, 403,
 * unknown routes under the seed's prefix (404, 405) and schema failures.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { HttpClientResponse } from "effect/http"
import { PromptsPlugin } from "../../plugins/prompts/Plugin.ts"
import { TicketsPlugin } from "../../plugins/tickets/Plugin.ts"
import { member } from "../../plugins/tickets/test/support.ts"
import * as TestKit from "../../src/testing/TestKit.ts"
import { ProbePlugin } from "./fixtures.ts"

interface Problem {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly detail: string
  readonly instance: string
  readonly code: string
  readonly error?: unknown
  readonly errors?: ReadonlyArray<{ readonly path: string; readonly message: string }>
  readonly [key: string]: unknown
}

interface Structured {
  readonly code: string
  readonly message: string
  readonly details: unknown
}

const problem = Effect.fnUntraced(function*(response: HttpClientResponse.HttpClientResponse, status: number, code?: string) {
  const body = (yield* response.json) as Problem
  assert.strictEqual(response.status, status, JSON.stringify(body))
  assert.strictEqual(response.headers["content-type"], "application/problem+json")
  assert.strictEqual(body.status, status)
  if (code !== undefined) assert.strictEqual(body.code, code)
  assert.isString(body.type)
  assert.isString(body.title)
  assert.isString(body.detail)
  return body
})

/** PromptOps: `error` is the problem's detail, a string. */
const assertPromptOps = (body: Problem) => {
  assert.isString(body.error, JSON.stringify(body))
  assert.strictEqual(body.error, body.detail)
}

/** SessionFS and Surflet: `error` is `{ code, message, details }` mirroring the problem. */
const assertStructured = (body: Problem): Structured => {
  assert.isObject(body.error, JSON.stringify(body))
  const error = body.error as Structured
  assert.strictEqual(error.code, body.code)
  assert.strictEqual(error.message, body.detail)
  assert.isDefined(error.details)
  return error
}

describe("wire dialects", () => {
  layer(TestKit.layer({ plugins: [PromptsPlugin, TicketsPlugin, ProbePlugin] }), { timeout: 180_000 })((it) => {
    it.effect("PromptOps groups: a string `error` on every error; 400 on a schema failure", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const viewer = yield* member("viewer")

        const typed = yield* problem(yield* kit.request("GET", "/api/prompts/prm_nope"), 404)
        assertPromptOps(typed)
        assertPromptOps(yield* problem(yield* kit.request("GET", "/api/prompts", { token: null }), 401))
        assertPromptOps(yield* problem(yield* kit.request("POST", "/api/prompts", { token: viewer.key, body: { key: "k.viewer" } }), 403))
        const unknown = yield* problem(yield* kit.request("GET", "/api/no-such-route"), 404, "NOT_FOUND")
        assertPromptOps(unknown)
        const invalid = yield* problem(yield* kit.request("POST", "/api/prompts", { body: { key: 5 } }), 400, "INVALID_REQUEST")
        assertPromptOps(invalid)
        assert.includeMembers((invalid.errors ?? []).map((e) => e.path), ["body.key"])
        // Login is a PromptOps route too.
        assertPromptOps(yield* problem(yield* kit.request("POST", "/api/login", { token: null, body: { username: 5, password: "x" } }), 400, "INVALID_REQUEST"))
      }))

    it.effect("SessionFS groups: a structured `error` on every error; 422 on a schema failure", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const viewer = yield* member("viewer")

        const typed = yield* problem(yield* kit.request("GET", "/api/v1/projects/proj_nope"), 404, "project_not_found")
        const typedError = assertStructured(typed)
        // Extension members become `details`.
        assert.deepStrictEqual(typedError.details, { project_id: typed.project_id })
        assertStructured(yield* problem(yield* kit.request("GET", "/api/v1/projects/", { token: null }), 401))
        assertStructured(yield* problem(yield* kit.request("GET", "/api/v1/auth/me", { token: "sk_sfs_not_a_real_key_000000000000" }), 401))
        const forbidden = yield* problem(
          yield* kit.request("POST", "/api/v1/projects/", { token: viewer.key, body: { name: "v", git_remote_normalized: "acme/viewer" } }),
          403
        )
        assertStructured(forbidden)
        assertStructured(yield* problem(yield* kit.request("GET", "/api/v1/no-such-route"), 404, "NOT_FOUND"))
        const notAllowed = yield* kit.request("DELETE", "/api/v1/org")
        assert.isDefined(notAllowed.headers["allow"])
        assertStructured(yield* problem(notAllowed, 405, "METHOD_NOT_ALLOWED"))

        const invalid = yield* problem(
          yield* kit.request("POST", "/api/v1/projects/", { body: { name: 5, git_remote_normalized: "acme/x" } }),
          422,
          "INVALID_REQUEST"
        )
        const invalidError = assertStructured(invalid)
        assert.deepStrictEqual(invalidError.details, invalid.errors)
        assert.includeMembers((invalid.errors ?? []).map((e) => e.path), ["body.name"])
        assert.strictEqual(
          (yield* problem(yield* kit.request("POST", "/api/v1/auth/signup", { token: null, body: {} }), 422, "INVALID_REQUEST")).status,
          422
        )
      }))

    it.effect("Surflet groups: a structured `error` on every error; 400 INVALID_REQUEST on a schema failure", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const viewer = yield* member("viewer")

        assertStructured(yield* problem(yield* kit.request("DELETE", "/v1/account/api-keys/key_nope"), 404, "NOT_FOUND"))
        assertStructured(yield* problem(yield* kit.request("GET", "/v1/auth/me", { token: null }), 401))
        assertStructured(yield* problem(yield* kit.request("GET", "/v1/account/api-keys", { token: viewer.key }), 403))
        assertStructured(yield* problem(yield* kit.request("GET", "/v1/no-such-route"), 404, "NOT_FOUND"))
        const invalid = yield* problem(yield* kit.request("POST", "/v1/account/api-keys", { body: { name: "" } }), 400, "INVALID_REQUEST")
        assert.deepStrictEqual(assertStructured(invalid).details, invalid.errors)
      }))

    it.effect("Platform routes and groups that declare no dialect: plain problems, 400 on a schema failure", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        // The probe plugin's routes live under /api/ but declare no dialect.
        const invalid = yield* problem(yield* kit.request("POST", "/api/probe/echo", { body: { count: 0, label: "x" } }), 400, "INVALID_REQUEST")
        assert.notProperty(invalid, "error")
        assert.notProperty(yield* problem(yield* kit.request("GET", "/api/probe/whoami", { token: null }), 401), "error")
        assert.notProperty(yield* problem(yield* kit.request("GET", "/api/plugins", { token: null }), 401), "error")
        assert.notProperty(yield* problem(yield* kit.request("GET", "/no-such-route"), 404, "NOT_FOUND"), "error")
        assert.notProperty(yield* problem(yield* kit.request("POST", "/health"), 405, "METHOD_NOT_ALLOWED"), "error")
      }))
  })
})
