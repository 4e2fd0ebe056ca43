/** The automations plugin's HTTP handlers: thin, they call the service. */
import { Effect, Layer, Option } from "effect"
import { HttpServerRequest } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { AutomationsApi } from "./Api.ts"
import { Automations } from "./Automations.ts"

const AutomationsHttp = HttpApiBuilder.group(
  AutomationsApi,
  "automations",
  Effect.fn(function*(handlers) {
    const automations = yield* Automations
    return handlers
      .handle("list", ({ params }) => Effect.map(automations.list(params.workspace_id), (data) => ({ data })))
      .handle("create", ({ params, payload }) => automations.create(params.workspace_id, payload))
      .handle("get", ({ params }) => automations.get(params.workspace_id, params.automation_id))
      .handle("replace", ({ params, payload }) =>
        automations.update(params.workspace_id, params.automation_id, {
          name: payload.name,
          description: payload.description ?? "",
          trigger: payload.trigger,
          target: payload.target,
          enabled: payload.enabled ?? true
        }))
      .handle("update", ({ params, payload }) => automations.update(params.workspace_id, params.automation_id, payload))
      .handle("remove", ({ params }) => automations.remove(params.workspace_id, params.automation_id))
      .handle("firings", ({ params, query }) =>
        Effect.map(automations.firings(params.workspace_id, params.automation_id, query.limit ?? 50), (data) => ({ data })))
  })
)

const WebhooksHttp = HttpApiBuilder.group(
  AutomationsApi,
  "automationWebhooks",
  Effect.fn(function*(handlers) {
    const automations = yield* Automations
    return handlers.handle("incoming", ({ query, headers, payload }) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        // The body as received: the signature covers these bytes, not a re-encoding of the payload.
        const rawBody = yield* Effect.orDie(request.text)
        return yield* automations.receive({
          automationId: headers["x-trellis-automation"] ?? query.automation_id,
          signature: headers["x-trellis-signature"],
          rawBody,
          payload,
          address: Option.getOrElse(request.remoteAddress, () => "unknown")
        })
      }))
  })
)

export const AutomationsHttpLive = Layer.mergeAll(AutomationsHttp, WebhooksHttp)
