/**
 * The prompts plugin value (first-party). Its layer implements the HTTP groups and the RPCs and
 * offers `Prompts` to other plugins through `PromptsService.ts` (tag and interface only; a
 * plugin using it declares `requires: ["prompts"]`); its other services are internal. It needs the platform's
 * `SqlClient`, `EventLog`, `Lifecycle`, `Credentials`, `SecretBox`, `FastPath` and the audit plugin's `AuditLog`.
 */
import { Layer } from "effect"
import { Plugin } from "trellis/plugin"
import { PromptsGroup, PromptsHotReloadGroup, PromptsPlaygroundGroup, PromptsRpcs, PromptsSdkGroup } from "./Api.ts"
import { HotReload } from "./HotReload.ts"
import { PromptsHotReloadHttp, PromptsHttp, PromptsPlaygroundHttp, PromptsSdkHttp } from "./Http.ts"
import { migration as createPrompts } from "./migrations/0001_create_prompts.ts"
import { migration as createProviderConfigs } from "./migrations/0002_create_provider_configs.ts"
import { migration as labelsAndServing } from "./migrations/0003_labels_and_serving.ts"
import { migration as usageToPlatform } from "./migrations/0004_usage_to_platform.ts"
import { Playground } from "./Playground.ts"
import * as PromptsLive from "./Prompts.ts"
import { SdkFastRoute } from "./SdkFastRoute.ts"
import { SdkPrompts } from "./SdkPrompts.ts"
import { ServedCache } from "./ServedCache.ts"

const services = Layer.mergeAll(SdkPrompts.layer, Playground.layer, HotReload.layer).pipe(
  Layer.provideMerge(PromptsLive.layer),
  Layer.provideMerge(ServedCache.layer)
)

export const PromptsPlugin = Plugin.make({
  id: "prompts",
  version: "1.0.0",
  description: "PromptOps-compatible prompts: versions, publishing, sticky gray-release rollouts, SDK fetch, hot reload, playground",
  groups: [PromptsGroup, PromptsSdkGroup, PromptsPlaygroundGroup, PromptsHotReloadGroup],
  rpc: PromptsRpcs,
  migrations: [createPrompts, createProviderConfigs, labelsAndServing, usageToPlatform],
  requires: ["audit"],
  layer: Layer.mergeAll(PromptsHttp, PromptsSdkHttp, PromptsPlaygroundHttp, PromptsHotReloadHttp, SdkFastRoute).pipe(
    Layer.provideMerge(services)
  )
})
