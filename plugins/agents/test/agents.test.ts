/**
 * PromptOps's agent CRUD over real HTTP: the shapes its console reads, the defaults it relies
 * on (provider `mock`), its whole-object PUT, roles (editor writes; viewer reads), key
 * conflicts, and definitions refused before anything is stored (a tool without a JSON schema,
 * a tool naming a missing agent or the agent itself, workflow tools without the workflows
 * plugin, a bad mock script).
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"
import { call, createAgent, servedPlugins, uniqueKey } from "./support.ts"
import type { AgentBody } from "./support.ts"

const userToken = (role: "viewer" | "editor") =>
  Effect.gen(function*() {
    const username = `${role}${uniqueKey("u").replace(/\W/g, "")}`
    const password = `${role}-password-1`
    const user = yield* call("POST", "/api/users", { body: { username, password, role } })
    assert.oneOf(user.status, [200, 201], JSON.stringify(user.body))
    const login = yield* call<{ token: string }>("POST", "/api/login", { token: null, body: { username, password } })
    assert.strictEqual(login.status, 200)
    return login.body.token
  })

describe("agents plugin: PromptOps CRUD", () => {
  layer(TestKit.layer({ plugins: servedPlugins().plugins }), { timeout: 180_000 })((it) => {
    it.effect("creates, reads, lists, updates (the console's whole-object PUT) and deletes", () =>
      Effect.gen(function*() {
        const key = uniqueKey("support")
        const created = yield* call<{ data: AgentBody }>("POST", "/api/agents", {
          body: { key, name: "Support", description: "answers", prompt: "Hello {{name}}", workspace_id: "default" }
        })
        assert.strictEqual(created.status, 200, JSON.stringify(created.body))
        const agent = created.body.data
        for (const field of ["id", "workspace_id", "key", "name", "description", "prompt", "provider", "model", "created_at", "updated_at"]) {
          assert.property(agent, field)
        }
        assert.deepInclude(agent, { key, name: "Support", prompt: "Hello {{name}}", provider: "mock", model: "", workspace_id: "" })
        assert.deepInclude(agent, { tools: [], max_steps: 10, token_budget: null, mock: null })

        const got = yield* call<{ data: AgentBody }>("GET", `/api/agents/${agent.id}`)
        assert.deepStrictEqual(got.body.data, agent)

        const listed = yield* call<{ data: ReadonlyArray<AgentBody> }>("GET", "/api/agents?workspace=default")
        assert.include(listed.body.data.map((a) => a.id), agent.id)
        const other = yield* call<{ data: ReadonlyArray<AgentBody> }>("GET", "/api/agents?workspace=elsewhere")
        assert.notInclude(other.body.data.map((a) => a.id), agent.id)
        const found = yield* call<{ data: ReadonlyArray<AgentBody> }>("GET", `/api/agents?q=${encodeURIComponent(key.toUpperCase())}`)
        assert.deepStrictEqual(found.body.data.map((a) => a.id), [agent.id])

        // The console sends back what it read, with its edits.
        const updated = yield* call<{ data: AgentBody }>("PUT", `/api/agents/${agent.id}`, {
          body: { ...agent, name: "Support v2", prompt: "Hi {{name}}", provider: "", model: "mock-2", key: "ignored" }
        })
        assert.strictEqual(updated.status, 200, JSON.stringify(updated.body))
        assert.deepInclude(updated.body.data, { key, name: "Support v2", prompt: "Hi {{name}}", provider: "mock", model: "mock-2" })

        const removed = yield* call("DELETE", `/api/agents/${agent.id}`)
        assert.deepStrictEqual(removed.body, { ok: true })
        const gone = yield* call<{ code: string; error: string }>("GET", `/api/agents/${agent.id}`)
        assert.strictEqual(gone.status, 404)
        assert.strictEqual(gone.body.code, "AGENT_NOT_FOUND")
        assert.isString(gone.body.error, "PromptOps's error member")
        assert.strictEqual((yield* call("DELETE", `/api/agents/${agent.id}`)).status, 404)
        assert.strictEqual((yield* call("PUT", `/api/agents/${agent.id}`, { body: { name: "x" } })).status, 404)
      }))

    it.effect("refuses a second agent with the same key in a workspace; another workspace may use it", () =>
      Effect.gen(function*() {
        const agent = yield* createAgent({})
        const again = yield* call<{ code: string }>("POST", "/api/agents", { body: { key: agent.key } })
        assert.strictEqual(again.status, 409)
        assert.strictEqual(again.body.code, "AGENT_KEY_TAKEN")
        const elsewhere = yield* call("POST", "/api/agents", { body: { key: agent.key, workspace_id: "team-b" } })
        assert.strictEqual(elsewhere.status, 200)
        assert.strictEqual((yield* call("POST", "/api/agents", { body: { name: "no key" } })).status, 400)
        // Two racing creates of one key: exactly one wins.
        const key = uniqueKey("race")
        const racing = yield* Effect.all([0, 1, 2, 3].map(() => call("POST", "/api/agents", { body: { key } })), { concurrency: "unbounded" })
        assert.deepStrictEqual(racing.map((r) => r.status).sort(), [200, 409, 409, 409])
      }))

    it.effect("lets an editor write; a viewer reads but does not write", () =>
      Effect.gen(function*() {
        const editor = yield* userToken("editor")
        const viewer = yield* userToken("viewer")
        const created = yield* call<{ data: AgentBody }>("POST", "/api/agents", { token: editor, body: { key: uniqueKey("ed") } })
        assert.strictEqual(created.status, 200)
        const id = created.body.data.id
        assert.strictEqual((yield* call("PUT", `/api/agents/${id}`, { token: editor, body: { name: "n" } })).status, 200)
        assert.strictEqual((yield* call("GET", `/api/agents/${id}`, { token: viewer })).status, 200)
        assert.strictEqual((yield* call("GET", "/api/agents", { token: viewer })).status, 200)
        for (const [method, path, body] of [
          ["POST", "/api/agents", { key: uniqueKey("v") }],
          ["PUT", `/api/agents/${id}`, { name: "viewer" }],
          ["DELETE", `/api/agents/${id}`, undefined]
        ] as const) {
          const refused = yield* call<{ code: string }>(method, path, { token: viewer, body })
          assert.strictEqual(refused.status, 403, path)
          assert.strictEqual(refused.body.code, "insufficient_role", path)
        }
        assert.strictEqual((yield* call<{ data: AgentBody }>("GET", `/api/agents/${id}`)).body.data.name, "n")
      }))

    it.effect("refuses tools that cannot run, naming them, and stores nothing", () =>
      Effect.gen(function*() {
        const helper = yield* createAgent({ description: "looks things up" })
        const refusals: ReadonlyArray<readonly [unknown, string, string]> = [
          [{ name: "lookup", url: "https://example.com/lookup" }, "lookup", "inputSchema"],
          [{ name: "lookup", url: "https://example.com/lookup", inputSchema: { type: "string" } }, "lookup", "JSON Schema of an object"],
          [{ name: "bad name!", url: "https://example.com", inputSchema: { type: "object" } }, "bad name!", "invalid HTTP tool"],
          [{ name: "ftp", url: "ftp://example.com", inputSchema: { type: "object" } }, "ftp", "invalid HTTP tool"],
          [{ agent: "no-such-agent" }, "#0", "no agent no-such-agent"],
          [{ workflow: "wf_1", name: "wf" }, "wf", "workflow"]
        ]
        for (const [tool, name, reason] of refusals) {
          const key = uniqueKey("refused")
          const refused = yield* call<{ code: string; tool: string; reason: string; error: string }>("POST", "/api/agents", {
            body: { key, tools: [tool] }
          })
          assert.strictEqual(refused.status, 400, JSON.stringify(refused.body))
          assert.strictEqual(refused.body.code, "INVALID_AGENT")
          assert.strictEqual(refused.body.tool, name)
          assert.include(refused.body.reason, reason)
          assert.include(refused.body.error, name)
          const listed = yield* call<{ data: ReadonlyArray<AgentBody> }>("GET", `/api/agents?q=${key}`)
          assert.lengthOf(listed.body.data, 0, "nothing stored")
        }
        const twice = yield* call<{ reason: string }>("POST", "/api/agents", {
          body: {
            key: uniqueKey("twice"),
            tools: [
              { name: "same", url: "https://example.com/a", inputSchema: { type: "object" } },
              { name: "same", url: "https://example.com/b", inputSchema: { type: "object" } }
            ]
          }
        })
        assert.strictEqual(twice.status, 400)
        assert.include(twice.body.reason, "two tools")
        const badMock = yield* call<{ code: string }>("POST", "/api/agents", { body: { key: uniqueKey("mock"), mock: { turns: [{ delayMs: -1 }] } } })
        assert.strictEqual(badMock.status, 400)
        assert.strictEqual(badMock.body.code, "INVALID_AGENT")

        // An agent tool (by key) is stored by id, named after the key; an agent is not its own tool.
        const caller = yield* call<{ data: AgentBody }>("POST", "/api/agents", {
          body: { key: uniqueKey("caller"), tools: [{ agent: helper.key }], max_steps: 3, token_budget: 5000 }
        })
        assert.strictEqual(caller.status, 200, JSON.stringify(caller.body))
        assert.deepStrictEqual(caller.body.data.tools, [{
          agent: helper.id,
          name: `agent_${helper.key.replace(/[^A-Za-z0-9_-]/g, "_")}`,
          description: "looks things up"
        }])
        assert.deepInclude(caller.body.data, { max_steps: 3, token_budget: 5000 })
        const self = yield* call<{ reason: string }>("PUT", `/api/agents/${caller.body.data.id}`, {
          body: { tools: [{ agent: caller.body.data.id }] }
        })
        assert.strictEqual(self.status, 400)
        assert.include(self.body.reason, "its own tool")
        const unchanged = yield* call<{ data: AgentBody }>("GET", `/api/agents/${caller.body.data.id}`)
        assert.deepStrictEqual(unchanged.body.data.tools, caller.body.data.tools)
        // Out of range limits are refused by the schema.
        assert.strictEqual((yield* call("POST", "/api/agents", { body: { key: uniqueKey("x"), max_steps: 0 } })).status, 400)
      }))
  })
})
