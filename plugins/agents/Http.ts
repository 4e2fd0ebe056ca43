/** The agents plugin's HTTP handlers: thin, they call the service. */
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { AgentsApi } from "./Api.ts"
import { Agents } from "./AgentsService.ts"

export const AgentsHttp = HttpApiBuilder.group(
  AgentsApi,
  "agents",
  Effect.fn(function*(handlers) {
    const agents = yield* Agents
    return handlers
      .handle("list", ({ query }) => Effect.map(agents.list(query), (data) => ({ data })))
      .handle("create", ({ payload }) => Effect.map(agents.create(payload), (data) => ({ data })))
      .handle("get", ({ params }) => Effect.map(agents.get(params.id), (data) => ({ data })))
      .handle("update", ({ params, payload }) => Effect.map(agents.update(params.id, payload), (data) => ({ data })))
      .handle("remove", ({ params }) => Effect.as(agents.remove(params.id), { ok: true }))
      .handle("run", ({ params, payload }) => agents.run(params.id, payload))
  })
)
