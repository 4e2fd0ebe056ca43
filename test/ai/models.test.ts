/**
 * `Models` on the Vercel AI SDK against a local OpenAI-compatible server (a real HTTP server on
 * loopback, which these `Models` instances are allowed to reach): `openai` and
 * `openai-compatible`, with and without streaming, tool calls, usage (reported and estimated),
 * a 500 whose body is never echoed, a slow answer aborted by interruption, the address policy,
 * a key sent only to its own origin, a provider an admin disabled, and one `ai.usage` row per call.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll } from "vitest"
import { ModelsConfig } from "../../src/ai/ModelsConfig.ts"
import * as ModelsLive from "../../src/ai/ModelsLive.ts"
import { CurrentPrincipal, Models, systemPrincipal } from "trellis/plugin"
import type { GenerateRequest } from "trellis/plugin"
import * as TestKit from "trellis/testing"
import * as FakeOpenai from "./fakeOpenai.ts"

let fake: FakeOpenai.FakeOpenai
beforeAll(async () => {
  fake = await FakeOpenai.start()
})
afterAll(() => fake.close())

const principal = systemPrincipal("models-test")

/** A `Models` on the test server's database with this configuration. */
const modelsWith = (values: Partial<typeof ModelsConfig.Service>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const context = yield* Layer.build(Layer.fresh(ModelsLive.layer).pipe(
      Layer.provide(ModelsConfig.layer(values)),
      Layer.provide(Layer.succeed(SqlClient.SqlClient, sql))
    ))
    return context.mapUnsafe.get(Models.key) as typeof Models.Service
  })

const generate = (models: typeof Models.Service, request: Omit<GenerateRequest, "usage"> & { readonly usage?: GenerateRequest["usage"] }) =>
  models.generate({ usage: { source: "test", refKey: "models.test" }, ...request }).pipe(Effect.provideService(CurrentPrincipal, principal))

const usageRow = (id: string | undefined) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{
      readonly provider: string
      readonly model: string
      readonly status: string
      readonly error: string
      readonly prompt_tokens: number
      readonly output_tokens: number
      readonly source: string
      readonly ref_key: string
      readonly run_id: string | null
      readonly organization_id: string
    }>`SELECT provider, model, status, error, prompt_tokens, output_tokens, source, ref_key, run_id, organization_id
      FROM ai.usage WHERE id = ${id ?? ""}`
    return rows[0]
  })

/** A real 10 ms wait (the test clock does not move by itself). */
const pause = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 10)))

const user = (content: string) => [{ role: "user" as const, content }]

const weather = { name: "weather", description: "The weather of a city", inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }

describe("Models on the AI SDK", () => {
  layer(TestKit.layer({ plugins: [] }), { timeout: 120_000 })((it) => {
    it.effect("openai: one chat completion with the call's key, usage from the provider, one usage row", () =>
      Effect.gen(function*() {
        const models = yield* modelsWith({ allowPrivate: true })
        const result = yield* generate(models, {
          provider: "openai",
          model: "gpt-test",
          baseUrl: fake.baseUrl,
          apiKey: Redacted.make("sk-call"),
          messages: [{ role: "system", content: "be brief" }, ...user("Hello")],
          usage: { source: "test", refKey: "greeting", runId: "42" }
        })
        assert.strictEqual(result.text, "echo: Hello")
        assert.deepStrictEqual([result.provider, result.model, result.promptTokens, result.outputTokens, result.finishReason], ["openai", "gpt-test", 11, 7, "stop"])
        const sent = fake.received.at(-1)!
        assert.strictEqual(sent.path, "/v1/chat/completions")
        assert.strictEqual(sent.headers.authorization, "Bearer sk-call")
        assert.deepStrictEqual(sent.body.messages.map((m) => m.role), ["system", "user"])
        const row = yield* usageRow(result.usageId)
        assert.deepStrictEqual(row, {
          provider: "openai",
          model: "gpt-test",
          status: "ok",
          error: "",
          prompt_tokens: 11,
          output_tokens: 7,
          source: "test",
          ref_key: "greeting",
          run_id: "42",
          organization_id: principal.organizationId
        })
      }))

    it.effect("openai-compatible: streamed deltas, usage from the stream, estimated when the provider reports none", () =>
      Effect.gen(function*() {
        const models = yield* modelsWith({ allowPrivate: true })
        const deltas: Array<string> = []
        const result = yield* generate(models, {
          provider: "openai-compatible",
          model: "local-model",
          baseUrl: `${fake.baseUrl}/v1`,
          messages: user("you"),
          onDelta: (text) => Effect.sync(() => deltas.push(text))
        })
        assert.deepStrictEqual(deltas, ["str", "eamed: ", "you"])
        assert.deepStrictEqual([result.text, result.promptTokens, result.outputTokens], ["streamed: you", 5, 3])
        assert.strictEqual(fake.received.at(-1)?.body.stream, true)
        assert.isUndefined(fake.received.at(-1)?.headers.authorization, "no key configured, none sent")

        const estimated = yield* generate(models, { provider: "openai-compatible", model: "no-usage", baseUrl: fake.baseUrl, messages: user("abcdefgh") })
        assert.strictEqual(estimated.text, "echo: abcdefgh")
        assert.deepStrictEqual([estimated.promptTokens, estimated.outputTokens], [2, 4])
        const row = yield* usageRow(estimated.usageId)
        assert.deepStrictEqual([row?.prompt_tokens, row?.output_tokens], [2, 4])
      }))

    it.effect("tool calls come back to the caller (no execute), streamed or not; the tool's answer goes back as a tool message", () =>
      Effect.gen(function*() {
        const models = yield* modelsWith({ allowPrivate: true })
        for (const streamed of [false, true]) {
          const result = yield* generate(models, {
            provider: "openai",
            model: "tools",
            baseUrl: fake.baseUrl,
            messages: user("weather in Paris?"),
            tools: [weather],
            ...(streamed ? { onDelta: () => Effect.void } : {})
          })
          assert.deepStrictEqual(result.toolCalls, [{ id: "call_1", name: "weather", input: { city: "Paris" } }], `streamed: ${streamed}`)
          assert.strictEqual(result.finishReason, "tool-calls")
          assert.deepStrictEqual([result.promptTokens, result.outputTokens], [20, 4])
          const sent = fake.received.at(-1)!
          assert.strictEqual(sent.body.tools?.[0]?.function.name, "weather")
          assert.deepStrictEqual(sent.body.tools?.[0]?.function.parameters, weather.inputSchema)
        }
        const followUp = yield* generate(models, {
          provider: "openai",
          model: "gpt-test",
          baseUrl: fake.baseUrl,
          messages: [
            ...user("weather in Paris?"),
            { role: "assistant", content: "", toolCalls: [{ id: "call_1", name: "weather", input: { city: "Paris" } }] },
            { role: "tool", toolCallId: "call_1", toolName: "weather", output: { sky: "clear" } },
            ...user("thanks")
          ],
          tools: [weather]
        })
        assert.strictEqual(followUp.text, "echo: thanks")
        const sent = fake.received.at(-1)!
        assert.deepStrictEqual(sent.body.messages.map((m) => m.role), ["user", "assistant", "tool", "user"])
        assert.strictEqual(sent.body.messages[2].tool_call_id, "call_1")
        assert.include(String(sent.body.messages[2].content), "clear")
      }))

    it.effect("a 500 is a retryable failure naming the status only, recorded as an error row", () =>
      Effect.gen(function*() {
        const models = yield* modelsWith({ allowPrivate: true })
        for (const streamed of [false, true]) {
          const exit = yield* Effect.exit(generate(models, {
            provider: "openai",
            model: "broken",
            baseUrl: fake.baseUrl,
            messages: user("x"),
            ...(streamed ? { onDelta: () => Effect.void } : {})
          }))
          assert.isTrue(Exit.isFailure(exit))
          const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
          assert.strictEqual(error?._tag, "ModelCallFailed")
          if (error?._tag !== "ModelCallFailed") return
          assert.deepStrictEqual([error.reason, error.status, error.retryable], ["status", 500, true])
          assert.include(error.message, "HTTP 500")
          assert.notInclude(JSON.stringify(error), "internal-upstream-secret")
          const row = yield* usageRow(error.usageId)
          assert.deepStrictEqual([row?.status, row?.model, row?.error], ["error", "broken", error.message])
        }
      }))

    it.effect("interrupting a call aborts the provider request and records it as cancelled", () =>
      Effect.gen(function*() {
        const models = yield* modelsWith({ allowPrivate: true })
        const sql = yield* SqlClient.SqlClient
        for (const streamed of [false, true]) {
          const before = fake.aborted()
          const sent = fake.received.length
          const fiber = yield* Effect.forkChild(generate(models, {
            provider: "openai-compatible",
            model: "slow",
            baseUrl: fake.baseUrl,
            messages: user("take your time"),
            usage: { source: "test", refKey: `slow-${streamed}` },
            ...(streamed ? { onDelta: () => Effect.void } : {})
          }))
          while (fake.received.length === sent) yield* pause
          yield* Fiber.interrupt(fiber)
          while (fake.aborted() === before) yield* pause
          const rows = yield* sql<{ readonly status: string; readonly error: string }>`SELECT status, error FROM ai.usage WHERE ref_key = ${`slow-${streamed}`}`
          assert.deepStrictEqual(rows.map((r) => [r.status, r.error]), [["error", "cancelled"]])
        }
      }))

    it.effect("the outbound address policy refuses a loopback endpoint unless allowed: nothing is sent", () =>
      Effect.gen(function*() {
        const models = yield* modelsWith({ allowPrivate: false })
        const sent = fake.received.length
        for (const provider of ["openai", "openai-compatible", "ollama"]) {
          const exit = yield* Effect.exit(generate(models, { provider, model: "gpt-test", baseUrl: fake.baseUrl, messages: user("x") }))
          const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
          assert.strictEqual(error?._tag, "ModelCallFailed", provider)
          if (error?._tag === "ModelCallFailed") assert.deepStrictEqual([error.reason, error.retryable], ["address", false])
        }
        assert.strictEqual(fake.received.length, sent)
      }))

    it.effect("environment endpoint and key: the key goes only to its own origin; unknown and unconfigured providers", () =>
      Effect.gen(function*() {
        const models = yield* modelsWith({
          allowPrivate: true,
          compatibleBaseUrl: fake.baseUrl,
          compatibleApiKey: Redacted.make("sk-env")
        })
        const configured = yield* generate(models, { provider: "openai-compatible", messages: user("a") })
        assert.strictEqual(configured.model, "default")
        assert.strictEqual(fake.received.at(-1)?.headers.authorization, "Bearer sk-env")
        // Another origin (the same server by another name): the configured key stays home.
        yield* generate(models, { provider: "openai-compatible", baseUrl: fake.baseUrl.replace("127.0.0.1", "localhost"), messages: user("b") })
        assert.isUndefined(fake.received.at(-1)?.headers.authorization)
        const providers = yield* models.providers()
        assert.isTrue(providers.find((p) => p.name === "openai-compatible")?.configured)
        assert.isFalse(providers.find((p) => p.name === "anthropic")?.configured)
        assert.deepStrictEqual(providers.find((p) => p.name === "anthropic")?.aliases, ["claude"])
        for (const [provider, reason] of [["gpt", "unknown"], ["claude", "unconfigured"], ["gemini", "unconfigured"], ["ollama", "unconfigured"]] as const) {
          const exit = yield* Effect.exit(generate(models, { provider, messages: user("x") }))
          const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
          assert.strictEqual(error?._tag, "ProviderNotConfigured", provider)
          if (error?._tag === "ProviderNotConfigured") assert.strictEqual(error.reason, reason, provider)
        }
      }))

    it.effect("openai without a configured endpoint: nothing without a key; a key sent with the call goes to OpenAI's public API", () =>
      Effect.gen(function*() {
        const models = yield* modelsWith({ allowPrivate: false })
        assert.isFalse((yield* models.providers()).find((p) => p.name === "openai")?.configured)
        const unkeyed = yield* Effect.exit(generate(models, { provider: "openai", messages: user("x") }))
        const refused = Exit.isFailure(unkeyed) ? unkeyed.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
        assert.strictEqual(refused?._tag, "ProviderNotConfigured")
        // PromptOps's console sends `api_key` and no `base_url`. This machine has no route to
        // OpenAI, so the call fails on the way there, not for want of an endpoint.
        const keyed = yield* Effect.exit(generate(models, { provider: "openai", apiKey: Redacted.make("sk-call"), messages: user("x") }))
        const failed = Exit.isFailure(keyed) ? keyed.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
        assert.strictEqual(failed?._tag, "ModelCallFailed", JSON.stringify(failed))
      }))

    it.effect("retention: usage rows older than TRELLIS_LLM_USAGE_RETENTION_DAYS are deleted (at start, then hourly)", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const insert = (id: string, daysAgo: number) =>
          sql`INSERT INTO ai.usage (id, organization_id, source, provider, model, status, created_at)
            VALUES (${id}, ${principal.organizationId}, 'test', 'mock', 'mock-1', 'ok', now() - make_interval(days => ${daysAgo}))`
        const old = `old-${crypto.randomUUID()}`
        const recent = `recent-${crypto.randomUUID()}`
        yield* insert(old, 10)
        yield* insert(recent, 2)
        yield* modelsWith({ usageRetentionDays: 5 })
        const left = () => sql<{ readonly id: string }>`SELECT id FROM ai.usage WHERE id IN (${old}, ${recent})`
        while ((yield* left()).length === 2) yield* pause
        assert.deepStrictEqual((yield* left()).map((r) => r.id), [recent])
      }))

    it.effect("a provider an admin disabled is refused by generate; GET/PUT /api/settings/providers", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const models = yield* modelsWith({ allowPrivate: true })
        const json = (method: "GET" | "PUT", path: string, body?: unknown) =>
          Effect.gen(function*() {
            const response = yield* kit.request(method, path, body === undefined ? undefined : { body })
            return { status: response.status, body: JSON.parse(yield* response.text) as Record<string, unknown> }
          })
        const listed = yield* json("GET", "/api/settings/providers")
        assert.strictEqual(listed.status, 200)
        const list = listed.body.data as ReadonlyArray<{ key: string; enabled: boolean; configured: boolean; defaultModel: string }>
        assert.deepStrictEqual(list.map((p) => p.key), ["openai", "anthropic", "google", "ollama", "openai-compatible", "mock"])
        assert.isTrue(list.every((p) => p.enabled))
        assert.deepStrictEqual(list.find((p) => p.key === "mock"), { ...list.find((p) => p.key === "mock")!, configured: true, defaultModel: "mock-1" })

        const off = yield* json("PUT", "/api/settings/providers/openai-compatible", { enabled: false })
        assert.strictEqual(off.status, 200)
        assert.strictEqual((off.body.data as { enabled: boolean }).enabled, false)
        const sent = fake.received.length
        const exit = yield* Effect.exit(generate(models, { provider: "openai-compatible", baseUrl: fake.baseUrl, messages: user("x") }))
        const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
        assert.strictEqual(error?._tag, "ProviderNotConfigured")
        if (error?._tag === "ProviderNotConfigured") {
          assert.strictEqual(error.reason, "disabled")
          assert.include(error.message, "disabled")
        }
        assert.strictEqual(fake.received.length, sent, "nothing sent")
        // An alias switches the provider itself.
        const claudeOff = yield* json("PUT", "/api/settings/providers/claude", { enabled: false })
        assert.strictEqual((claudeOff.body.data as { key: string }).key, "anthropic")
        const after = (yield* json("GET", "/api/settings/providers")).body.data as ReadonlyArray<{ key: string; enabled: boolean }>
        assert.deepStrictEqual(after.filter((p) => !p.enabled).map((p) => p.key), ["anthropic", "openai-compatible"])

        const unknown = yield* json("PUT", "/api/settings/providers/nope", { enabled: false })
        assert.strictEqual(unknown.status, 404)
        assert.strictEqual(unknown.body.code, "PROVIDER_NOT_FOUND")
        const bad = yield* json("PUT", "/api/settings/providers/openai", { enabled: "no" })
        assert.strictEqual(bad.status, 422)
        const unchanged = (yield* json("GET", "/api/settings/providers")).body.data as ReadonlyArray<{ key: string; enabled: boolean }>
        assert.isTrue(unchanged.find((p) => p.key === "openai")?.enabled)

        yield* json("PUT", "/api/settings/providers/openai-compatible", { enabled: true })
        yield* json("PUT", "/api/settings/providers/anthropic", { enabled: true })
        const again = yield* generate(models, { provider: "openai-compatible", baseUrl: fake.baseUrl, messages: user("back") })
        assert.strictEqual(again.text, "echo: back")
      }))
  })
})
