/**
 * Static assets (CSS, scripts, images) that a plugin serves, carried inside the code.
 *
 * Why: a single-file binary has no files beside it, and Node cannot import CSS or images
 * (`import css from "./x.css" with { type: "text" }` fails on Node 24). So an asset is a
 * TypeScript module exporting its content as a string constant (text) or base64 (binary), and
 * `Asset.route` serves it with its content type, a strong `ETag` (SHA-256 of the bytes) and
 * `304 Not Modified` for a matching `If-None-Match`. The same module imports on Node and Deno
 * with no build step.
 */
import { Effect } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { createHash } from "node:crypto"

export interface Asset {
  readonly contentType: string
  readonly bytes: Uint8Array
  /** Strong ETag, quoted. */
  readonly etag: string
  /** `Cache-Control` of the response. */
  readonly cacheControl: string
}

export interface Options {
  /** `Cache-Control`; defaults to revalidating after 5 minutes (the ETag makes that cheap). */
  readonly cacheControl?: string | undefined
}

const make = (contentType: string, bytes: Uint8Array, options?: Options): Asset => ({
  contentType,
  bytes,
  etag: `"${createHash("sha256").update(bytes).digest("base64url")}"`,
  cacheControl: options?.cacheControl ?? "public, max-age=300"
})

/** A text asset (CSS, JavaScript, SVG...) from a string constant; `charset=utf-8` is added to text types. */
export const text = (contentType: string, content: string, options?: Options): Asset =>
  make(contentType.includes("charset") ? contentType : `${contentType}; charset=utf-8`, new TextEncoder().encode(content), options)

/** A binary asset (an image, a font) from base64. */
export const base64 = (contentType: string, content: string, options?: Options): Asset =>
  make(contentType, Uint8Array.from(Buffer.from(content, "base64")), options)

/** Whether `If-None-Match` names the ETag (`*`, a list, weak forms). */
const matches = (header: string | undefined, etag: string): boolean =>
  header !== undefined && header.split(",").some((tag) => {
    const t = tag.trim()
    return t === "*" || t === etag || t === `W/${etag}`
  })

/** The response for an asset: 200 with the bytes, or 304 when the client has them. */
export const respond = (asset: Asset): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> =>
  Effect.map(Effect.service(HttpServerRequest.HttpServerRequest), (request) => {
    const headers = { etag: asset.etag, "cache-control": asset.cacheControl }
    return matches(request.headers["if-none-match"], asset.etag)
      ? HttpServerResponse.empty({ status: 304, headers })
      : HttpServerResponse.uint8Array(asset.bytes, { contentType: asset.contentType, headers })
  })
