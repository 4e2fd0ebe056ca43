/**
 * The prompts plugin's variables, declared once: the playground's environment-level
 * OpenAI-compatible provider and the private-address switch. The host reads and checks them at
 * start (a bad value stops it, naming the variable), offers them as `trellis serve` flags and
 * the README lists them; the plugin's services read them as `yield* PromptsConfig`.
 */
import { Setting } from "trellis/plugin"

export class PromptsConfig extends Setting.Service<PromptsConfig>()("prompts/PromptsConfig", {
  openaiBaseUrl: Setting.url("TRELLIS_OPENAI_BASE_URL", ["http:", "https:"], {
    unset: "(unset: only the `mock` provider)",
    description: "Prompts plugin: base URL of an OpenAI-compatible chat-completions API for the playground. Private and loopback addresses are refused unless `TRELLIS_PROVIDERS_ALLOW_PRIVATE=true`."
  }),
  openaiApiKey: Setting.secret("TRELLIS_OPENAI_API_KEY", {
    unset: "(unset)",
    description: "Prompts plugin: the API key sent to that provider (only to its origin)."
  }),
  openaiModel: Setting.text("TRELLIS_OPENAI_MODEL", {
    default: "gpt-4o-mini",
    description: "Prompts plugin: the default model of that provider (and of a workspace's provider that names none)."
  }),
  allowPrivate: Setting.boolean("TRELLIS_PROVIDERS_ALLOW_PRIVATE", {
    default: false,
    description: "Prompts plugin: `true` allows provider base URLs on private or loopback addresses (a local model server); see \"Outbound requests\"."
  })
}) {}
