/**
 * The HTTP application of a composition: every plugin's HttpApi groups and RPCs, the host's
 * own routes (`/openapi.json`, `/docs`, `/metrics`, `/rpc`) and the global pipeline.
 *
 * Plugin layers are chained in order with `provideMerge`, so a plugin can use the services of
 * the plugins listed before it (never the reverse): that is the only dependency rule between
 * plugins.
 */
import { Context, Effect, Layer, Metric, Scope } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { HttpApiBuilder, HttpApiScalar } from "effect/http-api"
import { PrometheusMetrics } from "effect/observability"
import { RpcGroup, RpcSerialization, RpcServer } from "effect/rpc"
import type { Rpc } from "effect/rpc"
import type { TrellisConfigShape } from "../config/TrellisConfig.ts"
import { DatabaseInfo } from "../database/Database.ts"
import { Authentication } from "../auth/Authentication.ts"
import * as ContentSecurityPolicy from "./ContentSecurityPolicy.ts"
import * as FastPathServer from "../http/FastPathServer.ts"
import * as HttpMetrics from "../http/HttpMetrics.ts"
import * as HttpPipeline from "../http/HttpPipeline.ts"
import * as RouteTable from "../http/RouteTable.ts"
import { endpointDialect } from "../http/WireDialect.ts"
import { webRoute } from "../auth/AuthenticationLive.ts"
import { hostRoutes } from "../plugin/PluginHost.ts"
import * as RpcFromApiServer from "../plugin/RpcFromApiServer.ts"
import type { Composition } from "../plugin/PluginHost.ts"

/** The chained plugin layers: each plugin sees the platform and the plugins before it. */
export const pluginsLayer = (composition: Composition): Layer.Layer<never, unknown, unknown> =>
  composition.plugins.reduce<Layer.Layer<never, unknown, unknown>>(
    (acc, plugin) => Layer.provideMerge(plugin.layer, acc),
    Layer.empty
  )

/** All RPC groups merged into one, served at `/rpc`. */
export const rpcGroup = (composition: Composition): RpcGroup.RpcGroup<Rpc.Any> | undefined => {
  const groups = composition.plugins.flatMap((p) => (p.rpc === undefined ? [] : [p.rpc as RpcGroup.RpcGroup<Rpc.Any>]))
  if (groups.length === 0) return undefined
  const [first, ...rest] = groups
  return rest.length === 0 ? first : first.merge(...rest) as RpcGroup.RpcGroup<Rpc.Any>
}

const databaseUp = Metric.gauge("trellis_database_up", {
  description: "1 when the database answered a ping at the last scrape, else 0"
})

/**
 * Prometheus text format; the database gauge is refreshed at each scrape. Host routes run in
 * the request's context, which holds no platform service (`Server.ts`): the route takes what it
 * needs when it is built.
 */
const MetricsRoute = HttpRouter.use((router) =>
  Effect.gen(function*() {
    const database = yield* DatabaseInfo
    yield* router.add(
      "GET",
      "/metrics",
      Effect.gen(function*() {
        const up = yield* database.ping
        yield* Metric.update(Metric.withAttributes(databaseUp, { kind: database.kind }), up ? 1 : 0)
        const body = yield* PrometheusMetrics.format()
        return HttpServerResponse.text(body, { contentType: "text/plain; version=0.0.4; charset=utf-8" })
      })
    )
  })
)

const corsExposedHeaders = ["x-request-id", "retry-after", "ratelimit", "ratelimit-policy", "etag", "location", "idempotent-replayed"]

/**
 * The headers Effect's CORS middleware (`HttpRouter.cors`, as configured below) adds to a
 * simple request that has no `Origin`, for the fast path to add the same. A change of that
 * middleware shows in test/platform/fastpath.test.ts, which compares both paths with CORS on.
 */
const corsHeadersWithoutOrigin = (origins: ReadonlyArray<string>): ReadonlyArray<readonly [string, string]> => [
  ...(origins.length === 1 ? [["access-control-allow-origin", origins[0]] as const] : []),
  ["vary", "Origin"],
  ["access-control-expose-headers", corsExposedHeaders.join(",")]
]

interface EndpointShape {
  readonly method: string
  readonly path: string
  readonly annotations: Context.Context<never>
  readonly middlewares: ReadonlySet<Context.Key<unknown, unknown>>
}

/** Every endpoint of the composed API, with what the fast path checks. */
export const endpointsOf = (composition: Composition): ReadonlyArray<FastPathServer.EndpointInfo> =>
  Object.values(composition.api.groups).flatMap((group) =>
    // Every endpoint value has these members at runtime; the widened type omits them.
    (Object.values(group.endpoints) as ReadonlyArray<unknown> as ReadonlyArray<EndpointShape>).map((endpoint) => ({
      method: endpoint.method,
      path: endpoint.path,
      annotations: endpoint.annotations,
      groupAnnotations: (group as unknown as { readonly annotations: Context.Context<never> }).annotations,
      authenticated: endpoint.middlewares.has(Authentication)
    }))
  )

/**
 * Every endpoint's route with its wire dialect (`WireDialect`): the endpoint's own annotation,
 * else its group's, else the platform's.
 */
export const dialectRoutesOf = (composition: Composition): ReadonlyArray<RouteTable.Route> =>
  Object.values(composition.api.groups).flatMap((group) => {
    // Every group value has its annotations at runtime; the widened type omits them.
    const annotations = (group as unknown as { readonly annotations: Context.Context<never> }).annotations
    return (Object.values(group.endpoints) as ReadonlyArray<unknown> as ReadonlyArray<EndpointShape>).map((endpoint) => ({
      method: endpoint.method,
      path: endpoint.path,
      dialect: endpointDialect(annotations, endpoint.annotations)
    }))
  })

/**
 * The plugins' web routes, each behind the authentication it declares. They are in
 * `composition.routes` too, so the route table labels their metrics and checks their methods.
 */
export const webRoutesLayer = (composition: Composition): Layer.Layer<never, unknown, unknown> =>
  composition.webRoutes.length === 0 ? Layer.empty : HttpRouter.use((router) =>
    Effect.gen(function*() {
      // The router runs handlers in the server's context; a web route also needs the services
      // of the plugins' layers, so it gets the context this layer is built in, under the
      // request's own (request, route parameters, request id).
      const built = yield* Effect.context<never>()
      for (const { route } of composition.webRoutes) {
        const handler = webRoute(route) as Effect.Effect<HttpServerResponse.HttpServerResponse>
        yield* router.add(route.method, route.path, Effect.updateContext(handler, (request: Context.Context<never>) => Context.merge(built, request)))
      }
    })
  ) as Layer.Layer<never, unknown, unknown>

/**
 * The routes and middleware of the server. Requires the platform services (database,
 * config, credentials, lifecycle, ...) that the plugins' layers need.
 */
/**
 * `/docs`, built on its first request. Bundled Scalar (no CDN) and no web fonts: the page must
 * work on a machine with no internet; its own Content-Security-Policy allows the page's inline
 * scripts by their hashes. Effect's `HttpApiScalar.layer` loads the 3 MB Scalar bundle when it
 * is built, and the page's text then takes about 12 MB of the heap; built here on the first
 * `GET /docs` (in a router of its own, kept for the server's life), a server nobody browses
 * never loads it.
 */
const docsLayer = (composition: Composition) =>
  HttpRouter.use((router) =>
    Effect.flatMap(Effect.scope, (scope) => {
      const page = HttpApiScalar.layer(composition.api, { path: "/docs", scalar: { withDefaultFonts: false } }).pipe(
        Layer.provide(ContentSecurityPolicy.htmlPolicy)
      )
      return Effect.flatMap(
        Effect.cached(HttpRouter.toHttpEffect(page).pipe(Effect.provideService(Scope.Scope, scope))),
        (handler) => router.add("GET", "/docs", Effect.flatten(handler))
      )
    })
  )

export const layer = (
  composition: Composition,
  config: TrellisConfigShape,
  server?: FastPathServer.NodeServer
): Layer.Layer<never, unknown, unknown> => {
  const routes = RouteTable.make([...dialectRoutesOf(composition), ...composition.routes, ...hostRoutes, { method: "GET", path: "/docs" }])
  const api = HttpApiBuilder.layer(composition.api, { openapiPath: "/openapi.json" }) as Layer.Layer<never, never, unknown>
  const group = rpcGroup(composition)
  const rpc = group === undefined
    ? Layer.empty
    : RpcServer.layerHttp({ group, path: "/rpc", protocol: "http" }).pipe(
      Layer.provide(RpcSerialization.layerNdjson),
      // Derived RPCs (`RpcFromApi`) are served by the HTTP handlers of their endpoints.
      Layer.provide(RpcFromApiServer.layer(group))
    ) as Layer.Layer<never, never, unknown>
  const docs = docsLayer(composition)
  const https = config.publicUrl?.startsWith("https:") === true
  const metrics = HttpMetrics.make()
  const pipeline = HttpPipeline.layer({ maxBodyBytes: config.maxBodyBytes, routes, https, metrics })
  const cors = config.corsOrigins.length === 0 ? Layer.empty : HttpRouter.cors({
    allowedOrigins: config.corsOrigins,
    allowedHeaders: ["authorization", "content-type", "idempotency-key", "last-event-id", "x-request-id", "x-csrf-token", "x-trellis-organization"],
    exposedHeaders: corsExposedHeaders,
    maxAge: 600
  })
  const fastPath = server === undefined || !config.httpFastPath ? Layer.empty : FastPathServer.layer({
    server,
    endpoints: endpointsOf(composition),
    metrics,
    https,
    cors: config.corsOrigins.length === 0 ? undefined : corsHeadersWithoutOrigin(config.corsOrigins)
  })
  return Layer.mergeAll(api, rpc, docs, MetricsRoute, webRoutesLayer(composition), pipeline, cors, fastPath).pipe(
    Layer.provide(pluginsLayer(composition))
  )
}
