/**
 * The tickets plugin (first-party): SessionFS's projects and tickets (seed 001) in the
 * `tickets` schema. Its layer requires the platform `AuditLog` (`requires: ["audit"]`). It
 * offers `Tickets` to other plugins through `TicketsService.ts` (tag and interface only; a
 * plugin using it declares `requires: ["tickets"]`); its other services are internal. Ticket
 * status changes go to the `tickets.changes` event stream, declared in `Streams.ts` (a contract
 * module other plugins follow).
 *
 * `TicketsPlugin` declares `TRELLIS_TICKETS_LEASE_SECONDS` (`TicketsConfig`); `makeTicketsPlugin`
 * takes the settings directly (tests, embedding).
 */
import { Layer } from "effect"
import { Plugin } from "trellis/plugin"
import { MobileProjectsGroup, ProjectsGroup, TicketSettingsGroup, TicketsGroup, TicketsRpcs } from "./Api.ts"
import { Comments } from "./Comments.ts"
import { TicketsHttp } from "./Http.ts"
import { migration as createTickets } from "./migrations/0001_create_tickets.ts"
import { migration as projectSettings } from "./migrations/0002_project_settings.ts"
import { migration as millisecondTimestamps } from "./migrations/0003_millisecond_timestamps.ts"
import { migration as mobileProjects } from "./migrations/0004_mobile_projects.ts"
import { MobileProjects } from "./MobileProjects.ts"
import * as ProjectOrganization from "./ProjectOrganization.ts"
import { Projects } from "./Projects.ts"
import * as TicketsLive from "./Tickets.ts"
import { TicketsConfig } from "./TicketsConfig.ts"
import type { TicketsConfigShape } from "./TicketsConfig.ts"
import { TicketSettings } from "./TicketSettings.ts"

const services = Layer.mergeAll(TicketsLive.layer, Comments.layer, MobileProjects.layer).pipe(
  Layer.provideMerge(Layer.mergeAll(Projects.layer, TicketSettings.layer))
)

const layer = Layer.merge(TicketsHttp, ProjectOrganization.layer).pipe(Layer.provideMerge(services))

/** The plugin; the host provides `TicketsConfig` from its declaration (`config`). */
export const TicketsPlugin = Plugin.make({
  id: "tickets",
  version: "1.0.0",
  description: "Tickets that coding agents claim and complete, with lease epochs (SessionFS)",
  groups: [ProjectsGroup, TicketsGroup, TicketSettingsGroup, MobileProjectsGroup],
  rpc: TicketsRpcs,
  migrations: [createTickets, projectSettings, millisecondTimestamps, mobileProjects],
  requires: ["audit"],
  config: TicketsConfig,
  layer
})

/** The plugin with explicit settings instead of the environment's (tests, embedding). */
export const makeTicketsPlugin = (config: Partial<TicketsConfigShape>) =>
  Plugin.make({ ...TicketsPlugin, layer: Layer.provide(layer, TicketsConfig.layer(config)) })
