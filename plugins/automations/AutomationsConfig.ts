/**
 * The automations plugin's settings: the incoming webhook receiver's rate limits. A delivery
 * starts a run, so a flood of valid deliveries is limited per automation; a flood of any
 * requests (bad signatures included) is limited per client address before any work is done.
 */
import { Setting } from "trellis/plugin"

export class AutomationsConfig extends Setting.Service<AutomationsConfig>()("automations/AutomationsConfig", {
  webhookPerMinute: Setting.integer("TRELLIS_AUTOMATIONS_WEBHOOK_PER_MINUTE", {
    default: 60,
    min: 0,
    max: 1_000_000,
    description: "Automations plugin: signed webhook deliveries accepted per automation per minute (`POST /api/v1/webhooks/incoming`); more is 429. 0 turns it off."
  }),
  webhookAddressPerMinute: Setting.integer("TRELLIS_AUTOMATIONS_WEBHOOK_ADDRESS_PER_MINUTE", {
    default: 600,
    min: 0,
    max: 1_000_000,
    description: "Automations plugin: requests to the webhook receiver per client address per minute, counted before the signature is checked; more is 429. 0 turns it off."
  })
}) {}
