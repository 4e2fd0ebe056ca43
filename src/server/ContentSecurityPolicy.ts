/**
 * Content-Security-Policy of the HTML the server serves (today only `/docs`, the bundled Scalar
 * API reference).
 *
 * Why: the page runs a large inlined script and renders text from the OpenAPI document (plugin
 * descriptions); a strict policy keeps any injected markup from running script or sending data
 * elsewhere. The page's scripts are inline, so they are allowed by their SHA-256 hashes, computed
 * once from the page itself: a changed page (a new Effect version, another plugin) gets matching
 * hashes, and no other inline script runs. Scalar inserts `<style>` elements and `style`
 * attributes at run time, so inline styles are allowed; nothing may load from another origin.
 *
 * Every other response carries the pipeline's `default-src 'none'` policy (`HttpPipeline`);
 * this one replaces it on the HTML page.
 */
import { Effect } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { createHash } from "node:crypto"

/** The inline scripts of an HTML page, as the browser splits them (up to the first `</script`). */
const inlineScripts = (html: string): ReadonlyArray<string> =>
  [...html.matchAll(/<script>([\s\S]*?)<\/script/gi)].map((m) => m[1]!)

/** The policy of an HTML page: its own inline scripts and nothing else from anywhere. */
export const policyOf = (html: string): string => {
  const hashes = inlineScripts(html).map((script) => `'sha256-${createHash("sha256").update(script, "utf8").digest("base64")}'`)
  return [
    "default-src 'none'",
    `script-src ${hashes.length === 0 ? "'none'" : hashes.join(" ")}`,
    "style-src 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
  ].join("; ")
}

const header = "content-security-policy"
const decoder = new TextDecoder()

/**
 * Route middleware for HTML routes: sets the page's policy. The page (3 MB with the Scalar
 * bundle) is built once and answered as the same response object each time, so its policy is
 * computed once per response object.
 */
export const htmlPolicy = HttpRouter.middleware((httpEffect) => {
  const cache = new WeakMap<HttpServerResponse.HttpServerResponse, string>()
  return Effect.map(httpEffect, (response) => {
    const body = response.body
    if (body._tag !== "Uint8Array" || !body.contentType.startsWith("text/html")) return response
    let policy = cache.get(response)
    if (policy === undefined) {
      policy = policyOf(decoder.decode(body.body))
      cache.set(response, policy)
    }
    return HttpServerResponse.setHeader(response, header, policy)
  })
}).layer
