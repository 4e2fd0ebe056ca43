/**
 * PromptOps's web console against Trellis's workflows: the calls its `web/src/api/client.ts`
 * makes from `WorkflowListView.vue` and `WorkflowEditView.vue` (list by workspace, create with
 * the current workspace, get, update with the form, run, remove), with the bodies they send
 * (every step carries `template`, `provider`, `model` and `op`, whatever its type) and the
 * fields they read (`Workflow`, `WorkflowRunResult`, `error` of a failed run).
 *
 * The run calls need `Runs.awaitEnd` (the runs-api work of issue 12).
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { PromptsPlugin } from "../../../plugins/prompts/Plugin.ts"
import { RunsPlugin } from "../../../plugins/runs/Plugin.ts"
import { TicketsPlugin } from "../../../plugins/tickets/Plugin.ts"
import { WorkflowsPlugin } from "../../../plugins/workflows/Plugin.ts"
import * as TestKit from "../../../src/testing/TestKit.ts"
import { consoleCall, freshKey, send } from "./promptsSupport.ts"

interface Step {
  name: string
  type: string
  template?: string
  provider?: string
  model?: string
  op?: string
}

interface Workflow {
  id: string
  workspace_id?: string
  key: string
  name: string
  description: string
  steps: Array<Step>
  created_at?: string
  updated_at?: string
}

/** The console's login (`api.login`), as its login page sends it. */
const login = Effect.gen(function*() {
  const answer = yield* send<{ token: string }>("POST", "/api/login", {
    headers: { "Content-Type": "application/json" },
    body: { username: "admin", password: TestKit.adminPassword }
  })
  assert.strictEqual(answer.status, 200, answer.text)
  return answer.json.token
})

/** `addStep()`: a new step with every field set. */
const consoleStep = (n: number, patch: Partial<Step>): Step => ({
  name: `步骤 ${n}`,
  type: "render",
  template: "",
  provider: "mock",
  model: "",
  op: "upper",
  ...patch
})

const assertWorkflow = (w: Workflow) => {
  for (const field of ["id", "key", "name", "description", "created_at", "updated_at"]) assert.isString(w[field as keyof Workflow], field)
  assert.isArray(w.steps)
}

describe("PromptOps console: workflows", () => {
  layer(TestKit.layer({ plugins: [PromptsPlugin, TicketsPlugin, RunsPlugin, WorkflowsPlugin] }), { timeout: 120_000 })((it) => {
    it.effect("lists, creates, loads, saves and removes a workflow as the console does", () =>
      Effect.gen(function*() {
        const token = yield* login
        // WorkflowListView: api.listWorkflows({ workspace: workspace.currentId })
        const empty = yield* consoleCall<{ data: Array<Workflow> }>("GET", "/workflows?workspace=default", token)
        assert.strictEqual(empty.status, 200)
        assert.isArray(empty.json.data)

        // WorkflowEditView save(), new: api.createWorkflow({ ...form, workspace_id: workspace.currentId })
        const form = {
          key: freshKey("summarize.flow"),
          name: "摘要",
          description: "render, model, transform",
          steps: [
            consoleStep(1, { template: "请总结: {{text}}" }),
            consoleStep(2, { type: "model" }),
            consoleStep(3, { type: "transform", op: "trim" })
          ]
        }
        const created = yield* consoleCall<{ data: Workflow }>("POST", "/workflows", token, { ...form, workspace_id: "default" })
        assert.strictEqual(created.status, 200, created.text)
        assertWorkflow(created.json.data)
        const id = created.json.data.id

        // load(): api.getWorkflow(id), then the form takes key, name, description, steps
        const loaded = yield* consoleCall<{ data: Workflow }>("GET", `/workflows/${id}`, token)
        assert.strictEqual(loaded.status, 200)
        assert.strictEqual(loaded.json.data.key, form.key)
        assert.deepStrictEqual(loaded.json.data.steps, form.steps)

        // The list shows it, with `steps.length` for its step count.
        const listed = yield* consoleCall<{ data: Array<Workflow> }>("GET", "/workflows?workspace=default", token)
        const row = listed.json.data.find((w) => w.id === id)
        assert.isDefined(row)
        assert.strictEqual(row?.steps.length, 3)

        // save(), existing: api.updateWorkflow(id, form) (a step moved, one removed)
        const saved = yield* consoleCall<{ data: Workflow }>("PUT", `/workflows/${id}`, token, {
          ...form,
          name: "摘要 v2",
          steps: [form.steps[0], form.steps[2]]
        })
        assert.strictEqual(saved.status, 200, saved.text)
        assert.strictEqual(saved.json.data.name, "摘要 v2")
        assert.strictEqual(saved.json.data.steps.length, 2)

        // An empty key: the console checks it first; the server refuses it too, with `error`.
        const noKey = yield* consoleCall<{ error: string }>("POST", "/workflows", token, { ...form, key: "" })
        assert.strictEqual(noKey.status, 400)
        assert.strictEqual(noKey.json.error, "key is required")

        // remove(): api.removeWorkflow(w.id), then the list reloads without it
        const removed = yield* consoleCall<{ ok: boolean }>("DELETE", `/workflows/${id}`, token)
        assert.strictEqual(removed.status, 200)
        const after = yield* consoleCall<{ data: Array<Workflow> }>("GET", "/workflows?workspace=default", token)
        assert.notInclude(after.json.data.map((w) => w.id), id)
      }))

    it.effect("runs a workflow as the console does: the trace and the output; a failure's `error`", () =>
      Effect.gen(function*() {
        const token = yield* login
        const created = yield* consoleCall<{ data: Workflow }>("POST", "/workflows", token, {
          key: freshKey("run.flow"),
          name: "run",
          description: "",
          steps: [consoleStep(1, { template: "  hello {{name}}  " }), consoleStep(2, { type: "transform", op: "trim" }), consoleStep(3, { type: "transform", op: "upper" })],
          workspace_id: "default"
        })
        // run(): api.runWorkflow(id, { variables, api_key: apiKey || undefined }): axios drops the undefined key
        const ran = yield* consoleCall<{ output: string; steps: Array<{ name: string; type: string; output: string }> }>(
          "POST",
          `/workflows/${created.json.data.id}/run`,
          token,
          { variables: { name: "Ada" } }
        )
        assert.strictEqual(ran.status, 200, ran.text)
        assert.deepStrictEqual(ran.json.steps.map((s) => [s.name, s.type, s.output]), [
          ["步骤 1", "render", "  hello Ada  "],
          ["步骤 2", "transform", "hello Ada"],
          ["步骤 3", "transform", "HELLO ADA"]
        ])
        assert.strictEqual(ran.json.output, "HELLO ADA")

        // A model step whose provider fails: the console shows `resp.data.error`.
        const failing = yield* consoleCall<{ data: Workflow }>("POST", "/workflows", token, {
          key: freshKey("fail.flow"),
          name: "fail",
          description: "",
          steps: [consoleStep(1, { type: "model", provider: "openai" })],
          workspace_id: "default"
        })
        const failed = yield* consoleCall<{ error: string }>("POST", `/workflows/${failing.json.data.id}/run`, token, {
          variables: {},
          api_key: "sk-console-key"
        })
        assert.strictEqual(failed.status, 502, failed.text)
        assert.match(failed.json.error, /^step 1 \(步骤 1\): /)
        assert.notInclude(failed.text, "sk-console-key")
      }))
  })
})
