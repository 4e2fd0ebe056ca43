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
import { SdkPrompts } from "./SdkPrompts.ts"

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

const first = (...values: ReadonlyArray<string | undefined>): string | undefined =>
  values.find((v) => v !== undefined && v !== "")

export const PromptsSdkHttp = HttpApiBuilder.group(
  PromptsApi,
  "promptsSdk",
  Effect.fn(function*(handlers) {
    const sdk = yield* SdkPrompts
    return handlers.handle("fetch", ({ params, query, request }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const headers = request.headers
        const env = first(query.env) ?? "prod"
        const result = yield* Effect.orDie(sdk.fetch({
          organizationId: principal.organizationId,
          key: params.key,
          env,
          workspace: query.workspace,
          stickiness: first(
            query.sticky_key,
            query.stickyKey,
            headers["x-sticky-key"],
            query.user_id,
            query.userId,
            headers["x-user-id"],
            query.session_id,
            query.sessionId,
            headers["x-session-id"]
          ),
          ifNoneMatch: headers["if-none-match"]
        }))
        switch (result._tag) {
          case "NotFound":
            return yield* new PublishedPromptNotFound({
              key: params.key,
              env,
              detail: `No published prompt with key ${params.key} in environment ${env}.`
            })
          case "NotModified":
            return HttpServerResponse.empty({ status: 304, headers: { etag: result.etag, "cache-control": "no-cache" } })
          case "Ok":
            return HttpServerResponse.text(result.prepared.body, {
              contentType: "application/json",
              headers: { etag: result.prepared.etag, "cache-control": "no-cache" }
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
    return handlers
      .handle("run", ({ payload }) => playground.run(payload))
      .handle("runStream", ({ payload }) => playground.stream(payload))
      .handle("providers", () => Effect.succeed({ data: playground.providers }))
      .handle("models", () => Effect.map(playground.models, (models) => ({ models })))
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
