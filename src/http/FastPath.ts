/**
 * Fast routes: a plugin's authenticated GET endpoint may also be answered straight from memory,
 * before the request enters Effect's HTTP stack, for the few calls clients make at high rates
 * (an SDK fetching a prompt on every use, a dashboard polling the plugin list).
 *
 * The endpoint stays an ordinary HttpApi endpoint with its handler: that handler is the
 * reference, and it answers everything the fast handler does not. A fast handler only adds a
 * shortcut for the common case. It receives the request already authenticated (bearer
 * credential known in memory), authorized against the endpoint's own `Requires`, and it
 * returns the response, or `undefined` to let the endpoint's handler answer. The host wraps
 * what it returns exactly like the pipeline does (request id, security headers, rate-limit
 * budget and headers, metrics, access log), and gives anything unusual to the full pipeline
 * without asking the handler: another method, a body, a session cookie, an organization
 * switch, a CORS request, a repeated query parameter, a credential not resolved in memory, a
 * refused authorization or rate limit, shutdown.
 *
 * A fast handler must be synchronous, must not fail, must have no side effects (it may be
 * asked and then not used), and must answer byte for byte what the endpoint's handler would
 * (the test kit's `fastPath: false` option turns it off, to compare). Register it in the
 * plugin's layer:
 *
 * ```ts
 * const Fast = FastPath.route(Effect.gen(function*() {
 *   const cache = yield* ThingCache
 *   return {
 *     path: "/api/things/:id",
 *     handle: ({ params, principal }) => {
 *       const thing = cache.get(principal.organizationId, params.id ?? "")
 *       return thing === undefined ? undefined : FastPath.json(200, thing.json)
 *     }
 *   }
 * }))
 * ```
 */
import { Context, Effect, Layer } from "effect"
import type { IncomingHttpHeaders } from "node:http"
import type { Principal } from "../auth/Principal.ts"

/** What a fast handler is given. */
export interface FastRequest {
  /** The route's path parameters, decoded. */
  readonly params: Readonly<Record<string, string | undefined>>
  /** The query string; each name appears at most once (otherwise the endpoint's handler answers). */
  readonly query: Readonly<Record<string, string>>
  readonly headers: IncomingHttpHeaders
  readonly principal: Principal
}

/** What a fast handler answers: the status, the body (text) and its own headers. */
export interface FastResponse {
  readonly status: number
  /** The body; none for a 304. */
  readonly body?: string | undefined
  /** The body's media type (e.g. `application/json`). */
  readonly contentType?: string | undefined
  /** Lower-case header names (`etag`, `cache-control`, ...). */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

export interface FastRoute {
  /**
   * The path template of a GET endpoint of the composed API, exactly as the endpoint declares
   * it (`/api/sdk/prompts/:key`). The server refuses to start when no such endpoint exists or
   * when it is not an authenticated, non-streaming endpoint.
   */
  readonly path: string
  readonly handle: (request: FastRequest) => FastResponse | undefined
}

/** The registry of fast routes: plugins add theirs while their layers build; the server reads them once. */
export class FastPath extends Context.Service<FastPath, {
  readonly register: (route: FastRoute) => Effect.Effect<void>
  readonly routes: () => ReadonlyArray<FastRoute>
}>()("trellis/http/FastPath") {
  static readonly layer: Layer.Layer<FastPath> = Layer.sync(FastPath, () => {
    const routes: Array<FastRoute> = []
    return {
      register: (route) => Effect.sync(() => void routes.push(route)),
      routes: () => routes
    }
  })

  /** A layer that registers the route built by `make` (merge it into the plugin's layer). */
  static readonly route = <E, R>(make: Effect.Effect<FastRoute, E, R>): Layer.Layer<never, E, R | FastPath> =>
    Layer.effectDiscard(Effect.flatMap(make, (route) => FastPath.use((registry) => registry.register(route))))

  /** A JSON response. */
  static readonly json = (status: number, body: string, headers?: Readonly<Record<string, string>>): FastResponse => ({
    status,
    body,
    contentType: "application/json",
    headers
  })
}
