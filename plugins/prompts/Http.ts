/** The prompts plugin's HTTP handlers: thin, they call the services. */
import { Effect } from "effect"
import { HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { CurrentPrincipal } from "trellis/plugin"
import { PromptsApi } from "./Api.ts"
import { PublishedPromptNotFound } from "./Errors.ts"
import { HotReload } from "./HotReload.ts"
import { Playground } from "./Playground.ts"
import { Prompts } from "./Prompts.ts"
import { ProviderSettings } from "./ProviderSettings.ts"
import { cacheHeaders, fetchRequestOf, SdkPrompts } from "./SdkPrompts.ts"

export const PromptsHttp = HttpApiBuilder.group(
  PromptsApi,
  "prompts",
  Effect.fn(function*(handlers) {
    const prompts = yield* Prompts
    const hotReload = yield* HotReload
    return handlers
      .handle("list", ({ query }) => Effect.map(prompts.list(query), (data) => ({ data })))
      .handle("create", ({ payload }) => Effect.map(prompts.create(payload), (data) => ({ data })))
      .handle("publish", ({ payload }) => Effect.map(prompts.publish(payload.id, payload.note), (data) => ({ data })))
      .handle("rollback", ({ payload }) => Effect.map(prompts.rollback(payload.id, payload.version), (data) => ({ data })))
      .handle("getSettings", ({ query }) => Effect.map(prompts.settings(query.workspace ?? ""), (data) => ({ data })))
      .handle("setSettings", ({ payload, query }) =>
        Effect.map(prompts.setSettings(query.workspace ?? "", payload), (data) => ({ data })))
      .handle("get", ({ params }) => Effect.map(prompts.get(params.id), (data) => ({ data })))
      .handle("update", ({ params, payload }) => Effect.map(prompts.update(params.id, payload), (data) => ({ data })))
      .handle("remove", ({ params }) => Effect.as(prompts.remove(params.id), { ok: true }))
      .handle("versions", ({ params }) => Effect.map(prompts.versions(params.id), (data) => ({ data })))
      .handle("diff", ({ params, query }) => Effect.map(prompts.diff(params.id, query.from, query.to), (data) => ({ data })))
      .handle("getRollout", ({ params }) => Effect.map(prompts.getRollout(params.id), (data) => ({ data })))
      .handle("setRollout", ({ params, payload }) => Effect.map(prompts.setRollout(params.id, payload), (data) => ({ data })))
      .handle("deleteRollout", ({ params }) => Effect.as(prompts.deleteRollout(params.id), { ok: true }))
      .handle("clients", () =>
        Effect.flatMap(CurrentPrincipal, (principal) =>
          Effect.map(hotReload.clients(principal.organizationId), (data) => ({ data }))))
  })
)

export const PromptsSdkHttp = HttpApiBuilder.group(
  PromptsApi,
  "promptsSdk",
  Effect.fn(function*(handlers) {
    const sdk = yield* SdkPrompts
    // The reference for the fast route of the same endpoint (SdkFastRoute.ts): same request
    // reading (`fetchRequestOf`), same answers.
    return handlers.handle("fetch", ({ params, query, request }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const fetch = fetchRequestOf(principal.organizationId, params.key, query, request.headers)
        const result = yield* Effect.orDie(sdk.fetch(fetch))
        switch (result._tag) {
          case "NotFound":
            return yield* new PublishedPromptNotFound({
              key: params.key,
              env: fetch.env,
              detail: `No prompt with key ${params.key} in environment ${fetch.env} to serve (a published-only workspace serves published versions only).`
            })
          case "NotModified":
            return HttpServerResponse.empty({ status: 304, headers: cacheHeaders(result.etag) })
          case "Ok":
            return HttpServerResponse.text(result.prepared.body, {
              contentType: "application/json",
              headers: cacheHeaders(result.prepared.etag)
            })
        }
      }))
  })
)

export const PromptsPlaygroundHttp = HttpApiBuilder.group(
  PromptsApi,
  "promptsPlayground",
  Effect.fn(function*(handlers) {
    const playground = yield* Playground
    const settings = yield* ProviderSettings
    return handlers
      .handle("run", ({ payload }) => playground.run(payload))
      .handle("runStream", ({ payload }) => playground.stream(payload))
      .handle("providers", ({ query }) =>
        Effect.map(playground.status(query.workspace ?? ""), (providers) => ({
          // Only what a run serves here: `openai` once an endpoint is configured for the workspace.
          data: providers.filter((p) => p.configured).map((p) => p.name),
          workspace_id: query.workspace ?? "",
          providers
        })))
      .handle("getProviderConfig", ({ query }) => Effect.map(settings.get(query.workspace ?? ""), (data) => ({ data })))
      .handle("setProviderConfig", ({ payload, query }) =>
        Effect.map(settings.set(query.workspace ?? "", payload), (data) => ({ data })))
      .handle("deleteProviderConfig", ({ query }) => Effect.as(settings.remove(query.workspace ?? ""), { ok: true }))
      .handle("models", ({ query }) => Effect.map(playground.models(query.workspace ?? ""), (models) => ({ models })))
      .handle("usage", ({ query }) => playground.usage(query.days === undefined ? 30 : Number(query.days)))
  })
)

export const PromptsHotReloadHttp = HttpApiBuilder.group(
  PromptsApi,
  "promptsHotReload",
  Effect.fn(function*(handlers) {
    const hotReload = yield* HotReload
    return handlers.handle("ws", ({ query, request }) => hotReload.serve(request, query))
  })
)
