/**
 * Test support the platform's tests pick up from every first-party plugin: today the entries of
 * the cross-organization matrix (`test/identity/crossorg.test.ts`). A plugin adds its
 * `test/crossorg.ts` here, next to its line in `plugins/index.ts`.
 */
import type { PluginMatrix } from "../test/identity/crossorgMatrix.ts"
import { automationsMatrix } from "./automations/test/crossorg.ts"
import { promptsMatrix } from "./prompts/test/crossorg.ts"
import { ticketsMatrix } from "./tickets/test/crossorg.ts"

/** The runs plugin serves no route yet (its routes come with their own matrix file). */
const runsRoutesPending: PluginMatrix = { plugin: "runs", routes: {}, rpcs: {} }

export const crossOrgMatrices: ReadonlyArray<PluginMatrix> = [promptsMatrix, ticketsMatrix, runsRoutesPending, automationsMatrix]
