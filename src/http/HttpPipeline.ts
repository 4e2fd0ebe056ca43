/**
 * The host's global HTTP middleware: what every request goes through, whichever plugin
 * serves it.
 *
 * - `X-Request-Id`: accepted when well-formed, generated otherwise, echoed, and provided as
 *   `CurrentRequestId` to the handler and to every log line written while the request runs
 *   (the logger writes it as `requestId`).
 * - One structured access-log line per request; Prometheus counters and a latency histogram
 *   labelled by route template (bounded cardinality).
 * - The body size limit: a declared `Content-Length` over it is refused before the handler
 *   runs (and Node never reads past a declared length); a chunked body is cut off while it is
 *   read, through `MaxBodySize`, which the Node server reads from the request fiber when the
 *   body is read. Effect sets no limit by default.
 * - Every error, including Effect's empty-bodied built-in ones and defects, as problem+json.
 * - Basic security headers.
 *
 * It runs for every request, so it is written for speed: one context update per request (the
 * request id, and the body limit only for a chunked body), no generator, metrics kept in
 * plain counters that the exporter reads at scrape time, and the access-log fields given to
 * the logger as an object rather than through `Effect.annotateLogs`. (Each service added to a
 * request's context is cheap until the context is 8 deep; past that Effect copies it whole.)
 */
import { ByteSize, Cause, Context, Effect, Layer, Metric } from "effect"
import type { Types } from "effect"
import { HttpIncomingMessage, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as ProblemResponse from "./ProblemResponse.ts"
import { CurrentRequestId } from "./RequestId.ts"
import type { RouteTable } from "./RouteTable.ts"

export interface Options {
  readonly maxBodyBytes: number
  readonly routes: RouteTable
  /** Adds `Strict-Transport-Security` when the server is reached over https. */
  readonly https: boolean
}

const requestsTotal = {
  name: "trellis_http_requests_total",
  description: "HTTP requests by method, route template and status"
}

const requestDuration = {
  name: "trellis_http_request_duration_seconds",
  description: "HTTP request latency by method and route template",
  boundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/

const securityHeaders: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-resource-policy": "same-origin"
}

/** The request id header, echoed on every response. */
export const requestIdHeader = "x-request-id"

/** The latency of one (method, route) series, in the shape of Effect's `HistogramState`. */
interface Latency {
  /** Per-bucket counts; the last one counts what is above the largest boundary. */
  readonly values: Uint32Array
  count: number
  sum: number
  min: number
  max: number
}

/**
 * The request metrics. Plain counters updated in place, registered once per series with
 * `Metric.registerUnsafe` and read by the Prometheus exporter at scrape time: cheaper than a
 * `Metric.update` per request, which looks the series up in the registry by a JSON key each
 * time (and, with `Metric.withAttributes` on one shared metric, recomputes that key whenever
 * consecutive requests differ in route or status). Series are found through maps keyed by the
 * method, route template and status themselves, without building a key string per request.
 */
const makeMetrics = () => {
  const boundaries = requestDuration.boundaries
  const registrations: Array<Metric.Registration> = []
  const counters = new Map<string, Map<string, Map<number, { count: number }>>>()
  const latencies = new Map<string, Map<string, Latency>>()
  const inner = <K, V>(map: Map<string, Map<K, V>>, key: string): Map<K, V> => {
    let found = map.get(key)
    if (found === undefined) {
      found = new Map()
      map.set(key, found)
    }
    return found
  }
  const ignore = () => {}

  const counterOf = (context: Context.Context<never>, method: string, route: string, status: number) => {
    const byStatus = inner(inner(counters, method), route)
    let counter = byStatus.get(status)
    if (counter === undefined) {
      const state = { count: 0 }
      const metric = Metric.counter(requestsTotal.name, {
        description: requestsTotal.description,
        incremental: true,
        attributes: { method, route, status: String(status) }
      })
      registrations.push(Metric.registerUnsafe(metric, context, {
        get: () => ({ count: state.count, incremental: true }),
        update: ignore,
        modify: ignore
      }))
      byStatus.set(status, state)
      counter = state
    }
    return counter
  }

  const latencyOf = (context: Context.Context<never>, method: string, route: string): Latency => {
    const byRoute = inner(latencies, method)
    let latency = byRoute.get(route)
    if (latency === undefined) {
      const state: Latency = { values: new Uint32Array(boundaries.length + 1), count: 0, sum: 0, min: Number.MAX_VALUE, max: -Number.MAX_VALUE }
      const metric = Metric.histogram(requestDuration.name, {
        description: requestDuration.description,
        boundaries,
        attributes: { method, route }
      })
      registrations.push(Metric.registerUnsafe(metric, context, {
        get: () => {
          let cumulated = 0
          const buckets = boundaries.map((boundary, i): [number, number] => {
            cumulated += state.values[i] ?? 0
            return [boundary, cumulated]
          })
          return { buckets, count: state.count, sum: state.sum, min: state.min, max: state.max }
        },
        update: ignore,
        modify: ignore
      }))
      byRoute.set(route, state)
      latency = state
    }
    return latency
  }

  return {
    record: (context: Context.Context<never>, method: string, route: string, status: number, seconds: number): void => {
      counterOf(context, method, route, status).count++
      const latency = latencyOf(context, method, route)
      let bucket = 0
      while (bucket < boundaries.length && seconds > (boundaries[bucket] ?? 0)) bucket++
      latency.values[bucket] = (latency.values[bucket] ?? 0) + 1
      latency.count++
      latency.sum += seconds
      if (seconds < latency.min) latency.min = seconds
      if (seconds > latency.max) latency.max = seconds
    },
    /** Removes the series from the registry (the server is stopping). */
    close: (): void => {
      for (const registration of registrations.splice(0)) registration.remove()
    }
  }
}

const pathOf = (url: string): string => {
  const q = url.indexOf("?")
  return q === -1 ? url : url.slice(0, q)
}

export const layer = (options: Options) => {
  const maxBodySize = ByteSize.bytes(options.maxBodyBytes)
  const extraHeaders = Object.entries(
    options.https ? { ...securityHeaders, "strict-transport-security": "max-age=31536000" } : securityHeaders
  )
  const metrics = makeMetrics()

  /**
   * The request's context: its id (for handlers and log lines) and, for a chunked body, the
   * body limit (a request with neither `Content-Length` nor `Transfer-Encoding` has no body).
   */
  const forRequest = (context: Context.Context<never>, requestId: string, chunked: boolean): Context.Context<never> => {
    const withId = Context.add(context, CurrentRequestId, requestId)
    return chunked ? Context.add(withId, HttpIncomingMessage.MaxBodySize, maxBodySize) : withId
  }

  /** Headers, metrics and the access-log line of a response. */
  const finish = (
    context: Context.Context<never>,
    request: HttpServerRequest.HttpServerRequest,
    requestId: string,
    started: number,
    raw: HttpServerResponse.HttpServerResponse
  ): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
    // One `setHeader` per header is cheaper than `setHeaders`, which normalises its input.
    let response = ProblemResponse.normalize(raw, request)
    for (const [name, value] of extraHeaders) response = HttpServerResponse.setHeader(response, name, value)
    response = HttpServerResponse.setHeader(response, requestIdHeader, requestId)
    const seconds = (performance.now() - started) / 1000
    const method = request.method
    const route = options.routes.templateOf(method, request.url) ?? "unmatched"
    metrics.record(context, method, route, response.status, seconds)
    return Effect.as(
      Effect.logInfo("http", {
        method,
        path: pathOf(request.url),
        route,
        status: response.status,
        durationMs: Math.round(seconds * 100000) / 100
      }),
      response
    )
  }

  /** A failed request: interruptions pass through, everything else becomes a problem. */
  const failed = (
    context: Context.Context<never>,
    request: HttpServerRequest.HttpServerRequest,
    requestId: string,
    started: number,
    cause: Cause.Cause<Types.unhandled>
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, Types.unhandled> => {
    if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
    return Effect.flatMap(
      ProblemResponse.fromCause(cause, request, options.routes.methodsOf, options.maxBodyBytes),
      (failure) => {
        const done = finish(context, request, requestId, started, failure.response)
        if (failure.defect._tag === "None") return done
        const { cause: defect, reference } = failure.defect.value
        return Effect.andThen(
          Effect.logError("unhandled failure", defect).pipe(Effect.annotateLogs({ reference })),
          done
        )
      }
    )
  }

  const middleware = HttpRouter.middleware(
    (httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, Types.unhandled>) =>
      Effect.withFiber((fiber) => {
        const started = performance.now()
        const context = fiber.context
        const request = Context.getUnsafe(context, HttpServerRequest.HttpServerRequest)
        const headers = request.headers
        const incoming = headers[requestIdHeader]
        const requestId = incoming !== undefined && requestIdPattern.test(incoming) ? incoming : crypto.randomUUID()
        const declaredLength = headers["content-length"]
        const handled: Effect.Effect<HttpServerResponse.HttpServerResponse, Types.unhandled> =
          declaredLength !== undefined && Number(declaredLength) > options.maxBodyBytes
            ? finish(context, request, requestId, started, ProblemResponse.tooLarge(request, options.maxBodyBytes))
            : Effect.matchCauseEffect(httpEffect, {
              onSuccess: (response) => finish(context, request, requestId, started, response),
              onFailure: (cause) => failed(context, request, requestId, started, cause)
            })
        const chunked = headers["transfer-encoding"] !== undefined
        return Effect.updateContext(handled, (current: Context.Context<never>) => forRequest(current, requestId, chunked))
      }),
    { global: true }
  )
  return Layer.merge(middleware, Layer.effectDiscard(Effect.addFinalizer(() => Effect.sync(metrics.close))))
}
