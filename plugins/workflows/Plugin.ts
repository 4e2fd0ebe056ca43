/**
 * The workflows plugin (first-party): PromptOps's workflows (CRUD and synchronous run) as
 * durable runs of the runs plugin, and the step types `model`, `prompt`, `parallel`, `ticket`
 * and `workflow`, registered into the runs plugin's `StepRegistry` from this layer. It uses the
 * `Runs`, `StepRegistry`, `Prompts` and `Tickets` services (tag modules only) and the platform's
 * `Models`, `SecretBox` and `EventLog` (it follows the tickets change stream); it offers `Workflows` (`WorkflowsService.ts`).
 *
 * `WorkflowsPlugin` uses the defaults; `makeWorkflowsPlugin` takes step settings (tests).
 */
import { Layer } from "effect"
import { Plugin } from "trellis/plugin"
import { WorkflowsGroup } from "./Api.ts"
import { workflowProblems } from "./Errors.ts"
import { WorkflowsHttp } from "./Http.ts"
import { migration as createWorkflows } from "./migrations/0001_create_workflows.ts"
import { migration as ticketWaits } from "./migrations/0002_ticket_waits.ts"
import { defaultStepSettings, register } from "./Steps.ts"
import type { StepSettings } from "./Steps.ts"
import * as WorkflowsLive from "./Workflows.ts"

export const makeWorkflowsPlugin = (settings: Partial<StepSettings> = {}) => {
  const resolved: StepSettings = { ...defaultStepSettings, ...settings }
  return Plugin.make({
    id: "workflows",
    version: "0.1.0",
    description: "PromptOps-compatible workflows run as durable runs; model, prompt, parallel, ticket and workflow steps",
    groups: [WorkflowsGroup],
    migrations: [createWorkflows, ticketWaits],
    requires: ["audit", "runs", "prompts", "tickets"],
    scopes: [],
    problems: [...workflowProblems],
    layer: Layer.mergeAll(WorkflowsHttp, Layer.effectDiscard(register(resolved))).pipe(Layer.provideMerge(WorkflowsLive.layer))
  })
}

export const WorkflowsPlugin = makeWorkflowsPlugin()
