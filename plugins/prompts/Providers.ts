/**
 * The playground's provider settings rules. The calls themselves go through the platform's
 * `Models` service; what stays here is the prompts-specific part: where an `openai` call goes
 * when a workspace has a saved configuration ({@link resolveOpenai}), and the base URL check
 * used when a configuration is saved and before a call (the same `OutboundHttp.checkUrl` that
 * `Models` applies again before every request and on connect).
 *
 * Field by field: the request's `base_url`, `api_key`, `model` first; then the configuration
 * an admin saved for the prompt's workspace (`ProviderSettings`); then the environment
 * (`TRELLIS_OPENAI_BASE_URL`, `TRELLIS_OPENAI_API_KEY`, `TRELLIS_OPENAI_MODEL`). A workspace
 * configuration replaces the environment's endpoint and key as a whole. A configured key is
 * only ever sent to the origin it was configured for: a request that names another base URL
 * without its own key is sent without one.
 *
 * A base URL must be http(s) and must not point at a loopback, private, link-local or
 * otherwise internal address unless the operator sets `TRELLIS_PROVIDERS_ALLOW_PRIVATE=true`.
 */
import { Effect, Redacted } from "effect"
import { OutboundHttp } from "trellis/plugin"
import type { PromptsConfig } from "./PromptsConfig.ts"

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
