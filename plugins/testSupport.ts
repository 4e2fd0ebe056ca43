/**
 * Test support the platform's tests pick up from every first-party plugin: today the entries of
 * the cross-organization matrix (`test/identity/crossorg.test.ts`). A plugin adds its
 * `test/crossorg.ts` here, next to its line in `plugins/index.ts`.
 */
import type { PluginMatrix } from "../test/identity/crossorgMatrix.ts"
import { agentsMatrix } from "./agents/test/crossorg.ts"
import { automationsMatrix } from "./automations/test/crossorg.ts"
import { pagesMatrix } from "./pages/test/crossorg.ts"
import { promptsMatrix } from "./prompts/test/crossorg.ts"
import { runsMatrix } from "./runs/test/crossorg.ts"
import { ticketsMatrix } from "./tickets/test/crossorg.ts"
import { workflowsMatrix } from "./workflows/test/crossorg.ts"

export const crossOrgMatrices: ReadonlyArray<PluginMatrix> = [
  promptsMatrix,
  ticketsMatrix,
  runsMatrix,
  workflowsMatrix,
  agentsMatrix,
  automationsMatrix,
  pagesMatrix
]
