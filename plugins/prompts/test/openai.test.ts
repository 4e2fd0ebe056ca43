/**
 * The OpenAI-compatible provider against a fake chat-completions server on loopback, which an
 * operator allowed (`TRELLIS_PROVIDERS_ALLOW_PRIVATE=true` in the server's configuration);
 * a failing provider is a 502 problem and an `error` row in the run log.
 */
import { assert, describe, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll } from "vitest"
import * as TestKit from "trellis/testing"
import { PromptsPlugin } from "../Plugin.ts"
import { call } from "./support.ts"

// The operator's setting, given to this file's server only (test files share a worker process).
const allowingPrivate = ConfigProvider.layer(
  ConfigProvider.fromEnvRecord({ ...process.env, TRELLIS_PROVIDERS_ALLOW_PRIVATE: "true" })
)

const received: Array<{ authorization: string | undefined; body: { model: string; messages: ReadonlyArray<{ content: string }> } }> = []
/** `slow` streams whose connection the server closed before answering in full. */
let slowClosed = 0
const fake = createServer((request, response) => {
  let text = ""
  request.on("data", (chunk: Buffer) => { text += chunk.toString() })
  request.on("end", () => {
    const body = JSON.parse(text) as { model: string; messages: ReadonlyArray<{ content: string }>; stream?: boolean }
    received.push({ authorization: request.headers.authorization, body })
    if (body.stream === true && body.model === "breaks") {
      // One piece of the answer, then the connection breaks (no [DONE], no chunked terminator).
      response.writeHead(200, { "content-type": "text/event-stream" })
      response.write(`data: ${JSON.stringify({ model: body.model, choices: [{ index: 0, delta: { content: "half an ans" } }] })}\n\n`, () => {
        setTimeout(() => response.socket?.destroy(), 50)
      })
      return
    }
    if (body.stream === true && body.model === "slow") {
      // One piece, then nothing: only the caller going away ends it.
      response.on("close", () => {
        if (!response.writableEnded) slowClosed++
      })
      response.writeHead(200, { "content-type": "text/event-stream" })
      response.write(`data: ${JSON.stringify({ model: body.model, choices: [{ index: 0, delta: { content: "thinking" } }] })}\n\n`)
      return
    }
    if (body.stream === true && body.model === "refuses") {
      response.writeHead(503, { "content-type": "text/plain" }).end("internal-upstream-secret")
      return
    }
    if (body.stream === true) {
      response.writeHead(200, { "content-type": "text/event-stream" })
      for (const piece of ["str", "eamed: ", body.messages[0].content]) {
        response.write(`data: ${JSON.stringify({ model: body.model, choices: [{ index: 0, delta: { content: piece } }] })}\n\n`)
      }
      response.write(`data: ${JSON.stringify({ model: body.model, choices: [], usage: { prompt_tokens: 5, completion_tokens: 3 } })}\n\n`)
      response.end("data: [DONE]\n\n")
      return
    }
    if (body.model === "broken") {
      response.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: "internal-upstream-secret" }))
      return
    }
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({
      model: body.model,
      choices: [{ index: 0, message: { role: "assistant", content: `echo: ${body.messages[0].content}` } }],
      usage: { prompt_tokens: 11, completion_tokens: 7 }
    }))
  })
})
let baseUrl = ""
beforeAll(() => new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", () => {
  baseUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`
  resolve()
})))
afterAll(() => new Promise<void>((resolve) => fake.close(() => resolve())))

describe("prompts plugin: OpenAI-compatible provider", () => {
  layer(TestKit.layer({ plugins: [PromptsPlugin] }).pipe(Layer.provide(allowingPrivate)), { timeout: 120_000 })((it) => {
    it.effect("calls chat completions and records provider, model and tokens", () =>
      Effect.gen(function*() {
        const ok = yield* call<{ result: { provider: string; model: string; output: string; prompt_tokens: number; output_tokens: number } }>(
          "POST",
          "/api/playground/run",
          { body: { content: "Hi {{x}}", variables: { x: 1 }, provider: "openai", base_url: baseUrl, api_key: "sk-test", model: "gpt-test" } }
        )
        assert.strictEqual(ok.status, 200)
        assert.deepStrictEqual(ok.body.result, { ...ok.body.result, provider: "openai", model: "gpt-test", output: "echo: Hi 1", prompt_tokens: 11, output_tokens: 7 })
        assert.strictEqual(received.at(-1)?.authorization, "Bearer sk-test")
        assert.strictEqual(received.at(-1)?.body.messages[0].content, "Hi 1")

        const failed = yield* call<{ code: string; run_id: string; rendered: string }>("POST", "/api/playground/run", {
          body: { content: "fail", provider: "openai", base_url: baseUrl, model: "broken" }
        })
        assert.strictEqual(failed.status, 502)
        assert.strictEqual(failed.body.code, "PROVIDER_FAILED")
        assert.strictEqual(failed.body.rendered, "fail")
        assert.notInclude(JSON.stringify(failed.body), "internal-upstream-secret", "the upstream body is not echoed")
        assert.include((failed.body as { detail?: string }).detail ?? "", "HTTP 500")
        const usage = yield* call<{ usage: ReadonlyArray<{ model: string; calls: number; errors: number; prompt_tokens: number }> }>(
          "GET",
          "/api/v1/llm-usage"
        )
        assert.deepStrictEqual(
          usage.body.usage.filter((r) => r.model === "gpt-test" || r.model === "broken").map((r) => [r.model, r.calls, r.errors]).sort(),
          [["broken", 1, 1], ["gpt-test", 1, 0]]
        )
      }))

    it.effect("streams a chat completion as Server-Sent Events and records it", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const response = yield* kit.request("POST", "/api/playground/run/stream", {
          body: { content: "to {{who}}", variables: { who: "you" }, provider: "openai", base_url: baseUrl, model: "gpt-stream" }
        })
        assert.strictEqual(response.status, 200)
        assert.include(response.headers["content-type"], "text/event-stream")
        const text = yield* response.text
        const events = text.trim().split("\n\n").map((frame) => {
          const [event, data] = frame.split("\n")
          return { event: event.slice(7), data: JSON.parse(data.slice(6)) as { content?: string; result?: { output: string; prompt_tokens: number; model: string }; run_id?: string } }
        })
        assert.deepStrictEqual(events.filter((e) => e.event === "delta").map((e) => e.data.content), ["str", "eamed: ", "to you"])
        const done = events.at(-1)
        assert.strictEqual(done?.event, "done")
        assert.strictEqual(done?.data.result?.output, "streamed: to you")
        assert.strictEqual(done?.data.result?.prompt_tokens, 5)
        assert.strictEqual(done?.data.result?.model, "gpt-stream")
        assert.isString(done?.data.run_id)
        const usage = yield* call<{ usage: ReadonlyArray<{ model: string; calls: number; output_tokens: number }> }>("GET", "/api/v1/llm-usage")
        assert.deepStrictEqual(usage.body.usage.filter((r) => r.model === "gpt-stream").map((r) => [r.calls, r.output_tokens]), [[1, 3]])
      }))

    it.effect("ends a stream with an error event when the provider's connection breaks mid-answer", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const response = yield* kit.request("POST", "/api/playground/run/stream", {
          body: { content: "break", provider: "openai", base_url: baseUrl, model: "breaks" }
        })
        assert.strictEqual(response.status, 200)
        const text = yield* response.text
        const events = text.trim().split("\n\n").map((frame) => {
          const [event, data] = frame.split("\n")
          return { event: event.slice(7), data: JSON.parse(data.slice(6)) as { content?: string; message?: string; run_id?: string } }
        })
        assert.deepStrictEqual(events.filter((e) => e.event === "delta").map((e) => e.data.content), ["half an ans"])
        const last = events.at(-1)
        assert.strictEqual(last?.event, "error", text)
        assert.isString(last?.data.run_id)
        const usage = yield* call<{ usage: ReadonlyArray<{ model: string; calls: number; errors: number }> }>("GET", "/api/v1/llm-usage")
        assert.deepStrictEqual(usage.body.usage.filter((r) => r.model === "breaks").map((r) => [r.calls, r.errors]), [[1, 1]])
      }))

    it.effect("openai-compatible through the playground; a provider switched off for the organization is refused and sends nothing", () =>
      Effect.gen(function*() {
        const ok = yield* call<{ result: { provider: string; model: string; output: string; prompt_tokens: number; output_tokens: number } }>(
          "POST",
          "/api/playground/run",
          { body: { content: "Hi {{x}}", variables: { x: 2 }, provider: "openai-compatible", base_url: baseUrl, model: "compat-model" } }
        )
        assert.strictEqual(ok.status, 200)
        assert.deepStrictEqual(ok.body.result, { ...ok.body.result, provider: "openai-compatible", model: "compat-model", output: "echo: Hi 2", prompt_tokens: 11, output_tokens: 7 })
        assert.isUndefined(received.at(-1)?.authorization, "no key configured or sent: no Authorization header")
        const usage = yield* call<{ usage: ReadonlyArray<{ provider: string; model: string; calls: number }> }>("GET", "/api/v1/llm-usage")
        assert.deepStrictEqual(usage.body.usage.filter((r) => r.model === "compat-model").map((r) => [r.provider, r.calls]), [["openai-compatible", 1]])

        assert.strictEqual((yield* call("PUT", "/api/settings/providers/openai-compatible", { body: { enabled: false } })).status, 200)
        const sent = received.length
        for (const path of ["/api/playground/run", "/api/playground/run/stream"]) {
          const refused = yield* call<{ code: string; detail: string }>("POST", path, {
            body: { content: "x", provider: "openai-compatible", base_url: baseUrl, model: "compat-model" }
          })
          assert.strictEqual(refused.status, 400, path)
          assert.strictEqual(refused.body.code, "PROVIDER_NOT_CONFIGURED", path)
          assert.include(refused.body.detail, "disabled", path)
        }
        assert.strictEqual(received.length, sent, "nothing was sent")
        assert.strictEqual((yield* call("PUT", "/api/settings/providers/openai-compatible", { body: { enabled: true } })).status, 200)
      }))

    it.effect("a client that leaves a stream aborts the provider request", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const before = slowClosed
        const first = yield* Effect.promise(async () => {
          const controller = new AbortController()
          const response = await fetch(`${kit.baseUrl}/api/playground/run/stream`, {
            method: "POST",
            headers: { authorization: `Bearer ${kit.adminToken}`, "content-type": "application/json" },
            body: JSON.stringify({ content: "take your time", provider: "openai", base_url: baseUrl, model: "slow" }),
            signal: controller.signal
          })
          const reader = response.body!.getReader()
          const chunk = await reader.read()
          controller.abort()
          await reader.cancel().catch(() => undefined)
          return new TextDecoder().decode(chunk.value)
        })
        assert.include(first, "thinking")
        // The server's call is interrupted with the response stream, and its request to the provider closed.
        while (slowClosed === before) yield* Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 10)))
        assert.strictEqual(slowClosed, before + 1)
      }))

    it.effect("a stream the provider refuses is a 502 problem that does not echo the provider's answer", () =>
      Effect.gen(function*() {
        const refused = yield* call<{ code: string; detail: string }>("POST", "/api/playground/run/stream", {
          body: { content: "x", provider: "openai", base_url: baseUrl, model: "refuses" }
        })
        assert.strictEqual(refused.status, 502)
        assert.strictEqual(refused.body.code, "PROVIDER_FAILED")
        assert.include(refused.body.detail, "HTTP 503")
        assert.notInclude(JSON.stringify(refused.body), "internal-upstream-secret")
      }))
  })
})
