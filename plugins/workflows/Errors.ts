/**
 * The workflows plugin's problems. On PromptOps's routes they are written in its dialect
 * (`{"error": "<detail>"}`, see the plugin README); the problem+json members stay for other
 * clients. Every one is answered before anything is written.
 *
 * Client-safe.
 */
import { Schema } from "effect"
import { Problem, Problems } from "trellis/contract"

export class WorkflowNotFound extends Problem<WorkflowNotFound>()("WorkflowNotFound", {
  code: "WORKFLOW_NOT_FOUND",
  status: 404,
  title: "Workflow not found"
}, { workflow_id: Schema.String }) {}

/** PromptOps refuses an empty key (`key is required`). */
export class WorkflowKeyRequired extends Problem<WorkflowKeyRequired>()("WorkflowKeyRequired", {
  code: "WORKFLOW_KEY_REQUIRED",
  status: 400,
  title: "key is required"
}) {}

export class WorkflowKeyTaken extends Problem<WorkflowKeyTaken>()("WorkflowKeyTaken", {
  code: "WORKFLOW_KEY_TAKEN",
  status: 409,
  title: "A workflow with this key already exists in this workspace"
}, { key: Schema.String, workspace_id: Schema.String }) {}

/**
 * A step of the definition is invalid: an unknown type, bad members, a duplicate name, a prompt
 * key with nothing to serve, a `workflow` step naming no workflow, or a cycle of workflows
 * calling each other. Names the step (`step_index` counts from 0) and the reason.
 */
export class InvalidWorkflowDefinition extends Problem<InvalidWorkflowDefinition>()("InvalidWorkflowDefinition", {
  code: "INVALID_WORKFLOW_DEFINITION",
  status: 422,
  title: "The workflow definition is invalid"
}, { step_index: Schema.NullOr(Schema.Int), step: Schema.NullOr(Schema.String), reason: Schema.String }) {}

/**
 * The run failed (PromptOps's 502 `{"error": "step N (name): cause"}`: a provider outage, a
 * failing step) or was cancelled. `run_id` names it in the run log.
 */
export class WorkflowRunFailed extends Problem<WorkflowRunFailed>()("WorkflowRunFailed", {
  code: "WORKFLOW_RUN_FAILED",
  status: 502,
  title: "The workflow run failed"
}, { run_id: Schema.String, step: Schema.NullOr(Schema.String) }) {}

/** The platform's problem for an `api_key` the server cannot seal (no secret key). */
export const SecretKeyUnavailable = Problems.SecretKeyUnavailable
export type SecretKeyUnavailable = Problems.SecretKeyUnavailable

export const workflowProblems = [WorkflowNotFound, WorkflowKeyRequired, WorkflowKeyTaken, InvalidWorkflowDefinition, WorkflowRunFailed] as const
