/**
 * The files part's HTTP contract (seed 003's attachments): presign, complete, list, download
 * (a redirect to a short-lived signed URL) and delete. The routes are reached from a page's link
 * as well as by its agent, so they are public: the caller is found with `Viewers.current` (a
 * member's key or session, a magic-link viewer, or nobody) and `Access.decide` says what they
 * may do with the page. The upload PUT and the signed download are web routes (`FilesHttp.ts`):
 * a raw body of any type, and raw bytes back.
 *
 * Client-safe: imports only `effect` and `trellis/contract`.
 */
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Problems, Public, WireDialect } from "trellis/contract"
import { InvalidPage, PageForbidden, PageGone, PageLoginRequired, PageNotFound, PageStateConflict } from "./Errors.ts"
import { FileNotFound, UploadNotFound, UploadNotStored } from "./FileErrors.ts"

/** `POST /v1/pages/:id/files/presign`. `uploaded_by` / `upload_type` are taken from a member of the page's organization only. */
export const PresignRequest = Schema.Struct({
  filename: Schema.String,
  mime_type: Schema.String,
  size_bytes: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  uploaded_by: Schema.optional(Schema.NullOr(Schema.String)),
  upload_type: Schema.optional(Schema.NullOr(Schema.String))
})
export type PresignRequest = typeof PresignRequest.Type

export const Presigned = Schema.Struct({
  /** A same-server path: PUT the raw bytes there within 15 minutes, once. */
  uploadUrl: Schema.String,
  storageKey: Schema.String,
  filename: Schema.String,
  mimeType: Schema.String,
  uploadedBy: Schema.String,
  uploadType: Schema.String,
  /** When the upload URL stops working (Trellis's addition). */
  expiresAt: Schema.String
})
export type Presigned = typeof Presigned.Type

/** `POST /v1/pages/:id/files/complete`: the storage key decides; the other members, when given, must match the presign. */
export const CompleteRequest = Schema.Struct({
  storage_key: Schema.String,
  filename: Schema.optional(Schema.NullOr(Schema.String)),
  mime_type: Schema.optional(Schema.NullOr(Schema.String)),
  uploaded_by: Schema.optional(Schema.NullOr(Schema.String)),
  upload_type: Schema.optional(Schema.NullOr(Schema.String))
})
export type CompleteRequest = typeof CompleteRequest.Type

/** A committed file (the answer of `complete`). */
export const FileObject = Schema.Struct({
  id: Schema.String,
  pageId: Schema.String,
  filename: Schema.String,
  mimeType: Schema.String,
  sizeBytes: Schema.Number,
  storageKey: Schema.String,
  uploadedBy: Schema.String,
  uploadType: Schema.String,
  createdAt: Schema.String
})
export type FileObject = typeof FileObject.Type

/** One entry of `GET /v1/pages/:id/files` (the `PageFile` of `FilesService.ts`). */
export const FileEntry = Schema.Struct({
  id: Schema.String,
  filename: Schema.String,
  mimeType: Schema.String,
  sizeBytes: Schema.Number,
  uploadedBy: Schema.String,
  createdAt: Schema.String
})

export const FileList = Schema.Struct({ files: Schema.Array(FileEntry) })

const pageParams = { id: Schema.String }
const fileParams = { id: Schema.String, fileId: Schema.String }
const accessErrors = [PageNotFound, PageGone, PageLoginRequired, PageForbidden] as const

export class PageFilesGroup extends HttpApiGroup.make("pageFiles")
  .annotate(WireDialect, WireDialect.surflet)
  .annotate(
    Public,
    "a page's attachments are reached from its link: the caller (a member's key or session, a magic-link viewer, or nobody) is found and `Access.decide` rules on the page"
  )
  .add(
    HttpApiEndpoint.post("presign", "/v1/pages/:id/files/presign", {
      params: pageParams,
      payload: PresignRequest,
      success: Presigned,
      error: [...accessErrors, PageStateConflict, InvalidPage, Problems.PayloadTooLarge]
    }).annotateMerge(OpenApi.annotations({
      description: "Presigns an upload: PUT the raw bytes to `uploadUrl` (any content type, at most `size_bytes`), within " +
        "15 minutes and once, then call `complete`. Authentication is optional: public pages take anonymous uploads. " +
        "The filename (no path separators, at most 255 characters) and media type (`TRELLIS_PAGES_FILE_TYPES`) are checked; " +
        "`size_bytes` over `TRELLIS_PAGES_MAX_FILE_BYTES` is 413. The page must be active (or a draft, for its organization)."
    })),
    HttpApiEndpoint.post("complete", "/v1/pages/:id/files/complete", {
      params: pageParams,
      payload: CompleteRequest,
      success: FileObject.pipe(HttpApiSchema.status(201)),
      error: [...accessErrors, InvalidPage, UploadNotFound, UploadNotStored]
    }).annotateMerge(OpenApi.annotations({
      description: "Commits an upload whose bytes were PUT (409 otherwise) and publishes `file.uploaded` on the page's " +
        "stream. Idempotent per storage key: the same call again answers the same file."
    })),
    HttpApiEndpoint.get("list", "/v1/pages/:id/files", {
      params: pageParams,
      success: FileList,
      error: accessErrors
    }).annotateMerge(OpenApi.annotations({ description: "The page's files, oldest first. No authentication on public pages." })),
    HttpApiEndpoint.get("download", "/v1/pages/:id/files/:fileId/download", {
      params: fileParams,
      success: HttpApiSchema.Empty(302),
      error: [...accessErrors, FileNotFound]
    }).annotateMerge(OpenApi.annotations({
      description: "Redirects (302) to a signed download URL valid 5 minutes, which serves the bytes as an attachment. " +
        "404 when the file is not this page's."
    })),
    HttpApiEndpoint.delete("remove", "/v1/pages/:id/files/:fileId", {
      params: fileParams,
      success: HttpApiSchema.NoContent,
      error: [...accessErrors, FileNotFound]
    }).annotateMerge(OpenApi.annotations({
      description: "Deletes the file and its bytes and publishes `file.deleted`. Allowed to a member of the page's " +
        "organization and to the identity that uploaded it (a proven one: never an anonymous upload's)."
    }))
  )
  .annotateMerge(OpenApi.annotations({ title: "Page files", description: "Attachments of a page: presign, upload, complete, list, download, delete." }))
{}

export class PageFilesApi extends HttpApi.make("pageFiles").add(PageFilesGroup) {}
