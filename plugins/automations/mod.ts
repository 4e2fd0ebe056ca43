/**
 * The module `TRELLIS_PLUGINS` can name to load the automations plugin into a server that does
 * not list it as first-party (with the runs plugin): the default export is the plugin.
 */
import { AutomationsPlugin } from "./Plugin.ts"

export default AutomationsPlugin
