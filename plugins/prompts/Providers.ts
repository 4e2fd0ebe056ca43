/**
 * Model providers for the playground: `mock`, offline and deterministic (it echoes the
 * rendered prompt, so everything works with no network and tests are exact), and `openai`,
 * any OpenAI-compatible chat-completions endpoint.
 *
 * Where an `openai` call goes is resolved per call ({@link resolveOpenai}), field by field:
 * the request's `base_url`, `api_key`, `model` first; then the configuration an admin saved
 * for the prompt's workspace (`ProviderSettings`); then the environment
 * (`TRELLIS_OPENAI_BASE_URL`, `TRELLIS_OPENAI_API_KEY`, `TRELLIS_OPENAI_MODEL`). A workspace
 * configuration replaces the environment's endpoint and key as a whole. A configured key is
 * only ever sent to the origin it was configured for: a request that names another base URL
 * without its own key is sent without one.
 *
 * A base URL must be http(s) and must not point at a loopback, private, link-local or
 * otherwise internal address (the server would otherwise be a way into its own network)
 * unless the operator sets `TRELLIS_PROVIDERS_ALLOW_PRIVATE=true`. Calls go through the
 * platform's outbound client (`OutboundHttp`), which normalises every spelling of an address
 * and checks it when a workspace configuration is saved, before every call and again when the
 * call connects (DNS answers change). A provider's error answer is never echoed to the caller
 * (the URL may reach anything): the problem says the status only, the log keeps its start.
 */
import { Effect, Redacted, Stream } from "effect"
import { OutboundHttp } from "trellis/plugin"
import type { PromptsConfig } from "./PromptsConfig.ts"

/** What the mock provider needs. */
export interface CompletionRequest {
  readonly model: string | undefined
  readonly prompt: string
}

export interface Completion {
  readonly provider: string
  readonly model: string
  readonly output: string
  readonly promptTokens: number
  readonly outputTokens: number
}

export type ProviderError =
  | { readonly _tag: "NotConfigured"; readonly message: string }
  | { readonly _tag: "AddressRefused"; readonly baseUrl: string; readonly message: string }
  | { readonly _tag: "Failed"; readonly message: string }

/** The providers' settings (`PromptsConfig`, from `TRELLIS_OPENAI_*`). */
export type ProvidersConfig = typeof PromptsConfig.Service

/** A configured OpenAI-compatible endpoint: a workspace's, or the environment's. */
export interface OpenaiSettings {
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted<string> | undefined
  /** Empty: the environment's default model. */
  readonly model: string
}

/** Where an `openai` call goes, and which configuration supplied the endpoint. */
export interface OpenaiTarget {
  readonly baseUrl: string | undefined
  readonly apiKey: Redacted.Redacted<string> | undefined
  readonly model: string
  readonly source: "request" | "workspace" | "environment" | "none"
}

/** The environment's endpoint, when `TRELLIS_OPENAI_BASE_URL` is set. */
export const environmentSettings = (config: ProvidersConfig): OpenaiSettings | null =>
  config.openaiBaseUrl === undefined
    ? null
    : { baseUrl: config.openaiBaseUrl, apiKey: config.openaiApiKey, model: config.openaiModel }

const nonEmpty = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === "" ? undefined : value

/** Whether two base URLs reach the same origin (scheme, host, port). */
export const sameOrigin = (a: string, b: string): boolean => {
  if (!URL.canParse(a) || !URL.canParse(b)) return a.replace(/\/+$/, "") === b.replace(/\/+$/, "")
  return new URL(a).origin === new URL(b).origin
}

/**
 * Resolves an `openai` call: the request's fields win one by one, then the workspace's
 * configuration, then the environment's. A configured key goes only to its own origin.
 */
export const resolveOpenai = (
  config: ProvidersConfig,
  workspace: OpenaiSettings | null,
  request: { readonly baseUrl?: string | undefined; readonly apiKey?: string | undefined; readonly model?: string | undefined }
): OpenaiTarget => {
  const configured = workspace ?? environmentSettings(config)
  const requestedBase = nonEmpty(request.baseUrl)
  const requestKey = nonEmpty(request.apiKey)
  const baseUrl = requestedBase ?? configured?.baseUrl
  const configuredKey = configured !== null && baseUrl !== undefined && sameOrigin(baseUrl, configured.baseUrl)
    ? configured.apiKey
    : undefined
  return {
    baseUrl,
    apiKey: requestKey === undefined ? configuredKey : Redacted.make(requestKey),
    model: nonEmpty(request.model) ?? nonEmpty(configured?.model) ?? config.openaiModel,
    source: requestedBase !== undefined ? "request" : workspace !== null ? "workspace" : configured !== null ? "environment" : "none"
  }
}

/** A rough token count (about four characters a token), used when a provider reports none. */
export const estimateTokens = (text: string): number => text === "" ? 0 : Math.ceil([...text].length / 4)

/** The offline provider: the same input always gives the same output, which echoes the prompt. */
export const mock = (request: CompletionRequest): Completion => {
  const model = request.model === undefined || request.model === "" ? "mock-1" : request.model
  const lines = request.prompt.split("\n").length
  const output = `[mock completion]\nmodel: ${model}\nprompt: ${[...request.prompt].length} chars, ${lines} line(s)\n\n${request.prompt}`
  return { provider: "mock", model, output, promptTokens: estimateTokens(request.prompt), outputTokens: estimateTokens(output) }
}

/** Whether an IP address is one a provider call must not reach (the platform's classifier). */
export const isInternalAddress = OutboundHttp.isInternalAddress

const policyOf = (allowPrivate: boolean): OutboundHttp.Policy => ({ allowPrivate })

const refusal = (baseUrl: string, reason: string): ProviderError => ({
  _tag: "AddressRefused",
  baseUrl,
  message: `The base URL ${baseUrl} is refused: ${reason}. An operator can allow loopback, private and internal ` +
    "addresses with TRELLIS_PROVIDERS_ALLOW_PRIVATE=true"
})

const fromOutbound = (baseUrl: string) => (error: OutboundHttp.OutboundError): ProviderError =>
  error._tag === "OutboundRefused"
    ? refusal(baseUrl, error.reason)
    : { _tag: "Failed", message: `openai: ${error.message}` }

/**
 * Refuses base URLs that are not http(s) or that reach an internal address, in any spelling
 * and after DNS (the platform's `OutboundHttp.checkUrl`); calls are checked again on connect.
 */
export const checkBaseUrl = (baseUrl: string, allowPrivate: boolean): Effect.Effect<void, ProviderError> =>
  OutboundHttp.checkUrl(baseUrl, policyOf(allowPrivate)).pipe(
    Effect.asVoid,
    Effect.mapError((error) =>
      error._tag === "OutboundFailed" && !URL.canParse(baseUrl)
        ? { _tag: "Failed" as const, message: `The base URL ${baseUrl} is not a URL` }
        : error._tag === "OutboundFailed"
        ? { _tag: "Failed" as const, message: error.message }
        : fromOutbound(baseUrl)(error)
    )
  )

interface ChatCompletion {
  readonly choices?: ReadonlyArray<{ readonly message?: { readonly content?: unknown } }>
  readonly usage?: { readonly prompt_tokens?: unknown; readonly completion_tokens?: unknown }
  readonly model?: unknown
}

interface Prepared {
  readonly baseUrl: string
  readonly allowPrivate: boolean
  readonly endpoint: string
  readonly headers: Record<string, string>
  readonly model: string
}

/** Checks the target and its base URL (again: DNS may have changed) before any request is sent. */
const prepareOpenai = (allowPrivate: boolean, target: OpenaiTarget): Effect.Effect<Prepared, ProviderError> =>
  Effect.gen(function*() {
    const baseUrl = (target.baseUrl ?? "").replace(/\/+$/, "")
    if (baseUrl === "") {
      return yield* Effect.fail<ProviderError>({
        _tag: "NotConfigured",
        message: "No base URL: an admin can configure the workspace's provider, or set TRELLIS_OPENAI_BASE_URL, or send base_url"
      })
    }
    yield* checkBaseUrl(baseUrl, allowPrivate)
    return {
      baseUrl,
      allowPrivate,
      endpoint: /\/v1$/.test(baseUrl) ? `${baseUrl}/chat/completions` : `${baseUrl}/v1/chat/completions`,
      headers: {
        "content-type": "application/json",
        ...(target.apiKey === undefined || Redacted.value(target.apiKey) === "" ? {} : { authorization: `Bearer ${Redacted.value(target.apiKey)}` })
      },
      model: target.model
    }
  })

const failed = (cause: unknown): ProviderError => ({
  _tag: "Failed",
  message: `openai: ${cause instanceof Error ? cause.message : String(cause)}`
})

/**
 * Sends the chat-completions request through the platform's guarded client; fails on a non-2xx
 * answer with its status only. The upstream body may come from anything the URL reached, so it
 * is never echoed to the caller; its start is logged at debug level.
 */
const post = (prepared: Prepared, prompt: string, stream: boolean) =>
  Effect.gen(function*() {
    const response = yield* OutboundHttp.send({
      url: prepared.endpoint,
      method: "POST",
      headers: prepared.headers,
      body: JSON.stringify({
        model: prepared.model,
        messages: [{ role: "user", content: prompt }],
        ...(stream ? { stream: true, stream_options: { include_usage: true } } : {})
      }),
      timeoutMs: stream ? 300_000 : 60_000
    }, policyOf(prepared.allowPrivate)).pipe(Effect.mapError(fromOutbound(prepared.baseUrl)))
    if (!response.ok) {
      const text = yield* Effect.promise(() => response.text().catch(() => ""))
      yield* Effect.logDebug("openai provider answered with an error status").pipe(
        Effect.annotateLogs({ status: response.status, body: text.slice(0, 500) })
      )
      return yield* Effect.fail<ProviderError>({
        _tag: "Failed",
        message: `openai: the provider answered HTTP ${response.status}`
      })
    }
    return response
  })

/** One chat completion from an OpenAI-compatible endpoint (`POST <base>/v1/chat/completions`). */
export const openai = (allowPrivate: boolean, target: OpenaiTarget, prompt: string): Effect.Effect<Completion, ProviderError> =>
  Effect.gen(function*() {
    const prepared = yield* prepareOpenai(allowPrivate, target)
    const response = yield* post(prepared, prompt, false)
    const body = yield* Effect.tryPromise({ try: () => response.json() as Promise<ChatCompletion>, catch: failed })
    const content = body.choices?.[0]?.message?.content
    const output = typeof content === "string" ? content : ""
    const usage = body.usage
    return {
      provider: "openai",
      model: typeof body.model === "string" && body.model !== "" ? body.model : prepared.model,
      output,
      promptTokens: typeof usage?.prompt_tokens === "number" ? usage.prompt_tokens : estimateTokens(prompt),
      outputTokens: typeof usage?.completion_tokens === "number" ? usage.completion_tokens : estimateTokens(output)
    }
  })

/** A piece of a streamed completion: some text, or (at the end) the model and token counts. */
export interface CompletionChunk {
  readonly content: string
  readonly model?: string | undefined
  readonly promptTokens?: number | undefined
  readonly outputTokens?: number | undefined
}

export type StreamFailure = Extract<ProviderError, { readonly _tag: "Failed" }>

interface StreamedChunk {
  readonly model?: unknown
  readonly choices?: ReadonlyArray<{ readonly delta?: { readonly content?: unknown } }>
  readonly usage?: { readonly prompt_tokens?: unknown; readonly completion_tokens?: unknown } | null
}

/** Parses one line of an OpenAI-compatible event stream (`data: {...}`; `data: [DONE]` ends it). */
export const parseStreamLine = (line: string): ReadonlyArray<CompletionChunk> => {
  const trimmed = line.trim()
  if (!trimmed.startsWith("data:")) return []
  const data = trimmed.slice(5).trim()
  if (data === "" || data === "[DONE]") return []
  let chunk: StreamedChunk
  try {
    chunk = JSON.parse(data) as StreamedChunk
  } catch {
    return []
  }
  const content = chunk.choices?.[0]?.delta?.content
  return [{
    content: typeof content === "string" ? content : "",
    model: typeof chunk.model === "string" && chunk.model !== "" ? chunk.model : undefined,
    promptTokens: typeof chunk.usage?.prompt_tokens === "number" ? chunk.usage.prompt_tokens : undefined,
    outputTokens: typeof chunk.usage?.completion_tokens === "number" ? chunk.usage.completion_tokens : undefined
  }]
}

/**
 * A streamed chat completion (`"stream": true`). Configuration, address and HTTP-status
 * failures happen before the stream is returned; a connection that breaks mid-answer fails
 * the stream.
 */
export const openaiStream = (
  allowPrivate: boolean,
  target: OpenaiTarget,
  prompt: string
): Effect.Effect<{ readonly model: string; readonly chunks: Stream.Stream<CompletionChunk, StreamFailure> }, ProviderError> =>
  Effect.gen(function*() {
    const prepared = yield* prepareOpenai(allowPrivate, target)
    const response = yield* post(prepared, prompt, true)
    const body = response.body
    if (body === null) return yield* Effect.fail(failed("the response has no body"))
    const chunks = Stream.fromReadableStream({
      evaluate: () => body,
      onError: (cause): StreamFailure => ({ _tag: "Failed", message: failed(cause).message })
    }).pipe(
      Stream.decodeText,
      Stream.splitLines,
      Stream.map(parseStreamLine),
      Stream.flattenIterable
    )
    return { model: prepared.model, chunks }
  })

/** The mock completion cut into a few pieces, for the streaming playground. */
export const mockChunks = (completion: Completion): ReadonlyArray<CompletionChunk> => {
  const size = Math.max(1, Math.ceil(completion.output.length / 4))
  const pieces: Array<CompletionChunk> = []
  for (let i = 0; i < completion.output.length; i += size) pieces.push({ content: completion.output.slice(i, i + size) })
  pieces.push({
    content: "",
    model: completion.model,
    promptTokens: completion.promptTokens,
    outputTokens: completion.outputTokens
  })
  return pieces
}

/** Provider names, in display order. */
export const providerNames = ["mock", "openai"] as const
