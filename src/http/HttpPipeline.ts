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
 * - Every error, including Effect's empty-bodied built-in ones and defects, as problem+json,
 *   in the wire dialect of the request's route (`WireDialect`, looked up only for errors).
 * - NUL characters and lone surrogates refused with a 400 naming the field (`InputHygiene`):
 *   in the path and query only when the URL has a `%`, in JSON, NDJSON and form bodies by a
 *   scan of the (cached) body text before the handler reads it. A GET has no body to read.
 * - Basic security headers.
 *
 * It runs for every request, so it is written for speed: one context update per request (the
 * request id, and the body limit only for a chunked body), no generator, metrics kept in
 * plain counters that the exporter reads at scrape time, and the access-log fields given to
 * the logger as an object rather than through `Effect.annotateLogs`. (Each service added to a
 * request's context is cheap until the context is 8 deep; past that Effect copies it whole.)
 */
import { ByteSize, Cause, Context, Effect, Layer } from "effect"
import type { Types } from "effect"
import { HttpIncomingMessage, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { HttpMetrics } from "./HttpMetrics.ts"
import * as ProblemResponse from "./ProblemResponse.ts"
import * as InputHygiene from "./InputHygiene.ts"
import { CurrentRequestId } from "./RequestId.ts"
import type { RouteTable } from "./RouteTable.ts"
import type { FieldIssue } from "../problem/Problem.ts"

export interface Options {
  readonly maxBodyBytes: number
  /** Where requests are counted (shared with the fast path). */
  readonly metrics: HttpMetrics
  readonly routes: RouteTable
  /** Adds `Strict-Transport-Security` when the server is reached over https. */
  readonly https: boolean
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/

/** The request id of a request: its `X-Request-Id` when well-formed, a new UUID otherwise. */
export const requestIdOf = (incoming: string | undefined): string =>
  incoming !== undefined && requestIdPattern.test(incoming) ? incoming : crypto.randomUUID()

const securityHeaders: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-resource-policy": "same-origin",
  // JSON and text never need to run or load anything; an HTML page sets its own policy (kept).
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'"
}

const cspHeader = "content-security-policy"

/** The security headers of every response, as name/value pairs. */
export const securityHeadersOf = (https: boolean): ReadonlyArray<readonly [string, string]> =>
  Object.entries(https ? { ...securityHeaders, "strict-transport-security": "max-age=31536000" } : securityHeaders)

/** The request id header, echoed on every response. */
export const requestIdHeader = "x-request-id"

export const pathOf = (url: string): string => {
  const q = url.indexOf("?")
  return q === -1 ? url : url.slice(0, q)
}

export const layer = (options: Options) => {
  const maxBodySize = ByteSize.bytes(options.maxBodyBytes)
  const extraHeaders = securityHeadersOf(options.https)
  const metrics = options.metrics

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
    let response = raw.status < 400
      ? raw
      : ProblemResponse.normalize(raw, request, options.routes.dialectOf(request.method, request.url))
    for (const [name, value] of extraHeaders) {
      if (name !== cspHeader || response.headers[cspHeader] === undefined) response = HttpServerResponse.setHeader(response, name, value)
    }
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
      ProblemResponse.fromCause(
        cause,
        request,
        options.routes.methodsOf,
        options.maxBodyBytes,
        options.routes.dialectOf(request.method, request.url)
      ),
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
        const requestId = requestIdOf(headers[requestIdHeader])
        const declaredLength = headers["content-length"]
        const chunked = headers["transfer-encoding"] !== undefined
        const run = Effect.matchCauseEffect(httpEffect, {
          onSuccess: (response) => finish(context, request, requestId, started, response),
          onFailure: (cause) => failed(context, request, requestId, started, cause)
        })
        const refuse = (issues: ReadonlyArray<FieldIssue>) =>
          finish(context, request, requestId, started, ProblemResponse.invalidInput(request, issues, options.routes.dialectOf(request.method, request.url)))
        const urlIssues = InputHygiene.urlNeedsCheck(request.url)
          ? InputHygiene.urlIssues(request.url, (path) => options.routes.templateOf(request.method, path))
          : []
        const contentType = headers["content-type"]
        const handled: Effect.Effect<HttpServerResponse.HttpServerResponse, Types.unhandled> =
          declaredLength !== undefined && Number(declaredLength) > options.maxBodyBytes
            ? finish(
              context,
              request,
              requestId,
              started,
              ProblemResponse.tooLarge(request, options.maxBodyBytes, options.routes.dialectOf(request.method, request.url))
            )
            : urlIssues.length > 0
            ? refuse(urlIssues)
            : (declaredLength !== undefined && declaredLength !== "0" || chunked) && InputHygiene.bodyNeedsCheck(contentType)
            ? Effect.flatMap(Effect.result(request.text), (text) => {
              // A body that cannot be read (too large, cut off) is left for the handler to report.
              if (text._tag === "Failure") return run
              const issues = InputHygiene.bodyIssues(contentType ?? "", text.success)
              return issues.length > 0 ? refuse(issues) : run
            })
            : run
        return Effect.updateContext(handled, (current: Context.Context<never>) => forRequest(current, requestId, chunked))
      }),
    { global: true }
  )
  return Layer.merge(middleware, Layer.effectDiscard(Effect.addFinalizer(() => Effect.sync(metrics.close))))
}
