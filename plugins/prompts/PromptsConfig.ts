/**
 * The playground's provider variables (`TRELLIS_OPENAI_*`, `TRELLIS_PROVIDERS_ALLOW_PRIVATE`)
 * moved to the platform's model providers (`ModelsConfig`, declared by the `ai` platform
 * plugin), so that every plugin's model calls read the same ones; the playground reads them
 * under its old name.
 */
export { ModelsConfig as PromptsConfig } from "trellis/plugin"
