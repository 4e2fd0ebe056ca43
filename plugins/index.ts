/**
 * The first-party plugins, in the order they are composed (after the platform's own: core,
 * audit, identity; third-party plugins of `TRELLIS_PLUGINS` come after these). The platform in
 * `src/` knows no plugin by name: the entry point (`src/main.ts`) passes this list to the CLI,
 * tests pass it to the test kit. Adding a first-party plugin is one line here (and its groups
 * in `plugins/contract.ts` for the typed client).
 *
 * `runs` comes first: the prompts playground records its calls as runs when `Runs` is in reach,
 * and a plugin sees only the services of the plugins composed before it.
 */
import type { Plugin } from "trellis/plugin"
import { AgentsPlugin } from "./agents/Plugin.ts"
import { AutomationsPlugin } from "./automations/Plugin.ts"
import { PagesPlugin } from "./pages/Plugin.ts"
import { PromptsPlugin } from "./prompts/Plugin.ts"
import { RunsPlugin } from "./runs/Plugin.ts"
import { TicketsPlugin } from "./tickets/Plugin.ts"
import { WorkflowsPlugin } from "./workflows/Plugin.ts"

export const firstParty: ReadonlyArray<Plugin.Any> = [RunsPlugin, PromptsPlugin, TicketsPlugin, WorkflowsPlugin, AgentsPlugin, AutomationsPlugin, PagesPlugin]
