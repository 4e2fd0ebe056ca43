/**
 * Typed RFC 9457 problems for Trellis.
 *
 * Every error a Trellis server answers with is `application/problem+json` carrying `type`,
 * `title`, `status`, `detail`, `instance` and a stable machine-readable `code`. This module
 * builds such error classes on Effect's `HttpApiError.Problem`, so that an endpoint that
 * declares one renders, documents (OpenAPI) and decodes (typed client) it as a problem.
 *
 * Client-safe: imports only `effect`.
 */
import { Schema } from "effect"
import { HttpApiError } from "effect/http-api"

/** The prefix of every Trellis problem `type` URI. The suffix is the code in kebab case. */
export const typePrefix = "urn:trellis:problem:"

/** The problem `type` URI for a code: `NOT_FOUND` becomes `urn:trellis:problem:not-found`. */
export const typeFor = (code: string): string => typePrefix + code.toLowerCase().replace(/_/g, "-")

/** What the catalogue (`schema/problems.json`) records for each problem class. */
export interface ProblemSpec {
  readonly code: string
  readonly status: number
  readonly title: string
  readonly type: string
}

/** A problem class made by {@link Problem}: its spec is on the class. */
export interface ProblemSpecHolder {
  readonly problem: ProblemSpec
}

/**
 * Declares a problem class with a stable `code`. Extra fields become problem extension members.
 *
 * ```ts
 * export class GreetingNotFound extends Problem<GreetingNotFound>()("GreetingNotFound", {
 *   code: "GREETING_NOT_FOUND", status: 404, title: "Greeting not found"
 * }, { id: Schema.String }) {}
 * ```
 */
export const Problem = <Self>() =>
<
  const Tag extends string,
  const Code extends string,
  const Status extends number,
  const Fields extends HttpApiError.ProblemExtensionFields = {}
>(
  tag: Tag,
  declaration: { readonly code: Code; readonly status: Status; readonly title: string; readonly type?: string },
  fields?: Fields
) => {
  const type = declaration.type ?? typeFor(declaration.code)
  const Base = HttpApiError.Problem<Self>()(tag, { type, status: declaration.status, title: declaration.title }, {
    code: Schema.tag(declaration.code),
    ...(fields ?? ({} as Fields))
  })
  const problem: ProblemSpec = { code: declaration.code, status: declaration.status, title: declaration.title, type }
  return Object.assign(Base, { problem })
}

/** One entry of the `errors` member of a validation problem: where, and what is wrong. */
export const FieldIssue = Schema.Struct({
  path: Schema.String,
  message: Schema.String
})
export type FieldIssue = typeof FieldIssue.Type
