/**
 * Server-rendered HTML that escapes by default: `html\`<h1>${title}</h1>\`` escapes every
 * interpolated value, so text a user or an agent wrote can never become markup. Only a value
 * built by `html` itself (or marked with `raw`, for markup the plugin wrote) is inserted as is.
 *
 * `page` answers a complete document with a strict Content-Security-Policy: no inline script
 * and nothing from another origin; styles, scripts and images come from the server's own
 * assets (`Asset`).
 */
import { HttpServerResponse } from "effect/http"

const TypeId = "~trellis/web/Html"

/** Markup that is already safe (built by `html`, or declared trusted with `raw`). */
export interface Html {
  readonly [TypeId]: typeof TypeId
  readonly value: string
}

const make = (value: string): Html => ({ [TypeId]: TypeId, value })

const isHtml = (u: unknown): u is Html => typeof u === "object" && u !== null && TypeId in u

const entities: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }

/** Escapes text for element content and quoted attribute values. */
export const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => entities[c]!)

/** A value as markup: `Html` as is, arrays joined, `null`/`undefined`/`false` as nothing, the rest escaped. */
const render = (value: unknown): string => {
  if (value === null || value === undefined || value === false) return ""
  if (isHtml(value)) return value.value
  if (Array.isArray(value)) return value.map(render).join("")
  return escape(String(value))
}

/** The template tag: interpolations are escaped unless they are `Html`. */
export const html = (strings: TemplateStringsArray, ...values: ReadonlyArray<unknown>): Html => {
  let out = strings[0]!
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!
  return make(out)
}

/** Markup the plugin wrote itself (never user input). */
export const raw = (markup: string): Html => make(markup)

/**
 * The policy of the pages plugins serve: same-origin assets only, no inline script, forms
 * post back to the server itself.
 */
export const pagePolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'"
].join("; ")

/** A complete HTML document as a response, with the page policy. */
export const page = (
  body: Html,
  options?: { readonly status?: number | undefined; readonly headers?: Readonly<Record<string, string>> | undefined }
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(`<!doctype html>\n${body.value}`, {
    status: options?.status ?? 200,
    contentType: "text/html; charset=utf-8",
    headers: { "content-security-policy": pagePolicy, "cache-control": "no-store", ...options?.headers }
  })
