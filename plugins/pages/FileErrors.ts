/**
 * The files part's problems (attachments of a page: presign, upload PUT, complete, download,
 * delete). Codes are Surflet's (`NOT_FOUND`, `FORBIDDEN`, `CONFLICT`); the `type` URI names the
 * precise problem. A file too large is the platform's `PayloadTooLarge` (413, `limit`); a bad
 * filename or media type is `InvalidPage` (400, naming the field).
 *
 * Client-safe: imports only `effect` and `trellis/contract`.
 */
import { Schema } from "effect"
import { Problem, typeFor } from "trellis/contract"

/** 404: no such file on this page (another page's file answers the same). */
export class FileNotFound extends Problem<FileNotFound>()("FileNotFound", {
  code: "NOT_FOUND",
  type: typeFor("FILE_NOT_FOUND"),
  status: 404,
  title: "File not found"
}, { pageId: Schema.String, fileId: Schema.String }) {}

/** 404: `complete` names a storage key this page never presigned. */
export class UploadNotFound extends Problem<UploadNotFound>()("UploadNotFound", {
  code: "NOT_FOUND",
  type: typeFor("UPLOAD_NOT_FOUND"),
  status: 404,
  title: "Upload not found"
}, { storageKey: Schema.String }) {}

/** 409: `complete` before the bytes were PUT to the upload URL. */
export class UploadNotStored extends Problem<UploadNotStored>()("UploadNotStored", {
  code: "CONFLICT",
  type: typeFor("UPLOAD_NOT_STORED"),
  status: 409,
  title: "The file's bytes have not been uploaded"
}, { storageKey: Schema.String }) {}

/** 403: the upload URL's token is missing or wrong (or the key unknown: the two answer the same). */
export class UploadTokenInvalid extends Problem<UploadTokenInvalid>()("UploadTokenInvalid", {
  code: "FORBIDDEN",
  type: typeFor("UPLOAD_TOKEN_INVALID"),
  status: 403,
  title: "The upload URL is not valid"
}) {}

/** 409: the upload URL was used already (it is single-use). */
export class UploadAlreadyUsed extends Problem<UploadAlreadyUsed>()("UploadAlreadyUsed", {
  code: "CONFLICT",
  type: typeFor("UPLOAD_ALREADY_USED"),
  status: 409,
  title: "The upload URL was used already"
}, { storageKey: Schema.String }) {}

/** 410: the upload URL expired (15 minutes after presign): presign again. */
export class UploadExpired extends Problem<UploadExpired>()("UploadExpired", {
  code: "NOT_FOUND",
  type: typeFor("UPLOAD_EXPIRED"),
  status: 410,
  title: "The upload URL has expired"
}, { storageKey: Schema.String }) {}

/** 403: a download URL whose signature does not match, or that has expired: download again from the page. */
export class DownloadLinkInvalid extends Problem<DownloadLinkInvalid>()("DownloadLinkInvalid", {
  code: "FORBIDDEN",
  type: typeFor("DOWNLOAD_LINK_INVALID"),
  status: 403,
  title: "The download URL is not valid"
}) {}

export const fileProblems = [
  FileNotFound,
  UploadNotFound,
  UploadNotStored,
  UploadTokenInvalid,
  UploadAlreadyUsed,
  UploadExpired,
  DownloadLinkInvalid
] as const
