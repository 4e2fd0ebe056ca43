/** Entry point named in `TRELLIS_PLUGINS=./examples/hello-plugin/mod.ts`: the default export is the plugin. */
import { HelloPlugin } from "./Plugin.ts"

export default HelloPlugin
