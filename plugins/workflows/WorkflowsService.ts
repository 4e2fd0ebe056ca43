/**
 * The workflows plugin's `Workflows` service as other plugins see it (automations start a stored
 * workflow through the `workflow` step type, or through `start` here): the tag and its
 * interface, nothing of the implementation (`Workflows.ts` provides it; the plugin's layer
 * outputs it). A plugin that uses it declares `requires: ["workflows"]`.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { CurrentPrincipal } from "trellis/contract"
import type { Run, StepDefinition } from "../runs/Domain.ts"
import type { CreateWorkflow, RunWorkflowRequest, RunWorkflowResponse, UpdateWorkflow, Workflow } from "./Domain.ts"
import type {
  InvalidWorkflowDefinition,
  SecretKeyUnavailable,
  WorkflowKeyRequired,
  WorkflowKeyTaken,
  WorkflowNotFound,
  WorkflowRunFailed
} from "./Errors.ts"

export interface ListFilter {
  readonly workspace?: string | undefined
  readonly q?: string | undefined
}

/** The options of a run: PromptOps's `api_key` and `base_url`, for its model steps. */
export interface RunOptions {
  readonly apiKey?: string | undefined
  readonly baseUrl?: string | undefined
}

type WithPrincipal<A, E> = Effect.Effect<A, E, CurrentPrincipal>

export class Workflows extends Context.Service<Workflows, {
  readonly list: (filter: ListFilter) => WithPrincipal<ReadonlyArray<Workflow>, never>
  readonly create: (input: CreateWorkflow) => WithPrincipal<Workflow, WorkflowKeyRequired | WorkflowKeyTaken | InvalidWorkflowDefinition>
  readonly get: (id: string) => WithPrincipal<Workflow, WorkflowNotFound>
  readonly update: (id: string, input: UpdateWorkflow) => WithPrincipal<Workflow, WorkflowNotFound | InvalidWorkflowDefinition>
  readonly remove: (id: string) => WithPrincipal<void, WorkflowNotFound>
  /** The run's steps for a workflow: a first step that makes PromptOps's empty `{{input}}`, then the workflow's. */
  readonly runSteps: (workflow: Workflow) => ReadonlyArray<StepDefinition>
  /** Starts a run of the workflow (source `workflow`, ref key its id) and answers at once. */
  readonly start: (
    id: string,
    variables: Readonly<Record<string, unknown>>,
    options: RunOptions
  ) => WithPrincipal<Run, WorkflowNotFound | InvalidWorkflowDefinition | SecretKeyUnavailable>
  /** PromptOps's synchronous run: starts it, waits for its end, answers the output and the step trace. */
  readonly run: (
    id: string,
    request: RunWorkflowRequest
  ) => WithPrincipal<RunWorkflowResponse, WorkflowNotFound | InvalidWorkflowDefinition | WorkflowRunFailed | SecretKeyUnavailable>
}>()("workflows/Workflows") {}
