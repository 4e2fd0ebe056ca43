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
 *   body is read. Effect sets no limit by default. A web route with `rawBody` (an upload) reads
 *   and limits its own body: neither the limit nor the hygiene scan applies to it.
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
 * the logger as an object rather than through `Effect.annotateLogs`, and the security headers
 * and request id added with one copy of the response's headers (from pairs, not a record).
 * (Each service added to a request's context is cheap until the context is 8 deep; past that
 * Effect copies it whole.)
 */
import { ByteSize, Cause, Context, Effect, Layer, Option, References } from "effect"
import type { Fiber, Types } from "effect"
import { HttpIncomingMessage, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { HttpMetrics } from "./HttpMetrics.ts"
import * as ProblemResponse from "./ProblemResponse.ts"
import * as InputHygiene from "./InputHygiene.ts"
import { CurrentRequestId } from "./RequestId.ts"
import type { RouteEntry, RouteTable } from "./RouteTable.ts"
import { LogWriter } from "../logging/TrellisLogger.ts"
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

/** What the pipeline knows about one request while it runs. */
interface Running {
  readonly fiber: Fiber.Fiber<unknown, unknown>
  readonly request: HttpServerRequest.HttpServerRequest
  readonly requestId: string
  readonly started: number
  /** The matched route, looked up at most once (`undefined` until then, `null` when none). */
  route: RouteEntry | null | undefined
}

export const layer = (options: Options) =>
  Layer.unwrap(Effect.map(Effect.serviceOption(LogWriter), (writer) => make(options, Option.getOrUndefined(writer))))

const make = (options: Options, writer: LogWriter["Service"] | undefined) => {
  const maxBodySize = ByteSize.bytes(options.maxBodyBytes)
  const extraHeaders = securityHeadersOf(options.https)
  const extraHeadersKeepingCsp = extraHeaders.filter(([name]) => name !== cspHeader)
  const metrics = options.metrics
  const routes = options.routes
  // The server's own log (`TrellisLogger`): the access-log line is written through its
  // `LogWriter` when there is one, as the fast path does, rather than through `Effect.logInfo`
  // (same line, same sink, without the logger machinery per request). Without it (a server
  // composed without `TrellisLogger`) the line goes through Effect's logger.
  const logAccess = writer === undefined ? undefined : writer.enabled("Info")

  /**
   * The request's context: its id (for handlers and log lines) and, for a chunked body, the
   * body limit (a request with neither `Content-Length` nor `Transfer-Encoding` has no body).
   */
  const forRequest = (context: Context.Context<never>, requestId: string, chunked: boolean): Context.Context<never> => {
    const withId = Context.add(context, CurrentRequestId, requestId)
    return chunked ? Context.add(withId, HttpIncomingMessage.MaxBodySize, maxBodySize) : withId
  }

  /** The request's route: one router lookup, shared by the metrics label and the error dialect. */
  const routeOf = (running: Running): RouteEntry | undefined => {
    if (running.route === undefined) running.route = routes.routeOf(running.request.method, running.request.url) ?? null
    return running.route ?? undefined
  }

  const dialectOf = (running: Running) => routes.dialectFor(routeOf(running), running.request.url)

  /** Headers, metrics and the access-log line of a response. */
  const finish = (
    running: Running,
    raw: HttpServerResponse.HttpServerResponse
  ): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
    const { fiber, request, requestId } = running
    const normalized = raw.status < 400 ? raw : ProblemResponse.normalize(raw, request, dialectOf(running))
    // One header copy for all of them (each `setHeader` copies the whole set), given as pairs:
    // Effect copies a record's entries into pairs first. A page's own policy (`/docs`) is kept.
    const added = normalized.headers[cspHeader] === undefined ? extraHeaders : extraHeadersKeepingCsp
    const response = HttpServerResponse.setHeaders(normalized, [...added, [requestIdHeader, requestId]])
    const seconds = (performance.now() - running.started) / 1000
    const method = request.method
    const route = routeOf(running)?.template ?? "unmatched"
    metrics.record(fiber.context, method, route, response.status, seconds)
    const fields = {
      method,
      path: pathOf(request.url),
      route,
      status: response.status,
      durationMs: Math.round(seconds * 100000) / 100
    }
    if (writer === undefined) return Effect.as(Effect.logInfo("http", fields), response)
    if (logAccess === true) {
      writer.write({
        date: new Date(),
        logLevel: "Info",
        text: "http",
        fields,
        requestId,
        annotations: fiber.getRef(References.CurrentLogAnnotations),
        spans: fiber.getRef(References.CurrentLogSpans),
        cause: undefined
      })
    }
    return Effect.succeed(response)
  }

  /** A failed request: interruptions pass through, everything else becomes a problem. */
  const failed = (
    running: Running,
    cause: Cause.Cause<Types.unhandled>
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, Types.unhandled> => {
    if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
    return Effect.flatMap(
      ProblemResponse.fromCause(cause, running.request, routes.methodsOf, options.maxBodyBytes, dialectOf(running)),
      (failure) => {
        const done = finish(running, failure.response)
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
        const request = Context.getUnsafe(fiber.context, HttpServerRequest.HttpServerRequest)
        const headers = request.headers
        const requestId = requestIdOf(headers[requestIdHeader])
        const running: Running = { fiber, request, requestId, started, route: undefined }
        const declaredLength = headers["content-length"]
        const chunked = headers["transfer-encoding"] !== undefined
        const run = Effect.matchCauseEffect(httpEffect, {
          onSuccess: (response) => finish(running, response),
          onFailure: (cause) => failed(running, cause)
        })
        const refuse = (issues: ReadonlyArray<FieldIssue>) =>
          finish(running, ProblemResponse.invalidInput(request, issues, dialectOf(running)))
        const urlIssues = InputHygiene.urlNeedsCheck(request.url)
          ? InputHygiene.urlIssues(request.url, (path) => routes.templateOf(request.method, path))
          : []
        const contentType = headers["content-type"]
        // A route that reads and limits its own body (an upload) skips the limit and the scan;
        // the route is looked up only for a request that would be refused or scanned.
        const hasBody = declaredLength !== undefined && declaredLength !== "0" || chunked
        const ownBody = hasBody &&
          (declaredLength !== undefined && Number(declaredLength) > options.maxBodyBytes || InputHygiene.bodyNeedsCheck(contentType)) &&
          routeOf(running)?.rawBody === true
        const handled: Effect.Effect<HttpServerResponse.HttpServerResponse, Types.unhandled> =
          ownBody
            ? urlIssues.length > 0 ? refuse(urlIssues) : run
            : declaredLength !== undefined && Number(declaredLength) > options.maxBodyBytes
            ? finish(running, ProblemResponse.tooLarge(request, options.maxBodyBytes, dialectOf(running)))
            : urlIssues.length > 0
            ? refuse(urlIssues)
            : hasBody && InputHygiene.bodyNeedsCheck(contentType)
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
