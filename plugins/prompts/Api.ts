/**
 * The prompts plugin's HTTP contract, at PromptOps's paths (seed 004) and in its shapes:
 * resources come wrapped in `{ "data": ... }`, deletes answer `{ "ok": true }`, creates
 * answer 200. Errors are problem+json like everywhere in Trellis.
 *
 * Authorization: reads need `prompts:read` (viewer), writes `prompts:write` (editor);
 * publishing, rolling back and rollouts are editor-level too, but a service key needs the
 * separate scope `prompts:publish` for them. A workspace's provider configuration (it holds a provider API key) is an
 * organization setting: admins only, never a service key, whatever its scopes. `/ws`
 * authenticates itself from `?token=` (browsers cannot set headers on a WebSocket), so its
 * group carries no middleware.
 *
 * Client-safe.
 */
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Authentication, AuthProblems, Problems, Requirement, Requires, RpcFromApi, WireDialect } from "trellis/contract"
import {
  ChangeEvent,
  ClientConnection,
  CreatePrompt,
  LlmUsage,
  ListQuery,
  ModelInfo,
  Ok,
  PlaygroundRunRequest,
  PlaygroundRunResponse,
  Prompt,
  PromptSettings,
  PromptSettingsInput,
  ProviderConfig,
  ProviderConfigInput,
  ProvidersList,
  PromptVersion,
  PublishRequest,
  RollbackRequest,
  Rollout,
  RolloutInput,
  SdkPrompt,
  SdkQuery,
  UpdatePrompt,
  VersionDiff,
  WorkspaceQuery
} from "./Domain.ts"
import {
  DiffTooLarge,
  InvalidPlaygroundRequest,
  InvalidProviderConfig,
  InvalidRollout,
  PromptKeyTaken,
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

const read = Requirement.read("prompts")
const write = Requirement.write("prompts")
/**
 * Publishing, rolling back and rollouts: editors and up (PromptOps: "write operations require
 * the editor role or above"); a service key still needs its own scope, `prompts:publish`.
 */
const publish = Requirement.custom("editor", "prompts:publish")
/** A workspace's provider configuration: organization admins; service keys never. */
const providerRead = Requirement.admin()
const providerWrite = Requirement.settings()

/**
 * Watching `/ws` is reading a live stream: viewers and up, service keys with `prompts:read`.
 * The socket checks it itself (`HotReload.ts`), as the route authenticates from `?token=`.
 */
export const watchRequirement = Requirement.stream("prompts")

const data = <S extends Schema.Top>(schema: S) => Schema.Struct({ data: schema })

export class PromptsGroup extends HttpApiGroup.make("prompts")
  .annotate(WireDialect, WireDialect.promptOps)
  .add(
    HttpApiEndpoint.get("list", "/api/prompts", {
      query: ListQuery,
      success: data(Schema.Array(Prompt))
    }).annotate(Requires, read),
    HttpApiEndpoint.post("create", "/api/prompts", {
      payload: CreatePrompt,
      success: data(Prompt),
      error: PromptKeyTaken
    }).annotate(Requires, write),
    HttpApiEndpoint.post("publish", "/api/prompts/publish", {
      payload: PublishRequest,
      success: data(PromptVersion),
      error: PromptNotFound
    }).annotate(Requires, publish),
    HttpApiEndpoint.post("rollback", "/api/prompts/rollback", {
      payload: RollbackRequest,
      success: data(Prompt),
      error: [PromptNotFound, VersionNotFound, VersionOfAnotherPrompt]
    }).annotate(Requires, publish),
    HttpApiEndpoint.get("getSettings", "/api/prompts/settings", {
      // `?workspace=` (absent or empty: the default workspace). `serving`: `live` (default) or `published`.
      query: WorkspaceQuery,
      success: data(PromptSettings)
    }).annotate(Requires, read),
    HttpApiEndpoint.put("setSettings", "/api/prompts/settings", {
      query: WorkspaceQuery,
      payload: PromptSettingsInput,
      success: data(PromptSettings)
    }).annotate(Requires, Requirement.settings()),
    HttpApiEndpoint.get("get", "/api/prompts/:id", {
      params: { id: Schema.String },
      success: data(Prompt),
      error: PromptNotFound
    }).annotate(Requires, read),
    HttpApiEndpoint.put("update", "/api/prompts/:id", {
      params: { id: Schema.String },
      payload: UpdatePrompt,
      success: data(Prompt),
      error: [PromptNotFound, PromptKeyTaken]
    }).annotate(Requires, write),
    HttpApiEndpoint.delete("remove", "/api/prompts/:id", {
      params: { id: Schema.String },
      success: Ok,
      error: PromptNotFound
    }).annotate(Requires, write),
    HttpApiEndpoint.get("versions", "/api/prompts/:id/versions", {
      params: { id: Schema.String },
      success: data(Schema.Array(PromptVersion)),
      error: PromptNotFound
    }).annotate(Requires, read),
    HttpApiEndpoint.get("diff", "/api/prompts/:id/versions/diff", {
      params: { id: Schema.String },
      // `from` and `to`: a label (`v1`), a number, a version id, or `current` (the working copy).
      query: { from: Schema.optionalKey(Schema.String), to: Schema.optionalKey(Schema.String) },
      success: data(VersionDiff),
      error: [PromptNotFound, VersionNotFound, VersionOfAnotherPrompt, DiffTooLarge]
    }).annotate(Requires, read),
    HttpApiEndpoint.get("getRollout", "/api/prompts/:id/rollout", {
      params: { id: Schema.String },
      success: data(Schema.NullOr(Rollout)),
      error: PromptNotFound
    }).annotate(Requires, read),
    HttpApiEndpoint.put("setRollout", "/api/prompts/:id/rollout", {
      params: { id: Schema.String },
      payload: RolloutInput,
      success: data(Rollout),
      error: [PromptNotFound, InvalidRollout]
    }).annotate(Requires, publish),
    HttpApiEndpoint.delete("deleteRollout", "/api/prompts/:id/rollout", {
      params: { id: Schema.String },
      success: Ok,
      error: PromptNotFound
    }).annotate(Requires, publish),
    HttpApiEndpoint.get("clients", "/api/clients", {
      success: data(Schema.Array(ClientConnection))
    }).annotate(Requires, read)
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({
    title: "Prompts",
    description: "PromptOps-compatible prompts: versions, publish, rollback, gray-release rollouts"
  }))
{}

export class PromptsSdkGroup extends HttpApiGroup.make("promptsSdk")
  .annotate(WireDialect, WireDialect.promptOps)
  .add(
    HttpApiEndpoint.get("fetch", "/api/sdk/prompts/:key", {
      params: { key: Schema.String },
      // `env` defaults to `prod`. Stickiness: `sticky_key` / `user_id` / `session_id` (or
      // camelCase), or the `X-Sticky-Key` / `X-User-Id` / `X-Session-Id` headers.
      query: SdkQuery,
      success: SdkPrompt,
      error: PublishedPromptNotFound
    }).annotate(Requires, read)
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({
    title: "Prompts SDK",
    description: "What PromptOps SDKs call at run time; ETag / If-None-Match answers 304"
  }))
{}

/** What a playground run can fail with, streamed or not. */
const playgroundRunErrors = [
  PromptNotFound,
  PublishedPromptNotFound,
  VersionNotFound,
  VersionOfAnotherPrompt,
  InvalidPlaygroundRequest,
  UnknownProvider,
  ProviderAddressRefused,
  ProviderNotConfigured,
  ProviderFailed,
  SecretKeyUnavailable
] as const

export class PromptsPlaygroundGroup extends HttpApiGroup.make("promptsPlayground")
  .annotate(WireDialect, WireDialect.promptOps)
  .add(
    HttpApiEndpoint.post("run", "/api/playground/run", {
      payload: PlaygroundRunRequest,
      success: PlaygroundRunResponse,
      error: playgroundRunErrors
    }).annotate(Requires, Requirement.run("prompts")),
    HttpApiEndpoint.post("runStream", "/api/playground/run/stream", {
      // The same run streamed as Server-Sent Events: `delta` events, then `done` or `error`.
      payload: PlaygroundRunRequest,
      success: Schema.String.pipe(HttpApiSchema.asText({ contentType: "text/event-stream" })),
      error: playgroundRunErrors
    }).annotate(Requires, Requirement.run("prompts")),
    HttpApiEndpoint.get("providers", "/api/playground/providers", {
      // `data`: the provider names (PromptOps); `providers`: whether each is configured for
      // `?workspace=` (default: the organization's default workspace) and from where.
      query: WorkspaceQuery,
      success: ProvidersList
    }).annotate(Requires, read),
    HttpApiEndpoint.get("getProviderConfig", "/api/playground/providers/openai", {
      // The OpenAI-compatible provider configuration of `?workspace=`; `null` when it has none.
      query: WorkspaceQuery,
      success: data(Schema.NullOr(ProviderConfig))
    }).annotate(Requires, providerRead),
    HttpApiEndpoint.put("setProviderConfig", "/api/playground/providers/openai", {
      query: WorkspaceQuery,
      payload: ProviderConfigInput,
      success: data(ProviderConfig),
      error: [InvalidProviderConfig, ProviderAddressRefused, SecretKeyUnavailable]
    }).annotate(Requires, providerWrite),
    HttpApiEndpoint.delete("deleteProviderConfig", "/api/playground/providers/openai", {
      query: WorkspaceQuery,
      success: Ok
    }).annotate(Requires, providerWrite),
    HttpApiEndpoint.get("models", "/api/v1/models", {
      // The models of the providers configured for `?workspace=` (default: the default workspace).
      query: WorkspaceQuery,
      success: Schema.Struct({ models: Schema.Array(ModelInfo) })
    }).annotate(Requires, read),
    HttpApiEndpoint.get("usage", "/api/v1/llm-usage", {
      // `days`: how many days back (default 30, at most 366).
      query: { days: Schema.optionalKey(Schema.String) },
      success: LlmUsage
    }).annotate(Requires, read)
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({
    title: "Playground and models",
    description: "Render a prompt and call a model provider (mock or OpenAI-compatible); usage"
  }))
{}

/**
 * `GET /ws`: the hot-reload WebSocket. Authenticated by `?token=` (or a bearer header). Query:
 * `client` (`node-sdk`, `browser`...), `app`, `namespace` (or `env`: only that environment's
 * events), `since` (replay events after that sequence number), `hello=1` (send
 * `{"type":"hello","seq":<current>}` first; without it only changes are sent). Each text frame
 * is one {@link ChangeEvent}.
 */
export class PromptsHotReloadGroup extends HttpApiGroup.make("promptsHotReload")
  .annotate(WireDialect, WireDialect.promptOps)
  .add(
    HttpApiEndpoint.get("ws", "/ws", {
      query: {
        token: Schema.optionalKey(Schema.String),
        client: Schema.optionalKey(Schema.String),
        app: Schema.optionalKey(Schema.String),
        namespace: Schema.optionalKey(Schema.String),
        env: Schema.optionalKey(Schema.String),
        since: Schema.optionalKey(Schema.String),
        hello: Schema.optionalKey(Schema.String)
      },
      success: ChangeEvent.pipe(HttpApiSchema.status(101)),
      error: [
        Problems.Unauthorized,
        Problems.Forbidden,
        AuthProblems.InsufficientRole,
        AuthProblems.InsufficientScope,
        AuthProblems.ServiceKeyNotAllowed,
        Problems.RateLimited
      ]
    }).annotate(Requires, watchRequirement)
  )
  .annotateMerge(OpenApi.annotations({
    title: "Prompts hot reload",
    description: "WebSocket stream of prompt changes for SDKs and browsers (token in ?token=)"
  }))
{}

/** The plugin's own API value, for its handlers and for typed clients of just this plugin. */
export class PromptsApi extends HttpApi.make("prompts")
  .add(PromptsGroup)
  .add(PromptsSdkGroup)
  .add(PromptsPlaygroundGroup)
  .add(PromptsHotReloadGroup)
{}

/**
 * The RPC form of the prompts, SDK and playground routes, served at `/rpc` by the same handlers:
 * tag `prompts.<EndpointName>` (`prompts.Create`, `prompts.Fetch`), payload
 * `{ params, query, payload }` as the typed HTTP client sends it, result as the route's body.
 * The streamed run and the WebSocket have no RPC form.
 */
export const PromptsRpcs = RpcFromApi.make("prompts", [PromptsGroup, PromptsSdkGroup, PromptsPlaygroundGroup], { omit: ["runStream"] })
