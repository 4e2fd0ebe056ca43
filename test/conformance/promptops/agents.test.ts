/**
 * PromptOps conformance, agents: the calls its web console makes (`web/src/api/client.ts`,
 * `AgentListView.vue`, `AgentEditView.vue`) with their exact paths, bodies and query
 * parameters, and the fields it reads: the list of the current workspace, create with the
 * form and `workspace_id`, load, save (the console sends back the whole object it loaded),
 * run (`{variables, api_key}`: it shows `rendered` and `result.{provider, model, output}`, or
 * `error` of a failed run), delete. A viewer reads and runs, an editor saves.
 *
 * The run calls wait on `Runs.awaitEnd` (the runs-api work of issue 12): they are replayed once
 * it has landed.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"
import { servedPlugins } from "../../../plugins/agents/test/support.ts"
import { consoleCall, freshKey, loginAs } from "./promptsSupport.ts"

interface ConsoleAgent {
  readonly id: string
  readonly workspace_id?: string
  readonly key: string
  readonly name: string
  readonly description: string
  readonly prompt: string
  readonly provider: string
  readonly model: string
  readonly created_at?: string
  readonly updated_at?: string
}

interface PlaygroundResponse {
  readonly rendered: string
  readonly result: { readonly provider: string; readonly model: string; readonly output: string }
}

const assertAgent = (agent: ConsoleAgent) => {
  for (const field of ["id", "key", "name", "description", "prompt", "provider", "model"] as const) assert.isString(agent[field], field)
  assert.isString(agent.workspace_id)
  assert.isString(agent.created_at)
  assert.isString(agent.updated_at)
}

const served = servedPlugins()

describe("PromptOps conformance: agents (console)", () => {
  layer(TestKit.layer({ plugins: served.plugins }), { timeout: 180_000, excludeTestServices: true })((it) => {
    it.effect("the agent pages: list, create, load, save, run, delete", () =>
      Effect.gen(function*() {
        const editor = yield* loginAs("editor")
        const viewer = yield* loginAs("viewer")
        const workspace = "default"

        // AgentEditView: `createAgent({...form, workspace_id: workspace.currentId})`.
        const form = { key: freshKey("support.agent"), name: "Support", description: "answers tickets", prompt: "Help {{customer}} with {{topic}}", provider: "mock", model: "" }
        const created = yield* consoleCall<{ data: ConsoleAgent }>("POST", "/agents", editor, { ...form, workspace_id: workspace })
        assert.strictEqual(created.status, 200, created.text)
        const id = created.json.data.id
        assertAgent(created.json.data)

        // AgentListView: `listAgents({workspace: currentId})`, a table of key, name, provider, model.
        const listed = yield* consoleCall<{ data: ReadonlyArray<ConsoleAgent> }>("GET", `/agents?workspace=${workspace}`, viewer)
        assert.strictEqual(listed.status, 200)
        const row = listed.json.data.find((a) => a.id === id)
        assert.isDefined(row)
        assert.deepInclude(row, { key: form.key, name: "Support", provider: "mock", model: "" })

        // load(): `getAgent(id)`, then `form.value = data.data`; save(): `updateAgent(id, form.value)`.
        const loaded = yield* consoleCall<{ data: ConsoleAgent }>("GET", `/agents/${id}`, viewer)
        assert.strictEqual(loaded.status, 200)
        const saved = yield* consoleCall<{ data: ConsoleAgent }>("PUT", `/agents/${id}`, editor, { ...loaded.json.data, prompt: "Help {{customer}}", model: "mock-large" })
        assert.strictEqual(saved.status, 200, saved.text)
        assert.deepInclude(saved.json.data, { id, key: form.key, prompt: "Help {{customer}}", model: "mock-large", provider: "mock" })
        // A viewer's save is refused with the `error` the console would show.
        const refused = yield* consoleCall<{ error: string }>("PUT", `/agents/${id}`, viewer, loaded.json.data)
        assert.strictEqual(refused.status, 403)
        assert.isString(refused.json.error)

        // run(): `runAgent(id, {variables, api_key: apiKey || undefined})` (axios drops the undefined key).
        const ran = yield* consoleCall<PlaygroundResponse>("POST", `/agents/${id}/run`, viewer, { variables: { customer: "Ada" } })
        assert.strictEqual(ran.status, 200, ran.text)
        assert.strictEqual(ran.json.rendered, "Help Ada")
        assert.deepInclude(ran.json.result, { provider: "mock", model: "mock-large" })
        assert.include(ran.json.result.output, "Help Ada")
        // A failing provider: the console shows `resp.data.error`.
        const broken = yield* consoleCall<{ data: ConsoleAgent }>("POST", "/agents", editor, {
          key: freshKey("broken"),
          prompt: "x",
          provider: "mock",
          workspace_id: workspace,
          mock: { turns: [{ error: "upstream unavailable", retryable: false }] }
        })
        const failed = yield* consoleCall<{ error: string; rendered: string }>("POST", `/agents/${broken.json.data.id}/run`, viewer, { variables: {}, api_key: "sk-from-the-form" })
        assert.strictEqual(failed.status, 502, failed.text)
        assert.strictEqual(failed.json.error, "upstream unavailable")
        assert.strictEqual(failed.json.rendered, "x")

        // AgentListView's remove(): `removeAgent(a.id)`, then the list again.
        const removed = yield* consoleCall<{ ok: boolean }>("DELETE", `/agents/${id}`, editor)
        assert.strictEqual(removed.status, 200)
        assert.deepStrictEqual(removed.json, { ok: true })
        const after = yield* consoleCall<{ data: ReadonlyArray<ConsoleAgent> }>("GET", `/agents?workspace=${workspace}`, viewer)
        assert.notInclude(after.json.data.map((a) => a.id), id)
        const gone = yield* consoleCall<{ error: string }>("GET", `/agents/${id}`, viewer)
        assert.strictEqual(gone.status, 404)
        assert.isString(gone.json.error)

        // ObservabilityView's audit tab: the agent's create, save and delete, as PromptOps records them.
        const audit = yield* consoleCall<{ data: ReadonlyArray<Record<string, unknown>> }>("GET", "/audit?limit=50&offset=0", editor)
        assert.strictEqual(audit.status, 200, audit.text)
        assert.deepStrictEqual(
          audit.json.data.filter((e) => e.resource_id === id).reverse().map((e) => [e.action, e.resource, e.key, e.summary]),
          [["create", "agent", form.key, "Support"], ["update", "agent", form.key, "Support"], ["delete", "agent", form.key, "Support"]]
        )
      }))
  })
})
