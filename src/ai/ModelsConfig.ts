/**
 * The model providers' variables, declared once for the platform's `Models` service (the
 * `ai` platform plugin declares them, so every server reads and checks them at start): each
 * provider's environment-level endpoint, key and default model, the private-address switch and
 * the usage retention. A call's own key and endpoint win over these, and the prompts plugin's
 * per-workspace settings win over them for the playground.
 */
import * as Setting from "../config/Setting.ts"

export class ModelsConfig extends Setting.Service<ModelsConfig>()("trellis/ai/ModelsConfig", {
  openaiBaseUrl: Setting.url("TRELLIS_OPENAI_BASE_URL", ["http:", "https:"], {
    unset: "(unset: OpenAI's own API when a key is set or sent with the call)",
    description: "Model providers: base URL of the `openai` provider (any OpenAI-compatible chat-completions API; `/v1` is added when missing). Private and loopback addresses are refused unless `TRELLIS_PROVIDERS_ALLOW_PRIVATE=true`."
  }),
  openaiApiKey: Setting.secret("TRELLIS_OPENAI_API_KEY", {
    unset: "(unset)",
    description: "Model providers: the `openai` provider's API key (sent only to its own origin). With neither this nor a base URL, `openai` is not configured."
  }),
  openaiModel: Setting.text("TRELLIS_OPENAI_MODEL", {
    default: "gpt-4o-mini",
    description: "Model providers: the `openai` provider's default model (and of a workspace's playground provider that names none)."
  }),
  anthropicApiKey: Setting.secret("TRELLIS_ANTHROPIC_API_KEY", {
    unset: "(unset: `anthropic`/`claude` not configured)",
    description: "Model providers: the `anthropic` (PromptOps's `claude`) provider's API key."
  }),
  anthropicBaseUrl: Setting.url("TRELLIS_ANTHROPIC_BASE_URL", ["http:", "https:"], {
    unset: "(unset: Anthropic's API)",
    description: "Model providers: another base URL for the `anthropic` provider (a proxy)."
  }),
  anthropicModel: Setting.text("TRELLIS_ANTHROPIC_MODEL", {
    default: "claude-sonnet-4-5",
    description: "Model providers: the `anthropic` provider's default model."
  }),
  googleApiKey: Setting.secret("TRELLIS_GOOGLE_API_KEY", {
    unset: "(unset: `google`/`gemini` not configured)",
    description: "Model providers: the `google` (PromptOps's `gemini`) provider's API key (Gemini API)."
  }),
  googleModel: Setting.text("TRELLIS_GOOGLE_MODEL", {
    default: "gemini-2.5-flash",
    description: "Model providers: the `google` provider's default model."
  }),
  ollamaBaseUrl: Setting.url("TRELLIS_OLLAMA_BASE_URL", ["http:", "https:"], {
    unset: "(unset: `ollama` not configured)",
    description: "Model providers: the `ollama` provider's base URL (its OpenAI-compatible API, e.g. `http://localhost:11434/v1`; a local address also needs `TRELLIS_PROVIDERS_ALLOW_PRIVATE=true`)."
  }),
  ollamaModel: Setting.text("TRELLIS_OLLAMA_MODEL", {
    default: "llama3.2",
    description: "Model providers: the `ollama` provider's default model."
  }),
  compatibleBaseUrl: Setting.url("TRELLIS_OPENAI_COMPATIBLE_BASE_URL", ["http:", "https:"], {
    unset: "(unset: `openai-compatible` needs a per-call base URL)",
    description: "Model providers: the `openai-compatible` provider's base URL (vLLM, LM Studio, any OpenAI chat API)."
  }),
  compatibleApiKey: Setting.secret("TRELLIS_OPENAI_COMPATIBLE_API_KEY", {
    unset: "(unset)",
    description: "Model providers: the `openai-compatible` provider's API key (sent only to its own origin)."
  }),
  compatibleModel: Setting.text("TRELLIS_OPENAI_COMPATIBLE_MODEL", {
    default: "default",
    description: "Model providers: the `openai-compatible` provider's default model."
  }),
  allowPrivate: Setting.boolean("TRELLIS_PROVIDERS_ALLOW_PRIVATE", {
    default: false,
    description: "Model providers: `true` allows provider base URLs on private or loopback addresses (a local model server); see \"Outbound requests\"."
  }),
  usageRetentionDays: Setting.integer("TRELLIS_LLM_USAGE_RETENTION_DAYS", {
    default: 400,
    min: 1,
    max: 36_500,
    description: "Model providers: days a model call's usage record is kept (older ones are deleted hourly)."
  })
}) {}
