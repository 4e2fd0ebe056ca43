/**
 * The workflows plugin's domain, in PromptOps's shapes (seed 004, snake_case): a workflow is a
 * named list of steps (`{name, type, ...members}`, PromptOps's flat step shape) that runs as one
 * durable run of the runs plugin. PromptOps knows `render`, `model` and `transform`; Trellis adds
 * every type of the step registry (`prompt`, `parallel`, `ticket`, `workflow`, `http`, ...).
 *
 * Client-safe: imports only `effect` and the runs plugin's domain.
 */
import { Schema } from "effect"
import { StepDefinition } from "../runs/Domain.ts"

export const WorkspaceId = Schema.String.check(Schema.isMaxLength(200))

/** A step as stored and answered: PromptOps's `{name, type, template?, provider?, model?, op?}` plus the type's own members. */
export const WorkflowStep = StepDefinition
export type WorkflowStep = typeof WorkflowStep.Type

export const WorkflowSteps = Schema.Array(WorkflowStep).check(Schema.isMaxLength(100))

export const Workflow = Schema.Struct({
  id: Schema.String,
  workspace_id: Schema.String,
  key: Schema.String,
  name: Schema.String,
  description: Schema.String,
  steps: WorkflowSteps,
  created_at: Schema.String,
  updated_at: Schema.String
})
export type Workflow = typeof Workflow.Type

const Key = Schema.String.check(Schema.isMaxLength(200))
const Text = (max: number) => Schema.String.check(Schema.isMaxLength(max))

/** `POST /api/workflows`: PromptOps's body (`key` is required and not empty). */
export const CreateWorkflow = Schema.Struct({
  key: Key,
  name: Schema.optionalKey(Text(500)),
  description: Schema.optionalKey(Text(10_000)),
  workspace_id: Schema.optionalKey(WorkspaceId),
  steps: Schema.optionalKey(WorkflowSteps)
})
export type CreateWorkflow = typeof CreateWorkflow.Type

/**
 * `PUT /api/workflows/:id`: PromptOps replaces name, description and steps (absent: empty) and
 * keeps the key and workspace (its console sends `key` too; it is ignored).
 */
export const UpdateWorkflow = Schema.Struct({
  key: Schema.optionalKey(Key),
  name: Schema.optionalKey(Text(500)),
  description: Schema.optionalKey(Text(10_000)),
  workspace_id: Schema.optionalKey(WorkspaceId),
  steps: Schema.optionalKey(WorkflowSteps)
})
export type UpdateWorkflow = typeof UpdateWorkflow.Type

export const ListWorkflowsQuery = {
  /** A workspace id (`default` is the organization's default workspace). */
  workspace: Schema.optionalKey(WorkspaceId),
  /** Free text in key, name or description. */
  q: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(200)))
}

/** `POST /api/workflows/:id/run`. Variables are PromptOps's strings; other JSON values are accepted too. */
export const RunWorkflowRequest = Schema.Struct({
  variables: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
  /** A provider key for this run's model steps: sealed in the run, never stored in clear, never logged. */
  api_key: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(4096))),
  /** A provider endpoint for this run's model steps (checked against the outbound address policy). */
  base_url: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(2048)))
})
export type RunWorkflowRequest = typeof RunWorkflowRequest.Type

export const StepTrace = Schema.Struct({
  name: Schema.String,
  type: Schema.String,
  output: Schema.String
})
export type StepTrace = typeof StepTrace.Type

/** PromptOps's run answer; `run_id` names the run in the run log (an addition). */
export const RunWorkflowResponse = Schema.Struct({
  output: Schema.String,
  steps: Schema.Array(StepTrace),
  run_id: Schema.String
})
export type RunWorkflowResponse = typeof RunWorkflowResponse.Type

export const Ok = Schema.Struct({ ok: Schema.Boolean })

/**
 * The text of a step's output as PromptOps threads it: strings as they are, an object with a
 * string `output` (a model or prompt step, the `mock` step) by that, anything else as JSON.
 */
export const textOf = (value: unknown): string => {
  if (typeof value === "string") return value
  if (value === undefined || value === null) return ""
  if (typeof value === "object" && !Array.isArray(value) && typeof (value as { output?: unknown }).output === "string") {
    return (value as { output: string }).output
  }
  return typeof value === "object" ? JSON.stringify(value) : String(value)
}
