/**
 * The pages plugin's entries of the cross-organization matrix (`test/identity/crossorg.test.ts`
 * runs them): each part adds the entries of the routes it serves.
 */
import type { PluginMatrix } from "../../../test/identity/crossorgMatrix.ts"

export const pagesMatrix: PluginMatrix = {
  plugin: "pages",
  routes: {},
  rpcs: {}
}
