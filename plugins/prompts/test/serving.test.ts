/**
 * Serving modes: a workspace serves SDKs the working copy (`live`, the default, as PromptOps)
 * or published versions only (`published`), an admin setting read and changed at
 * `/api/prompts/settings?workspace=`. A change of mode reaches SDK fetch (and its cache) and
 * `/ws` at once; rollouts choose among published versions in both modes.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"
import { PromptsPlugin } from "../Plugin.ts"
import { call, createPrompt, publish, uniqueKey } from "./support.ts"
import { connect } from "./wsClient.ts"

interface SdkBody {
  readonly content: string
  readonly version: string
  readonly version_number: number | null
  readonly serving: string
  readonly variant?: string
}

interface Settings {
  readonly workspace_id: string
  readonly serving: string
  readonly updated_by: string | null
  readonly updated_at: string | null
}

const sdk = (key: string, workspace?: string) =>
  call<SdkBody>("GET", `/api/sdk/prompts/${key}?env=prod${workspace === undefined ? "" : `&workspace=${workspace}`}`)

describe("prompts plugin: serving modes", () => {
  layer(TestKit.layer({ plugins: [PromptsPlugin] }), { timeout: 120_000 })((it) => {
    it.effect("serves the working copy by default, right after create and after every save", () =>
      Effect.gen(function*() {
        const key = uniqueKey("live")
        const id = yield* createPrompt({ key, content: "one", env: "prod", model: "m1" })
        const first = yield* sdk(key)
        assert.strictEqual(first.status, 200)
        assert.deepStrictEqual([first.body.content, first.body.version, first.body.version_number, first.body.serving], ["one", "v1", null, "live"])
        const etag = first.headers["etag"]
        yield* call("PUT", `/api/prompts/${id}`, { body: { content: "two" } })
        const second = yield* call<SdkBody>("GET", `/api/sdk/prompts/${key}?env=prod`, { headers: { "if-none-match": etag } })
        assert.strictEqual(second.status, 200)
        assert.strictEqual(second.body.content, "two")
        // Publishing keeps serving the working copy; the label follows the prompt's.
        yield* publish(id)
        yield* call("PUT", `/api/prompts/${id}`, { body: { content: "three", version: "v2-rc" } })
        const third = yield* sdk(key)
        assert.deepStrictEqual([third.body.content, third.body.version], ["three", "v2-rc"])
      }))

    it.effect("reads and changes the setting (admins only), and a change reaches SDKs and sockets at once", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const workspace = uniqueKey("ws")
        const defaults = yield* call<{ data: Settings }>("GET", `/api/prompts/settings?workspace=${workspace}`)
        assert.deepStrictEqual(defaults.body.data, { workspace_id: workspace, serving: "live", updated_by: null, updated_at: null })

        const key = uniqueKey("mode")
        const id = yield* createPrompt({ key, content: "draft", env: "prod", workspace_id: workspace })
        assert.strictEqual((yield* sdk(key, workspace)).body.content, "draft")
        const socket = yield* Effect.promise(() =>
          connect(`${kit.baseUrl.replace(/^http/, "ws")}/ws?token=${kit.adminToken}&client=node-sdk&namespace=prod`)
        )

        const gated = yield* call<{ data: Settings }>("PUT", `/api/prompts/settings?workspace=${workspace}`, { body: { serving: "published" } })
        assert.strictEqual(gated.status, 200)
        assert.deepStrictEqual([gated.body.data.serving, gated.body.data.updated_by], ["published", "admin"])
        const frame = yield* Effect.promise(() => socket.until((f) => f.key === key))
        assert.deepStrictEqual([frame.type, frame.served], ["serving.changed", true])
        // Nothing published yet: nothing to serve.
        const none = yield* call<{ code: string }>("GET", `/api/sdk/prompts/${key}?env=prod&workspace=${workspace}`)
        assert.strictEqual(none.status, 404)
        assert.strictEqual(none.body.code, "PUBLISHED_PROMPT_NOT_FOUND")
        yield* publish(id)
        yield* call("PUT", `/api/prompts/${id}`, { body: { content: "edited" } })
        const published = yield* sdk(key, workspace)
        assert.deepStrictEqual([published.body.content, published.body.version_number, published.body.serving], ["draft", 1, "published"])

        const back = yield* call<{ data: Settings }>("PUT", `/api/prompts/settings?workspace=${workspace}`, { body: { serving: "live" } })
        assert.strictEqual(back.body.data.serving, "live")
        assert.strictEqual((yield* sdk(key, workspace)).body.content, "edited")
        socket.close()
      }))

    it.effect("refuses a bad setting, an editor and a service key, changing nothing", () =>
      Effect.gen(function*() {
        const workspace = uniqueKey("ws.refuse")
        for (const body of [{ serving: "draft" }, {}, { serving: 1 }]) {
          const refused = yield* call<{ status: number }>("PUT", `/api/prompts/settings?workspace=${workspace}`, { body })
          assert.strictEqual(refused.status, 400, JSON.stringify(body))
        }
        const created = yield* call<{ key: string }>("POST", "/api/v1/orgs/org_default/service-keys", {
          body: { name: "settings", scopes: ["prompts:read", "prompts:write", "prompts:publish"] }
        })
        const byKey = yield* call("PUT", `/api/prompts/settings?workspace=${workspace}`, { token: created.body.key, body: { serving: "published" } })
        assert.strictEqual(byKey.status, 403)
        const after = yield* call<{ data: Settings }>("GET", `/api/prompts/settings?workspace=${workspace}`)
        assert.strictEqual(after.body.data.serving, "live")
        assert.strictEqual(after.body.data.updated_by, null)
      }))

    it.effect("lets an enabled rollout choose among published versions in a live workspace", () =>
      Effect.gen(function*() {
        const key = uniqueKey("live.rollout")
        const id = yield* createPrompt({ key, content: "A", env: "prod" })
        yield* publish(id)
        yield* call("PUT", `/api/prompts/${id}`, { body: { content: "B" } })
        yield* publish(id)
        yield* call("PUT", `/api/prompts/${id}`, { body: { content: "working" } })
        const set = yield* call("PUT", `/api/prompts/${id}/rollout`, { body: { variant_a: 1, weight_a: 100 } })
        assert.strictEqual(set.status, 200)
        const served = yield* sdk(key)
        assert.deepStrictEqual([served.body.content, served.body.variant, served.body.version_number], ["A", "A", 1])
        yield* call("DELETE", `/api/prompts/${id}/rollout`)
        assert.strictEqual((yield* sdk(key)).body.content, "working")
      }))
  })
})
