/**
 * The files part's handlers (thin: `Files.ts` decides) and its two web routes: the upload PUT
 * (a raw body of any type, limited by the upload's declared size and
 * `TRELLIS_PAGES_MAX_FILE_BYTES` rather than `TRELLIS_MAX_BODY_BYTES`: `rawBody`) and the signed
 * download, which serves the bytes as an attachment that a browser never runs
 * (`Content-Disposition: attachment`, `nosniff`, a sandboxing Content-Security-Policy).
 */
import { Effect } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { WebRoute, WireDialect } from "trellis/plugin"
import { FileOperations } from "./Files.ts"
import { PageFilesApi } from "./FilesApi.ts"

export const PageFilesHttp = HttpApiBuilder.group(
  PageFilesApi,
  "pageFiles",
  Effect.fn(function*(handlers) {
    const files = yield* FileOperations
    return handlers
      .handle("presign", ({ params, payload }) => Effect.flatMap(files.open(params.id), (opened) => files.presign(opened, payload)))
      .handle("complete", ({ params, payload }) => Effect.flatMap(files.open(params.id), (opened) => files.complete(opened, payload)))
      .handle("list", ({ params }) =>
        Effect.flatMap(files.open(params.id), (opened) => Effect.map(files.list(opened.page), (list) => ({ files: list }))))
      .handle("download", ({ params }) =>
        Effect.flatMap(files.open(params.id), (opened) =>
          Effect.map(files.downloadUrl(opened.page, params.fileId), (location) =>
            HttpServerResponse.redirect(location, { status: 302, headers: { "cache-control": "no-store" } }))))
      .handle("remove", ({ params }) => Effect.flatMap(files.open(params.id), (opened) => files.remove(opened, params.fileId)))
  })
)

const queryOf = (url: string): URLSearchParams => {
  const q = url.indexOf("?")
  return new URLSearchParams(q === -1 ? "" : url.slice(q + 1))
}

/** `filename="<ASCII stand-in>"; filename*=UTF-8''<percent-encoded>` (RFC 6266). */
export const contentDisposition = (filename: string): string => {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%]/g, "_")
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`
}

const upload = Effect.gen(function*() {
  const files = yield* FileOperations
  const request = yield* HttpServerRequest.HttpServerRequest
  const { key } = yield* HttpRouter.params
  const token = queryOf(request.url).get("token") ?? ""
  const length = request.headers["content-length"]
  const declared = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined
  const stored = yield* files.store(key ?? "", token, declared, request.stream)
  return HttpServerResponse.jsonUnsafe({ storageKey: key, sizeBytes: stored.sizeBytes })
})

const download = Effect.gen(function*() {
  const files = yield* FileOperations
  const request = yield* HttpServerRequest.HttpServerRequest
  const { key } = yield* HttpRouter.params
  const query = queryOf(request.url)
  const file = yield* files.serve(key ?? "", query.get("expires") ?? "", query.get("sig") ?? "")
  return HttpServerResponse.uint8Array(file.bytes, {
    contentType: file.mimeType,
    headers: {
      "content-disposition": contentDisposition(file.filename),
      "x-content-type-options": "nosniff",
      "content-security-policy": "default-src 'none'; sandbox",
      "cache-control": "private, no-store"
    }
  })
})

/** The upload PUT and the signed download: public, the URL's token or signature proves the caller. */
export const fileRoutes = [
  WebRoute.put("/v1/storage/upload/:key", upload, {
    auth: "public",
    reason: "the presigned upload URL's single-use token (from presign, which decided access) proves the caller",
    description: "Receives the raw bytes of a presigned upload (any content type, at most its declared size).",
    rawBody: true,
    dialect: WireDialect.surflet
  }),
  WebRoute.get("/v1/storage/download/:key", download, {
    auth: "public",
    reason: "the download URL's HMAC signature and expiry (issued by the download route, which decided access) prove the caller",
    description: "Serves a file's bytes for a signed, short-lived download URL.",
    dialect: WireDialect.surflet
  })
]
