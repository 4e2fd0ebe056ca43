/** The workflows plugin's HTTP handlers: thin, they call the service. */
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { WorkflowsApi } from "./Api.ts"
import { Workflows } from "./WorkflowsService.ts"

export const WorkflowsHttp = HttpApiBuilder.group(
  WorkflowsApi,
  "workflows",
  Effect.fn(function*(handlers) {
    const workflows = yield* Workflows
    return handlers
      .handle("list", ({ query }) => Effect.map(workflows.list(query), (data) => ({ data })))
      .handle("create", ({ payload }) => Effect.map(workflows.create(payload), (data) => ({ data })))
      .handle("get", ({ params }) => Effect.map(workflows.get(params.id), (data) => ({ data })))
      .handle("update", ({ params, payload }) => Effect.map(workflows.update(params.id, payload), (data) => ({ data })))
      .handle("remove", ({ params }) => Effect.as(workflows.remove(params.id), { ok: true }))
      .handle("run", ({ params, payload }) => workflows.run(params.id, payload))
  })
)
