/**
 * The playground: render a prompt (a prompt's working copy by id, what SDKs are served for a
 * key, a published version of either, or inline content) with variables, and call a model
 * through the platform's `Models` service (every provider it has, one code path), which
 * records the call's usage (`ai.usage`: provider, model, tokens, latency, outcome);
 * `GET /api/v1/llm-usage` sums those rows per day and model, whoever made the call.
 *
 * Like PromptOps (and the SDKs' `render`), a variable the request does not give is left as
 * `{{name}}`; the answer names each in `missing_variables`.
 *
 * An `openai` call uses the configuration of the prompt's workspace (or, for inline content,
 * of the request's `workspace_id`) when an admin saved one, else the environment's; the
 * request's own fields win over both (`Providers.resolveOpenai`). Other providers take the
 * request's `base_url` / `api_key`, else the environment's. When the runs plugin's `Runs`
 * service is in reach, each call is also recorded as a finished run (best-effort: without it,
 * or when it fails, `run_id` is the usage record's id). The layer also outputs
 * `ProviderSettings`, which the provider configuration endpoints use, and `WorkspaceProviders`
 * (`PromptsService.ts`), the same resolution for agents' and workflows' model calls.
 */
import { Cause, Context, Deferred, Effect, Exit, Fiber, Layer, Option, Queue, Redacted, Scope, Stream } from "effect"
import { HttpServerResponse } from "effect/http"
import { SqlClient } from "effect/sql"
import { CurrentPrincipal, Models, Template } from "trellis/plugin"
import type { GenerateRequest, GenerateResult, ModelCallFailed, ProviderNotConfigured as ModelsNotConfigured } from "trellis/plugin"
import { Runs } from "../runs/RunsService.ts"
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
import { ProviderSettings, workspaceProvidersLayer } from "./ProviderSettings.ts"
import { PromptsConfig } from "./PromptsConfig.ts"
import * as Providers from "./Providers.ts"

/** A model call's answer as PromptOps's playground shows it (`run`'s `result`, the stream's `done`). */
const resultOf = (result: GenerateResult): PlaygroundRunResponse["result"] => ({
  provider: result.provider,
  model: result.model,
  output: result.text,
  prompt_tokens: result.promptTokens,
  output_tokens: result.outputTokens,
  latency_ms: result.latencyMs
})

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

      const models = yield* Models
      const known = yield* models.providers()
      const names = known.map((p) => p.name)
      const canonical = (name: string) => known.find((p) => p.name === name || p.aliases.includes(name))?.name

      /** Everything that can be refused before a provider is called. */
      const prepare = Effect.fnUntraced(function*(request: PlaygroundRunRequest) {
        const principal = yield* CurrentPrincipal
        const asked = request.provider === undefined || request.provider === "" ? "mock" : request.provider
        const provider = canonical(asked)
        if (provider === undefined) {
          return yield* new UnknownProvider({
            provider: asked,
            available: names,
            detail: `Unknown provider ${asked}; available: ${names.join(", ")}.`
          })
        }
        const source = yield* template(request)
        const variables = request.variables ?? {}
        // As PromptOps renders: an unknown `{{name}}` stays as it is; the answer lists it.
        const missing = Template.missingVariables(source.content, variables)
        const rendered = Template.render(source.content, variables)
        const model = request.model ?? (source.model === "" ? undefined : source.model)
        // `openai`: the workspace's saved endpoint and key, when it has one, win over the environment's.
        const workspace = provider === "openai" ? yield* settings.openai(principal.organizationId, source.workspaceId) : null
        const target = workspace === null
          ? {
            baseUrl: request.base_url === undefined || request.base_url.trim() === "" ? undefined : request.base_url.trim(),
            apiKey: request.api_key === undefined || request.api_key === "" ? undefined : Redacted.make(request.api_key),
            model
          }
          : Providers.resolveOpenai(config, workspace, { baseUrl: request.base_url, apiKey: request.api_key, model })
        if (target.baseUrl !== undefined) {
          // The same check `Models` makes, answered as the playground always has (nothing is sent).
          const checked = yield* Effect.result(Providers.checkBaseUrl(target.baseUrl, config.allowPrivate))
          if (checked._tag === "Failure") {
            const failure = checked.failure
            if (failure._tag === "AddressRefused") return yield* new ProviderAddressRefused({ base_url: failure.baseUrl, detail: failure.message })
          }
        }
        const call: Omit<GenerateRequest, "onDelta"> = {
          provider,
          model: target.model,
          messages: [{ role: "user", content: rendered }],
          apiKey: target.apiKey,
          baseUrl: target.baseUrl,
          usage: { source: "playground", refKey: source.key }
        }
        return { principal, provider, source, rendered, missing, call }
      })

      type Prepared = Effect.Success<ReturnType<typeof prepare>>

      /** Records the call as a finished run when the runs plugin's service is in reach (best-effort); else the usage id. */
      const runIdOf = (context: Prepared, outcome: { readonly result?: GenerateResult; readonly error?: ModelCallFailed }) =>
        Effect.gen(function*() {
          const fallback = outcome.result?.usageId ?? outcome.error?.usageId ?? crypto.randomUUID()
          const runs = yield* Effect.serviceOption(Runs)
          if (Option.isNone(runs)) return fallback
          const result = outcome.result
          return yield* runs.value.record({
            source: "playground",
            refKey: context.source.key,
            input: { rendered: context.rendered, provider: context.provider, model: context.call.model ?? null },
            output: result === undefined ? null : { provider: result.provider, model: result.model, output: result.text },
            ...(outcome.error === undefined ? {} : { error: outcome.error.message }),
            usage: {
              provider: result?.provider ?? context.provider,
              model: result?.model ?? outcome.error?.model ?? "",
              promptTokens: result?.promptTokens ?? 0,
              outputTokens: result?.outputTokens ?? 0,
              latencyMs: result?.latencyMs ?? 0,
              status: outcome.error === undefined ? "ok" : "error",
              ...(outcome.error === undefined ? {} : { error: outcome.error.message })
            }
          }).pipe(
            Effect.map((run) => run.id),
            Effect.catchCause((cause) => Effect.as(Effect.logDebug("the playground call was not recorded as a run", cause), fallback))
          )
        })

      /** A failure before any output: a problem (a failed call has a usage row, and its id). */
      const refuse = (error: ModelCallFailed | ModelsNotConfigured, context: Prepared) =>
        Effect.gen(function*() {
          if (error._tag === "ProviderNotConfigured") {
            return yield* new ProviderNotConfigured({ provider: context.provider, detail: error.message })
          }
          if (error.reason === "address") {
            return yield* new ProviderAddressRefused({ base_url: context.call.baseUrl ?? "", detail: error.message })
          }
          const runId = yield* runIdOf(context, { error })
          return yield* new ProviderFailed({ provider: context.provider, rendered: context.rendered, run_id: runId, detail: error.message })
        })

      const run = Effect.fn("Playground.run")(function*(request: PlaygroundRunRequest) {
        const context = yield* prepare(request)
        const outcome = yield* Effect.result(models.generate(context.call))
        if (outcome._tag === "Failure") return yield* refuse(outcome.failure, context)
        const result = outcome.success
        const runId = yield* runIdOf(context, { result })
        return {
          rendered: context.rendered,
          result: resultOf(result),
          run_id: runId,
          missing_variables: context.missing
        } satisfies PlaygroundRunResponse
      })

      /** The OpenAI-compatible endpoint a workspace's calls go to when the request names none. */
      const openaiFor = Effect.fnUntraced(function*(workspaceId: string) {
        const principal = yield* CurrentPrincipal
        const saved = yield* settings.describe(principal.organizationId, workspaceId)
        if (saved !== null) return { source: "workspace" as const, model: saved.model === "" ? config.openaiModel : saved.model }
        if (known.find((p) => p.name === "openai")?.configured === true) return { source: "environment" as const, model: config.openaiModel }
        return { source: "none" as const, model: null }
      })

      /** `mock`, then `openai` (per workspace), then the platform's other providers as the environment configures them. */
      const status = Effect.fn("Playground.status")(function*(workspaceId: string) {
        const openai = yield* openaiFor(workspaceId)
        return [
          { name: "mock", configured: true, source: "builtin", default_model: "mock-1" },
          { name: "openai", configured: openai.source !== "none", source: openai.source, default_model: openai.model },
          ...known.filter((p) => p.name !== "mock" && p.name !== "openai").map((p): ProviderStatus => ({
            name: p.name,
            configured: p.configured,
            source: p.configured ? "environment" : "none",
            default_model: p.configured ? p.defaultModel : null
          }))
        ] satisfies ReadonlyArray<ProviderStatus>
      })

      const modelList = Effect.fn("Playground.models")(function*(workspaceId: string) {
        const openai = yield* openaiFor(workspaceId)
        return [
          { id: "mock-1", provider: "mock", name: "Mock (offline, deterministic echo)" },
          ...(openai.model === null ? [] : [{ id: openai.model, provider: "openai", name: `${openai.model} (OpenAI-compatible)` }]),
          ...known.filter((p) => p.configured && p.name !== "mock" && p.name !== "openai").flatMap((p) =>
            p.models.map((id) => ({ id, provider: p.name, name: `${id} (${p.name})` }))
          )
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
            FROM ai.usage
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
       * answers, then `done` (the result and run id) or `error` (`{"message", "run_id"}`). A call
       * that fails before its first delta is a problem, as `run` answers; one that fails after it
       * ends the stream with `error`. The call runs while the response streams: a client that
       * goes away interrupts it (and `Models` aborts the provider request).
       */
      const stream = Effect.fn("Playground.stream")(function*(request: PlaygroundRunRequest) {
        const context = yield* prepare(request)
        const deltas = yield* Queue.unbounded<string, Cause.Done>()
        const opened = yield* Deferred.make<void>()
        const scope = yield* Scope.make()
        const fiber = yield* Effect.forkIn(
          models.generate({
            ...context.call,
            onDelta: (text) => Effect.andThen(Deferred.succeed(opened, undefined), Queue.offer(deltas, text))
          }).pipe(Effect.exit, Effect.tap(() => Queue.end(deltas))),
          scope
        )
        const early = yield* Effect.race(
          Effect.as(Deferred.await(opened), undefined),
          Fiber.join(fiber)
        ).pipe(Effect.onInterrupt(() => Scope.close(scope, Exit.void)))
        if (early !== undefined && Exit.isFailure(early)) {
          yield* Scope.close(scope, Exit.void)
          const error = early.cause.reasons.find(Cause.isFailReason)
          if (error !== undefined) return yield* refuse(error.error, context)
          return yield* Effect.die(Cause.squash(early.cause))
        }
        const finish = Effect.gen(function*() {
          const exit = yield* Fiber.join(fiber)
          if (Exit.isSuccess(exit)) {
            const result = exit.value
            const runId = yield* runIdOf(context, { result })
            return sse("done", {
              rendered: context.rendered,
              result: resultOf(result),
              run_id: runId
            })
          }
          const failure = exit.cause.reasons.find(Cause.isFailReason)
          const error = failure?.error
          const message = error === undefined ? "the provider's stream ended unexpectedly" : error.message
          const runId = error !== undefined && error._tag === "ModelCallFailed" ? yield* runIdOf(context, { error }) : null
          return sse("error", { message, run_id: runId })
        }).pipe(Effect.provideService(CurrentPrincipal, context.principal))
        const frames = Stream.fromQueue(deltas).pipe(
          Stream.map((content) => sse("delta", { content })),
          Stream.concat(Stream.fromEffect(finish)),
          Stream.ensuring(Scope.close(scope, Exit.void))
        )
        return HttpServerResponse.stream(Stream.encodeText(frames), {
          contentType: "text/event-stream",
          headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
        })
      })

      return Playground.of({ run, stream, providers: names, status, models: modelList, usage })
    })
  ).pipe(Layer.merge(workspaceProvidersLayer), Layer.provideMerge(ProviderSettings.layer))
}
