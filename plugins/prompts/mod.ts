/**
 * The module `TRELLIS_PLUGINS` can name to load the prompts plugin into a server that does not
 * list it as first-party: the default export is the plugin.
 */
import { PromptsPlugin } from "./Plugin.ts"

export default PromptsPlugin
