/**
 * The `Models` service's implementation, on the Vercel AI SDK (`ai` v7): `generateText` for a
 * call without `onDelta`, `streamText` for one with it, always ONE model turn (tools are passed
 * with `jsonSchema()` and no `execute`, so the calls the model asks for come back to the
 * caller; the SDK's own retries are off: retrying is the caller's, a run step's).
 *
 * - Providers: `openai` (chat completions, any OpenAI-compatible base URL), `anthropic`
 *   (alias `claude`), `google` (alias `gemini`), `ollama` and `openai-compatible` (the SDK's
 *   OpenAI-compatible client), and the offline `mock` (PromptOps's echo, or a `MockScript`).
 * - Endpoint and key, per call: the request's, else the environment's (`ModelsConfig`). A
 *   configured key is only sent to the origin it was configured for. (The prompts playground
 *   resolves its workspace settings first and passes them as the request's.)
 * - Every request goes out through a `fetch` built on the platform's `OutboundHttp.send`: the
 *   address policy is checked before the call and again on connect (DNS rebinding), no
 *   redirect is followed. A provider's error body is never echoed, keys are never logged.
 * - Interrupting `generate` aborts the HTTP request (the SDK's `abortSignal`).
 * - Every call, ok, failed or interrupted, is one row of `ai.usage` (tokens from the SDK,
 *   estimated when the provider reports none); rows older than
 *   `TRELLIS_LLM_USAGE_RETENTION_DAYS` are deleted hourly.
 * - A provider an admin disabled for the organization (`ai.provider_states`) is refused.
 */
import { createAnthropic } from "@ai-sdk/anthropic"
import { createGoogleGenerativeAI } from "@ai-sdk/google"
import { createOpenAI } from "@ai-sdk/openai"
import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { APICallError, generateText, jsonSchema, streamText } from "ai"
import type { LanguageModel, ModelMessage as SdkMessage, ToolSet } from "ai"
import { Cause, Context, Duration, Effect, Exit, Layer, Redacted, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import { CurrentPrincipal } from "../auth/Principal.ts"
import * as OutboundHttp from "../outbound/OutboundHttp.ts"
import { estimateTokens, Models, ModelCallFailed, ProviderNotConfigured } from "./Models.ts"
import type { GenerateRequest, GenerateResult, MockTurn, ProviderInfo, ToolCall } from "./Models.ts"
import { ModelsConfig } from "./ModelsConfig.ts"

const assistantTurns = (request: GenerateRequest) => request.messages.filter((m) => m.role === "assistant").length

const lastUserText = (request: GenerateRequest) => {
  const users = request.messages.filter((m) => m.role === "user")
  const last = users[users.length - 1]
  return last === undefined ? "" : last.content
}

const promptText = (request: GenerateRequest) =>
  request.messages.map((m) => "content" in m ? m.content : JSON.stringify(m.output)).join("\n")

/** PromptOps's mock answer: a fixed header and the prompt, echoed. */
export const echo = (model: string, prompt: string) => {
  const lines = prompt.split("\n").length
  return `[mock completion]\nmodel: ${model}\nprompt: ${[...prompt].length} chars, ${lines} line(s)\n\n${prompt}`
}

/** The unscripted mock answer cut into four pieces, as the playground has always streamed it. */
const echoChunks = (text: string): ReadonlyArray<string> => {
  const size = Math.max(1, Math.ceil(text.length / 4))
  const pieces: Array<string> = []
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size))
  return pieces
}

const playTurn = (request: GenerateRequest, model: string, turn: MockTurn | undefined, started: number) =>
  Effect.gen(function*() {
    if (turn?.delayMs !== undefined && turn.delayMs > 0) yield* Effect.sleep(Duration.millis(turn.delayMs))
    const attempt = request.attempt ?? 0
    if (turn?.error !== undefined && (turn.errorTimes === undefined || attempt < turn.errorTimes)) {
      return yield* new ModelCallFailed({ provider: "mock", model, message: turn.error, retryable: turn.retryable ?? true })
    }
    const text = turn === undefined ? echo(model, lastUserText(request)) : (turn.text ?? "")
    const chunks = turn?.chunks ?? (turn === undefined ? echoChunks(text) : text === "" ? [] : [text])
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
      promptTokens: estimateTokens(promptText(request)),
      outputTokens: estimateTokens(text),
      latencyMs: Date.now() - started
    }
    return result
  })

type Kind = "openai" | "anthropic" | "google" | "compatible" | "mock"

/** A provider as the environment configures it. */
interface ProviderDef {
  readonly name: string
  readonly aliases: ReadonlyArray<string>
  readonly kind: Kind
  /** The environment's endpoint, else the provider's public one (`undefined`: none). */
  readonly envBaseUrl: string | undefined
  readonly defaultBaseUrl: string | undefined
  readonly envKey: Redacted.Redacted<string> | undefined
  readonly defaultModel: string
  /** Whether a call needs a key (the hosted APIs). */
  readonly needsKey: boolean
  /**
   * Whether the public endpoint is used only with a key at hand, the environment's or the
   * call's (OpenAI): an unconfigured server sends nothing there, and a key sent with the call
   * is enough, as PromptOps's console expects (it sends `api_key` and no `base_url`).
   */
  readonly defaultNeedsKey: boolean
}

type Config = typeof ModelsConfig.Service

export const definitions = (config: Config): ReadonlyArray<ProviderDef> => [
  {
    name: "openai",
    aliases: [],
    kind: "openai",
    envBaseUrl: config.openaiBaseUrl,
    defaultBaseUrl: "https://api.openai.com/v1",
    envKey: config.openaiApiKey,
    defaultModel: config.openaiModel,
    needsKey: false,
    defaultNeedsKey: true
  },
  {
    name: "anthropic",
    aliases: ["claude"],
    kind: "anthropic",
    envBaseUrl: config.anthropicBaseUrl,
    defaultBaseUrl: "https://api.anthropic.com/v1",
    envKey: config.anthropicApiKey,
    defaultModel: config.anthropicModel,
    needsKey: true,
    defaultNeedsKey: false
  },
  {
    name: "google",
    aliases: ["gemini"],
    kind: "google",
    envBaseUrl: undefined,
    defaultBaseUrl: "https://generativelanguage.googleapis.com/v1beta",
    envKey: config.googleApiKey,
    defaultModel: config.googleModel,
    needsKey: true,
    defaultNeedsKey: false
  },
  {
    name: "ollama",
    aliases: [],
    kind: "compatible",
    envBaseUrl: config.ollamaBaseUrl,
    defaultBaseUrl: undefined,
    envKey: undefined,
    defaultModel: config.ollamaModel,
    needsKey: false,
    defaultNeedsKey: false
  },
  {
    name: "openai-compatible",
    aliases: [],
    kind: "compatible",
    envBaseUrl: config.compatibleBaseUrl,
    defaultBaseUrl: undefined,
    envKey: config.compatibleApiKey,
    defaultModel: config.compatibleModel,
    needsKey: false,
    defaultNeedsKey: false
  },
  {
    name: "mock",
    aliases: [],
    kind: "mock",
    envBaseUrl: undefined,
    defaultBaseUrl: undefined,
    envKey: undefined,
    defaultModel: "mock-1",
    needsKey: false,
    defaultNeedsKey: false
  }
]

const nonEmpty = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === "" ? undefined : value.trim()

/** Whether two URLs reach the same origin (scheme, host, port). */
export const sameOrigin = (a: string, b: string): boolean => {
  if (!URL.canParse(a) || !URL.canParse(b)) return a.replace(/\/+$/, "") === b.replace(/\/+$/, "")
  return new URL(a).origin === new URL(b).origin
}

/** Whether a provider can be called without a per-call key or endpoint. */
export const isConfigured = (def: ProviderDef): boolean =>
  def.kind === "mock" ||
  ((def.envBaseUrl ?? defaultBaseOf(def, undefined)) !== undefined && (!def.needsKey || def.envKey !== undefined))

/** The provider's public endpoint for a call with `requestKey` (none when it needs a key and there is none). */
const defaultBaseOf = (def: ProviderDef, requestKey: string | undefined): string | undefined =>
  def.defaultNeedsKey && def.envKey === undefined && requestKey === undefined ? undefined : def.defaultBaseUrl

/** The OpenAI-style base URL: as the playground always did, `/v1` is added when it does not end with it. */
const openaiBase = (baseUrl: string) => {
  const trimmed = baseUrl.replace(/\/+$/, "")
  return /\/v1$/.test(trimmed) ? trimmed : `${trimmed}/v1`
}

/** The longest a provider request (and its streamed answer) may take. */
const callTimeoutMs = 300_000

/** Thrown by the guarded fetch: the SDK wraps it, `failure` finds it again. */
class OutboundFetchError extends Error {
  readonly outbound: OutboundHttp.OutboundError
  constructor(outbound: OutboundHttp.OutboundError) {
    super(outbound._tag === "OutboundRefused" ? outbound.reason : outbound.message)
    this.outbound = outbound
  }
}

const headerRecord = (headers: RequestInit["headers"]): Record<string, string> => {
  const record: Record<string, string> = {}
  new Headers(headers).forEach((value, name) => {
    record[name] = value
  })
  return record
}

/**
 * The SDK's `fetch`: every request through the platform's guarded client (address policy
 * before the call and on connect, one connection per request, no redirects); the SDK's
 * abort signal interrupts it.
 */
export const guardedFetch = (policy: OutboundHttp.Policy, timeoutMs: number, options?: { readonly withoutKey?: boolean }) =>
async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url
  const headers = headerRecord(init?.headers)
  // A call without a key: the OpenAI client still sends `Bearer ` (empty); nothing is sent instead.
  if (options?.withoutKey === true) delete headers.authorization
  const raw = init?.body
  const body = raw === undefined || raw === null
    ? undefined
    : typeof raw === "string"
    ? raw
    : new Uint8Array(await new Response(raw).arrayBuffer())
  const exit = await Effect.runPromiseExit(
    OutboundHttp.send({ url, method: init?.method ?? "GET", headers, body, timeoutMs }, policy),
    { signal: init?.signal ?? undefined }
  )
  if (Exit.isSuccess(exit)) return exit.value
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "Some") throw new OutboundFetchError(error.value)
  throw new DOMException("The request was aborted", "AbortError")
}

/** The first `OutboundFetchError` or `APICallError` in an error's cause chain. */
const rootCause = (error: unknown): unknown => {
  let current: unknown = error
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current instanceof OutboundFetchError || APICallError.isInstance(current)) return current
    current = (current as { readonly cause?: unknown }).cause
  }
  return error
}

/** What a failed SDK call becomes: the status or the transport's reason, never the provider's body. */
const failure = (provider: string, model: string, error: unknown): ModelCallFailed => {
  const cause = rootCause(error)
  if (cause instanceof OutboundFetchError) {
    if (cause.outbound._tag === "OutboundRefused") {
      return new ModelCallFailed({
        provider,
        model,
        message: `${provider}: the address is refused: ${cause.outbound.reason}`,
        retryable: false,
        reason: "address"
      })
    }
    return new ModelCallFailed({ provider, model, message: `${provider}: ${cause.outbound.message}`, retryable: true, reason: "connection" })
  }
  if (APICallError.isInstance(cause)) {
    const status = cause.statusCode
    if (status !== undefined && status >= 200 && status < 300) {
      return new ModelCallFailed({
        provider,
        model,
        message: `${provider}: the provider's answer is not a valid response (HTTP ${status})`,
        retryable: true,
        reason: "connection"
      })
    }
    if (status !== undefined) {
      return new ModelCallFailed({
        provider,
        model,
        message: `${provider}: the provider answered HTTP ${status}`,
        retryable: status === 408 || status === 409 || status === 429 || status >= 500,
        reason: "status",
        status
      })
    }
    return new ModelCallFailed({ provider, model, message: `${provider}: the provider could not be reached`, retryable: true, reason: "connection" })
  }
  const name = error instanceof Error ? error.name : "Error"
  // The SDK's own errors (a malformed answer, a stream cut mid-way): the kind, not the text.
  return new ModelCallFailed({
    provider,
    model,
    message: `${provider}: the provider's answer could not be used (${name})`,
    retryable: true,
    reason: "connection"
  })
}

const toSdkMessages = (request: GenerateRequest): Array<SdkMessage> =>
  request.messages.map((message): SdkMessage => {
    switch (message.role) {
      case "system":
        return { role: "system", content: message.content }
      case "user":
        return { role: "user", content: message.content }
      case "assistant": {
        const calls = message.toolCalls ?? []
        if (calls.length === 0) return { role: "assistant", content: message.content }
        return {
          role: "assistant",
          content: [
            ...(message.content === "" ? [] : [{ type: "text" as const, text: message.content }]),
            ...calls.map((call) => ({ type: "tool-call" as const, toolCallId: call.id, toolName: call.name, input: call.input }))
          ]
        }
      }
      case "tool":
        return {
          role: "tool",
          content: [{
            type: "tool-result",
            toolCallId: message.toolCallId,
            toolName: message.toolName,
            output: typeof message.output === "string"
              ? { type: "text", value: message.output }
              : { type: "json", value: JSON.parse(JSON.stringify(message.output ?? null)) }
          }]
        }
    }
  })

const toSdkTools = (request: GenerateRequest): ToolSet | undefined => {
  if (request.tools === undefined || request.tools.length === 0) return undefined
  const tools: ToolSet = {}
  for (const spec of request.tools) {
    tools[spec.name] = {
      ...(spec.description === undefined ? {} : { description: spec.description }),
      inputSchema: jsonSchema(spec.inputSchema as Parameters<typeof jsonSchema>[0])
    }
  }
  return tools
}

const toolsOption = (request: GenerateRequest): { readonly tools?: ToolSet } => {
  const tools = toSdkTools(request)
  return tools === undefined ? {} : { tools }
}

/** A resolved call: where it goes, with which key, which model. */
interface Target {
  readonly def: ProviderDef
  readonly baseUrl: string
  readonly apiKey: string | undefined
  readonly model: string
}

const languageModel = (target: Target, policy: OutboundHttp.Policy): LanguageModel => {
  // Always a string: without one the SDK's clients would read their own environment variables.
  const apiKey = target.apiKey ?? ""
  const fetch = guardedFetch(policy, callTimeoutMs, { withoutKey: target.apiKey === undefined })
  switch (target.def.kind) {
    case "openai":
      return createOpenAI({ baseURL: openaiBase(target.baseUrl), apiKey, fetch }).chat(target.model)
    case "anthropic":
      return createAnthropic({ baseURL: target.baseUrl.replace(/\/+$/, ""), apiKey, fetch })(target.model)
    case "google":
      return createGoogleGenerativeAI({ baseURL: target.baseUrl.replace(/\/+$/, ""), apiKey, fetch })(target.model)
    case "compatible":
    case "mock":
      return createOpenAICompatible({
        name: target.def.name,
        baseURL: openaiBase(target.baseUrl),
        ...(target.apiKey === undefined ? {} : { apiKey }),
        includeUsage: true,
        fetch
      })(target.model)
  }
}

/** The SDK's usage, or an estimate when the provider reported none. */
const tokens = (reported: number | undefined, text: string) => reported ?? estimateTokens(text)

interface Collected {
  readonly text: string
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly finishReason: string
  readonly promptTokens: number | undefined
  readonly outputTokens: number | undefined
  readonly model: string | undefined
}

/** What a turn sends, streamed or not: the request's messages, tools and limits; no SDK retries (ours are the caller's). */
const callOptions = (model: LanguageModel, request: GenerateRequest, signal: AbortSignal) => ({
  model,
  messages: toSdkMessages(request),
  allowSystemInMessages: true,
  ...toolsOption(request),
  ...(request.maxOutputTokens === undefined ? {} : { maxOutputTokens: request.maxOutputTokens }),
  ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
  maxRetries: 0,
  abortSignal: signal
})

/** One non-streamed turn. */
const callOnce = (model: LanguageModel, request: GenerateRequest, signal: AbortSignal) =>
  generateText(callOptions(model, request, signal)).then((result): Collected => ({
    text: result.text,
    toolCalls: result.toolCalls.map((call) => ({ id: call.toolCallId, name: call.toolName, input: call.input })),
    finishReason: result.finishReason,
    promptTokens: result.usage.inputTokens,
    outputTokens: result.usage.outputTokens,
    model: result.response.modelId
  }))

/** Thrown out of the stream loop: a failure already described. */
class StreamFailed extends Error {
  readonly failure: ModelCallFailed
  constructor(failure: ModelCallFailed) {
    super(failure.message)
    this.failure = failure
  }
}

/** One streamed turn: each text delta goes to `deliver` (the caller's `onDelta`) as it arrives. */
const callStreamed = async (
  model: LanguageModel,
  request: GenerateRequest,
  signal: AbortSignal,
  deliver: (text: string) => Promise<void>,
  provider: string,
  modelName: string
): Promise<Collected> => {
  const result = streamText({
    ...callOptions(model, request, signal),
    // Errors come back as `error` parts; the SDK's default logs them (with provider text) to the console.
    onError: () => {}
  })
  let text = ""
  const toolCalls: Array<ToolCall> = []
  let finishReason = "stop"
  let promptTokens: number | undefined
  let outputTokens: number | undefined
  let modelId: string | undefined
  for await (const part of result.fullStream) {
    switch (part.type) {
      case "text-delta":
        if (part.text === "") break
        text += part.text
        await deliver(part.text)
        break
      case "tool-call":
        toolCalls.push({ id: part.toolCallId, name: part.toolName, input: part.input })
        break
      case "finish-step":
        modelId = part.response.modelId
        break
      case "finish":
        finishReason = part.finishReason
        promptTokens = part.totalUsage.inputTokens
        outputTokens = part.totalUsage.outputTokens
        break
      case "error":
        throw new StreamFailed(failure(provider, modelName, part.error))
      default:
        break
    }
  }
  return { text, toolCalls, finishReason, promptTokens, outputTokens, model: modelId }
}

export interface UsageEntry {
  readonly organizationId: string
  readonly actorId: string
  readonly source: string
  readonly refKey: string
  readonly runId: string | undefined
  readonly provider: string
  readonly model: string
  readonly promptTokens: number
  readonly outputTokens: number
  readonly latencyMs: number
  readonly error: string | null
}

/** The organization's switched-off providers, and the settings routes' reads and writes. */
export class ProviderStates extends Context.Service<ProviderStates, {
  readonly canonical: (provider: string) => string | undefined
  readonly list: () => Effect.Effect<ReadonlyArray<ProviderInfo & { readonly enabled: boolean }>, never, CurrentPrincipal>
  readonly setEnabled: (provider: string, enabled: boolean) => Effect.Effect<(ProviderInfo & { readonly enabled: boolean }) | undefined, never, CurrentPrincipal>
}>()("trellis/ai/ProviderStates") {}

const build = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const config = yield* ModelsConfig
  const defs = definitions(config)
  const byName = new Map<string, ProviderDef>()
  for (const def of defs) {
    byName.set(def.name, def)
    for (const alias of def.aliases) byName.set(alias, def)
  }
  const policy: OutboundHttp.Policy = { allowPrivate: config.allowPrivate }

  const info = (def: ProviderDef): ProviderInfo => ({
    name: def.name,
    aliases: def.aliases,
    configured: isConfigured(def),
    defaultModel: def.defaultModel,
    models: [def.defaultModel]
  })

  const record = (entry: UsageEntry) => {
    const id = crypto.randomUUID()
    return sql`INSERT INTO ai.usage
        (id, organization_id, source, ref_key, run_id, actor_id, provider, model, prompt_tokens, output_tokens, latency_ms, status, error)
      VALUES (${id}, ${entry.organizationId}, ${entry.source}, ${entry.refKey}, ${entry.runId ?? null}, ${entry.actorId},
        ${entry.provider}, ${entry.model}, ${entry.promptTokens}, ${entry.outputTokens}, ${entry.latencyMs},
        ${entry.error === null ? "ok" : "error"}, ${entry.error ?? ""})`.pipe(
      Effect.as<string | undefined>(id),
      Effect.catchCause((cause) => Effect.as(Effect.logWarning("could not record a model call's usage", cause), undefined))
    )
  }

  const disabledSet = (organizationId: string) =>
    sql<{ readonly provider: string }>`SELECT provider FROM ai.provider_states
      WHERE organization_id = ${organizationId} AND enabled = false`.pipe(
      Effect.map((rows) => new Set(rows.map((r) => r.provider))),
      Effect.orDie
    )

  const notConfigured = (provider: string, message: string, reason: "unknown" | "unconfigured" | "disabled") =>
    new ProviderNotConfigured({ provider, message, reason })

  /** Endpoint, key and model of one call: the request's, else the environment's; a key only to its own origin. */
  const resolve = (def: ProviderDef, request: GenerateRequest): Target | ProviderNotConfigured => {
    const requestKey = request.apiKey === undefined ? undefined : nonEmpty(Redacted.value(request.apiKey))
    const configuredBase = def.envBaseUrl ?? defaultBaseOf(def, requestKey)
    const baseUrl = nonEmpty(request.baseUrl) ?? configuredBase
    const model = nonEmpty(request.model) ?? def.defaultModel
    if (baseUrl === undefined) {
      return notConfigured(
        def.name,
        `No base URL for ${def.name}: send one with the call or configure it (see the README's providers section)`,
        "unconfigured"
      )
    }
    const envKey = def.envKey !== undefined && configuredBase !== undefined && sameOrigin(baseUrl, configuredBase)
      ? Redacted.value(def.envKey)
      : undefined
    const apiKey = requestKey ?? envKey
    if (def.needsKey && apiKey === undefined) {
      return notConfigured(def.name, `No API key for ${def.name}: send one with the call or configure it`, "unconfigured")
    }
    return { def, baseUrl, apiKey, model }
  }

  const callProvider = (target: Target, request: GenerateRequest) =>
    Effect.gen(function*() {
      const { def, model } = target
      yield* OutboundHttp.checkUrl(target.baseUrl, policy).pipe(
        Effect.mapError((error) =>
          error._tag === "OutboundRefused"
            ? new ModelCallFailed({ provider: def.name, model, message: `${def.name}: the address is refused: ${error.reason}`, retryable: false, reason: "address" })
            : new ModelCallFailed({ provider: def.name, model, message: `${def.name}: ${error.message}`, retryable: !URL.canParse(target.baseUrl) ? false : true, reason: "connection" })
        )
      )
      const sdkModel = languageModel(target, policy)
      const onDelta = request.onDelta
      const services = yield* Effect.context<never>()
      // The signal Effect gives the promise is aborted when the call is interrupted: the SDK
      // aborts the HTTP request (cancel a run, a timeout).
      return yield* Effect.tryPromise({
        try: (signal) =>
          onDelta === undefined
            ? callOnce(sdkModel, request, signal)
            : callStreamed(sdkModel, request, signal, (text) => Effect.runPromiseWith(services)(onDelta(text)), def.name, model),
        catch: (error) => error instanceof StreamFailed ? error.failure : failure(def.name, model, error)
      })
    })

  const generate = (request: GenerateRequest) =>
    Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      const def = byName.get(request.provider)
      if (def === undefined) {
        return yield* notConfigured(
          request.provider,
          `Unknown provider ${request.provider}; available: ${defs.map((d) => d.name).join(", ")}`,
          "unknown"
        )
      }
      if ((yield* disabledSet(principal.organizationId)).has(def.name)) {
        return yield* notConfigured(def.name, `The provider ${def.name} is disabled for this organization (PUT /api/settings/providers/${def.name})`, "disabled")
      }
      const started = Date.now()
      const label = request.usage
      const entry = (model: string, fields: Pick<UsageEntry, "promptTokens" | "outputTokens" | "error">): UsageEntry => ({
        organizationId: principal.organizationId,
        actorId: principal.id,
        source: label.source,
        refKey: label.refKey ?? "",
        runId: label.runId,
        provider: def.name,
        model,
        latencyMs: Date.now() - started,
        ...fields
      })
      let target: Target | undefined
      let mockModel = "mock-1"
      const call = Effect.suspend((): Effect.Effect<GenerateResult, ModelCallFailed | ProviderNotConfigured> => {
        if (def.kind === "mock") {
          mockModel = nonEmpty(request.model) ?? "mock-1"
          const turns = request.mock?.turns
          const turn = turns === undefined ? undefined : turns[Math.min(assistantTurns(request), turns.length - 1)]
          return playTurn(request, mockModel, turn, started)
        }
        const resolved = resolve(def, request)
        if (resolved instanceof ProviderNotConfigured) return Effect.fail(resolved)
        target = resolved
        return callProvider(resolved, request).pipe(
          Effect.map((collected): GenerateResult => ({
            provider: def.name,
            model: collected.model !== undefined && collected.model !== "" ? collected.model : resolved.model,
            text: collected.text,
            toolCalls: collected.toolCalls,
            finishReason: collected.finishReason,
            promptTokens: tokens(collected.promptTokens, promptText(request)),
            outputTokens: tokens(collected.outputTokens, collected.text),
            latencyMs: Date.now() - started
          }))
        )
      })
      const modelOf = () => target?.model ?? mockModel
      return yield* call.pipe(
        Effect.onInterrupt(() =>
          record(entry(modelOf(), { promptTokens: estimateTokens(promptText(request)), outputTokens: 0, error: "cancelled" }))
        ),
        Effect.matchEffect({
          onSuccess: (result) =>
            Effect.map(
              record(entry(result.model, { promptTokens: result.promptTokens, outputTokens: result.outputTokens, error: null })),
              (usageId): GenerateResult => ({ ...result, latencyMs: Date.now() - started, ...(usageId === undefined ? {} : { usageId }) })
            ),
          onFailure: (error): Effect.Effect<never, ModelCallFailed | ProviderNotConfigured> => {
            // Nothing was sent for a provider that is not configured: no usage record.
            if (error._tag === "ProviderNotConfigured") return Effect.fail(error)
            return Effect.flatMap(
              record(entry(error.model, { promptTokens: estimateTokens(promptText(request)), outputTokens: 0, error: error.message })),
              (usageId) =>
                Effect.fail(
                  usageId === undefined ? error : new ModelCallFailed({
                    provider: error.provider,
                    model: error.model,
                    message: error.message,
                    retryable: error.retryable,
                    ...(error.reason === undefined ? {} : { reason: error.reason }),
                    ...(error.status === undefined ? {} : { status: error.status }),
                    usageId
                  })
                )
            )
          }
        })
      )
    })

  const providers = () => Effect.succeed(defs.map(info))

  const list = () =>
    Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      const disabled = yield* disabledSet(principal.organizationId)
      return defs.map((def) => ({ ...info(def), enabled: !disabled.has(def.name) }))
    })

  const setEnabled = (provider: string, enabled: boolean) =>
    Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      const def = byName.get(provider)
      if (def === undefined) return undefined
      yield* sql`INSERT INTO ai.provider_states (organization_id, provider, enabled, updated_by)
        VALUES (${principal.organizationId}, ${def.name}, ${enabled}, ${principal.id})
        ON CONFLICT (organization_id, provider) DO UPDATE SET enabled = EXCLUDED.enabled,
          updated_by = EXCLUDED.updated_by, updated_at = now()`.pipe(Effect.orDie)
      return { ...info(def), enabled }
    })

  const canonical = (provider: string) => byName.get(provider)?.name

  // Retention: usage rows older than the configured days go, hourly.
  yield* sql`DELETE FROM ai.usage WHERE created_at < now() - make_interval(days => ${config.usageRetentionDays})`.pipe(
    Effect.catchCause((cause) => Effect.logWarning("could not prune model usage records", cause)),
    Effect.repeat(Schedule.spaced(Duration.hours(1))),
    Effect.forkScoped
  )

  return {
    models: Models.of({ generate, providers }),
    states: ProviderStates.of({ canonical, list, setEnabled })
  }
})

/** `Models` and `ProviderStates`; needs `SqlClient` and `ModelsConfig` (the `ai` plugin's). */
export const layer = Layer.effectContext(Effect.map(build, ({ models, states }) =>
  Context.make(Models, models).pipe(Context.add(ProviderStates, states))
))
