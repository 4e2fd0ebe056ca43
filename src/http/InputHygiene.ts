/**
 * Refuses NUL characters and lone surrogates in any input string, once for every route.
 *
 * PostgreSQL rejects `\u0000` in `text`, and a lone surrogate cannot be encoded as UTF-8: left
 * to the handlers, both end as a 500 deep in a query. The pipeline checks the path and query
 * (only when the URL has a `%`: raw control characters never get past Node's parser) and JSON,
 * NDJSON (`/rpc`) and form bodies (only when a cheap scan of the text finds a NUL or a `\u`
 * escape of one; then the body is parsed to name the field). Bodies are read through the
 * request's cached `text`, so the handler reads the same bytes again.
 */
import type { FieldIssue } from "../problem/Problem.ts"

const maxIssues = 20

const nulMessage = "must not contain a NUL character (U+0000)"
const surrogateMessage = "must not contain a lone surrogate (an unpaired UTF-16 code unit)"
const encodingMessage = "is not valid percent-encoded UTF-8"

/** Why a string is refused, or `undefined` when it is clean. */
export const problemOf = (value: string): string | undefined =>
  value.includes("\0") ? nulMessage : value.isWellFormed() ? undefined : surrogateMessage

/** A name that is safe to print in an error (its bad characters escaped). */
const printable = (name: string): string => name.toWellFormed().replace(/\0/g, "\\u0000")

const decode = (component: string, plus: boolean): string | undefined => {
  try {
    return decodeURIComponent(plus ? component.replace(/\+/g, " ") : component)
  } catch {
    return undefined
  }
}

/** Whether a URL's encoded parts could hold a NUL, a lone surrogate or broken encoding. */
export const urlNeedsCheck = (url: string): boolean => url.includes("%")

/**
 * The refused parts of a URL: path segments (named after the parameter of the route template
 * that `templateOf` finds, e.g. `path.id`, else `path`) and query parameters (`query.name`).
 */
export const urlIssues = (url: string, templateOf: (path: string) => string | undefined): Array<FieldIssue> => {
  const issues: Array<FieldIssue> = []
  const q = url.indexOf("?")
  const path = q === -1 ? url : url.slice(0, q)
  if (path.includes("%")) {
    const segments = path.split("/")
    // The router cannot match a segment that does not decode: look the template up without it.
    const names = (templateOf(path) ?? templateOf(segments.map((s) => decode(s, false) === undefined ? "_" : s).join("/")))?.split("/")
    for (let i = 0; i < segments.length && issues.length < maxIssues; i++) {
      const segment = segments[i]
      if (!segment.includes("%")) continue
      const name = names?.[i]?.startsWith(":") === true ? `path.${names[i].slice(1)}` : "path"
      const decoded = decode(segment, false)
      const message = decoded === undefined ? encodingMessage : problemOf(decoded)
      if (message !== undefined) issues.push({ path: name, message })
    }
  }
  if (q !== -1) issues.push(...formIssues(url.slice(q + 1), "query"))
  return issues
}

/** The refused parameters of a `name=value&...` string (a query or a form body). */
const formIssues = (text: string, slot: string): Array<FieldIssue> => {
  const issues: Array<FieldIssue> = []
  if (!text.includes("%")) return issues
  for (const pair of text.split("&")) {
    if (issues.length >= maxIssues) break
    if (!pair.includes("%")) continue
    const eq = pair.indexOf("=")
    const rawName = eq === -1 ? pair : pair.slice(0, eq)
    const name = decode(rawName, true)
    if (name === undefined || problemOf(name) !== undefined) {
      issues.push({ path: slot, message: `has a parameter name that ${name === undefined ? encodingMessage : problemOf(name)}` })
      continue
    }
    if (eq === -1) continue
    const value = decode(pair.slice(eq + 1), true)
    const message = value === undefined ? encodingMessage : problemOf(value)
    if (message !== undefined) issues.push({ path: `${slot}.${name}`, message })
  }
  return issues
}

/** Whether a body of this media type is checked. */
export const bodyNeedsCheck = (contentType: string | undefined): boolean =>
  contentType !== undefined && (contentType.includes("json") || contentType.startsWith("application/x-www-form-urlencoded"))

/** A JSON text that may hold a NUL or a surrogate escape (or a raw NUL). */
const suspicious = /\0|\\u(?:0000|[dD][89a-fA-F])/

/**
 * The refused strings of a body, named by their path (`body.title`, `body.items.0.name`).
 * A body that is not valid JSON passes: the endpoint's own decoding reports that.
 */
export const bodyIssues = (contentType: string, text: string): Array<FieldIssue> => {
  if (contentType.startsWith("application/x-www-form-urlencoded")) return formIssues(text, "body")
  if (!suspicious.test(text)) return []
  const issues: Array<FieldIssue> = []
  if (contentType.includes("ndjson")) {
    for (const line of text.split("\n")) {
      if (line.trim() !== "" && suspicious.test(line)) walkText(line, issues)
    }
  } else {
    walkText(text, issues)
  }
  return issues
}

const walkText = (text: string, issues: Array<FieldIssue>) => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return
  }
  walk(value, "body", issues)
}

const walk = (value: unknown, path: string, issues: Array<FieldIssue>): void => {
  if (issues.length >= maxIssues) return
  if (typeof value === "string") {
    const message = problemOf(value)
    if (message !== undefined) issues.push({ path, message })
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walk(value[i], `${path}.${i}`, issues)
  } else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const message = problemOf(key)
      if (message !== undefined) issues.push({ path: `${path}.${printable(key)}`, message: `has a member name that ${message}` })
      walk(item, `${path}.${printable(key)}`, issues)
    }
  }
}
