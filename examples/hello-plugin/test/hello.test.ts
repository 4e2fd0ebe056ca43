/**
 * The example plugin's own tests, written the way a plugin author writes them: the test kit
 * boots the real platform with just this plugin on a fresh database (embedded, or PostgreSQL
 * when TRELLIS_TEST_DATABASE_URL is set), and the tests talk HTTP to it.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Client from "trellis/client"
import * as TestKit from "trellis/testing"
import { HelloApi } from "../Api.ts"
import { HelloPlugin } from "../Plugin.ts"

describe("hello plugin", () => {
  layer(TestKit.layer({ plugins: [HelloPlugin] }), { timeout: 120_000 })((it) => {
    it.effect("creates a greeting and reads it back through the typed client", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const hello = yield* Client.make(HelloApi, { baseUrl: kit.baseUrl, token: kit.adminToken })
        const created = yield* hello.hello.create({ payload: { name: "Ada" } })
        assert.strictEqual(created.message, "Hello, Ada!")
        const read = yield* hello.hello.get({ params: { id: created.id } })
        assert.deepStrictEqual(read, created)
        const { items } = yield* hello.hello.list()
        assert.isTrue(items.some((g) => g.id === created.id))
      }))

    it.effect("answers 201 to a create over raw HTTP, 404 problem for an unknown id", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const created = yield* kit.request("POST", "/api/hello/greetings", { body: { name: "raw" } })
        assert.strictEqual(created.status, 201)
        const missing = yield* kit.request("GET", "/api/hello/greetings/nope")
        assert.strictEqual(missing.status, 404)
        assert.strictEqual(missing.headers["content-type"], "application/problem+json")
        const body = (yield* missing.json) as { code: string; greetingId: string }
        assert.strictEqual(body.code, "GREETING_NOT_FOUND")
        assert.strictEqual(body.greetingId, "nope")
      }))

    it.effect("refuses an empty name with a 400 naming the field, and writes nothing", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const before = (yield* (yield* kit.request("GET", "/api/hello/greetings")).json) as { items: ReadonlyArray<unknown> }
        const response = yield* kit.request("POST", "/api/hello/greetings", { body: { name: "" } })
        assert.strictEqual(response.status, 400)
        const body = (yield* response.json) as { code: string; errors: ReadonlyArray<{ path: string }> }
        assert.strictEqual(body.code, "INVALID_REQUEST")
        assert.strictEqual(body.errors[0].path, "body.name")
        const after = (yield* (yield* kit.request("GET", "/api/hello/greetings")).json) as { items: ReadonlyArray<unknown> }
        assert.strictEqual(after.items.length, before.items.length)
      }))

    it.effect("needs a token", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const response = yield* kit.request("GET", "/api/hello/greetings", { token: null })
        assert.strictEqual(response.status, 401)
      }))
  })
})
