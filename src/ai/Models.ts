/**
 * Model providers as one platform service: the playground, agents, workflows' `model` and
 * `prompt` steps and anything a third-party plugin runs call a model through `Models`, so
 * provider names, keys, the outbound address policy, cancellation and usage records are
 * handled once.
 *
 * One call is one model turn: `generate` sends the messages (and the tools the model may call)
 * and answers the assistant's text, the tool calls it asked for and the token usage. Loops
 * (an agent calling tools until it answers) are the caller's, so that each model call and each
 * tool call can be a checkpointed step of a run.
 *
 * Provider names are PromptOps's (`openai`, `claude`, `gemini`, `ollama`, `mock`) plus
 * `anthropic` and `google` (the same as `claude` and `gemini`) and `openai-compatible` (any
 * server that speaks the OpenAI chat API: vLLM, LM Studio, a local fake).
 *
 * `mock` is offline and deterministic: without a script it answers PromptOps's echo of the
 * prompt; with `mock` (a {@link MockScript}) it plays the scripted turn for the call (text,
 * tool calls, an error, a delay), chosen by how many assistant messages the conversation has.
 *
 * Interrupting `generate` aborts the provider request (cancel a run, a timeout). Every call,
 * failed, cancelled or not, is recorded for usage in `ai.usage` (`usage` names who made it; the
 * result's and the failure's `usageId` is its row). A provider an admin switched off for the
 * organization (`PUT /api/settings/providers/{key}`) fails with `ProviderNotConfigured`
 * (`reason: "disabled"`), and nothing is sent.
 *
 * Keys and endpoints: the request's (`apiKey`, `baseUrl`), else the environment's
 * (`ModelsConfig`: `TRELLIS_<PROVIDER>_*`); a configured key goes only to its own origin. A
 * workspace's saved settings are the caller's to put in the request (the prompts plugin's
 * `WorkspaceProviders`, used by the playground, agents and workflows). Every request passes the outbound address policy (`OutboundHttp`), before the call and on connect.
 * The implementation (`ModelsLive.ts`) is on the Vercel AI SDK; the README's "Model providers"
 * section is the user-facing description.
 *
 * Client-safe: imports only `effect` and the principal's tag.
 */
import { Context, Schema } from "effect"
import type { Effect, Redacted } from "effect"
import type { CurrentPrincipal } from "../auth/Principal.ts"

/** A call the model asked for, as it asked (its input is the tool's JSON arguments). */
export interface ToolCall {
  readonly id: string
  readonly name: string
  readonly input: unknown
}

export type ModelMessage =
  | { readonly role: "system"; readonly content: string }
  | { readonly role: "user"; readonly content: string }
  | { readonly role: "assistant"; readonly content: string; readonly toolCalls?: ReadonlyArray<ToolCall> | undefined }
  | { readonly role: "tool"; readonly toolCallId: string; readonly toolName: string; readonly output: unknown }

/** A tool the model may call: its input is described by a JSON Schema (an object schema). */
export interface ToolSpec {
  readonly name: string
  readonly description?: string | undefined
  readonly inputSchema: Readonly<Record<string, unknown>>
}

/** One scripted turn of the `mock` provider. */
export const MockTurn = Schema.Struct({
  text: Schema.optionalKey(Schema.String),
  toolCalls: Schema.optionalKey(Schema.Array(Schema.Struct({ name: Schema.String, input: Schema.Unknown }))),
  /** Fail this turn with this message (a provider outage). */
  error: Schema.optionalKey(Schema.String),
  /** Whether the failure is one a retry may get past (default true). */
  retryable: Schema.optionalKey(Schema.Boolean),
  /** Fail only the first `errorTimes` attempts of this turn (default: every attempt). */
  errorTimes: Schema.optionalKey(Schema.Int),
  /** Answer after this long (interruptible). */
  delayMs: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 600_000 }))),
  /** Streamed as these pieces (deltas), when given; else the text is one delta. */
  chunks: Schema.optionalKey(Schema.Array(Schema.String))
})
export type MockTurn = typeof MockTurn.Type

/** The `mock` provider's script: turn N answers the call whose conversation has N assistant messages (the last turn repeats). */
export const MockScript = Schema.Struct({ turns: Schema.Array(MockTurn).check(Schema.isMinLength(1)) })
export type MockScript = typeof MockScript.Type

/** Who made a call, for the usage record. */
export interface UsageLabel {
  /** `playground`, `agent`, `workflow`, `automation`, ... */
  readonly source: string
  /** The prompt, agent or workflow the call was for. */
  readonly refKey?: string | undefined
  readonly runId?: string | undefined
}

export interface GenerateRequest {
  /** A provider name (see the module doc). */
  readonly provider: string
  /** Empty or absent: the provider's configured default model. */
  readonly model?: string | undefined
  readonly messages: ReadonlyArray<ModelMessage>
  readonly tools?: ReadonlyArray<ToolSpec> | undefined
  /** Overrides the configured key for this call (PromptOps's `api_key`); never logged. */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /** Overrides the configured endpoint (PromptOps's `base_url`); checked against the outbound address policy. */
  readonly baseUrl?: string | undefined
  readonly maxOutputTokens?: number | undefined
  readonly temperature?: number | undefined
  /** Receives the text as it streams (batching is the receiver's). */
  readonly onDelta?: ((text: string) => Effect.Effect<void>) | undefined
  /** The `mock` provider's script. */
  readonly mock?: MockScript | undefined
  /** 0 for the first attempt of a step; the mock's `errorTimes` counts it. */
  readonly attempt?: number | undefined
  readonly usage: UsageLabel
}

export interface GenerateResult {
  readonly provider: string
  readonly model: string
  readonly text: string
  readonly toolCalls: ReadonlyArray<ToolCall>
  /** `stop`, `tool-calls`, `length`, ... as the provider said. */
  readonly finishReason: string
  readonly promptTokens: number
  readonly outputTokens: number
  readonly latencyMs: number
  /** The usage record of this call (`ai.usage`), when it was stored. */
  readonly usageId?: string | undefined
}

/** The provider failed (or refused the address). `retryable`: a later attempt may succeed (5xx, 429, timeout, connection). */
export class ModelCallFailed extends Schema.TaggedError<ModelCallFailed>()("ModelCallFailed", {
  provider: Schema.String,
  model: Schema.String,
  message: Schema.String,
  retryable: Schema.Boolean,
  /** `address`: the outbound address policy refused the endpoint; `status`: the provider answered an error status; `connection`: no answer. */
  reason: Schema.optionalKey(Schema.Literals(["address", "status", "connection"])),
  /** The provider's HTTP status, when it answered one (its body is never kept). */
  status: Schema.optionalKey(Schema.Int),
  /** The usage record of this failed call, when it was stored. */
  usageId: Schema.optionalKey(Schema.String)
}) {}

/** No such provider (`unknown`), it has no key or endpoint configured (`unconfigured`), or an admin switched it off for the organization (`disabled`). */
export class ProviderNotConfigured extends Schema.TaggedError<ProviderNotConfigured>()("ProviderNotConfigured", {
  provider: Schema.String,
  message: Schema.String,
  reason: Schema.optionalKey(Schema.Literals(["unknown", "unconfigured", "disabled"]))
}) {}

export interface ProviderInfo {
  /** The canonical name (`openai`, `anthropic`, `google`, `ollama`, `openai-compatible`, `mock`). */
  readonly name: string
  /** Other names it answers to (`claude`, `gemini`). */
  readonly aliases: ReadonlyArray<string>
  /** Whether a call can go out without a per-call key or endpoint. */
  readonly configured: boolean
  readonly defaultModel: string
  readonly models: ReadonlyArray<string>
}

export class Models extends Context.Service<Models, {
  readonly generate: (request: GenerateRequest) => Effect.Effect<GenerateResult, ModelCallFailed | ProviderNotConfigured, CurrentPrincipal>
  /** Every provider with its environment-level state (the `openai` of a prompts workspace is the playground's). */
  readonly providers: () => Effect.Effect<ReadonlyArray<ProviderInfo>>
}>()("trellis/ai/Models") {}

/** A rough token count (about four characters a token), for providers that report none. */
export const estimateTokens = (text: string): number => text === "" ? 0 : Math.ceil([...text].length / 4)
