/**
 * Surflet (seed 003) conformance: the documented calls of the routes Trellis serves today
 * (agent self-registration, claim, session, account API keys, tenant, audit verification),
 * sent as the reference documents them, checking the fields it documents and its error
 * format `{ "error": { "code", "message" } }` beside the problem fields.
 *
 * The pages, inbox, templates and streams of the same seed come with the pages plugin.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { HttpClientResponse } from "effect/http"
import * as TestKit from "trellis/testing"

const body = <A>(response: HttpClientResponse.HttpClientResponse, status: number) =>
  Effect.gen(function*() {
    const text = yield* response.text
    assert.strictEqual(response.status, status, text)
    return (text === "" ? undefined : JSON.parse(text)) as A
  })

interface SurfletError {
  readonly error: { readonly code: string; readonly message: string }
}

const expectError = (response: HttpClientResponse.HttpClientResponse, status: number, code: string | undefined) =>
  Effect.gen(function*() {
    const error = yield* body<SurfletError & { status: number }>(response, status)
    assert.strictEqual(response.headers["content-type"]?.startsWith("application/problem+json"), true)
    if (code === undefined) assert.isString(error.error.code)
    else assert.strictEqual(error.error.code, code)
    assert.isString(error.error.message)
    assert.strictEqual(error.status, status)
  })

describe("Surflet conformance: account, agent registration, tenant, audit", () => {
  layer(TestKit.layer({ plugins: [] }), { timeout: 120_000 })((it) => {
    it.effect("an agent registers, uses its sk_live_ key, makes and revokes keys; a human claims the account", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        // POST /v1/auth/agent/register { name, owner_email } -> 201 { apiKey, tenantId, claimCode, claimUrl, message }
        const registered = yield* body<{ apiKey: string; tenantId: string; claimCode: string; claimUrl: string; message: string }>(
          yield* kit.request("POST", "/v1/auth/agent/register", {
            token: null,
            body: { name: "my-coding-agent", owner_email: "owner@example.test" }
          }),
          201
        )
        assert.match(registered.apiKey, /^sk_live_/)
        assert.isString(registered.tenantId)
        assert.isString(registered.claimUrl)
        assert.include(registered.message, registered.claimCode)

        // GET /v1/auth/me -> { id, email, tenantId, type }
        const me = yield* body<{ id: string; email: string | null; tenantId: string; type: string }>(
          yield* kit.request("GET", "/v1/auth/me", { token: registered.apiKey }),
          200
        )
        assert.strictEqual(me.tenantId, registered.tenantId)
        assert.strictEqual(me.type, "agent")
        assert.isString(me.id)

        // GET /v1/tenant -> { tenant_id, name, plan, usage: { pages_this_month, pages_limit } }
        const tenant = yield* body<{ tenant_id: string; name: string; plan: string; usage: Record<string, unknown> }>(
          yield* kit.request("GET", "/v1/tenant", { token: registered.apiKey }),
          200
        )
        assert.strictEqual(tenant.tenant_id, registered.tenantId)
        assert.strictEqual(tenant.name, "my-coding-agent")
        assert.isString(tenant.plan)
        assert.isNumber(tenant.usage.pages_this_month)

        // POST /v1/account/api-keys { name } -> 201 { id, name, key, createdAt }
        const created = yield* body<{ id: string; name: string; key: string; createdAt: string }>(
          yield* kit.request("POST", "/v1/account/api-keys", { token: registered.apiKey, body: { name: "Production Key" } }),
          201
        )
        assert.strictEqual(created.name, "Production Key")
        assert.match(created.key, /^sk_live_/)
        assert.isFalse(Number.isNaN(Date.parse(created.createdAt)))

        // GET /v1/account/api-keys -> { keys: [{ id, name, prefix, createdAt, lastUsedAt }] }
        const listed = yield* body<{ keys: ReadonlyArray<{ id: string; name: string; prefix: string; createdAt: string; lastUsedAt: string | null }> }>(
          yield* kit.request("GET", "/v1/account/api-keys", { token: created.key }),
          200
        )
        const entry = listed.keys.find((k) => k.id === created.id)
        assert.isDefined(entry)
        assert.isTrue(created.key.startsWith(entry!.prefix.replace(/\.\.\.$/, "")))
        assert.notInclude(JSON.stringify(listed), created.key)

        // DELETE /v1/account/api-keys/:id -> 204; the key is rejected immediately
        const revoked = yield* kit.request("DELETE", `/v1/account/api-keys/${created.id}`, { token: registered.apiKey })
        assert.strictEqual(revoked.status, 204)
        yield* expectError(yield* kit.request("GET", "/v1/auth/me", { token: created.key }), 401, "api_key_revoked")

        // POST /v1/auth/claim { claimCode } by a signed-in human -> { tenantId, claimed: true }
        const login = yield* body<{ token: string }>(
          yield* kit.request("POST", "/api/login", { token: null, body: { username: "admin", password: TestKit.adminPassword } }),
          200
        )
        assert.deepStrictEqual(
          yield* body(yield* kit.request("POST", "/v1/auth/claim", { token: login.token, body: { claimCode: registered.claimCode } }), 200),
          { tenantId: registered.tenantId, claimed: true }
        )

        // POST /v1/auth/logout -> 204; the session is gone (Trellis's code says why: session_expired)
        assert.strictEqual((yield* kit.request("POST", "/v1/auth/logout", { token: login.token })).status, 204)
        yield* expectError(yield* kit.request("GET", "/v1/auth/me", { token: login.token }), 401, undefined)
      }))

    it.effect("GET /v1/audit/verify answers the documented report", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const report = yield* body<{ status: string; chain_length: number; first_hash: string; last_hash: string; verified_at: string }>(
          yield* kit.request("GET", "/v1/audit/verify"),
          200
        )
        assert.strictEqual(report.status, "valid")
        assert.isNumber(report.chain_length)
        assert.isFalse(Number.isNaN(Date.parse(report.verified_at)))
        if (report.chain_length > 0) {
          assert.match(report.first_hash, /^sha256:[0-9a-f]{64}$/)
          assert.match(report.last_hash, /^sha256:[0-9a-f]{64}$/)
        }
      }))

    it.effect("errors use the documented format: missing key 401, bad body 400 INVALID_REQUEST, unknown path 404", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        yield* expectError(yield* kit.request("GET", "/v1/tenant", { token: null }), 401, "UNAUTHORIZED")
        yield* expectError(
          yield* kit.request("POST", "/v1/auth/agent/register", { token: null, body: { owner_email: 42 } }),
          400,
          "INVALID_REQUEST"
        )
        yield* expectError(yield* kit.request("GET", "/v1/no-such-route"), 404, "NOT_FOUND")
      }))
  })
})
