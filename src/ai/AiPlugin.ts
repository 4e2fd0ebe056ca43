/**
 * The model providers' platform plugin (`ai`): owns the `ai` schema (usage records, the
 * organizations' provider switches), declares the providers' variables (`ModelsConfig`) and
 * serves `/api/settings/providers`. The `Models` service itself is a platform service
 * (`ModelsLive`, built in `Server.platformLayer`), so every plugin can call a model.
 */
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import * as Plugin from "../plugin/Plugin.ts"
import { AiApi, AiSettingsGroup, aiProblems, ProviderKeyNotFound } from "./AiApi.ts"
import type { ProviderSetting } from "./AiApi.ts"
import { migrations } from "./migrations.ts"
import { ModelsConfig } from "./ModelsConfig.ts"
import { ProviderStates } from "./ModelsLive.ts"
import type { ProviderInfo } from "./Models.ts"

const toSetting = (info: ProviderInfo & { readonly enabled: boolean }): ProviderSetting => ({
  key: info.name,
  name: info.name,
  aliases: info.aliases,
  enabled: info.enabled,
  configured: info.configured,
  defaultModel: info.defaultModel,
  models: info.models
})

export const AiSettingsHttp = HttpApiBuilder.group(
  AiApi,
  "aiSettings",
  Effect.fn(function*(handlers) {
    const states = yield* ProviderStates
    return handlers
      .handle("listProviders", () => Effect.map(states.list(), (list) => ({ data: list.map(toSetting) })))
      .handle("setProvider", ({ params, payload }) =>
        Effect.gen(function*() {
          const updated = yield* states.setEnabled(params.key, payload.enabled)
          if (updated === undefined) {
            return yield* new ProviderKeyNotFound({ key: params.key, detail: `No model provider with key ${params.key}.` })
          }
          return { data: toSetting(updated) }
        }))
  })
)

export const AiPlugin = Plugin.make({
  id: "ai",
  version: "1.0.0",
  description: "Model providers (Vercel AI SDK): usage records, per-organization provider switches",
  groups: [AiSettingsGroup],
  migrations,
  scopes: [],
  problems: aiProblems,
  config: ModelsConfig,
  layer: AiSettingsHttp
})
