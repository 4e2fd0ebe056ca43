/**
 * A test-only plugin with endpoints that exercise the platform: one that dies (a bug), one
 * that takes a JSON body with a constrained field, one that tells who called, and one that
 * returns the request id the pipeline gave its handler.
 */
import { Effect, Layer, Schema } from "effect"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { Authentication } from "../../src/auth/Authentication.ts"
import { CurrentPrincipal } from "../../src/auth/Principal.ts"
import { CurrentRequestId } from "../../src/http/RequestId.ts"
import * as Requirement from "../../src/auth/Requirement.ts"
import { Requires } from "../../src/auth/Requirement.ts"
import * as Plugin from "../../src/plugin/Plugin.ts"

export class ProbeGroup extends HttpApiGroup.make("probe")
  .add(
    HttpApiEndpoint.get("boom", "/api/probe/boom", { success: Schema.Struct({ ok: Schema.Boolean }) }),
    HttpApiEndpoint.post("echo", "/api/probe/echo", {
      payload: Schema.Struct({ count: Schema.Int.check(Schema.isGreaterThan(0)), label: Schema.String }),
      success: Schema.Struct({ count: Schema.Int, label: Schema.String })
    }),
    HttpApiEndpoint.get("whoami", "/api/probe/whoami", { success: Schema.Struct({ id: Schema.String, kind: Schema.String }) }),
    HttpApiEndpoint.get("requestId", "/api/probe/request-id", {
      success: Schema.Struct({ requestId: Schema.NullOr(Schema.String) })
    })
  )
  .annotateEndpoints(Requires, Requirement.member())
  .middleware(Authentication)
{}

export class ProbeApi extends HttpApi.make("probe").add(ProbeGroup) {}

const ProbeHttp = HttpApiBuilder.group(ProbeApi, "probe", (handlers) =>
  handlers
    .handle("boom", () => Effect.die(new Error("secret internal detail: the probe exploded")))
    .handle("echo", ({ payload }) => Effect.succeed(payload))
    .handle("whoami", () => Effect.map(CurrentPrincipal, (p) => ({ id: p.id, kind: p.kind })))
    .handle("requestId", () => Effect.map(CurrentRequestId, (requestId) => ({ requestId: requestId ?? null }))))

export const ProbePlugin = Plugin.make({
  id: "probe",
  version: "0.0.1",
  description: "Test plugin for platform error paths",
  groups: [ProbeGroup],
  migrations: [],
  layer: Layer.mergeAll(ProbeHttp)
})
