/**
 * The `agent` step's tool-calling loop, on a real server (both databases), with the `mock`
 * provider playing scripted tool calls:
 *
 * - a loop calling an HTTP tool (a local sink, with the call's idempotency key) and an unknown
 *   tool, then answering: the output, the `model_call`, `tool_call` and `model_delta` events;
 * - `max_steps` and `token_budget` end the loop with a failure naming which;
 * - a step whose model call fails once is retried: the finished model call and tool call are
 *   replayed from the loop's checkpoints (the sink sees one call);
 * - seed 002's shape (`{type: "agent", agent, model, prompt}`), and an `agent` step naming no
 *   agent refused when the run is created;
 * - PromptOps's synchronous run (`POST /api/agents/:id/run`: the answer, the 502 with `error`
 *   and `rendered`, the `api_key` sealed in the run) and an agent as another agent's tool.
 *   These wait on `Runs.awaitEnd` (the runs-api work of issue 12) and run once it is there.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import * as TestKit from "trellis/testing"
import type { RunEvent } from "../../runs/Domain.ts"
import { as, call, createAgent, servedPlugins, sink, statusOf, tester } from "./support.ts"

const served = servedPlugins({ fakeWorkflows: true })

const eventsOf = (runs: Effect.Success<typeof served.runs>, runId: string) => runs.events(runId, { limit: 1000 }).pipe(as(tester))
const ofKind = <K extends RunEvent["data"]["_tag"]>(events: ReadonlyArray<RunEvent>, kind: K) =>
  events.map((e) => e.data).filter((d): d is Extract<RunEvent["data"], { _tag: K }> => d._tag === kind)

const lookupTool = (url: string) => ({
  name: "lookup",
  description: "Looks a question up",
  url,
  method: "POST",
  inputSchema: { type: "object", properties: { q: { type: "string" } }, required: ["q"] }
})

describe("agents plugin: the tool-calling loop", () => {
  layer(TestKit.layer({ plugins: served.plugins }), { timeout: 240_000, excludeTestServices: true })((it) => {
    it.effect("calls tools until the model answers; every call is an event", () =>
      Effect.gen(function*() {
        const runs = yield* served.runs
        const http = yield* sink
        const agent = yield* createAgent({
          prompt: "You answer questions about {{topic}}.",
          tools: [lookupTool(http.url("/lookup"))],
          mock: {
            turns: [
              { text: "let me check", toolCalls: [{ name: "lookup", input: { q: "meaning" } }, { name: "missing", input: {} }] },
              { text: "The answer is 42", chunks: ["The answer", " is 42"] }
            ]
          }
        })
        // Seed 002's `POST /api/runs` shape: the agent by key, a prompt in the step.
        const run = yield* runs.run({
          input: { topic: "life" },
          steps: [{ name: "agent", type: "agent", agent: agent.key, model: "mock-7", prompt: "What is the meaning of {{topic}}?" }]
        }).pipe(as(tester))
        const detail = yield* statusOf(runs, run.id, ["succeeded", "failed", "cancelled"])
        assert.strictEqual(detail.run.status, "succeeded", JSON.stringify(detail.run.error))
        assert.deepInclude(detail.run.output as object, {
          provider: "mock",
          model: "mock-7",
          output: "The answer is 42",
          rendered: "You answer questions about life.",
          turns: 2
        })
        assert.deepStrictEqual(http.hits("/lookup").map((h) => h.key), [`${run.id}:0:0:1`])

        const events = yield* eventsOf(runs, run.id)
        const calls = ofKind(events, "model_call")
        assert.deepStrictEqual(calls.map((c) => [c.provider, c.model, c.status]), [["mock", "mock-7", "ok"], ["mock", "mock-7", "ok"]])
        assert.isAbove(calls[0].promptTokens, 0)
        const tools = ofKind(events, "tool_call")
        assert.deepStrictEqual(tools.map((t) => t.tool), ["lookup", "missing"])
        assert.deepStrictEqual(tools[0].input, { q: "meaning" })
        assert.deepStrictEqual(tools[0].output, { ok: true, path: "/lookup" })
        assert.include(tools[1].error ?? "", "no tool named missing")
        // Streamed text, batched: one event per model call here.
        assert.deepStrictEqual(ofKind(events, "model_delta").map((d) => d.text), ["let me check", "The answer is 42"])
      }))

    it.effect("stops at max_steps and when the token budget is spent, naming which", () =>
      Effect.gen(function*() {
        const runs = yield* served.runs
        const http = yield* sink
        const forever = { turns: [{ text: "again", toolCalls: [{ name: "lookup", input: { q: "more" } }] }] }
        const limited = yield* createAgent({ prompt: "loop", max_steps: 2, tools: [lookupTool(http.url("/limit"))], mock: forever })
        const run = yield* runs.run({ steps: [{ name: "agent", type: "agent", agent: limited.id }] }).pipe(as(tester))
        const failed = yield* statusOf(runs, run.id, ["succeeded", "failed"])
        assert.strictEqual(failed.run.status, "failed")
        assert.strictEqual(failed.run.error?.step, "agent")
        assert.include(failed.run.error?.message ?? "", "max_steps reached: 2 model calls")
        assert.strictEqual(http.hits("/limit").length, 2, "one tool call per turn, not retried: the failure is final")

        const budgeted = yield* createAgent({ prompt: "a long prompt to spend tokens on", token_budget: 5, tools: [lookupTool(http.url("/budget"))], mock: forever })
        const spent = yield* runs.run({ steps: [{ name: "agent", type: "agent", agent: budgeted.id }] }).pipe(as(tester))
        const over = yield* statusOf(runs, spent.id, ["succeeded", "failed"])
        assert.strictEqual(over.run.status, "failed")
        assert.include(over.run.error?.message ?? "", "token_budget spent")
        assert.include(over.run.error?.message ?? "", "of 5 tokens")
        assert.strictEqual(http.hits("/budget").length, 0, "no tool runs once the budget is spent")
      }))

    it.effect("a retried step replays its finished model and tool calls instead of calling again", () =>
      Effect.gen(function*() {
        const runs = yield* served.runs
        const http = yield* sink
        const agent = yield* createAgent({
          prompt: "retry me",
          tools: [lookupTool(http.url("/once"))],
          mock: {
            turns: [
              { toolCalls: [{ name: "lookup", input: { q: "first" } }] },
              // The second model call fails on the step's first attempt (a provider outage).
              { text: "done", error: "provider hiccup", errorTimes: 1 }
            ]
          }
        })
        const run = yield* runs.run({ steps: [{ name: "agent", type: "agent", agent: agent.id }] }).pipe(as(tester))
        const detail = yield* statusOf(runs, run.id, ["succeeded", "failed"])
        assert.strictEqual(detail.run.status, "succeeded", JSON.stringify(detail.run.error))
        assert.strictEqual((detail.run.output as { output: string }).output, "done")
        assert.strictEqual(http.hits("/once").length, 1, "the finished tool call is not repeated")
        const events = yield* eventsOf(runs, run.id)
        assert.deepStrictEqual(ofKind(events, "model_call").map((c) => c.status), ["ok", "error", "ok"])
        assert.strictEqual(ofKind(events, "model_call")[1].error, "provider hiccup")
        assert.strictEqual(ofKind(events, "tool_call").length, 1)
        assert.strictEqual(ofKind(events, "step_failed").length, 1)
      }))

    it.effect("an agent is another's tool: sub-runs start together, the step waits for them holding no worker", () =>
      Effect.gen(function*() {
        const runs = yield* served.runs
        const helper = yield* createAgent({ prompt: "Translate {{word}}", mock: { turns: [{ text: "bonjour" }] } })
        const boss = yield* createAgent({
          prompt: "Ask the helper",
          tools: [{ agent: helper.key, name: "translate", inputSchema: { type: "object", properties: { word: { type: "string" } } } }],
          mock: {
            turns: [
              { toolCalls: [{ name: "translate", input: { word: "hello" } }, { name: "translate", input: { word: "hi" } }] },
              { text: "it is bonjour" }
            ]
          }
        })
        const run = yield* runs.run({ steps: [{ name: "boss", type: "agent", agent: boss.id }] }).pipe(as(tester))
        const detail = yield* statusOf(runs, run.id, ["succeeded", "failed", "cancelled"])
        assert.strictEqual(detail.run.status, "succeeded", JSON.stringify(detail.run.error))
        assert.strictEqual((detail.run.output as { output: string }).output, "it is bonjour")
        const events = yield* eventsOf(runs, run.id)
        const tools = ofKind(events, "tool_call")
        assert.deepStrictEqual(tools.map((t) => [t.tool, t.input, t.output]), [
          ["translate", { word: "hello" }, "bonjour"],
          ["translate", { word: "hi" }, "bonjour"]
        ])
        assert.isAbove(ofKind(events, "step_waiting").length, 0, "the step waited for its sub-runs")
        // A callback wait that sub-runs' ends resume (no polling sleep): at most one wait per sub-run.
        assert.deepStrictEqual([...new Set(ofKind(events, "step_waiting").map((e) => e.kind))], ["callback"])
        assert.isAtMost(ofKind(events, "step_waiting").length, 2)
        assert.strictEqual(ofKind(events, "model_call").length, 2, "each model call once, across the step's executions")
        const subRuns = (yield* runs.list({ source: "agent", limit: 100 }).pipe(as(tester))).data.filter((r) => r.refKey === helper.id)
        assert.strictEqual(subRuns.length, 2)
        for (const sub of subRuns) assert.strictEqual(sub.status, "succeeded")
      }))

    it.effect("a workflow is a tool: checked by the workflow step when saved, run as a sub-run", () =>
      Effect.gen(function*() {
        const runs = yield* served.runs
        const missing = yield* call<{ tool: string; reason: string }>("POST", "/api/agents", {
          body: { key: `wf-missing-${Date.now()}`, tools: [{ workflow: "wf_missing", name: "report" }] }
        })
        assert.strictEqual(missing.status, 400)
        assert.strictEqual(missing.body.tool, "report")
        assert.include(missing.body.reason, "no workflow wf_missing")
        const agent = yield* createAgent({
          prompt: "report",
          tools: [{ workflow: "wf_known" }],
          mock: { turns: [{ toolCalls: [{ name: "workflow_wf_known", input: { period: "Q3" } }] }, { text: "reported" }] }
        })
        assert.deepStrictEqual(agent.tools, [{ workflow: "wf_known", name: "workflow_wf_known", description: "Runs the workflow wf_known" }])
        const run = yield* runs.run({ steps: [{ name: "agent", type: "agent", agent: agent.id }] }).pipe(as(tester))
        const detail = yield* statusOf(runs, run.id, ["succeeded", "failed", "cancelled"])
        assert.strictEqual(detail.run.status, "succeeded", JSON.stringify(detail.run.error))
        const tools = ofKind(yield* eventsOf(runs, run.id), "tool_call")
        assert.deepStrictEqual(tools.map((t) => t.output), [{ workflow: "wf_known", echo: { period: "Q3" } }])
        const sub = (yield* runs.list({ source: "agent", limit: 100 }).pipe(as(tester))).data.filter((r) => r.refKey === "wf_known")
        assert.strictEqual(sub.length, 1)
        assert.deepStrictEqual(sub[0].input, { period: "Q3" })
      }))

    it.effect("PromptOps's run of an agent with an unknown provider or of no agent: 400 and 404, and no run", () =>
      Effect.gen(function*() {
        const runs = yield* served.runs
        const unknown = yield* createAgent({ prompt: "x", provider: "no-such-provider" })
        const refused = yield* call<{ code: string; error: string; available: ReadonlyArray<string> }>("POST", `/api/agents/${unknown.id}/run`, {
          body: { variables: {} }
        })
        assert.strictEqual(refused.status, 400)
        assert.strictEqual(refused.body.code, "UNKNOWN_PROVIDER")
        assert.include(refused.body.error, "no-such-provider")
        assert.include(refused.body.available, "mock")
        const missing = yield* call<{ code: string }>("POST", "/api/agents/nope/run", { body: { variables: {} } })
        assert.strictEqual(missing.status, 404)
        assert.strictEqual(missing.body.code, "AGENT_NOT_FOUND")
        const started = (yield* runs.list({ source: "agent", limit: 100 }).pipe(as(tester))).data.filter((r) => r.refKey === unknown.id)
        assert.lengthOf(started, 0)
      }))

    it.effect("a failed call is logged under the provider's own name (`gemini` is `google`), as a successful one is", () =>
      Effect.gen(function*() {
        const agent = yield* createAgent({ prompt: "x", provider: "gemini" })
        // No Google key here: the call fails before anything is sent.
        const failed = yield* call<{ error: string }>("POST", `/api/agents/${agent.id}/run`, { body: { variables: {} } })
        assert.strictEqual(failed.status, 502, JSON.stringify(failed.body))
        const log = yield* call<{ data: ReadonlyArray<{ ref_key: string; provider: string; status: string }> }>("GET", "/api/runs?limit=100&offset=0")
        const row = log.body.data.find((r) => r.ref_key === agent.id)
        assert.deepStrictEqual([row?.provider, row?.status], ["google", "error"])
      }))

    it.effect("refuses an agent step naming no agent when the run is created", () =>
      Effect.gen(function*() {
        const runs = yield* served.runs
        const refused = yield* runs.run({ steps: [{ name: "helper", type: "agent", agent: "no-such-agent" }] }).pipe(as(tester), Effect.flip)
        assert.strictEqual(refused._tag, "InvalidRunDefinition")
        assert.strictEqual(refused.step, "helper")
        assert.include(refused.reason, "no agent no-such-agent")
      }))

    it.effect("PromptOps's run: the answer, the 502 shape, the api_key sealed", () =>
      Effect.gen(function*() {
        const agent = yield* createAgent({ prompt: "Hello {{name}}", model: "mock-2" })
        const answer = yield* call<{ rendered: string; result: { provider: string; model: string; output: string }; run_id: string }>(
          "POST",
          `/api/agents/${agent.id}/run`,
          { body: { variables: { name: "Ada" }, api_key: "sk-agents-test-secret-1234" } }
        )
        assert.strictEqual(answer.status, 200, JSON.stringify(answer.body))
        assert.strictEqual(answer.body.rendered, "Hello Ada")
        assert.deepInclude(answer.body.result, { provider: "mock", model: "mock-2" })
        assert.include(answer.body.result.output, "Hello Ada")
        const sql = yield* SqlClient.SqlClient
        const stored = yield* sql<{ steps: string; source: string; ref_key: string }>`SELECT steps::text AS steps, source, ref_key FROM runs.runs WHERE id = ${answer.body.run_id}`
        assert.deepStrictEqual([stored[0].source, stored[0].ref_key], ["agent", agent.id])
        assert.notInclude(stored[0].steps, "sk-agents-test-secret-1234", "the api_key is sealed in the run")
        assert.include(stored[0].steps, "__apiKey")

        const down = yield* createAgent({ prompt: "Hi {{name}}", mock: { turns: [{ error: "provider down", retryable: false }] } })
        const failed = yield* call<{ error: string; rendered: string; run_id: string }>("POST", `/api/agents/${down.id}/run`, { body: { variables: { name: "Bo" } } })
        assert.strictEqual(failed.status, 502)
        assert.strictEqual(failed.body.error, "provider down")
        assert.strictEqual(failed.body.rendered, "Hi Bo")
        assert.isString(failed.body.run_id)
        assert.strictEqual((yield* call("POST", "/api/agents/nope/run", { body: { variables: {} } })).status, 404)

      }))
  })
})
