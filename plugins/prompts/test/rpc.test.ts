/** The typed clients (the plugin's HttpApi through `trellis/client`, its RPCs at `/rpc`) and the OpenAPI document. */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Client from "trellis/client"
import * as TestKit from "trellis/testing"
import { PromptsApi } from "../Api.ts"
import { PromptsPlugin } from "../Plugin.ts"
import { PromptsRpcs } from "../Api.ts"
import { call, uniqueKey } from "./support.ts"

describe("prompts plugin: typed clients", () => {
  layer(TestKit.layer({ plugins: [PromptsPlugin] }), { timeout: 120_000 })((it) => {
    it.effect("creates, publishes, sets a rollout and fetches over RPC", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const rpc = yield* Client.makeRpc(PromptsRpcs, { baseUrl: kit.baseUrl, token: kit.adminToken })
        const key = uniqueKey("rpc")
        const { data: created } = yield* rpc["prompts.Create"]({ payload: { key, content: "rpc {{x}}", env: "prod" } })
        const { data: v1 } = yield* rpc["prompts.Publish"]({ payload: { id: created.id } })
        assert.strictEqual(v1.version, "v1")
        yield* rpc["prompts.Update"]({ params: { id: created.id }, payload: { content: "rpc two {{x}}" } })
        yield* rpc["prompts.Publish"]({ payload: { id: created.id, note: "second" } })
        const { data: rollout } = yield* rpc["prompts.SetRollout"]({
          params: { id: created.id },
          payload: { variant_a: "v1", variant_b: "v2", weight_a: 0 }
        })
        assert.strictEqual(rollout.variant_b, "v2")
        // The SDK route answers with a body it serialized itself (and an ETag): over RPC it comes decoded.
        const fetched = yield* rpc["prompts.Fetch"]({ params: { key }, query: { env: "prod", sticky_key: "u" } })
        assert.strictEqual(fetched.content, "rpc two {{x}}")
        assert.strictEqual(fetched.rollout_id, rollout.id)
        const { data: versions } = yield* rpc["prompts.Versions"]({ params: { id: created.id } })
        assert.deepStrictEqual(versions.map((v) => v.note), ["second", ""])
        const missing = yield* rpc["prompts.Get"]({ params: { id: "nope" } }).pipe(Effect.flip)
        assert.strictEqual(missing._tag, "PromptNotFound")
        const { data: listed } = yield* rpc["prompts.List"]({ query: { q: key } })
        assert.deepStrictEqual(listed.map((p) => p.id), [created.id])
        const refused = yield* rpc["prompts.Create"]({ payload: { key, content: "again", env: "prod" } }).pipe(Effect.flip)
        assert.strictEqual(refused._tag, "PromptKeyTaken")
      }).pipe(Effect.scoped))

    it.effect("works through the typed HTTP client", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const client = yield* Client.make(PromptsApi, { baseUrl: kit.baseUrl, token: kit.adminToken })
        const key = uniqueKey("typed")
        const { data } = yield* client.prompts.create({ payload: { key, content: "typed", env: "prod" } })
        yield* client.prompts.publish({ payload: { id: data.id } })
        const served = yield* client.promptsSdk.fetch({ params: { key }, query: { env: "prod" } })
        assert.strictEqual(served.content, "typed")
        const diff = yield* client.prompts.diff({ params: { id: data.id }, query: { from: "v1", to: "current" } })
        assert.strictEqual(diff.data.unified, "")
      }))

    it.effect("documents its paths in the OpenAPI document", () =>
      Effect.gen(function*() {
        const doc = yield* call<{ paths: Record<string, Record<string, unknown>> }>("GET", "/openapi.json", { token: null })
        assert.strictEqual(doc.status, 200)
        for (const path of ["/api/prompts", "/api/prompts/{id}/rollout", "/api/sdk/prompts/{key}", "/api/playground/run", "/ws", "/api/v1/llm-usage"]) {
          assert.property(doc.body.paths, path)
        }
      }))
  })
})
