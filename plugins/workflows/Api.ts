/**
 * The workflows plugin's HTTP contract, at PromptOps's paths (seed 004) and in its shapes:
 * resources wrapped in `{ "data": ... }`, creates answer 200, deletes `{ "ok": true }`, errors in
 * PromptOps's dialect (`{"error": ...}`). Reads and runs: viewers (`workflows:read`,
 * `workflows:run` for service keys); writes: editors (`workflows:write`).
 *
 * Client-safe.
 */
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { Authentication, Requirement, Requires, WireDialect } from "trellis/contract"
import { CreateWorkflow, ListWorkflowsQuery, Ok, RunWorkflowRequest, RunWorkflowResponse, UpdateWorkflow, Workflow } from "./Domain.ts"
import {
  InvalidWorkflowDefinition,
  SecretKeyUnavailable,
  WorkflowKeyRequired,
  WorkflowKeyTaken,
  WorkflowNotFound,
  WorkflowRunFailed
} from "./Errors.ts"

const read = Requirement.read("workflows")
const write = Requirement.write("workflows")
const run = Requirement.run("workflows")

const data = <S extends Schema.Top>(schema: S) => Schema.Struct({ data: schema })

export class WorkflowsGroup extends HttpApiGroup.make("workflows")
  .annotate(WireDialect, WireDialect.promptOps)
  .add(
    HttpApiEndpoint.get("list", "/api/workflows", {
      query: ListWorkflowsQuery,
      success: data(Schema.Array(Workflow))
    }).annotate(Requires, read),
    HttpApiEndpoint.post("create", "/api/workflows", {
      payload: CreateWorkflow,
      success: data(Workflow),
      error: [WorkflowKeyRequired, WorkflowKeyTaken, InvalidWorkflowDefinition]
    }).annotate(Requires, write),
    HttpApiEndpoint.get("get", "/api/workflows/:id", {
      params: { id: Schema.String },
      success: data(Workflow),
      error: WorkflowNotFound
    }).annotate(Requires, read),
    HttpApiEndpoint.put("update", "/api/workflows/:id", {
      params: { id: Schema.String },
      payload: UpdateWorkflow,
      success: data(Workflow),
      error: [WorkflowNotFound, InvalidWorkflowDefinition]
    }).annotate(Requires, write),
    HttpApiEndpoint.delete("remove", "/api/workflows/:id", {
      params: { id: Schema.String },
      success: Ok,
      error: WorkflowNotFound
    }).annotate(Requires, write),
    HttpApiEndpoint.post("run", "/api/workflows/:id/run", {
      params: { id: Schema.String },
      payload: RunWorkflowRequest,
      success: RunWorkflowResponse,
      error: [WorkflowNotFound, InvalidWorkflowDefinition, WorkflowRunFailed, SecretKeyUnavailable]
    }).annotate(Requires, run)
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({
    title: "Workflows",
    description: "PromptOps-compatible workflows: steps threading each output into the next, run as durable runs"
  }))
{}

/** The plugin's own API value, for its handlers and for typed clients of just this plugin. */
export class WorkflowsApi extends HttpApi.make("workflows").add(WorkflowsGroup) {}
