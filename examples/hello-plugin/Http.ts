/** The example plugin's HTTP handlers: thin, they call the service. */
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { CurrentPrincipal, Sse } from "trellis/plugin"
import { HelloApi } from "./Api.ts"
import { Greetings } from "./Greetings.ts"

export const HelloHttp = HttpApiBuilder.group(
  HelloApi,
  "hello",
  Effect.fn(function*(handlers) {
    const greetings = yield* Greetings
    return handlers
      .handle("list", () => Effect.map(greetings.list, (items) => ({ items })))
      .handle("create", ({ payload }) => greetings.create(payload.name))
      .handle("get", ({ params }) => greetings.get(params.id))
      .handle("events", () => Effect.flatMap(CurrentPrincipal, (principal) => Sse.response(Greetings.stream(principal.organizationId))))
  })
)
