/**
 * Composes plugins into one application: one HttpApi (and so one OpenAPI document), one RPC
 * group, one migration plan, one problem catalogue, one layer.
 *
 * Composition is where collisions are caught. Effect registers group handlers and RPC handlers
 * under global keys (`effect/httpapi/HttpApiGroup/<id>`, the RPC tag), so two plugins using the
 * same name would silently replace each other; the router would also take the first of two
 * identical routes. The host refuses instead, naming both plugins.
 *
 * Composition is also where `requires` is checked: a plugin whose required plugin is not
 * loaded is refused by name (instead of Effect's "Service not found" at start), and the plugins
 * are put in dependency order (a stable topological sort: the given order is kept wherever it
 * already satisfies `requires`, so `TRELLIS_PLUGINS` may list them in any order); a cycle is
 * refused, naming its plugins.
 */
import { Context, Effect, Schema } from "effect"
import { HttpApi, OpenApi } from "effect/http-api"
import type { HttpApiGroup } from "effect/http-api"
import { Authentication } from "../auth/Authentication.ts"
import { Public, Requires } from "../auth/Requirement.ts"
import type { Requirement } from "../auth/Requirement.ts"
import { RpcAuthentication } from "../auth/RpcAuthentication.ts"
import type { ProblemSpec, ProblemSpecHolder } from "../problem/Problem.ts"
import type { Dialect } from "../http/WireDialect.ts"
import * as WebRouteModule from "../web/WebRoute.ts"
import type * as Plugin from "./Plugin.ts"
import type * as WebRoute from "../web/WebRoute.ts"

export class PluginConflict extends Schema.TaggedError<PluginConflict>()("PluginConflict", {
  kind: Schema.Literals(["plugin id", "group identifier", "RPC tag", "route", "invalid plugin id", "invalid web route"]),
  name: Schema.String,
  first: Schema.String,
  second: Schema.String
}) {
  override get message(): string {
    if (this.kind === "invalid web route") {
      return `Plugin "${this.second}" declares the web route ${JSON.stringify(this.name)}: use GET, POST, PUT, PATCH or DELETE and a path that starts with / (no query, no *).`
    }
    return this.kind === "invalid plugin id"
      ? `Plugin id ${JSON.stringify(this.name)} (from ${this.second}) is invalid: use lowercase letters, digits and _ (start with a letter, at most 40), and not a reserved name.`
      : `Plugins conflict: ${this.kind} ${JSON.stringify(this.name)} is declared by both "${this.first}" and "${this.second}". Rename one of them or remove one plugin from TRELLIS_PLUGINS.`
  }
}

export class PluginDependencyError extends Schema.TaggedError<PluginDependencyError>()("PluginDependencyError", {
  kind: Schema.Literals(["missing", "cycle"]),
  /** The plugin that requires (missing), or the plugins of the cycle. */
  plugins: Schema.Array(Schema.String),
  /** The required plugin id that is not loaded (missing). */
  required: Schema.String
}) {
  override get message(): string {
    return this.kind === "missing"
      ? `Plugin "${this.plugins[0]}" requires plugin "${this.required}", which is not loaded. Add it to TRELLIS_PLUGINS (in any position) or remove "${
        this.plugins[0]
      }".`
      : `Plugins require each other in a cycle: ${this.plugins.map((id) => `"${id}"`).join(" -> ")}. A plugin must not need, directly or not, a plugin that needs it.`
  }
}

/**
 * A route that declares no access requirement: refused at start, naming the route, instead of a
 * 403 to every caller at run time.
 */
export class RouteAccessUndeclared extends Schema.TaggedError<RouteAccessUndeclared>()("RouteAccessUndeclared", {
  plugin: Schema.String,
  /** `GET /path (group.endpoint)`, `RPC tag` or `web GET /path`. */
  route: Schema.String,
  why: Schema.String
}) {
  override get message(): string {
    return `Plugin "${this.plugin}" declares the route ${this.route} with no access requirement: ${this.why}`
  }
}

/**
 * The plugins in dependency order: each after every plugin it requires, otherwise in the given
 * order. Fails on a required id that is not among them, or on a cycle.
 */
export const orderByRequires = (plugins: ReadonlyArray<Plugin.Any>): Effect.Effect<ReadonlyArray<Plugin.Any>, PluginDependencyError> =>
  Effect.suspend(() => {
    const byId = new Map(plugins.map((p) => [p.id, p]))
    for (const plugin of plugins) {
      for (const required of plugin.requires ?? []) {
        if (!byId.has(required)) return Effect.fail(new PluginDependencyError({ kind: "missing", plugins: [plugin.id], required }))
      }
    }
    const placed = new Set<string>()
    const ordered: Array<Plugin.Any> = []
    while (ordered.length < plugins.length) {
      const next = plugins.find((p) => !placed.has(p.id) && (p.requires ?? []).every((id) => placed.has(id)))
      if (next === undefined) {
        return Effect.fail(new PluginDependencyError({ kind: "cycle", plugins: cycleOf(plugins.filter((p) => !placed.has(p.id)), byId), required: "" }))
      }
      placed.add(next.id)
      ordered.push(next)
    }
    return Effect.succeed(ordered)
  })

/** One cycle among plugins that cannot be placed: follow unplaced requirements until one repeats. */
const cycleOf = (stuck: ReadonlyArray<Plugin.Any>, byId: ReadonlyMap<string, Plugin.Any>): ReadonlyArray<string> => {
  const stuckIds = new Set(stuck.map((p) => p.id))
  const path: Array<string> = []
  let current = stuck[0]
  while (!path.includes(current.id)) {
    path.push(current.id)
    const nextId = (current.requires ?? []).find((id) => stuckIds.has(id))
    if (nextId === undefined) break
    current = byId.get(nextId) ?? current
  }
  return [...path.slice(path.indexOf(current.id)), current.id]
}

/** A route as the host sees it: method and path pattern, with the plugin that owns it. */
export interface RouteInfo {
  readonly method: string
  readonly path: string
  readonly owner: string
  /** A web route that reads and limits its own body (`WebRoute.rawBody`). */
  readonly rawBody?: boolean | undefined
  /** A web route's wire dialect (`WebRoute.dialect`). */
  readonly dialect?: Dialect | undefined
}

export interface CatalogEntry extends ProblemSpec {
  readonly owner: string
}

/** The composed API, with its groups widened. */
export type TrellisApi = HttpApi.HttpApi<string, HttpApiGroup.Constraint>

export interface Composition {
  readonly plugins: ReadonlyArray<Plugin.Any>
  readonly api: TrellisApi
  /** Every plugin route: HttpApi endpoints and web routes. */
  readonly routes: ReadonlyArray<RouteInfo>
  /** The plugins' web routes (also in `routes`), which the host mounts beside the HttpApi. */
  readonly webRoutes: ReadonlyArray<{ readonly route: WebRoute.Any; readonly owner: string }>
  readonly rpcTags: ReadonlyArray<{ readonly tag: string; readonly owner: string }>
  readonly problems: ReadonlyArray<CatalogEntry>
}

interface EndpointShape {
  readonly name: string
  readonly method: string
  readonly path: string
  readonly error: ReadonlySet<unknown>
  readonly annotations: Context.Context<never>
  readonly middlewares: ReadonlySet<unknown>
}

const isProblemHolder = (u: unknown): u is ProblemSpecHolder =>
  (typeof u === "function" || (typeof u === "object" && u !== null)) && "problem" in u &&
  typeof u.problem === "object" && u.problem !== null && "type" in u.problem

/**
 * What a plugin's routes declare: the scopes their `Requires` name and the problems their
 * endpoints and RPCs answer with. Fails on a route that declares no access requirement.
 */
const declarationsOf = (plugin: Plugin.Any): Effect.Effect<
  { readonly scopes: ReadonlyArray<string>; readonly problems: ReadonlyArray<ProblemSpecHolder> },
  RouteAccessUndeclared
> =>
  Effect.suspend(() => {
    const scopes = new Set<string>()
    const problems = new Set<ProblemSpecHolder>()
    const undeclared = (route: string, why: string) => Effect.fail(new RouteAccessUndeclared({ plugin: plugin.id, route, why }))
    const addRequirement = (requirement: Requirement) => {
      if (requirement.scope !== null) scopes.add(requirement.scope)
    }
    const addProblems = (schemas: Iterable<unknown>) => {
      for (const schema of schemas) {
        // A union (`Schema.Union([...])`) lists its members.
        const members = typeof schema === "object" && schema !== null && "members" in schema && Array.isArray(schema.members)
          ? schema.members as ReadonlyArray<unknown>
          : [schema]
        for (const member of members) {
          // HttpApiEndpoint keeps its errors wrapped (encoding, status): the class is under `.schema`.
          let current: unknown = member
          for (let depth = 0; depth < 4 && current !== undefined; depth++) {
            if (isProblemHolder(current)) {
              problems.add(current)
              break
            }
            current = typeof current === "function" || (typeof current === "object" && current !== null)
              ? (current as { readonly schema?: unknown }).schema
              : undefined
          }
        }
      }
    }
    for (const group of plugin.groups) {
      const groupAnnotations = (group as unknown as { readonly annotations: Context.Context<never> }).annotations
      for (const [name, value] of Object.entries(group.endpoints)) {
        const endpoint = value as unknown as EndpointShape
        const annotations = Context.merge(groupAnnotations, endpoint.annotations)
        const route = `${endpoint.method} ${endpoint.path} (${group.identifier}.${name})`
        const requirement = Context.get(annotations, Requires)
        if (endpoint.middlewares.has(Authentication)) {
          if (requirement === undefined) {
            return undeclared(route, "it is behind Authentication but has no Requires annotation. Add `.annotate(Requires, Requirement.read(...))` (or write, admin, ...).")
          }
        } else if (requirement === undefined && Context.get(annotations, Public) === undefined) {
          return undeclared(
            route,
            "it has neither Authentication with a Requires annotation nor a Public annotation. Add `.middleware(Authentication)` to its group and `.annotate(Requires, ...)`, or `.annotate(Public, \"why anyone may call it\")`."
          )
        }
        if (requirement !== undefined) addRequirement(requirement)
        addProblems(endpoint.error)
      }
    }
    for (const [tag, rpc] of plugin.rpc?.requests ?? []) {
      const requirement = Context.get(rpc.annotations, Requires)
      if (requirement === undefined) {
        return undeclared(`RPC ${tag}`, "it has no Requires annotation. Add `.annotate(Requires, Requirement.read(...))` to the Rpc.")
      }
      const rpcMiddlewares = (rpc as unknown as { readonly middlewares: ReadonlySet<unknown> }).middlewares
      if (!rpcMiddlewares.has(RpcAuthentication)) {
        return undeclared(`RPC ${tag}`, "its group has no RpcAuthentication middleware, so its Requires would not be enforced. Add `.middleware(RpcAuthentication)` to the RpcGroup.")
      }
      addRequirement(requirement)
      addProblems([(rpc as unknown as { readonly errorSchema: unknown }).errorSchema])
    }
    for (const route of plugin.web?.routes ?? []) {
      if (WebRouteModule.isAuthenticated(route) && route.auth._tag !== "signed") {
        const requirement = WebRouteModule.requirementOf(route)
        if (requirement === undefined) return undeclared(`web ${route.method} ${route.path}`, "it is authenticated but names no `requires`.")
        addRequirement(requirement)
      }
    }
    return Effect.succeed({ scopes: [...scopes], problems: [...problems] })
  })

const webMethods = new Set(["GET", "POST", "PUT", "PATCH", "DELETE"])

const idPattern = /^[a-z][a-z0-9_]{0,39}$/
const reservedIds = new Set(["public", "information_schema", "pg_catalog", "pg_toast"])

/**
 * Paths the host serves itself, outside any plugin's HttpApi. Listed so that a plugin
 * declaring one of them is refused like any other duplicate route.
 */
export const hostRoutes: ReadonlyArray<Omit<RouteInfo, "owner">> = [
  { method: "GET", path: "/metrics" },
  { method: "GET", path: "/openapi.json" },
  { method: "GET", path: "/docs" },
  { method: "POST", path: "/rpc" }
]

/** `/a/:id/b` and `/a/:key/b` are the same route. */
const routeKey = (method: string, path: string) =>
  `${method.toUpperCase()} ${path.replace(/:[^/]+/g, ":").replace(/\/+$/, "") || "/"}`

export const compose = Effect.fnUntraced(function*(
  given: ReadonlyArray<Plugin.Any>,
  options: {
    readonly platformProblems: ReadonlyArray<ProblemSpec>
    readonly platformOwner: string
    readonly title?: string | undefined
    readonly version?: string | undefined
  }
) {
  const ids = new Map<string, string>()
  // Duplicate ids are refused below, by name; ordering needs unique ones.
  const ordered = new Set(given.map((p) => p.id)).size === given.length ? yield* orderByRequires(given) : given
  /** The plugins with their scopes and problems: what their routes declare, plus their hand lists (which may only add). */
  const plugins: Array<Plugin.Any> = []
  const groupOwners = new Map<string, string>()
  const routeOwners = new Map<string, RouteInfo>()
  const rpcOwners = new Map<string, string>()
  const routes: Array<RouteInfo> = []
  const webRoutes: Array<{ route: WebRoute.Any; owner: string }> = []
  const rpcTags: Array<{ tag: string; owner: string }> = []
  const problems: Array<CatalogEntry> = options.platformProblems.map((p) => ({ ...p, owner: options.platformOwner }))
  const problemOwners = new Map(problems.map((p) => [p.type, p.owner]))

  for (const route of hostRoutes) {
    const info = { ...route, owner: options.platformOwner }
    routeOwners.set(routeKey(route.method, route.path), info)
  }

  for (const plugin of ordered) {
    if (!idPattern.test(plugin.id) || reservedIds.has(plugin.id)) {
      return yield* new PluginConflict({ kind: "invalid plugin id", name: plugin.id, first: "", second: plugin.id })
    }
    const sameId = ids.get(plugin.id)
    if (sameId !== undefined) {
      return yield* new PluginConflict({ kind: "plugin id", name: plugin.id, first: sameId, second: plugin.id })
    }
    ids.set(plugin.id, plugin.id)

    for (const group of plugin.groups) {
      const owner = groupOwners.get(group.identifier)
      if (owner !== undefined) {
        return yield* new PluginConflict({ kind: "group identifier", name: group.identifier, first: owner, second: plugin.id })
      }
      groupOwners.set(group.identifier, plugin.id)
      // Every endpoint value has `method` and `path` at runtime; the widened type omits them.
      for (const endpoint of Object.values(group.endpoints) as ReadonlyArray<unknown> as ReadonlyArray<EndpointShape>) {
        const key = routeKey(endpoint.method, endpoint.path)
        const existing = routeOwners.get(key)
        if (existing !== undefined) {
          return yield* new PluginConflict({
            kind: "route",
            name: `${endpoint.method} ${endpoint.path}`,
            first: existing.owner,
            second: plugin.id
          })
        }
        const info = { method: endpoint.method, path: endpoint.path, owner: plugin.id }
        routeOwners.set(key, info)
        routes.push(info)
      }
    }

    for (const route of plugin.web?.routes ?? []) {
      if (!webMethods.has(route.method) || !/^\/[^?#*\s]*$/.test(route.path)) {
        return yield* new PluginConflict({ kind: "invalid web route", name: `${route.method} ${route.path}`, first: "", second: plugin.id })
      }
      const key = routeKey(route.method, route.path)
      const existing = routeOwners.get(key)
      if (existing !== undefined) {
        return yield* new PluginConflict({ kind: "route", name: `${route.method} ${route.path}`, first: existing.owner, second: plugin.id })
      }
      const info: RouteInfo = {
        method: route.method,
        path: route.path,
        owner: plugin.id,
        ...(route.rawBody === true ? { rawBody: true } : {}),
        ...(route.dialect !== undefined ? { dialect: route.dialect } : {})
      }
      routeOwners.set(key, info)
      routes.push(info)
      webRoutes.push({ route, owner: plugin.id })
    }

    for (const tag of plugin.rpc?.requests.keys() ?? []) {
      const owner = rpcOwners.get(tag)
      if (owner !== undefined) {
        return yield* new PluginConflict({ kind: "RPC tag", name: tag, first: owner, second: plugin.id })
      }
      rpcOwners.set(tag, plugin.id)
      rpcTags.push({ tag, owner: plugin.id })
    }

    // After the collision checks, so that a collision is named as such.
    const declared = yield* declarationsOf(plugin)
    const problemHolders = [...new Set([...declared.problems, ...(plugin.problems ?? [])])]
    plugins.push({ ...plugin, scopes: [...new Set([...declared.scopes, ...(plugin.scopes ?? [])])], problems: problemHolders })

    for (const holder of problemHolders) {
      const owner = problemOwners.get(holder.problem.type)
      if (owner === undefined) {
        problemOwners.set(holder.problem.type, plugin.id)
        problems.push({ ...holder.problem, owner: plugin.id })
      }
    }
  }

  // Groups are added one by one at run time, so the precise group union is not known here.
  let api = HttpApi.make("trellis").annotateMerge(OpenApi.annotations({
    title: options.title ?? "Trellis",
    version: options.version ?? "0.0.0",
    description: "The HTTP API of a Trellis server: the platform and its plugins. Every error is application/problem+json (RFC 9457) with a stable `code`."
  })) as unknown as TrellisApi
  for (const plugin of plugins) {
    for (const group of plugin.groups) api = api.add(group)
  }
  const composition: Composition = { plugins, api, routes, webRoutes, rpcTags, problems }
  return composition
})
