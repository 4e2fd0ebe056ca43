/**
 * PromptOps conformance, prompts: the calls PromptOps's web console (`web/src/api/client.ts`,
 * `PromptListView.vue`, `PromptEditView.vue`) and its smoke script (`scripts/smoke.sh`) make,
 * with their exact paths, bodies, query parameters and headers, and the fields they read.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"
import { PromptsPlugin } from "../../../plugins/prompts/Plugin.ts"
import { connect } from "../../../plugins/prompts/test/wsClient.ts"
import { consoleCall, freshKey, loginAs, send, wsUrl } from "./promptsSupport.ts"

interface ConsolePrompt {
  readonly id: string
  readonly workspace_id?: string
  readonly key: string
  readonly name: string
  readonly content: string
  readonly version: string
  readonly env: string
  readonly category: string
  readonly tags: string
  readonly model: string
  readonly created_at?: string
  readonly updated_at?: string
}

interface ConsoleVersion {
  readonly id: string
  readonly prompt_id: string
  readonly key: string
  readonly version: string
  readonly env: string
  readonly content: string
  readonly created_at: string
}

describe("PromptOps conformance: prompts (console and smoke script)", () => {
  layer(TestKit.layer({ plugins: [PromptsPlugin] }), { timeout: 120_000 })((it) => {
    it.effect("passes the smoke script's prompt steps: create, SDK fetch right away, playground", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const auth = { Authorization: `Bearer ${kit.adminToken}`, "Content-Type": "application/json" }
        const created = yield* send("POST", "/api/prompts", {
          headers: auth,
          body: { key: "smoke.test", name: "Smoke", content: "hello {{name}}", env: "prod", model: "gpt-4o" }
        })
        assert.isBelow(created.status, 300, created.text)
        // `curl -sf` then `grep -q 'hello {{name}}'`: served without a publish.
        const fetched = yield* send("GET", "/api/sdk/prompts/smoke.test?env=prod", { headers: { Authorization: `Bearer ${kit.adminToken}` } })
        assert.strictEqual(fetched.status, 200)
        assert.include(fetched.text, "hello {{name}}")
        const playground = yield* send("POST", "/api/playground/run", {
          headers: auth,
          body: { content: "Hi {{who}}", variables: { who: "world" }, provider: "mock" }
        })
        assert.strictEqual(playground.status, 200)
        assert.include(playground.text, "Hi world")
        assert.include(playground.text, "mock completion")
      }))

    it.effect("runs the console's edit page as an editor: create, list, save with a label, publish, versions, rollback", () =>
      Effect.gen(function*() {
        const editor = yield* loginAs("editor")
        const key = freshKey("code.review")
        // PromptEditView's form defaults, sent as they are.
        const form = { key, name: "Review", content: "Review {{language}} code:\n{{code}}", version: "v1", env: "dev", category: "", tags: "", model: "gpt-4o" }
        const created = yield* consoleCall<{ data: ConsolePrompt }>("POST", "/prompts", editor, form)
        assert.strictEqual(created.status, 200, created.text)
        const id = created.json.data.id
        assert.strictEqual(created.json.data.version, "v1")

        // PromptListView: `api.list({ workspace: currentId })`, every column it shows.
        const listed = yield* consoleCall<{ data: ReadonlyArray<ConsolePrompt> }>("GET", "/prompts?workspace=", editor)
        assert.strictEqual(listed.status, 200)
        const row = listed.json.data.find((p) => p.id === id)
        assert.deepStrictEqual(
          row === undefined ? undefined : [row.key, row.name, row.env, row.version, row.category, row.tags, row.model],
          [key, "Review", "dev", "v1", "", "", "gpt-4o"]
        )

        // Publish v1 (the console then says "published version <form.version>").
        const first = yield* consoleCall<{ data: ConsoleVersion }>("POST", "/prompts/publish", editor, { id })
        assert.strictEqual(first.status, 200, first.text)
        assert.strictEqual(first.json.data.version, "v1")

        // load(): the whole prompt becomes the form; save() sends it back whole, edited.
        const loaded = yield* consoleCall<{ data: ConsolePrompt }>("GET", `/prompts/${id}`, editor)
        const edited = { ...loaded.json.data, content: "Review {{language}} code carefully:\n{{code}}", version: "v2-beta" }
        const saved = yield* consoleCall<{ data: ConsolePrompt }>("PUT", `/prompts/${id}`, editor, edited)
        assert.strictEqual(saved.status, 200, saved.text)
        assert.strictEqual(saved.json.data.version, "v2-beta")
        const second = yield* consoleCall<{ data: ConsoleVersion }>("POST", "/prompts/publish", editor, { id })
        assert.strictEqual(second.json.data.version, "v2-beta")

        // The version history modal, then "roll back to this version" with `v.version`.
        const versions = yield* consoleCall<{ data: ReadonlyArray<ConsoleVersion> }>("GET", `/prompts/${id}/versions`, editor)
        assert.deepStrictEqual(versions.json.data.map((v) => [v.version, v.env, v.key, v.prompt_id]), [
          ["v2-beta", "dev", key, id],
          ["v1", "dev", key, id]
        ])
        assert.isTrue(versions.json.data.every((v) => typeof v.created_at === "string" && typeof v.content === "string"))
        const rolled = yield* consoleCall<{ data: ConsolePrompt }>("POST", "/prompts/rollback", editor, { id, version: "v1" })
        assert.strictEqual(rolled.status, 200, rolled.text)
        const reloaded = yield* consoleCall<{ data: ConsolePrompt }>("GET", `/prompts/${id}`, editor)
        assert.deepStrictEqual([reloaded.json.data.version, reloaded.json.data.content], ["v1", form.content])

        // Publishing again under a label already used: both are kept; the label names the newest.
        const third = yield* consoleCall<{ data: ConsoleVersion & { version_number: number } }>("POST", "/prompts/publish", editor, { id })
        assert.deepStrictEqual([third.json.data.version, third.json.data.version_number], ["v1", 3])

        // Gray release between two labels, as the console sets it.
        const rollout = yield* consoleCall<{ data: { key: string; env: string; enabled: boolean; variant_a: string; variant_b: string; weight_a: number } }>(
          "PUT",
          `/prompts/${id}/rollout`,
          editor,
          { enabled: true, variant_a: "v1", variant_b: "v2-beta", weight_a: 30 }
        )
        assert.strictEqual(rollout.status, 200, rollout.text)
        const r = rollout.json.data
        assert.deepStrictEqual([r.key, r.env, r.enabled, r.variant_a, r.variant_b, r.weight_a], [key, "dev", true, "v1", "v2-beta", 30])
        const read = yield* consoleCall<{ data: { variant_b: string } | null }>("GET", `/prompts/${id}/rollout`, editor)
        assert.strictEqual(read.json.data?.variant_b, "v2-beta")
        const removed = yield* consoleCall<{ ok: boolean }>("DELETE", `/prompts/${id}/rollout`, editor)
        assert.deepStrictEqual(removed.json, { ok: true })
        const deleted = yield* consoleCall<{ ok: boolean }>("DELETE", `/prompts/${id}`, editor)
        assert.deepStrictEqual(deleted.json, { ok: true })
      }))

    it.effect("sends the console's socket only changes: its first frame is the first change", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const params = new URLSearchParams({ token: kit.adminToken, client: "browser", app: "promptops-ui" })
        const socket = yield* Effect.promise(() => connect(wsUrl(kit.baseUrl, params)))
        const key = freshKey("ws.console")
        const created = yield* consoleCall<{ data: ConsolePrompt }>("POST", "/prompts", kit.adminToken, { key, content: "x", version: "v1", env: "dev" })
        const first = yield* Effect.promise(() => socket.until(() => true))
        assert.deepStrictEqual([first.type, first.key], ["prompt.created", key])
        yield* consoleCall("PUT", `/prompts/${created.json.data.id}`, kit.adminToken, { content: "y" })
        yield* Effect.promise(() => socket.until((f) => f.type === "prompt.updated" && f.key === key))
        assert.isTrue(socket.frames().every((f) => typeof f.key === "string"), JSON.stringify(socket.frames()))
        socket.close()
      }))

    it.effect("runs the playground page: unknown variables stay as {{name}} (200)", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const providers = yield* consoleCall<{ data: ReadonlyArray<string> }>("GET", "/playground/providers", kit.adminToken)
        assert.include(providers.json.data, "mock")
        const created = yield* consoleCall<{ data: ConsolePrompt }>("POST", "/prompts", kit.adminToken, {
          key: freshKey("play"),
          content: "Translate {{text}} to {{language}}",
          env: "dev"
        })
        const ran = yield* consoleCall<{ rendered: string; result: { provider: string; model: string; output: string }; missing_variables: ReadonlyArray<string> }>(
          "POST",
          "/playground/run",
          kit.adminToken,
          { id: created.json.data.id, variables: { text: "hello" }, provider: "mock" }
        )
        assert.strictEqual(ran.status, 200, ran.text)
        assert.strictEqual(ran.json.rendered, "Translate hello to {{language}}")
        assert.deepStrictEqual([ran.json.result.provider, typeof ran.json.result.model, typeof ran.json.result.output], ["mock", "string", "string"])
        assert.deepStrictEqual(ran.json.missing_variables, ["language"])
      }))

    it.effect("the console's selected workspace `default` is the default place: prompts made without a workspace are listed there, and SDKs get what it creates", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const workspaces = yield* consoleCall<{ data: ReadonlyArray<{ id: string; slug: string }> }>("GET", "/workspaces", kit.adminToken)
        assert.strictEqual(workspaces.json.data[0]?.id, "default")
        const plain = yield* consoleCall<{ data: ConsolePrompt }>("POST", "/prompts", kit.adminToken, { key: freshKey("ws.plain"), content: "a", env: "prod" })
        const inDefault = yield* consoleCall<{ data: ConsolePrompt }>("POST", "/prompts", kit.adminToken, {
          key: freshKey("ws.console"),
          content: "b",
          env: "prod",
          workspace_id: "default"
        })
        const other = yield* consoleCall<{ data: { id: string } }>("POST", "/workspaces", kit.adminToken, { name: freshKey("Team") })
        const inOther = yield* consoleCall<{ data: ConsolePrompt }>("POST", "/prompts", kit.adminToken, {
          key: freshKey("ws.other"),
          content: "c",
          env: "prod",
          workspace_id: other.json.data.id
        })
        const listed = yield* consoleCall<{ data: ReadonlyArray<ConsolePrompt> }>("GET", "/prompts?workspace=default", kit.adminToken)
        const ids = listed.json.data.map((p) => p.id)
        assert.include(ids, plain.json.data.id)
        assert.include(ids, inDefault.json.data.id)
        assert.notInclude(ids, inOther.json.data.id)
        const fetched = yield* send<{ content: string }>("GET", `/api/sdk/prompts/${inDefault.json.data.key}?env=prod`, {
          headers: { Authorization: `Bearer ${kit.adminToken}` }
        })
        assert.strictEqual(fetched.json.content, "b")
      }))
  })
})
