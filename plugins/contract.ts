/**
 * The client-safe half of `plugins/index.ts`: the first-party plugins' HTTP groups and RPC
 * groups, imported from their contract modules only (`Api.ts`, `Rpc.ts`), so the typed client
 * built from them carries no server code. Keep it in step with `plugins/index.ts`.
 */
import { PromptsGroup, PromptsHotReloadGroup, PromptsPlaygroundGroup, PromptsSdkGroup } from "./prompts/Api.ts"
import { PromptsRpcs } from "./prompts/Rpc.ts"
import { ProjectsGroup, TicketSettingsGroup, TicketsGroup } from "./tickets/Api.ts"
import { TicketsRpcs } from "./tickets/Rpc.ts"

/** Every first-party plugin's HttpApi groups, in `plugins/index.ts` order. */
export const firstPartyGroups = [
  PromptsGroup,
  PromptsSdkGroup,
  PromptsPlaygroundGroup,
  PromptsHotReloadGroup,
  ProjectsGroup,
  TicketsGroup,
  TicketSettingsGroup
] as const

/** The first-party RPC groups, for `Client.makeRpc`. */
export { PromptsRpcs, TicketsRpcs }
