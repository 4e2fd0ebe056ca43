/**
 * Who may do what: editors publish, roll back and change rollouts (PromptOps: writes are
 * editor-level); a service key needs the separate scope `prompts:publish` for them; the serving
 * mode is an admin setting; and another organization's
 * prompts are invisible (404), in the API, SDK fetch and the hot-reload socket.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"
import { PromptsPlugin } from "../Plugin.ts"
import { call, createPrompt, publish, uniqueKey } from "./support.ts"
import { connect } from "./wsClient.ts"

const serviceKey = (scopes: ReadonlyArray<string>, headers?: Record<string, string>, org = "org_default") =>
  Effect.gen(function*() {
    const created = yield* call<{ key: string }>("POST", `/api/v1/orgs/${org}/service-keys`, {
      body: { name: `test ${scopes.join(" ")}`, scopes },
      ...(headers === undefined ? {} : { headers })
    })
    assert.strictEqual(created.status, 201, JSON.stringify(created.body))
    return created.body.key
  })

describe("prompts plugin: permissions and tenancy", () => {
  layer(TestKit.layer({ plugins: [PromptsPlugin] }), { timeout: 120_000 })((it) => {
    it.effect("lets a key without prompts:publish edit but not publish, roll back or change rollouts", () =>
      Effect.gen(function*() {
        const editorKey = yield* serviceKey(["prompts:read", "prompts:write"])
        const publisherKey = yield* serviceKey(["prompts:read", "prompts:write", "prompts:publish"])
        const created = yield* call<{ data: { id: string } }>("POST", "/api/prompts", {
          token: editorKey,
          body: { key: uniqueKey("perm"), content: "x", env: "prod" }
        })
        assert.strictEqual(created.status, 200)
        const id = created.body.data.id
        for (const [method, path, body] of [
          ["POST", "/api/prompts/publish", { id }],
          ["POST", "/api/prompts/rollback", { id, version: "v1" }],
          ["PUT", `/api/prompts/${id}/rollout`, { variant_a: "v1", weight_a: 100 }],
          ["DELETE", `/api/prompts/${id}/rollout`, undefined]
        ] as const) {
          const refused = yield* call<{ code: string; required: ReadonlyArray<string> }>(method, path, { token: editorKey, body })
          assert.strictEqual(refused.status, 403, path)
          assert.strictEqual(refused.body.code, "insufficient_scope", path)
          assert.deepStrictEqual(refused.body.required, ["prompts:publish"], path)
        }
        const versions = yield* call<{ data: ReadonlyArray<unknown> }>("GET", `/api/prompts/${id}/versions`, { token: editorKey })
        assert.strictEqual(versions.body.data.length, 0)
        const published = yield* call<{ data: { version: string } }>("POST", "/api/prompts/publish", { token: publisherKey, body: { id } })
        assert.strictEqual(published.status, 200)
        assert.strictEqual(published.body.data.version, "v1")
        const readOnly = yield* serviceKey(["prompts:read"])
        assert.strictEqual((yield* call("PUT", `/api/prompts/${id}`, { token: readOnly, body: { content: "y" } })).status, 403)
        assert.strictEqual((yield* call("GET", `/api/prompts/${id}`, { token: readOnly })).status, 200)
      }))

    it.effect("lets an editor edit, publish, roll back and change rollouts; a viewer none of it", () =>
      Effect.gen(function*() {
        const username = `editor${Date.now().toString(36)}`
        const user = yield* call("POST", "/api/users", { body: { username, password: "editor-password-1", role: "editor" } })
        assert.oneOf(user.status, [200, 201], JSON.stringify(user.body))
        const login = yield* call<{ token: string }>("POST", "/api/login", { token: null, body: { username, password: "editor-password-1" } })
        assert.strictEqual(login.status, 200, JSON.stringify(login.body))
        const editor = login.body.token
        const id = yield* createPrompt({ key: uniqueKey("editor"), content: "x", env: "prod" })
        assert.strictEqual((yield* call("PUT", `/api/prompts/${id}`, { token: editor, body: { content: "edited" } })).status, 200)
        const published = yield* call<{ data: { version: string } }>("POST", "/api/prompts/publish", { token: editor, body: { id } })
        assert.strictEqual(published.status, 200, JSON.stringify(published.body))
        assert.strictEqual(published.body.data.version, "v1")
        assert.strictEqual((yield* call("PUT", `/api/prompts/${id}/rollout`, { token: editor, body: { variant_a: "v1", weight_a: 100 } })).status, 200)
        assert.strictEqual((yield* call("DELETE", `/api/prompts/${id}/rollout`, { token: editor })).status, 200)
        assert.strictEqual((yield* call("POST", "/api/prompts/rollback", { token: editor, body: { id, version: "v1" } })).status, 200)
        // Serving mode is a setting: admins only.
        const setting = yield* call<{ code: string }>("PUT", "/api/prompts/settings", { token: editor, body: { serving: "published" } })
        assert.strictEqual(setting.status, 403)
        assert.strictEqual(setting.body.code, "insufficient_role")

        const viewerName = `viewer${Date.now().toString(36)}`
        yield* call("POST", "/api/users", { body: { username: viewerName, password: "viewer-password-1", role: "viewer" } })
        const viewerLogin = yield* call<{ token: string }>("POST", "/api/login", { token: null, body: { username: viewerName, password: "viewer-password-1" } })
        const viewer = viewerLogin.body.token
        for (const [method, path, body] of [
          ["POST", "/api/prompts/publish", { id }],
          ["POST", "/api/prompts/rollback", { id, version: "v1" }],
          ["PUT", `/api/prompts/${id}/rollout`, { variant_a: "v1", weight_a: 100 }],
          ["PUT", `/api/prompts/${id}`, { content: "no" }]
        ] as const) {
          const refused = yield* call<{ code: string }>(method, path, { token: viewer, body })
          assert.strictEqual(refused.status, 403, path)
          assert.strictEqual(refused.body.code, "insufficient_role", path)
        }
      }))

    it.effect("hides one organization's prompts from another", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const key = uniqueKey("tenant")
        const id = yield* createPrompt({ key, content: "secret", env: "prod" })
        yield* publish(id)
        const org = yield* call<{ org_id: string }>("POST", "/api/v1/org", { body: { name: `Other ${key}` } })
        assert.oneOf(org.status, [200, 201], JSON.stringify(org.body))
        const other = { "x-trellis-organization": org.body.org_id }
        const otherKey = yield* serviceKey(["prompts:read", "prompts:write", "prompts:publish"], other, org.body.org_id)
        const watcher = yield* Effect.promise(() => connect(`${kit.baseUrl.replace(/^http/, "ws")}/ws?token=${otherKey}&hello=1`))
        yield* Effect.promise(() => watcher.until((f) => f.type === "hello"))

        assert.strictEqual((yield* call("GET", `/api/prompts/${id}`, { token: otherKey })).status, 404)
        assert.strictEqual((yield* call("PUT", `/api/prompts/${id}`, { token: otherKey, body: { content: "mine" } })).status, 404)
        assert.strictEqual((yield* call("DELETE", `/api/prompts/${id}`, { token: otherKey })).status, 404)
        assert.strictEqual((yield* call("POST", "/api/prompts/publish", { token: otherKey, body: { id } })).status, 404)
        assert.strictEqual((yield* call("GET", `/api/prompts/${id}/versions`, { token: otherKey })).status, 404)
        assert.strictEqual((yield* call("GET", `/api/prompts/${id}/rollout`, { token: otherKey })).status, 404)
        assert.strictEqual((yield* call("GET", `/api/sdk/prompts/${key}?env=prod`, { token: otherKey })).status, 404)
        const listed = yield* call<{ data: ReadonlyArray<{ id: string }> }>("GET", "/api/prompts", { token: otherKey })
        assert.isFalse(listed.body.data.some((p) => p.id === id))
        // The same key is free in the other organization.
        const theirs = yield* call<{ data: { id: string } }>("POST", "/api/prompts", { token: otherKey, body: { key, content: "theirs", env: "prod" } })
        assert.strictEqual(theirs.status, 200)
        yield* call("POST", "/api/prompts/publish", { token: otherKey, body: { id: theirs.body.data.id } })
        const mine = yield* call<{ content: string }>("GET", `/api/sdk/prompts/${key}?env=prod`)
        assert.strictEqual(mine.body.content, "secret")
        const theirsServed = yield* call<{ content: string }>("GET", `/api/sdk/prompts/${key}?env=prod`, { token: otherKey })
        assert.strictEqual(theirsServed.body.content, "theirs")
        // Their socket saw their publish, never ours.
        yield* Effect.promise(() => watcher.until((f) => f.type === "prompt.published" && f.key === key))
        yield* call("PUT", `/api/prompts/${id}`, { body: { content: "secret 2" } })
        yield* publish(id)
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 300)))
        const ours = watcher.frames().filter((f) => f.key === key && f.type === "prompt.published")
        assert.strictEqual(ours.length, 1)
        watcher.close()
      }))
  })
})
