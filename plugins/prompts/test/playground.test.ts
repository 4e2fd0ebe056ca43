/**
 * The playground with the offline mock provider: rendering by id, by key and env, pinned to a
 * version, or inline; a missing variable stays `{{name}}` and is listed; the run log feeds
 * `/api/v1/llm-usage`; provider base URLs that reach internal addresses are refused.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"
import { PromptsPlugin } from "../Plugin.ts"
import { isInternalAddress } from "../Providers.ts"
import { call, createPrompt, publish, uniqueKey } from "./support.ts"

interface RunBody {
  readonly rendered: string
  readonly result: { readonly provider: string; readonly model: string; readonly output: string; readonly prompt_tokens: number }
  readonly run_id: string
}

describe("prompts plugin: playground", () => {
  layer(TestKit.layer({ plugins: [PromptsPlugin] }), { timeout: 120_000 })((it) => {
    it.effect("renders and echoes deterministically with the mock provider", () =>
      Effect.gen(function*() {
        const inline = { content: "Hello {{ name }}, you are {{role}}.", variables: { name: "Ada", role: "admin" } }
        const first = yield* call<RunBody>("POST", "/api/playground/run", { body: inline })
        assert.strictEqual(first.status, 200)
        assert.strictEqual(first.body.rendered, "Hello Ada, you are admin.")
        assert.strictEqual(first.body.result.provider, "mock")
        assert.strictEqual(first.body.result.model, "mock-1")
        assert.include(first.body.result.output, "Hello Ada, you are admin.")
        const second = yield* call<RunBody>("POST", "/api/playground/run", { body: { ...inline, provider: "mock" } })
        assert.strictEqual(second.body.result.output, first.body.result.output)
        assert.notStrictEqual(second.body.run_id, first.body.run_id)
      }))

    it.effect("renders a prompt by id, by key and env (what SDKs get), and pinned to a version", () =>
      Effect.gen(function*() {
        const key = uniqueKey("play")
        const id = yield* createPrompt({ key, content: "v1 for {{who}}", env: "prod", model: "gpt-4o" })
        yield* publish(id)
        yield* call("PUT", `/api/prompts/${id}`, { body: { content: "draft for {{who}}" } })
        const byId = yield* call<RunBody>("POST", "/api/playground/run", { body: { id, variables: { who: "me" } } })
        assert.strictEqual(byId.body.rendered, "draft for me")
        assert.strictEqual(byId.body.result.model, "gpt-4o")
        const byKey = yield* call<RunBody>("POST", "/api/playground/run", { body: { key, env: "prod", variables: { who: "me" } } })
        // The workspace serves the working copy (`serving: "live"`, the default).
        assert.strictEqual(byKey.body.rendered, "draft for me")
        yield* publish(id)
        const pinned = yield* call<RunBody>("POST", "/api/playground/run", { body: { id, version: "v1", variables: { who: "you" } } })
        assert.strictEqual(pinned.body.rendered, "v1 for you")
        const missingPrompt = yield* call<{ code: string }>("POST", "/api/playground/run", { body: { key: uniqueKey("nope") } })
        assert.strictEqual(missingPrompt.status, 404)
      }))

    it.effect("leaves a missing variable as {{name}} and lists it; records nothing for a refused run", () =>
      Effect.gen(function*() {
        const rendered = yield* call<RunBody & { missing_variables: ReadonlyArray<string> }>("POST", "/api/playground/run", {
          body: { content: "{{a}} and {{b}} and {{ a }}", variables: { b: "x" } }
        })
        assert.strictEqual(rendered.status, 200)
        assert.strictEqual(rendered.body.rendered, "{{a}} and x and {{ a }}")
        assert.deepStrictEqual(rendered.body.missing_variables, ["a"])
        const before = yield* call<{ totals: { calls: number } }>("GET", "/api/v1/llm-usage")
        const nothing = yield* call<{ code: string }>("POST", "/api/playground/run", { body: {} })
        assert.strictEqual(nothing.status, 400)
        assert.strictEqual(nothing.body.code, "INVALID_PLAYGROUND_REQUEST")
        const unknown = yield* call<{ code: string }>("POST", "/api/playground/run", { body: { content: "x", provider: "gpt" } })
        assert.strictEqual(unknown.body.code, "UNKNOWN_PROVIDER")
        const after = yield* call<{ totals: { calls: number } }>("GET", "/api/v1/llm-usage")
        assert.strictEqual(after.body.totals.calls, before.body.totals.calls)
      }))

    it.effect("refuses OpenAI-compatible base URLs on loopback, private or link-local addresses", () =>
      Effect.gen(function*() {
        for (const base_url of ["http://127.0.0.1:9/v1", "http://localhost:8080", "http://10.1.2.3", "http://[::1]:8080", "http://169.254.169.254", "http://192.168.1.1"]) {
          const refused = yield* call<{ code: string }>("POST", "/api/playground/run", {
            body: { content: "hi", provider: "openai", base_url, api_key: "k" }
          })
          assert.strictEqual(refused.status, 400, base_url)
          assert.strictEqual(refused.body.code, "PROVIDER_ADDRESS_REFUSED", base_url)
        }
        const unconfigured = yield* call<{ code: string }>("POST", "/api/playground/run", { body: { content: "hi", provider: "openai" } })
        assert.strictEqual(unconfigured.body.code, "PROVIDER_NOT_CONFIGURED")
        assert.isTrue(isInternalAddress("::ffff:127.0.0.1"))
        assert.isTrue(isInternalAddress("fd00::1"))
        assert.isFalse(isInternalAddress("8.8.8.8"))
        assert.isFalse(isInternalAddress("2001:4860:4860::8888"))
      }))

    it.effect("lists providers and models, and sums calls per day and model", () =>
      Effect.gen(function*() {
        const providers = yield* call<{ data: ReadonlyArray<string> }>("GET", "/api/playground/providers")
        assert.deepStrictEqual(providers.body.data, ["mock"], "openai is listed once an endpoint is configured")
        // Every listed name runs as is; PromptOps's other names are served (the platform's
        // `Models`) but have no key or endpoint here, so they are not listed and are refused.
        for (const provider of providers.body.data) {
          assert.strictEqual((yield* call("POST", "/api/playground/run", { body: { content: "x", provider } })).status, 200, provider)
        }
        for (const provider of ["claude", "ollama", "gemini"]) {
          const refused = yield* call<{ code: string }>("POST", "/api/playground/run", { body: { content: "x", provider } })
          assert.strictEqual(refused.status, 400, provider)
          assert.strictEqual(refused.body.code, "PROVIDER_NOT_CONFIGURED", provider)
        }
        const models = yield* call<{ models: ReadonlyArray<{ id: string; provider: string }> }>("GET", "/api/v1/models")
        assert.isTrue(models.body.models.some((m) => m.id === "mock-1" && m.provider === "mock"))
        const before = yield* call<{ totals: { calls: number; prompt_tokens: number } }>("GET", "/api/v1/llm-usage")
        yield* call("POST", "/api/playground/run", { body: { content: "count me", model: "mock-usage" } })
        const after = yield* call<{
          usage: ReadonlyArray<{ day: string; model: string; calls: number; prompt_tokens: number }>
          totals: { calls: number; prompt_tokens: number }
        }>("GET", "/api/v1/llm-usage?days=7")
        assert.strictEqual(after.body.totals.calls, before.body.totals.calls + 1)
        const row = after.body.usage.find((r) => r.model === "mock-usage")
        assert.strictEqual(row?.calls, 1)
        assert.strictEqual(row?.prompt_tokens, 2)
        assert.strictEqual(row?.day, new Date().toISOString().slice(0, 10))
      }))

    it.effect("streams the mock completion as Server-Sent Events, after the same checks", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const response = yield* kit.request("POST", "/api/playground/run/stream", { body: { content: "Hi {{n}}", variables: { n: 1 } } })
        assert.strictEqual(response.status, 200)
        const text = yield* response.text
        const deltas = [...text.matchAll(/event: delta\ndata: (.*)\n/g)].map((m) => (JSON.parse(m[1]) as { content: string }).content)
        const done = /event: done\ndata: (.*)\n/.exec(text)
        const result = JSON.parse(done?.[1] ?? "{}") as { result: { output: string } }
        assert.strictEqual(deltas.join(""), result.result.output)
        assert.include(result.result.output, "Hi 1")
        const refused = yield* call<{ code: string }>("POST", "/api/playground/run/stream", { body: { content: "Hi {{n}}", provider: "gpt" } })
        assert.strictEqual(refused.status, 400)
        assert.strictEqual(refused.body.code, "UNKNOWN_PROVIDER")
      }))
  })
})
