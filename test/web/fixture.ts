/**
 * A probe plugin for the web-route tests: one route per authentication mode, recording what
 * reached its handlers so a test can assert that a refused request changed nothing.
 */
import { Context, Effect, Layer, Option } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { CurrentPrincipal, Plugin, Requirement, SecretBox, WebRoute } from "trellis/plugin"

/** The secret of the `alpha` webhook source (stored sealed). */
export const alphaSecret = "alpha-webhook-secret-0123456789"

export class Received extends Context.Service<Received, {
  readonly bodies: Array<string>
  readonly sealed: ReadonlyMap<string, WebRoute.SealedSecret>
}>()("test/web/Received") {}

const whoami = Effect.map(Effect.service(CurrentPrincipal), (p) => HttpServerResponse.jsonUnsafe({ id: p.id, kind: p.kind }))

const sourceSecret = Effect.gen(function*() {
  const { source } = yield* HttpRouter.params
  const received = yield* Received
  return Option.fromUndefinedOr(source === undefined ? undefined : received.sealed.get(source))
})

const hook = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const received = yield* Received
  received.bodies.push(yield* Effect.orDie(request.text))
  return HttpServerResponse.empty({ status: 204 })
})

const received = Effect.map(Effect.service(Received), (r) => HttpServerResponse.jsonUnsafe({ bodies: r.bodies }))

export const ProbePlugin = Plugin.make({
  id: "webprobe",
  version: "1.0.0",
  description: "Web route probes for the tests",
  groups: [],
  migrations: [],
  web: {
    routes: [
      WebRoute.get("/probe/query", whoami, { auth: "token-query", requires: Requirement.member() }),
      WebRoute.get("/probe/cookie", whoami, { auth: "cookie", requires: Requirement.member() }),
      WebRoute.post("/probe/cookie", whoami, { auth: "cookie", requires: Requirement.member() }),
      WebRoute.get("/probe/admin", whoami, { auth: "cookie", requires: Requirement.admin() }),
      WebRoute.post("/probe/hooks/:source", hook, { auth: "signed", secret: sourceSecret }),
      WebRoute.get("/probe/received", received, { auth: "public", reason: "test probe" })
    ]
  },
  layer: Layer.effect(
    Received,
    Effect.gen(function*() {
      const box = yield* SecretBox
      const context = "webprobe.source.alpha"
      const sealed = yield* box.seal(alphaSecret, context)
      return Received.of({ bodies: [], sealed: new Map([["alpha", { sealed, context }]]) })
    })
  )
})
