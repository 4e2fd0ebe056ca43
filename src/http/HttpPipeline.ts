/**
 * The host's global HTTP middleware: what every request goes through, whichever plugin
 * serves it.
 *
 * - `X-Request-Id`: accepted when well-formed, generated otherwise, echoed, and annotated on
 *   every log line written while the request runs.
 * - One structured access-log line per request; Prometheus counters and a latency histogram
 *   labelled by route template (bounded cardinality).
 * - The body size limit (Effect sets none by default).
 * - Every error, including Effect's empty-bodied built-in ones and defects, as problem+json.
 * - Basic security headers.
 */
import { ByteSize, Cause, Effect, Exit, Metric } from "effect"
import type { Types } from "effect"
import { HttpIncomingMessage, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as ProblemResponse from "./ProblemResponse.ts"
import type { RouteTable } from "./RouteTable.ts"

export interface Options {
  readonly maxBodyBytes: number
  readonly routes: RouteTable
  /** Adds `Strict-Transport-Security` when the server is reached over https. */
  readonly https: boolean
}

export const requestsTotal = Metric.counter("trellis_http_requests_total", {
  description: "HTTP requests by method, route template and status",
  incremental: true
})

export const requestDuration = Metric.histogram("trellis_http_request_duration_seconds", {
  description: "HTTP request latency by method and route template",
  boundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
})

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/

const securityHeaders = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-resource-policy": "same-origin"
}

/** The request id of the current request, for handlers that want to return or record it. */
export const requestIdHeader = "x-request-id"

export const layer = (options: Options) => {
  const maxBodySize = ByteSize.bytes(options.maxBodyBytes)
  const extraHeaders = options.https
    ? { ...securityHeaders, "strict-transport-security": "max-age=31536000" }
    : securityHeaders
  return HttpRouter.middleware(
    (httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, Types.unhandled>) =>
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        const incoming = request.headers[requestIdHeader]
        const requestId = incoming !== undefined && requestIdPattern.test(incoming) ? incoming : crypto.randomUUID()
        return Effect.annotateLogs(handle(httpEffect, request, requestId), { requestId })
      }),
    { global: true }
  )

  function handle(
    httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, Types.unhandled>,
    request: HttpServerRequest.HttpServerRequest,
    requestId: string
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, Types.unhandled> {
    return Effect.gen(function*() {
        const started = performance.now()
        const declaredLength = request.headers["content-length"]
        const exit = declaredLength !== undefined && Number(declaredLength) > options.maxBodyBytes
          ? Exit.succeed(ProblemResponse.tooLarge(request, options.maxBodyBytes))
          : yield* httpEffect.pipe(
          Effect.provideService(HttpIncomingMessage.MaxBodySize, maxBodySize),
          Effect.exit
        )
        let response: HttpServerResponse.HttpServerResponse
        if (Exit.isSuccess(exit)) {
          response = ProblemResponse.normalize(exit.value, request)
        } else if (Cause.hasInterruptsOnly(exit.cause)) {
          return yield* exit
        } else {
          const failure = yield* ProblemResponse.fromCause(
            exit.cause,
            request,
            options.routes.methodsOf,
            options.maxBodyBytes
          )
          response = ProblemResponse.normalize(failure.response, request)
          if (failure.defect._tag === "Some") {
            yield* Effect.logError("unhandled failure", failure.defect.value.cause).pipe(
              Effect.annotateLogs({ reference: failure.defect.value.reference })
            )
          }
        }
        response = HttpServerResponse.setHeaders(response, { ...extraHeaders, [requestIdHeader]: requestId })
        const seconds = (performance.now() - started) / 1000
        const route = options.routes.templateOf(request.method, request.url) ?? "unmatched"
        const attributes = { method: request.method, route, status: String(response.status) }
        yield* Metric.update(Metric.withAttributes(requestsTotal, attributes), 1)
        yield* Metric.update(Metric.withAttributes(requestDuration, { method: request.method, route }), seconds)
        yield* Effect.logInfo("http").pipe(Effect.annotateLogs({
          method: request.method,
          path: request.url.split("?")[0],
          route,
          status: response.status,
          durationMs: Math.round(seconds * 100000) / 100
        }))
        return response
      })
  }
}
