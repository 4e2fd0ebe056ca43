/**
 * The example plugin value: what `TRELLIS_PLUGINS` loads. Its layer implements the HTTP group
 * and the RPCs and exports `Greetings` for plugins listed after it.
 */
import { Layer } from "effect"
import { Plugin } from "trellis/plugin"
import { HelloGroup, HelloRpcs } from "./Api.ts"
import { Greetings } from "./Greetings.ts"
import { HelloHttp } from "./Http.ts"
import { migration as createGreetings } from "./migrations/0001_create_greetings.ts"
import { migration as greetingsPerOrganization } from "./migrations/0002_greetings_per_organization.ts"
import { webRoutes } from "./Web.ts"

export const HelloPlugin = Plugin.make({
  id: "hello",
  version: "1.0.0",
  description: "Example third-party plugin: greetings",
  groups: [HelloGroup],
  rpc: HelloRpcs,
  migrations: [createGreetings, greetingsPerOrganization],
  requires: ["audit"],
  web: { routes: webRoutes },
  layer: HelloHttp.pipe(Layer.provideMerge(Greetings.layer))
})
