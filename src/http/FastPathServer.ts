/**
 * The server side of fast routes (`FastPath`): a Node `request` listener that runs before
 * Effect's, answers what a fast route can answer from memory, and passes everything else on.
 *
 * Why: on a small authenticated GET, Effect's HttpApi stack (router, middleware chain, schema
 * encoding, response conversion) costs several times what the work itself does. The fast path
 * gives the hottest endpoints the cost of a plain `node:http` handler while keeping every
 * platform behaviour of the pipeline (`HttpPipeline`): the request id, the security headers,
 * the principal's rate-limit budget and its headers, the same metrics series and the same
 * access-log line. What the pipeline would answer differently (any failure, any unusual
 * request) is never answered here: the request goes on to Effect untouched.
 *
 * `NodeServer` is Node's `http.Server` with one hook: `emit("request")` asks `fastPath` first.
 * Overriding `emit` keeps the order right whoever attaches listeners, and costs nothing when
 * no hook is set.
 */
import { rateGroupOf } from "../ratelimit/RateGroup.ts"
import type { RateGroupPolicy } from "../ratelimit/RateGroup.ts"
import { Context, Data, Effect, Layer, LogLevel } from "effect"
import { FindMyWay } from "effect/http"
import * as Http from "node:http"
import { organizationHeader } from "../auth/Authentication.ts"
import { denialOf } from "../auth/Authorization.ts"
import { Credentials } from "../auth/Credentials.ts"
import { Requires } from "../auth/Requirement.ts"
import type { Requirement } from "../auth/Requirement.ts"
import { LogWriter } from "../logging/TrellisLogger.ts"
import { RateLimiter } from "../ratelimit/RateLimiter.ts"
import { Lifecycle } from "../runtime/Lifecycle.ts"
import { FastPath } from "./FastPath.ts"
import type { FastRoute } from "./FastPath.ts"
import type { HttpMetrics } from "./HttpMetrics.ts"
import { ServiceUnavailable } from "../problem/Problems.ts"
import { pathOf, requestIdHeader, requestIdOf, securityHeadersOf } from "./HttpPipeline.ts"
import * as InputHygiene from "./InputHygiene.ts"

type Hook = (request: Http.IncomingMessage, response: Http.ServerResponse) => boolean

/**
 * Node's HTTP server, asking `fastPath` before the `request` listeners.
 *
 * The port opens before the application's handler is attached (the plugins' layers are built in
 * between); Node drops a request that arrives with no `request` listener, and its client waits
 * forever. Until the handler is attached such a request gets 503 with `Retry-After: 1`.
 */
export class NodeServer extends Http.Server {
  fastPath: Hook | undefined = undefined

  override emit(event: string, ...args: Array<unknown>): boolean {
    if (event === "request") {
      const hook = this.fastPath
      if (hook !== undefined && hook(args[0] as Http.IncomingMessage, args[1] as Http.ServerResponse)) return true
      if (this.listenerCount("request") === 0) {
        starting(args[0] as Http.IncomingMessage, args[1] as Http.ServerResponse)
        return true
      }
    }
    return super.emit(event, ...args)
  }
}

const startingBody = JSON.stringify({
  type: ServiceUnavailable.problem.type,
  title: ServiceUnavailable.problem.title,
  status: 503,
  detail: "The server is starting. Retry in a moment.",
  code: ServiceUnavailable.problem.code
})

const starting = (request: Http.IncomingMessage, response: Http.ServerResponse) => {
  request.resume()
  response.writeHead(503, {
    "content-type": "application/problem+json",
    "retry-after": "1",
    connection: "close",
    "content-length": Buffer.byteLength(startingBody)
  })
  response.end(startingBody)
}

/** An endpoint of the composed API, as the host sees it. */
export interface EndpointInfo {
  readonly method: string
  readonly path: string
  readonly annotations: Context.Context<never>
  /** Its API group's annotations (a rate-limit group may be declared there). */
  readonly groupAnnotations?: Context.Context<never> | undefined
  /** Whether the endpoint sits behind the `Authentication` middleware. */
  readonly authenticated: boolean
}

export interface Options {
  readonly server: NodeServer
  readonly endpoints: ReadonlyArray<EndpointInfo>
  readonly metrics: HttpMetrics
  readonly https: boolean
  /**
   * With CORS on: the headers the CORS middleware adds to a request without `Origin`. A
   * request with an `Origin` always takes the pipeline.
   */
  readonly cors: ReadonlyArray<readonly [string, string]> | undefined
}

interface Compiled {
  readonly route: FastRoute
  readonly requirement: Requirement
  /** The endpoint's rate-limit group, read as the pipeline reads it. */
  readonly rateGroup: RateGroupPolicy | undefined
}

/** A fast route that does not match an endpoint it may shortcut: the server does not start. */
export class FastRouteInvalid extends Data.TaggedError("FastRouteInvalid")<{ readonly path: string; readonly why: string }> {
  override get message(): string {
    return `Fast route ${this.path}: ${this.why}`
  }
}

const compile = (route: FastRoute, endpoints: ReadonlyArray<EndpointInfo>): Effect.Effect<Compiled, FastRouteInvalid> => {
  const invalid = (why: string) => Effect.fail(new FastRouteInvalid({ path: route.path, why }))
  const endpoint = endpoints.find((e) => e.method === "GET" && e.path === route.path)
  if (endpoint === undefined) return invalid("no GET endpoint of the composed API has this path")
  if (!endpoint.authenticated) return invalid("the endpoint is not behind the Authentication middleware")
  const requirement = Context.get(endpoint.annotations, Requires)
  if (requirement === undefined) return invalid("the endpoint declares no Requires")
  if (requirement.stream) return invalid("the endpoint is a live stream")
  return Effect.succeed({ route, requirement, rateGroup: rateGroupOf(endpoint.annotations, endpoint.groupAnnotations) })
}

/** The bearer credential of `Authorization`, read the way Effect's `HttpApiSecurity.bearer` reads it. */
const bearerOf = (authorization: string | undefined): string | undefined => {
  if (authorization === undefined || authorization.length <= 7 || authorization.charCodeAt(6) !== 32) return undefined
  if (authorization.slice(0, 6).toLowerCase() !== "bearer") return undefined
  let start = 7
  while (authorization.charCodeAt(start) === 32) start++
  const token = authorization.slice(start)
  return token === "" ? undefined : token
}

/** The query (as the router parsed it) as single values, or `undefined` when a name repeats (the endpoint's schema decides then). */
const queryOf = (searchParams: Readonly<Record<string, string | ReadonlyArray<string>>>): Record<string, string> | undefined => {
  for (const name in searchParams) {
    if (typeof searchParams[name] !== "string") return undefined
  }
  return searchParams as Record<string, string>
}

/** Installs the hook for the registered fast routes; removes it when shutdown begins or the layer closes. */
export const layer = (options: Options): Layer.Layer<never, never, FastPath | Credentials | RateLimiter | LogWriter | Lifecycle> =>
  Layer.effectDiscard(Effect.gen(function*() {
    const registered = (yield* FastPath).routes()
    if (registered.length === 0) return
    const credentials = yield* Credentials
    const limiter = yield* RateLimiter
    const log = yield* LogWriter
    const lifecycle = yield* Lifecycle
    const context = yield* Effect.context<never>()
    const { metrics, server } = options
    const router = FindMyWay.make<Compiled>({ ignoreTrailingSlash: true, ignoreDuplicateSlashes: true })
    for (const route of registered) {
      const compiled = yield* Effect.orDie(compile(route, options.endpoints))
      router.on("GET", route.path as `/${string}`, compiled)
    }
    // The pipeline's own headers: CORS (outermost middleware) first, then the security headers.
    const fixed = [...(options.cors ?? []), ...securityHeadersOf(options.https)]
    const logAccess = log.enabled("Info")
    const infoLevel: LogLevel.LogLevel = "Info"

    const failed = (route: string, error: unknown): false => {
      // A fast route must not throw; the pipeline answers instead, and the defect is logged.
      log.write({
        date: new Date(),
        logLevel: "Error",
        text: "fast route failed; the request takes the full pipeline",
        fields: { route, error: String(error) },
        requestId: undefined,
        annotations: {},
        spans: [],
        cause: undefined
      })
      return false
    }

    const hook: Hook = (request, response) => {
      if (request.method !== "GET") return false
      const started = performance.now()
      const headers = request.headers
      if (
        headers["content-length"] !== undefined || headers["transfer-encoding"] !== undefined ||
        headers[organizationHeader] !== undefined || (options.cors !== undefined && headers.origin !== undefined)
      ) return false
      const token = bearerOf(headers.authorization)
      if (token === undefined) return false
      const url = request.url ?? "/"
      // A NUL or lone surrogate in the URL: the pipeline refuses it with a 400 naming the field.
      if (InputHygiene.urlNeedsCheck(url) && InputHygiene.urlIssues(url, () => undefined).length > 0) return false
      const found = router.find("GET", url)
      if (found === undefined) return false
      const resolved = credentials.resolveNow(token)
      if (resolved === undefined) return false
      const principal = resolved.principal
      const { rateGroup, requirement, route } = found.handler
      if (denialOf(principal, requirement) !== undefined) return false
      const query = queryOf(found.searchParams)
      if (query === undefined) return false
      let answer
      try {
        answer = route.handle({ params: found.params, query, headers, principal })
      } catch (error) {
        return failed(route.path, error)
      }
      if (answer === undefined) return false
      const decision = limiter.consumeAt(principal, requirement.limit, Date.now(), rateGroup)
      if (decision._tag === "Refused") return false
      const incomingId = headers[requestIdHeader]
      const requestId = requestIdOf(typeof incomingId === "string" ? incomingId : undefined)
      const out: Array<string> = []
      const body = answer.body
      if (answer.contentType !== undefined) out.push("content-type", answer.contentType)
      if (body !== undefined) out.push("content-length", String(Buffer.byteLength(body)))
      if (answer.headers !== undefined) for (const name in answer.headers) out.push(name, answer.headers[name])
      for (const name in decision.headers) out.push(name, decision.headers[name])
      for (const [name, value] of fixed) out.push(name, value)
      out.push(requestIdHeader, requestId)
      try {
        response.writeHead(answer.status, out)
      } catch (error) {
        // Nothing was sent (Node validates the headers before writing them).
        return failed(route.path, error)
      }
      response.end(body)
      const seconds = (performance.now() - started) / 1000
      metrics.record(context, "GET", route.path, answer.status, seconds)
      metrics.countFast(context, route.path)
      if (logAccess) {
        log.write({
          date: new Date(),
          logLevel: infoLevel,
          text: "http",
          fields: { method: "GET", path: pathOf(url), route: route.path, status: answer.status, durationMs: Math.round(seconds * 100000) / 100 },
          requestId,
          annotations: {},
          spans: [],
          cause: undefined
        })
      }
      return true
    }

    server.fastPath = hook
    const remove = Effect.sync(() => {
      if (server.fastPath === hook) server.fastPath = undefined
    })
    yield* Effect.addFinalizer(() => remove)
    yield* Effect.forkScoped(Effect.andThen(lifecycle.shutdownStarted, remove))
  }))
