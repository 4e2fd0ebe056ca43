/**
 * The `ai` platform plugin's routes, in the mobile runs API's dialect (seed 002: camelCase,
 * plain RFC 7807 problems, 422 on a bad body):
 * - `GET /api/settings/providers`: every model provider with the caller's organization's
 *   enabled state and whether the server has it configured (scope `settings:read`).
 * - `PUT /api/settings/providers/{key}` `{enabled}`: switch one off or on for the organization
 *   (admins; scope `settings:write`). A disabled provider is refused by `Models.generate`.
 *
 * Client-safe: imports only `effect` and the platform's contract modules.
 */
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { Authentication } from "../auth/Authentication.ts"
import * as Requirement from "../auth/Requirement.ts"
import { Requires } from "../auth/Requirement.ts"
import { WireDialect } from "../http/WireDialect.ts"
import { Problem } from "../problem/Problem.ts"

export const ProviderSetting = Schema.Struct({
  /** The provider's name (`openai`, `anthropic`, ...), its key in `PUT /api/settings/providers/{key}`. */
  key: Schema.String,
  name: Schema.String,
  /** Other names it answers to (`claude`, `gemini`). */
  aliases: Schema.Array(Schema.String),
  /** The organization allows it. */
  enabled: Schema.Boolean,
  /** The server has an endpoint (and a key, where one is needed) for it without a per-call one. */
  configured: Schema.Boolean,
  defaultModel: Schema.String,
  models: Schema.Array(Schema.String)
})
export type ProviderSetting = typeof ProviderSetting.Type

export class ProviderKeyNotFound extends Problem<ProviderKeyNotFound>()("ProviderKeyNotFound", {
  code: "PROVIDER_NOT_FOUND",
  status: 404,
  title: "No model provider with that key"
}, { key: Schema.String }) {}

export const aiProblems = [ProviderKeyNotFound]

export class AiSettingsGroup extends HttpApiGroup.make("aiSettings")
  .annotate(WireDialect, WireDialect.runs)
  .add(
    HttpApiEndpoint.get("listProviders", "/api/settings/providers", {
      success: Schema.Struct({ data: Schema.Array(ProviderSetting) })
    }).annotate(Requires, Requirement.custom("viewer", "settings:read")),
    HttpApiEndpoint.put("setProvider", "/api/settings/providers/:key", {
      params: { key: Schema.String },
      payload: Schema.Struct({ enabled: Schema.Boolean }),
      success: Schema.Struct({ data: ProviderSetting }),
      error: ProviderKeyNotFound
    }).annotate(Requires, Requirement.custom("admin", "settings:write", { limit: "settings" }))
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({
    title: "Model providers",
    description: "The model providers and whether the organization allows each"
  }))
{}

export class AiApi extends HttpApi.make("ai").add(AiSettingsGroup) {}
