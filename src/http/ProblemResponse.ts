/**
 * Turns whatever a request failed with into an `application/problem+json` response.
 *
 * Effect answers several failures with empty bodies (schema errors, unknown routes, payload
 * limits, defects); Trellis clients rely on every error being a problem with a `code`, so the
 * host renders them all here: typed problems pass through (gaining `instance`), schema
 * failures become 400 naming the fields, unknown routes 404 or 405 with `Allow`, and defects
 * 500 with a reference id that is also in the log line carrying the cause.
 *
 * Every problem is written in the wire dialect of the request's route (`WireDialect`, declared
 * per API group and looked up by the pipeline): its `error` member (Surflet's and SessionFS's
 * `{ code, message, details }`, PromptOps's string) and the status of a schema failure (400, or
 * 422 for SessionFS and the runs API).
 */
import { Cause, Effect, Option, Predicate } from "effect"
import { HttpServerError, HttpServerRespondable, HttpServerResponse, ProblemDetails } from "effect/http"
import type { HttpServerRequest } from "effect/http"
import { HttpApiError } from "effect/http-api"
import { SchemaIssue } from "effect"
import type { FieldIssue } from "../problem/Problem.ts"
import {
  InternalError,
  InvalidRequest,
  MethodNotAllowed,
  NotFound,
  PayloadTooLarge,
  UnsupportedMediaType
} from "../problem/Problems.ts"
import type { ProblemSpec } from "../problem/Problem.ts"
import { platformProblems } from "../problem/Problems.ts"
import type { Dialect } from "./WireDialect.ts"
import { hasEnvelope, platform, withEnvelope } from "./WireDialect.ts"

const textDecoder = new TextDecoder()
const textEncoder = new TextEncoder()

const byStatus = new Map<number, ProblemSpec>(platformProblems.map((p) => [p.problem.status, p.problem]))

/**
 * Renders a problem body in a dialect, adding `instance` (the request path) when the problem
 * has none.
 */
export const render = (
  problem: Record<string, unknown> & { readonly status: number },
  request: HttpServerRequest.HttpServerRequest,
  dialect: Dialect,
  headers?: Record<string, string>
): HttpServerResponse.HttpServerResponse => {
  const body = { instance: pathOf(request), ...problem }
  return HttpServerResponse.jsonUnsafe(withEnvelope(dialect, body), {
    status: problem.status,
    contentType: ProblemDetails.contentType,
    ...(headers === undefined ? {} : { headers })
  })
}

const pathOf = (request: HttpServerRequest.HttpServerRequest) => {
  const url = request.url
  const q = url.indexOf("?")
  return q === -1 ? url : url.slice(0, q)
}

const problemOf = (spec: ProblemSpec, detail: string, extra?: Record<string, unknown>) => ({
  type: spec.type,
  title: spec.title,
  status: spec.status,
  detail,
  code: spec.code,
  ...extra
})

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const issuesOf = (error: HttpApiError.HttpApiSchemaError): Array<FieldIssue> => {
  const slot = error.kind === "Payload" || error.kind === "Body" ? "body" : error.kind.toLowerCase()
  return formatIssues(error.cause.issue).issues.map((issue) => {
    const segments = (issue.path ?? []).map((s) => String(typeof s === "object" && s !== null && "key" in s ? s.key : s))
    return { path: [slot, ...segments].join("."), message: issue.message }
  })
}

/** The response for a failed request, and whether the failure is a bug that must be logged. */
export interface Failure {
  readonly response: HttpServerResponse.HttpServerResponse
  readonly defect: Option.Option<{ readonly reference: string; readonly cause: Cause.Cause<unknown> }>
}

/**
 * Maps a request's failure cause. `allowedMethods` answers which methods the router has for a
 * path, so that an unknown method on a known path is 405 rather than 404.
 */
export const fromCause = (
  cause: Cause.Cause<unknown>,
  request: HttpServerRequest.HttpServerRequest,
  allowedMethods: (path: string) => ReadonlyArray<string>,
  maxBodyBytes: number,
  dialect: Dialect = platform
): Effect.Effect<Failure> => {
  // Effect's HttpApi raises schema failures as defects in some paths: look at both.
  const failure = cause.reasons.find(Cause.isFailReason)
  const die = cause.reasons.find(Cause.isDieReason)
  const error: unknown = failure !== undefined ? failure.error : die?.defect
  if (HttpServerResponse.isHttpServerResponse(error)) {
    return Effect.succeed({ response: error, defect: Option.none() })
  }
  if (error !== undefined) {
    const known = fromError(error, request, allowedMethods, maxBodyBytes, dialect)
    if (known !== undefined) return Effect.succeed({ response: known, defect: Option.none() })
    const isBug = HttpApiError.HttpApiSchemaError.is(error) && (error.kind === "Body" || error.kind === "ResponseHeaders")
    if (!isBug && HttpServerRespondable.isRespondable(error)) {
      return Effect.map(
        Effect.orElseSucceed(HttpServerRespondable.toResponse(error), () => HttpServerResponse.empty({ status: 500 })),
        (response) => ({ response, defect: Option.none() })
      )
    }
  }
  const reference = crypto.randomUUID()
  return Effect.succeed({
    response: render(
      problemOf(InternalError.problem, `An unexpected error occurred. Quote reference ${reference} when reporting it.`, { reference }),
      request,
      dialect
    ),
    defect: Option.some({ reference, cause })
  })
}

const fromError = (
  error: unknown,
  request: HttpServerRequest.HttpServerRequest,
  allowedMethods: (path: string) => ReadonlyArray<string>,
  maxBodyBytes: number,
  dialect: Dialect
): HttpServerResponse.HttpServerResponse | undefined => {
  if (HttpApiError.HttpApiSchemaError.is(error)) {
    if (error.kind === "Body" || error.kind === "ResponseHeaders") return undefined
    const errors = issuesOf(error)
    const first = errors[0]
    const detail = first === undefined
      ? "The request is invalid."
      : `Invalid ${first.path}: ${first.message}` + (errors.length > 1 ? ` (and ${errors.length - 1} more)` : "")
    // The status is the dialect's: SessionFS's and the runs API's clients expect FastAPI's 422.
    return render(problemOf(InvalidRequest.problem, detail, { status: dialect.validationStatus, errors }), request, dialect)
  }
  if (HttpApiError.HttpApiPayloadTooLarge.is(error)) {
    return tooLarge(request, maxBodyBytes, dialect)
  }
  if (HttpServerError.isHttpServerError(error)) {
    const reason = error.reason
    switch (reason._tag) {
      case "RouteNotFound": {
        const allow = allowedMethods(pathOf(request))
        if (allow.length > 0) {
          return render(
            problemOf(MethodNotAllowed.problem, `${request.method} is not allowed on ${pathOf(request)}. Allowed: ${allow.join(", ")}.`, { allow }),
            request,
            dialect,
            { allow: allow.join(", ") }
          )
        }
        return render(problemOf(NotFound.problem, `No route for ${request.method} ${pathOf(request)}.`), request, dialect)
      }
      case "RequestParseError": {
        const text = String(reason.description ?? "") + " " + String(Predicate.hasProperty(reason.cause, "message") ? reason.cause.message : "")
        if (/too large|exceed|maxBytes|max body/i.test(text)) return tooLarge(request, maxBodyBytes, dialect)
        if (/content.?type|media type|unsupported/i.test(text)) {
          return render(problemOf(UnsupportedMediaType.problem, "The request body's media type is not supported here."), request, dialect)
        }
        return render(problemOf(InvalidRequest.problem, `The request body could not be read: ${reason.description ?? "malformed body"}.`), request, dialect)
      }
      default:
        return undefined
    }
  }
  return undefined
}

export const tooLarge = (request: HttpServerRequest.HttpServerRequest, maxBodyBytes: number, dialect: Dialect) =>
  render(
    problemOf(PayloadTooLarge.problem, `The request body is larger than the limit of ${maxBodyBytes} bytes.`, { limit: maxBodyBytes }),
    request,
    dialect
  )

/**
 * 400 for input holding a NUL character or a lone surrogate (see `InputHygiene`): 400 in every
 * dialect, SessionFS's included, since the request is not malformed by the endpoint's schema
 * but by what no Trellis string may hold.
 */
export const invalidInput = (
  request: HttpServerRequest.HttpServerRequest,
  errors: ReadonlyArray<FieldIssue>,
  dialect: Dialect
) => {
  const first = errors[0]
  const detail = `Invalid ${first.path}: ${first.message}` + (errors.length > 1 ? ` (and ${errors.length - 1} more)` : "")
  return render(problemOf(InvalidRequest.problem, detail, { errors }), request, dialect)
}

/**
 * Normalises an error response that is not yet a problem (Effect's built-in errors answer
 * with empty bodies), and adds `instance` to problems that lack it. Success responses pass
 * through untouched.
 */
export const normalize = (
  response: HttpServerResponse.HttpServerResponse,
  request: HttpServerRequest.HttpServerRequest,
  dialect: Dialect
): HttpServerResponse.HttpServerResponse => {
  if (response.status < 400) return response
  const body = response.body
  const contentType = response.headers["content-type"] ?? (body._tag === "Uint8Array" ? body.contentType : "")
  // A server-rendered page's own error page (`Html.page` with a status: the viewer's 404, 410,
  // 401 sign-in form) is meant for a person's browser: kept as it is.
  if (contentType.startsWith("text/html")) return response
  if (body._tag === "Uint8Array" && contentType.startsWith(ProblemDetails.contentType)) {
    const parsed = safeParse(textDecoder.decode(body.body))
    if (parsed === undefined || "instance" in parsed && hasEnvelope(dialect, parsed)) return response
    const next = withEnvelope(dialect, { instance: pathOf(request), ...parsed })
    return HttpServerResponse.setBody(response, HttpServerResponse.uint8Array(textEncoder.encode(JSON.stringify(next)), {
      contentType: ProblemDetails.contentType
    }).body)
  }
  {
    const text = body._tag === "Uint8Array" && contentType.startsWith("text/plain") ? textDecoder.decode(body.body).trim() : ""
    const spec = byStatus.get(response.status)
    const problem = spec === undefined
      ? { type: "about:blank", title: statusTitle(response.status), status: response.status, detail: text || statusTitle(response.status), code: `HTTP_${response.status}` }
      : problemOf(spec, text !== "" ? (text.endsWith(".") ? text : text + ".") : spec.title + ".")
    const rendered = render(problem, request, dialect)
    return HttpServerResponse.setBody(
      HttpServerResponse.setHeaders(response, { "content-type": ProblemDetails.contentType }),
      rendered.body
    )
  }
}

const safeParse = (text: string): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(text)
    return Predicate.isObject(value) && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

const statusTitle = (status: number): string => {
  switch (status) {
    case 408: return "Request timeout"
    case 410: return "Gone"
    case 422: return "Unprocessable content"
    case 501: return "Not implemented"
    case 502: return "Bad gateway"
    case 504: return "Gateway timeout"
    default: return status >= 500 ? "Server error" : "Client error"
  }
}
