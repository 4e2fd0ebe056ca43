/**
 * The client-safe half of `plugins/index.ts`: the first-party plugins' HTTP groups and RPC
 * groups, imported from their contract modules only (`Api.ts`, whose RPC groups are derived from the HTTP groups), so the typed client
 * built from them carries no server code. Keep it in step with `plugins/index.ts`.
 */
import { AgentsGroup } from "./agents/Api.ts"
import { AutomationsGroup, AutomationWebhooksGroup } from "./automations/Api.ts"
import { AgentEventsGroup, PageCommentsGroup, PageStreamsGroup } from "./pages/LiveApi.ts"
import { PagesCatalogGroup, PagesInboxGroup } from "./pages/CatalogApi.ts"
import { PageFilesGroup } from "./pages/FilesApi.ts"
import { PagesGroup } from "./pages/PagesApi.ts"
import { ProtocolsGroup } from "./pages/ProtocolsApi.ts"
import { PeopleGroup } from "./pages/PeopleApi.ts"
import { PromptsGroup, PromptsHotReloadGroup, PromptsPlaygroundGroup, PromptsRpcs, PromptsSdkGroup } from "./prompts/Api.ts"
import { RunLogGroup, RunsGroup, RunsRpcs } from "./runs/Api.ts"
import { ProjectsGroup, TicketSettingsGroup, TicketsGroup, TicketsRpcs } from "./tickets/Api.ts"
import { WorkflowsGroup } from "./workflows/Api.ts"

/** Every first-party plugin's HttpApi groups, in `plugins/index.ts` order. */
export const firstPartyGroups = [
  PromptsGroup,
  PromptsSdkGroup,
  PromptsPlaygroundGroup,
  PromptsHotReloadGroup,
  ProjectsGroup,
  TicketsGroup,
  TicketSettingsGroup,
  RunsGroup,
  RunLogGroup,
  WorkflowsGroup,
  AgentsGroup,
  AutomationsGroup,
  AutomationWebhooksGroup,
  PagesGroup,
  PageStreamsGroup,
  PageCommentsGroup,
  AgentEventsGroup,
  PagesCatalogGroup,
  PagesInboxGroup,
  ProtocolsGroup,
  PeopleGroup,
  PageFilesGroup
] as const

/** The first-party RPC groups, for `Client.makeRpc`. */
export { PromptsRpcs, RunsRpcs, TicketsRpcs }
