/**
 * The automations plugin (first-party): Sursakit's workspace automations and incoming webhooks
 * (seed 000), whose cron, webhook and event triggers start runs through the runs plugin's `Runs`
 * service (`requires: ["runs"]`). It needs the platform's `SqlClient`, `EventLog`, `JobQueue`,
 * `SecretBox` and `RateLimiter`; it offers no service to other plugins.
 */
import { Layer } from "effect"
import { Plugin } from "trellis/plugin"
import { AutomationsGroup, AutomationWebhooksGroup } from "./Api.ts"
import * as AutomationsLive from "./Automations.ts"
import { AutomationsConfig } from "./AutomationsConfig.ts"
import { automationProblems } from "./Errors.ts"
import { AutomationsHttpLive } from "./Http.ts"
import { migration as createAutomations } from "./migrations/0001_create_automations.ts"

export const AutomationsPlugin = Plugin.make({
  id: "automations",
  version: "0.1.0",
  description: "Sursakit automations: cron schedules, signed incoming webhooks and Trellis events that start workflow and agent runs",
  groups: [AutomationsGroup, AutomationWebhooksGroup],
  migrations: [createAutomations],
  requires: ["runs"],
  config: AutomationsConfig,
  problems: [...automationProblems],
  layer: AutomationsHttpLive.pipe(Layer.provideMerge(AutomationsLive.layer))
})
