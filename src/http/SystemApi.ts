/**
 * The platform's own endpoints: liveness, readiness and the list of loaded plugins.
 * `/metrics`, `/openapi.json`, `/docs` and `/rpc` are served by the host outside the HttpApi.
 *
 * Client-safe: imports only `effect`.
 */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { WireDialect } from "./WireDialect.ts"
import { Authentication } from "../auth/Authentication.ts"
import * as Requirement from "../auth/Requirement.ts"
import { Public, Requires } from "../auth/Requirement.ts"
import { ServiceUnavailable } from "../problem/Problems.ts"

/** `status` for Trellis's probes; `ok` is what PromptOps's clients read (`{"ok": true}`). */
export const Health = Schema.Struct({ status: Schema.Literal("ok"), ok: Schema.Literal(true) })

export const Readiness = Schema.Struct({
  status: Schema.Literals(["ready", "not_ready"]),
  database: Schema.Struct({ kind: Schema.Literals(["embedded", "postgres"]), reachable: Schema.Boolean }),
  migrations: Schema.Struct({ pending: Schema.Array(Schema.String) }),
  shuttingDown: Schema.Boolean
})
export type Readiness = typeof Readiness.Type

export const PluginInfo = Schema.Struct({
  id: Schema.String,
  version: Schema.String,
  description: Schema.String,
  firstParty: Schema.Boolean,
  groups: Schema.Array(Schema.String),
  rpcs: Schema.Array(Schema.String),
  migrations: Schema.Array(Schema.String)
})
export type PluginInfo = typeof PluginInfo.Type

export const PluginList = Schema.Struct({ plugins: Schema.Array(PluginInfo) })

/** Health and readiness are public (load balancers probe them without credentials). */
export class SystemGroup extends HttpApiGroup.make("system", { topLevel: true })
  .annotate(Public, "liveness and readiness probes")
  .annotate(WireDialect, WireDialect.platform)
  .add(
    HttpApiEndpoint.get("health", "/health", { success: Health }),
    HttpApiEndpoint.get("ready", "/ready", { success: Readiness, error: ServiceUnavailable })
  )
  .annotateMerge(OpenApi.annotations({ title: "System", description: "Liveness and readiness" }))
{}

/** The plugin list needs a credential: it tells what a server runs. */
export class PluginsGroup extends HttpApiGroup.make("plugins")
  .annotate(WireDialect, WireDialect.platform)
  .add(HttpApiEndpoint.get("list", "/api/plugins", { success: PluginList }).annotate(Requires, Requirement.member()))
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Plugins", description: "The plugins this server runs" }))
{}
