/**
 * Wire dialects: what an API group's error bodies carry beside RFC 9457's members, and the
 * status of a schema (validation) failure, so that each seed system's own clients keep working
 * unchanged. A group declares its dialect once; the platform applies it to every error of the
 * group's routes (typed problems, authentication failures, rate limits, schema failures, 413,
 * defects) and, by path prefix, to unknown routes under the dialect's prefix.
 *
 * ```ts
 * export class ThingsGroup extends HttpApiGroup.make("things")
 *   .add(...)
 *   .annotate(WireDialect, WireDialect.sessionFs)
 * {}
 * ```
 *
 * | dialect | `error` member | schema failure |
 * | --- | --- | --- |
 * | `promptOps` | `"error": "<detail, else title>"` | 400 |
 * | `sessionFs` | `"error": { code, message, details }` | 422 |
 * | `surflet` | `"error": { code, message, details }` | 400 |
 * | `runs` | none (plain problem) | 422 |
 * | `platform` (default) | none | 400 |
 *
 * Client-safe: imports only `effect`.
 */
import { Context } from "effect"

/** How a dialect's errors look on the wire. */
export interface Dialect {
  readonly name: "promptOps" | "sessionFs" | "surflet" | "runs" | "platform"
  /**
   * The `error` member added to every problem: `message` (a string, the problem's `detail`),
   * `structured` (`{ code, message, details }`) or `none`.
   */
  readonly envelope: "message" | "structured" | "none"
  /** The status of a request whose parameters or body fail the endpoint's schema. */
  readonly validationStatus: 400 | 422
  /**
   * The path prefix whose unknown routes (404, 405) answer in this dialect when a group of the
   * composition declares it; the longest matching prefix wins.
   */
  readonly prefix: string | undefined
}

/** PromptOps (seed 004): clients read `response.data.error` as a string. */
export const promptOps: Dialect = { name: "promptOps", envelope: "message", validationStatus: 400, prefix: "/api/" }
/** SessionFS (seed 001): FastAPI-style 422 on validation, structured `error` object. */
export const sessionFs: Dialect = { name: "sessionFs", envelope: "structured", validationStatus: 422, prefix: "/api/v1/" }
/** Surflet (seed 003): structured `error` object, 400 `INVALID_REQUEST` on validation. */
export const surflet: Dialect = { name: "surflet", envelope: "structured", validationStatus: 400, prefix: "/v1/" }
/** The mobile runs API (seed 002): plain RFC 7807 problems, 422 on validation. */
export const runs: Dialect = { name: "runs", envelope: "none", validationStatus: 422, prefix: undefined }
/** Trellis's own routes and plugins that declare nothing: plain problems, 400 on validation. */
export const platform: Dialect = { name: "platform", envelope: "none", validationStatus: 400, prefix: undefined }

/** The members of RFC 9457 and Trellis's `code`: what is not an extension member. */
const baseMembers = new Set(["type", "title", "status", "detail", "instance", "code", "error"])

/**
 * A problem body with the dialect's `error` member. A problem that already carries an `error`
 * member of the dialect's kind (an object for `structured`, a string for `message`) keeps it:
 * a plugin may shape it itself (the tickets plugin's stale-lease error does).
 */
export const withEnvelope = (dialect: Dialect, body: Record<string, unknown>): Record<string, unknown> => {
  switch (dialect.envelope) {
    case "none":
      return body
    case "message": {
      if (typeof body.error === "string") return body
      return { ...body, error: messageOf(body) }
    }
    case "structured": {
      const existing = body.error
      if (typeof existing === "object" && existing !== null && !Array.isArray(existing)) return body
      return { ...body, error: { code: body.code, message: messageOf(body), details: detailsOf(body) } }
    }
  }
}

/** Whether a body already has the dialect's envelope (so that rendering it again changes nothing). */
export const hasEnvelope = (dialect: Dialect, body: Record<string, unknown>): boolean => {
  switch (dialect.envelope) {
    case "none":
      return true
    case "message":
      return typeof body.error === "string"
    case "structured":
      return typeof body.error === "object" && body.error !== null && !Array.isArray(body.error)
  }
}

const messageOf = (body: Record<string, unknown>): unknown =>
  typeof body.detail === "string" && body.detail !== "" ? body.detail : body.title

/**
 * `error.details`: the field list of a validation problem (`errors`), else an explicit
 * `details` object, else the problem's extension members (`required`, `current_epoch`, ...).
 */
const detailsOf = (body: Record<string, unknown>): unknown => {
  if (Array.isArray(body.errors)) return body.errors
  if (typeof body.details === "object" && body.details !== null) return body.details
  const details: Record<string, unknown> = {}
  for (const key in body) {
    if (!baseMembers.has(key)) details[key] = body[key]
  }
  return details
}

/** The annotation key, with the dialects as members: `.annotate(WireDialect, WireDialect.sessionFs)`. */
export const WireDialect = Object.assign(
  Context.Reference<Dialect>("trellis/http/WireDialect", { defaultValue: () => platform }),
  { promptOps, sessionFs, surflet, runs, platform }
)

/** The dialect of an endpoint: its own annotation, else its group's, else the platform's. */
export const endpointDialect = (groupAnnotations: Context.Context<never>, endpointAnnotations: Context.Context<never>): Dialect =>
  Context.getOrUndefined(endpointAnnotations, WireDialect) ?? Context.getOrUndefined(groupAnnotations, WireDialect) ?? platform
