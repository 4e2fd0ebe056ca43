/**
 * The `Models` service's implementation. Today: the offline `mock` provider only (PromptOps's
 * echo, or a {@link MockScript}); the real providers (the Vercel AI SDK's OpenAI, Anthropic,
 * Google and OpenAI-compatible clients) and usage records come with issue 12's providers work.
 */
import { Duration, Effect, Layer } from "effect"
import { estimateTokens, Models, ModelCallFailed, ProviderNotConfigured } from "./Models.ts"
import type { GenerateRequest, GenerateResult, MockTurn } from "./Models.ts"

const assistantTurns = (request: GenerateRequest) => request.messages.filter((m) => m.role === "assistant").length

const lastUserText = (request: GenerateRequest) => {
  const users = request.messages.filter((m) => m.role === "user")
  const last = users[users.length - 1]
  return last === undefined ? "" : last.content
}

/** PromptOps's mock answer: a fixed header and the prompt, echoed. */
export const echo = (model: string, prompt: string) => {
  const lines = prompt.split("\n").length
  return `[mock completion]\nmodel: ${model}\nprompt: ${[...prompt].length} chars, ${lines} line(s)\n\n${prompt}`
}

const playTurn = (request: GenerateRequest, model: string, turn: MockTurn | undefined, started: number) =>
  Effect.gen(function*() {
    if (turn?.delayMs !== undefined && turn.delayMs > 0) yield* Effect.sleep(Duration.millis(turn.delayMs))
    const attempt = request.attempt ?? 0
    if (turn?.error !== undefined && (turn.errorTimes === undefined || attempt < turn.errorTimes)) {
      return yield* new ModelCallFailed({ provider: "mock", model, message: turn.error, retryable: turn.retryable ?? true })
    }
    const prompt = request.messages.map((m) => "content" in m ? m.content : JSON.stringify(m.output)).join("\n")
    const text = turn === undefined ? echo(model, lastUserText(request)) : (turn.text ?? "")
    const chunks = turn?.chunks ?? (text === "" ? [] : [text])
    if (request.onDelta !== undefined) for (const chunk of chunks) yield* request.onDelta(chunk)
    const toolCalls = (turn?.toolCalls ?? []).map((call, index) => ({
      id: `mock_${assistantTurns(request)}_${index}`,
      name: call.name,
      input: call.input
    }))
    const result: GenerateResult = {
      provider: "mock",
      model,
      text,
      toolCalls,
      finishReason: toolCalls.length > 0 ? "tool-calls" : "stop",
      promptTokens: estimateTokens(prompt),
      outputTokens: estimateTokens(text),
      latencyMs: Date.now() - started
    }
    return result
  })

export const layer = Layer.succeed(Models, {
  generate: (request) =>
    Effect.suspend((): Effect.Effect<GenerateResult, ModelCallFailed | ProviderNotConfigured> => {
      const started = Date.now()
      if (request.provider !== "mock") {
        return Effect.fail(new ProviderNotConfigured({ provider: request.provider, message: `provider ${request.provider} is not available` }))
      }
      const model = request.model === undefined || request.model === "" ? "mock-1" : request.model
      const turns = request.mock?.turns
      const turn = turns === undefined ? undefined : turns[Math.min(assistantTurns(request), turns.length - 1)]
      return playTurn(request, model, turn, started)
    }),
  providers: () => Effect.succeed([{ name: "mock", aliases: [], configured: true, defaultModel: "mock-1", models: ["mock-1"] }])
})
