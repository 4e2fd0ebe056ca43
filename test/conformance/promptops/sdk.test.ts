/**
 * PromptOps conformance, SDKs: the calls of the Node SDK (`sdk/node/src/index.js`), the Python
 * SDK (`sdk/python/promptops/client.py`) and the Node example `sdk/node/examples/hot-reload.mjs`
 * (create, fetch + render right away, watch, save a new version, re-fetch on the event), with
 * their exact URLs and headers, against the default (`live`) serving mode; and the same SDK
 * calls against a published-only workspace.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"
import { PromptsPlugin } from "../../../plugins/prompts/Plugin.ts"
import { connect } from "../../../plugins/prompts/test/wsClient.ts"
import { consoleCall, freshKey, send, wsUrl } from "./promptsSupport.ts"

interface SdkPrompt {
  readonly key: string
  readonly version: string
  readonly env: string
  readonly model: string
  readonly content: string
  readonly variant?: string
}

/** The SDKs' own `render`: unknown placeholders stay. */
const renderTemplate = (content: string, vars: Record<string, string>) =>
  content.replace(/{{\s*([\w.]+)\s*}}/g, (full, key: string) => Object.prototype.hasOwnProperty.call(vars, key) ? vars[key] : full)

/** Node SDK `getPrompt`: `fetch(url, { headers: { Authorization } })`, any non-2xx is an error. */
const nodeGetPrompt = (token: string, key: string, namespace = "prod") =>
  send<SdkPrompt>("GET", `/api/sdk/prompts/${encodeURIComponent(key)}?env=${encodeURIComponent(namespace)}`, {
    headers: { Authorization: `Bearer ${token}` }
  })

/** Python SDK `get_prompt`: urllib with its default headers. */
const pythonGetPrompt = (token: string, key: string, namespace = "prod") =>
  send<SdkPrompt>("GET", `/api/sdk/prompts/${encodeURIComponent(key)}?env=${encodeURIComponent(namespace)}`, {
    headers: { Authorization: `Bearer ${token}`, "Accept-Encoding": "identity", "User-Agent": "Python-urllib/3.12" }
  })

/** The example's `api()` helper. */
const exampleApi = (token: string, path: string, method = "GET", body?: unknown) =>
  send<{ data: { id: string } }>(method, path, {
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body
  })

describe("PromptOps conformance: SDKs", () => {
  layer(TestKit.layer({ plugins: [PromptsPlugin] }), { timeout: 120_000 })((it) => {
    it.effect("passes the Node SDK's hot-reload example unchanged: served right after create, updated on save", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const token = kit.adminToken
        const created = yield* exampleApi(token, "/api/prompts", "POST", {
          key: "sdk.demo",
          name: "SDK Demo",
          content: "Hello {{name}}, v1",
          env: "prod",
          model: "gpt-4o"
        })
        assert.strictEqual(created.status, 200, created.text)
        const id = created.json.data.id

        const first = yield* nodeGetPrompt(token, "sdk.demo")
        assert.strictEqual(first.status, 200, first.text)
        assert.strictEqual(renderTemplate(first.json.content, { name: "Ada" }), "Hello Ada, v1")
        assert.deepStrictEqual([first.json.key, first.json.version, first.json.env, first.json.model], ["sdk.demo", "v1", "prod", "gpt-4o"])

        // watch(): token, client and namespace in the query; an event with a cached key triggers a re-fetch.
        const params = new URLSearchParams({ token, client: "node-sdk", namespace: "prod" })
        const socket = yield* Effect.promise(() => connect(wsUrl(kit.baseUrl, params)))
        const saved = yield* exampleApi(token, `/api/prompts/${id}`, "PUT", {
          name: "SDK Demo",
          content: "Hello {{name}}, v2",
          version: "v2",
          env: "prod"
        })
        assert.strictEqual(saved.status, 200, saved.text)
        const event = yield* Effect.promise(() => socket.until((f) => f.key === "sdk.demo"))
        assert.strictEqual(event.type, "prompt.updated")
        const after = yield* nodeGetPrompt(token, "sdk.demo")
        assert.strictEqual(renderTemplate(after.json.content, { name: "Ada" }), "Hello Ada, v2")
        assert.strictEqual(after.json.version, "v2")
        socket.close()
        const deleted = yield* exampleApi(token, `/api/prompts/${id}`, "DELETE")
        assert.strictEqual(deleted.status, 200)
        assert.strictEqual((yield* nodeGetPrompt(token, "sdk.demo")).status, 404)
      }))

    it.effect("passes the Node SDK's app example: 404 before setup, created into workspace 'default', served, hot-reloaded on a console save", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const token = kit.adminToken
        const key = freshKey("support.reply")
        // ensureDemoPrompt(): anything but 2xx or 404 is an error.
        assert.strictEqual((yield* nodeGetPrompt(token, key)).status, 404)
        const created = yield* exampleApi(token, "/api/prompts", "POST", {
          key,
          name: "Support reply",
          content: "You are a support agent for {{product}}.\nReply in a {{tone}} tone.\n\nCustomer message:\n{{message}}",
          env: "prod",
          model: "gpt-4o",
          workspace_id: "default"
        })
        assert.strictEqual(created.status, 200, created.text)
        const ticket = { product: "PromptOps", tone: "friendly", message: "why?" }
        const served = yield* nodeGetPrompt(token, key)
        assert.strictEqual(served.status, 200, served.text)
        assert.include(renderTemplate(served.json.content, ticket), "support agent for PromptOps")
        const socket = yield* Effect.promise(() =>
          connect(wsUrl(kit.baseUrl, new URLSearchParams({ token, client: "node-sdk", namespace: "prod", app: "support-assistant" })))
        )
        const clients = yield* consoleCall<{ data: ReadonlyArray<{ app: string; client_type: string }> }>("GET", "/clients", token)
        assert.isTrue(clients.json.data.some((c) => c.app === "support-assistant" && c.client_type === "node-sdk"))
        // "edit the prompt in the PromptOps UI and save": the whole form goes back.
        const loaded = yield* consoleCall<{ data: Record<string, unknown> }>("GET", `/prompts/${created.json.data.id}`, token)
        yield* consoleCall("PUT", `/prompts/${created.json.data.id}`, token, { ...loaded.json.data, content: "Be brief about {{product}}." })
        const event = yield* Effect.promise(() => socket.until((f) => f.key === key))
        assert.strictEqual(event.type, "prompt.updated")
        assert.strictEqual(renderTemplate((yield* nodeGetPrompt(token, key)).json.content, ticket), "Be brief about PromptOps.")
        socket.close()
      }))

    it.effect("serves the Python SDK the same, and its socket (python-sdk) gets the save", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const key = freshKey("py.demo")
        const created = yield* exampleApi(kit.adminToken, "/api/prompts", "POST", { key, content: "Hi {{who}}", env: "prod" })
        const fetched = yield* pythonGetPrompt(kit.adminToken, key)
        assert.strictEqual(fetched.status, 200, fetched.text)
        assert.strictEqual(renderTemplate(fetched.json.content, { who: "py" }), "Hi py")
        const socket = yield* Effect.promise(() =>
          connect(wsUrl(kit.baseUrl, `token=${encodeURIComponent(kit.adminToken)}&client=python-sdk&namespace=prod&app=svc`))
        )
        yield* exampleApi(kit.adminToken, `/api/prompts/${created.json.data.id}`, "PUT", { content: "Hello {{who}}" })
        const event = yield* Effect.promise(() => socket.until((f) => f.key === key))
        assert.strictEqual(event.type, "prompt.updated")
        assert.strictEqual((yield* pythonGetPrompt(kit.adminToken, key)).json.content, "Hello {{who}}")
        const clients = yield* consoleCall<{ data: ReadonlyArray<{ client_type: string; app: string; namespace: string }> }>(
          "GET",
          "/clients",
          kit.adminToken
        )
        assert.isTrue(clients.json.data.some((c) => c.client_type === "python-sdk" && c.app === "svc" && c.namespace === "prod"))
        socket.close()
      }))

    it.effect("in a published-only workspace, serves SDKs what was published, and a publish reaches them", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const token = kit.adminToken
        const workspace = freshKey("gated")
        const set = yield* consoleCall<{ data: { serving: string; workspace_id: string } }>(
          "PUT",
          `/prompts/settings?workspace=${workspace}`,
          token,
          { serving: "published" }
        )
        assert.deepStrictEqual([set.status, set.json.data.serving, set.json.data.workspace_id], [200, "published", workspace])
        const key = freshKey("gated.demo")
        const created = yield* exampleApi(token, "/api/prompts", "POST", { key, content: "one", env: "prod", workspace_id: workspace })
        const id = created.json.data.id
        assert.strictEqual((yield* nodeGetPrompt(token, key)).status, 404)
        yield* consoleCall("POST", "/prompts/publish", token, { id })
        assert.strictEqual((yield* nodeGetPrompt(token, key)).json.content, "one")
        const socket = yield* Effect.promise(() => connect(wsUrl(kit.baseUrl, new URLSearchParams({ token, client: "node-sdk", namespace: "prod" }))))
        yield* exampleApi(token, `/api/prompts/${id}`, "PUT", { content: "two", version: "v2" })
        assert.strictEqual((yield* nodeGetPrompt(token, key)).json.content, "one")
        yield* consoleCall("POST", "/prompts/publish", token, { id })
        const event = yield* Effect.promise(() => socket.until((f) => f.key === key))
        assert.strictEqual(event.type, "prompt.published")
        const served = yield* nodeGetPrompt(token, key)
        assert.deepStrictEqual([served.json.content, served.json.version], ["two", "v2"])
        socket.close()
      }))
  })
})
