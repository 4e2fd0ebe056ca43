/**
 * The playground: render a prompt (a prompt's working copy by id, what SDKs are served for a
 * key, a published version of either, or inline content) with variables, call a provider,
 * and record the call in the run log (`prompts.runs`: provider, model, tokens, latency,
 * outcome), which `GET /api/v1/llm-usage` sums per day and model.
 *
 * Like PromptOps (and the SDKs' `render`), a variable the request does not give is left as
 * `{{name}}`; the answer names each in `missing_variables`.
 *
 * An `openai` call uses the configuration of the prompt's workspace (or, for inline content,
 * of the request's `workspace_id`) when an admin saved one, else the environment's; the
 * request's own fields win over both (`Providers.resolveOpenai`). The layer also outputs
 * `ProviderSettings`, which the provider configuration endpoints use.
 */
import { Cause, Context, Effect, Layer, Stream } from "effect"
import { HttpServerResponse } from "effect/http"
import { SqlClient } from "effect/sql"
import { CurrentPrincipal, Template } from "trellis/plugin"
import type { LlmUsage, ModelInfo, PlaygroundRunRequest, PlaygroundRunResponse, ProviderStatus } from "./Domain.ts"
import {
  InvalidPlaygroundRequest,
  PromptNotFound,
  ProviderAddressRefused,
  ProviderFailed,
  ProviderNotConfigured,
  PublishedPromptNotFound,
  SecretKeyUnavailable,
  UnknownProvider,
  VersionNotFound,
  VersionOfAnotherPrompt
} from "./Errors.ts"
import { Prompts } from "./Prompts.ts"
import { ProviderSettings } from "./ProviderSettings.ts"
import { PromptsConfig } from "./PromptsConfig.ts"
import * as Providers from "./Providers.ts"

export type RunError =
  | PromptNotFound
  | PublishedPromptNotFound
  | VersionNotFound
  | VersionOfAnotherPrompt
  | InvalidPlaygroundRequest
  | UnknownProvider
  | ProviderAddressRefused
  | ProviderNotConfigured
  | ProviderFailed
  | SecretKeyUnavailable

export class Playground extends Context.Service<Playground, {
  readonly run: (request: PlaygroundRunRequest) => Effect.Effect<PlaygroundRunResponse, RunError, CurrentPrincipal>
  readonly stream: (
    request: PlaygroundRunRequest
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse, RunError, CurrentPrincipal>
  readonly providers: ReadonlyArray<string>
  /** Each provider's state for a workspace of the caller's organization. */
  readonly status: (workspaceId: string) => Effect.Effect<ReadonlyArray<ProviderStatus>, never, CurrentPrincipal>
  /** The models the providers configured for that workspace offer. */
  readonly models: (workspaceId: string) => Effect.Effect<ReadonlyArray<ModelInfo>, never, CurrentPrincipal>
  readonly usage: (days: number) => Effect.Effect<LlmUsage, never, CurrentPrincipal>
}>()("prompts/Playground") {
  static readonly layer = Layer.effect(
    Playground,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const prompts = yield* Prompts
      const settings = yield* ProviderSettings
      const config = yield* PromptsConfig

      /** The template to render and the prompt it came from (for the run log). */
      const template = Effect.fnUntraced(function*(request: PlaygroundRunRequest) {
        const principal = yield* CurrentPrincipal
        if (request.id !== undefined && request.id !== "") {
          const prompt = yield* prompts.get(request.id)
          if (request.version !== undefined) {
            const version = yield* prompts.version(prompt.id, request.version)
            return { content: version.content, model: version.model, key: prompt.key, promptId: prompt.id, workspaceId: prompt.workspace_id }
          }
          return { content: prompt.content, model: prompt.model, key: prompt.key, promptId: prompt.id, workspaceId: prompt.workspace_id }
        }
        if (request.key !== undefined && request.key !== "") {
          const env = request.env ?? "prod"
          const served = yield* Effect.orDie(prompts.served(principal.organizationId, request.key, env, request.workspace_id))
          if (served === null) {
            return yield* new PublishedPromptNotFound({
              key: request.key,
              env,
              detail: `No published prompt with key ${request.key} in environment ${env}.`
            })
          }
          if (request.version !== undefined) {
            const version = yield* prompts.version(served.promptId, request.version)
            return {
              content: version.content,
              model: version.model,
              key: served.key,
              promptId: served.promptId,
              workspaceId: served.workspaceId
            }
          }
          return {
            content: served.live.content,
            model: served.live.model,
            key: served.key,
            promptId: served.promptId,
            workspaceId: served.workspaceId
          }
        }
        if (request.content !== undefined) {
          return { content: request.content, model: "", key: "", promptId: null, workspaceId: request.workspace_id ?? "" }
        }
        return yield* new InvalidPlaygroundRequest({
          detail: "Name what to render: id (a prompt), key and env (what SDKs are served), or content."
        })
      })

      const record = (entry: {
        readonly organizationId: string
        readonly actorId: string
        readonly key: string
        readonly promptId: string | null
        readonly provider: string
        readonly model: string
        readonly promptTokens: number
        readonly outputTokens: number
        readonly latencyMs: number
        readonly error: string | null
      }) => {
        const id = crypto.randomUUID()
        return sql`INSERT INTO prompts.runs
            (id, organization_id, source, ref_key, prompt_id, provider, model, prompt_tokens, output_tokens, latency_ms, status, error, actor_id)
          VALUES (${id}, ${entry.organizationId}, 'playground', ${entry.key}, ${entry.promptId}, ${entry.provider}, ${entry.model},
            ${entry.promptTokens}, ${entry.outputTokens}, ${entry.latencyMs}, ${entry.error === null ? "ok" : "error"},
            ${entry.error ?? ""}, ${entry.actorId})`.pipe(Effect.as(id), Effect.orDie)
      }

      /** Everything that can be refused before a provider is called. */
      const prepare = Effect.fnUntraced(function*(request: PlaygroundRunRequest) {
        const principal = yield* CurrentPrincipal
        const provider = request.provider === undefined || request.provider === "" ? "mock" : request.provider
        if (provider !== "mock" && provider !== "openai") {
          return yield* new UnknownProvider({
            provider,
            available: [...Providers.providerNames],
            detail: `Unknown provider ${provider}; available: ${Providers.providerNames.join(", ")}.`
          })
        }
        const source = yield* template(request)
        const variables = request.variables ?? {}
        // As PromptOps renders: an unknown `{{name}}` stays as it is; the answer lists it.
        const missing = Template.missingVariables(source.content, variables)
        const rendered = Template.render(source.content, variables)
        const model = request.model ?? (source.model === "" ? undefined : source.model)
        const completionRequest: Providers.CompletionRequest = { model, prompt: rendered }
        const target = provider === "openai"
          ? Providers.resolveOpenai(config, yield* settings.openai(principal.organizationId, source.workspaceId), {
            baseUrl: request.base_url,
            apiKey: request.api_key,
            model
          })
          : undefined
        return { principal, provider, source, rendered, missing, completionRequest, target }
      })

      /** A provider error before any output: a problem (and, for a failed call, an `error` run). */
      const refuse = (
        failure: Providers.ProviderError,
        context: Effect.Success<ReturnType<typeof prepare>>,
        latencyMs: number
      ) =>
        Effect.gen(function*() {
          if (failure._tag === "AddressRefused") {
            return yield* new ProviderAddressRefused({ base_url: failure.baseUrl, detail: failure.message })
          }
          if (failure._tag === "NotConfigured") {
            return yield* new ProviderNotConfigured({ provider: context.provider, detail: failure.message })
          }
          const runId = yield* record({
            organizationId: context.principal.organizationId,
            actorId: context.principal.id,
            key: context.source.key,
            promptId: context.source.promptId,
            provider: context.provider,
            model: context.target?.model ?? context.completionRequest.model ?? "mock-1",
            promptTokens: Providers.estimateTokens(context.rendered),
            outputTokens: 0,
            latencyMs,
            error: failure.message
          })
          return yield* new ProviderFailed({ provider: context.provider, rendered: context.rendered, run_id: runId, detail: failure.message })
        })

      const run = Effect.fn("Playground.run")(function*(request: PlaygroundRunRequest) {
        const context = yield* prepare(request)
        const { principal, source, rendered, completionRequest, target } = context
        const started = performance.now()
        const outcome = yield* Effect.result(
          target === undefined
            ? Effect.succeed(Providers.mock(completionRequest))
            : Providers.openai(config.allowPrivate, target, rendered)
        )
        const latencyMs = Math.round(performance.now() - started)
        if (outcome._tag === "Failure") return yield* refuse(outcome.failure, context, latencyMs)
        const completion = outcome.success
        const runId = yield* record({
          organizationId: principal.organizationId,
          actorId: principal.id,
          key: source.key,
          promptId: source.promptId,
          provider: completion.provider,
          model: completion.model,
          promptTokens: completion.promptTokens,
          outputTokens: completion.outputTokens,
          latencyMs,
          error: null
        })
        return {
          rendered,
          result: {
            provider: completion.provider,
            model: completion.model,
            output: completion.output,
            prompt_tokens: completion.promptTokens,
            output_tokens: completion.outputTokens,
            latency_ms: latencyMs
          },
          run_id: runId,
          missing_variables: context.missing
        } satisfies PlaygroundRunResponse
      })

      /** The OpenAI-compatible endpoint a workspace's calls go to when the request names none. */
      const openaiFor = Effect.fnUntraced(function*(workspaceId: string) {
        const principal = yield* CurrentPrincipal
        const saved = yield* settings.describe(principal.organizationId, workspaceId)
        if (saved !== null) return { source: "workspace" as const, model: saved.model === "" ? config.openaiModel : saved.model }
        if (config.openaiBaseUrl !== undefined) return { source: "environment" as const, model: config.openaiModel }
        return { source: "none" as const, model: null }
      })

      const status = Effect.fn("Playground.status")(function*(workspaceId: string) {
        const openai = yield* openaiFor(workspaceId)
        return [
          { name: "mock", configured: true, source: "builtin", default_model: "mock-1" },
          { name: "openai", configured: openai.source !== "none", source: openai.source, default_model: openai.model }
        ] satisfies ReadonlyArray<ProviderStatus>
      })

      const models = Effect.fn("Playground.models")(function*(workspaceId: string) {
        const openai = yield* openaiFor(workspaceId)
        return [
          { id: "mock-1", provider: "mock", name: "Mock (offline, deterministic echo)" },
          ...(openai.model === null ? [] : [{ id: openai.model, provider: "openai", name: `${openai.model} (OpenAI-compatible)` }])
        ] satisfies ReadonlyArray<ModelInfo>
      })

      const usage = Effect.fn("Playground.usage")(function*(days: number) {
        const principal = yield* CurrentPrincipal
        const span = Number.isFinite(days) ? Math.min(Math.max(Math.floor(days), 1), 366) : 30
        const rows = yield* sql<{
          readonly day: string
          readonly provider: string
          readonly model: string
          readonly calls: number | string | bigint
          readonly errors: number | string | bigint
          readonly prompt_tokens: number | string | bigint
          readonly output_tokens: number | string | bigint
        }>`SELECT to_char(date_trunc('day', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, provider, model,
              count(*) AS calls, count(*) FILTER (WHERE status = 'error') AS errors,
              coalesce(sum(prompt_tokens), 0) AS prompt_tokens, coalesce(sum(output_tokens), 0) AS output_tokens
            FROM prompts.runs
            WHERE organization_id = ${principal.organizationId} AND created_at > now() - make_interval(days => ${span})
            GROUP BY 1, 2, 3 ORDER BY 1 DESC, 2, 3`.pipe(Effect.orDie)
        const usage = rows.map((r) => ({
          day: r.day,
          provider: r.provider,
          model: r.model,
          calls: Number(r.calls),
          errors: Number(r.errors),
          prompt_tokens: Number(r.prompt_tokens),
          output_tokens: Number(r.output_tokens)
        }))
        const totals = usage.reduce(
          (t, r) => ({
            calls: t.calls + r.calls,
            errors: t.errors + r.errors,
            prompt_tokens: t.prompt_tokens + r.prompt_tokens,
            output_tokens: t.output_tokens + r.output_tokens
          }),
          { calls: 0, errors: 0, prompt_tokens: 0, output_tokens: 0 }
        )
        return { usage, totals } satisfies LlmUsage
      })

      const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`

      /**
       * The same run, streamed as Server-Sent Events: `delta` events (`{"content"}`) as the model
       * answers, then `done` (the result and run id) or `error` (`{"message", "run_id"}`).
       */
      const stream = Effect.fn("Playground.stream")(function*(request: PlaygroundRunRequest) {
        const context = yield* prepare(request)
        const { principal, provider, source, rendered, completionRequest, target } = context
        const started = performance.now()
        const opened = yield* Effect.result(
          target === undefined
            ? Effect.succeed({
              model: Providers.mock(completionRequest).model,
              chunks: Stream.fromIterable(Providers.mockChunks(Providers.mock(completionRequest)))
            })
            : Providers.openaiStream(config.allowPrivate, target, rendered)
        )
        if (opened._tag === "Failure") return yield* refuse(opened.failure, context, Math.round(performance.now() - started))
        let output = ""
        let model = opened.success.model
        let promptTokens: number | undefined
        let outputTokens: number | undefined
        const finish = (error: string | null) =>
          Effect.gen(function*() {
            const latencyMs = Math.round(performance.now() - started)
            const runId = yield* record({
              organizationId: principal.organizationId,
              actorId: principal.id,
              key: source.key,
              promptId: source.promptId,
              provider,
              model,
              promptTokens: promptTokens ?? Providers.estimateTokens(rendered),
              outputTokens: outputTokens ?? Providers.estimateTokens(output),
              latencyMs,
              error
            })
            return error === null
              ? sse("done", {
                rendered,
                result: {
                  provider,
                  model,
                  output,
                  prompt_tokens: promptTokens ?? Providers.estimateTokens(rendered),
                  output_tokens: outputTokens ?? Providers.estimateTokens(output),
                  latency_ms: latencyMs
                },
                run_id: runId
              })
              : sse("error", { message: error, run_id: runId })
          })
        const frames = opened.success.chunks.pipe(
          Stream.map((chunk) => {
            output += chunk.content
            if (chunk.model !== undefined) model = chunk.model
            if (chunk.promptTokens !== undefined) promptTokens = chunk.promptTokens
            if (chunk.outputTokens !== undefined) outputTokens = chunk.outputTokens
            return chunk.content === "" ? "" : sse("delta", { content: chunk.content })
          }),
          Stream.filter((frame) => frame !== ""),
          Stream.concat(Stream.fromEffect(Effect.suspend(() => finish(null)))),
          // Whatever ends the provider's stream early (a failure, a broken connection, a bug),
          // the client gets an `error` event: a stream never just stops.
          Stream.catchCause((cause) => {
            if (Cause.hasInterruptsOnly(cause)) return Stream.failCause(cause)
            const failure = cause.reasons.find(Cause.isFailReason)
            const message = failure !== undefined && failure.error._tag === "Failed"
              ? failure.error.message
              : "openai: the provider's stream ended unexpectedly"
            return Stream.fromEffect(finish(message).pipe(
              Effect.catchCause((recordCause) =>
                Effect.as(
                  Effect.logWarning("could not record a failed playground run", recordCause),
                  sse("error", { message, run_id: null })
                )
              )
            ))
          })
        )
        return HttpServerResponse.stream(Stream.encodeText(frames), {
          contentType: "text/event-stream",
          headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
        })
      })

      return Playground.of({ run, stream, providers: Providers.providerNames, status, models, usage })
    })
  ).pipe(Layer.provideMerge(ProviderSettings.layer))
}
