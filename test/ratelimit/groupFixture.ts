/**
 * A test-only plugin behind the real `Authentication`, with one API group in the `default`
 * rate-limit group and one declared in the mobile runs API's (`RateGroup`), to test that each
 * call spends its own group's budget through the real middleware. `GET /api/rlg/runs` also has
 * a fast route answering what its handler answers, to check the fast path spends the same
 * group's budget.
 */
import { Effect, Layer, Schema } from "effect"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { Authentication } from "../../src/auth/Authentication.ts"
import { CurrentPrincipal } from "../../src/auth/Principal.ts"
import * as Requirement from "../../src/auth/Requirement.ts"
import { Requires } from "../../src/auth/Requirement.ts"
import { FastPath } from "../../src/http/FastPath.ts"
import * as Plugin from "../../src/plugin/Plugin.ts"
import { RateGroup, runsApi } from "../../src/ratelimit/RateGroup.ts"

const Ok = Schema.Struct({ ok: Schema.Boolean, principal: Schema.String })

/** Declares nothing: the `default` budget. */
export class RlgConsoleGroup extends HttpApiGroup.make("rlgConsole")
  .add(HttpApiEndpoint.get("ping", "/api/rlg/console", { success: Ok }).annotate(Requires, Requirement.read("rlg")))
  .middleware(Authentication)
{}

/** Declared on the group: the runs API's budget, for every endpoint of the group. */
export class RlgRunsGroup extends HttpApiGroup.make("rlgRuns")
  .add(
    HttpApiEndpoint.get("list", "/api/rlg/runs", { success: Ok }).annotate(Requires, Requirement.read("rlg")),
    HttpApiEndpoint.post("start", "/api/rlg/runs/start", { success: Ok }).annotate(Requires, Requirement.run("rlg"))
  )
  .middleware(Authentication)
  .annotate(RateGroup, runsApi)
{}

export class RlgApi extends HttpApi.make("rlg").add(RlgConsoleGroup).add(RlgRunsGroup) {}

const ok = Effect.map(CurrentPrincipal, (p) => ({ ok: true, principal: p.id }))

export const RlgPlugin = Plugin.make({
  id: "rlg",
  version: "0.0.1",
  description: "Test plugin for rate-limit groups",
  groups: [RlgConsoleGroup, RlgRunsGroup],
  migrations: [],
  scopes: ["rlg:read", "rlg:run"],
  layer: Layer.mergeAll(
    HttpApiBuilder.group(RlgApi, "rlgConsole", (handlers) => handlers.handle("ping", () => ok)),
    HttpApiBuilder.group(RlgApi, "rlgRuns", (handlers) => handlers.handle("list", () => ok).handle("start", () => ok)),
    FastPath.route(Effect.succeed({
      path: "/api/rlg/runs",
      handle: ({ principal }) => FastPath.json(200, JSON.stringify({ ok: true, principal: principal.id }))
    }))
  )
})
