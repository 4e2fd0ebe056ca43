/**
 * The files part: a page's attachments over a `FileStore`. Three steps for an agent or a
 * browser script (presign, PUT the bytes to the returned URL, complete) and one for the
 * viewer's form (`Files.upload`), with the same checks and the same `file.uploaded` event.
 *
 * - The upload URL is a same-server path with a random token (kept as a SHA-256 digest):
 *   single-use (a guarded UPDATE marks it used in the transaction that stores the bytes, so two
 *   racing PUTs cannot both store) and valid 15 minutes.
 * - Download URLs are signed (HMAC-SHA256 over the storage key and the expiry, with the file's
 *   own random secret, kept in its row): any process on the database checks them, none needs a
 *   shared key, and a deleted file's links die with it.
 * - Who uploaded: a member of the page's organization (its agent) names `uploaded_by` and
 *   `upload_type` (default `agent`); anyone else is recorded as who they proved to be (a
 *   magic-link email, else `anonymous`) with `upload_type: "user"`, whatever the body says.
 */
import { Context, Effect, Layer, Option, Stream } from "effect"
import { Buffer } from "node:buffer"
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { HttpServerRequest } from "effect/http"
import { Problems } from "trellis/contract"
import { AuditLog, Row } from "trellis/plugin"
import * as Access from "./Access.ts"
import type { PageRecord } from "./Domain.ts"
import { InvalidPage, PageForbidden, PageGone, PageLoginRequired, PageNotFound, PageStateConflict } from "./Errors.ts"
import {
  DownloadLinkInvalid,
  FileNotFound,
  UploadAlreadyUsed,
  UploadExpired,
  UploadNotFound,
  UploadNotStored,
  UploadTokenInvalid
} from "./FileErrors.ts"
import type { CompleteRequest, FileObject, Presigned, PresignRequest } from "./FilesApi.ts"
import { Files } from "./FilesService.ts"
import type { PageFile } from "./FilesService.ts"
import { FileStore } from "./FileStore.ts"
import * as FileStoreModule from "./FileStore.ts"
import { PageEvents } from "./PageEvents.ts"
import { defaultFileTypes, PagesConfig } from "./PagesConfig.ts"
import { Pages } from "./PagesService.ts"
import { auditActorOf, identityOf, Viewers } from "./Viewers.ts"
import type { Viewer } from "./Viewers.ts"

/** How long a presigned upload URL works. */
export const uploadTtlMs = 15 * 60 * 1000
/** How long a signed download URL works. */
export const downloadTtlSeconds = 5 * 60

export type AccessError = PageNotFound | PageGone | PageLoginRequired | PageForbidden

/** A page the viewer may open, and whether they are a member of its organization. */
export interface Opened {
  readonly page: PageRecord
  readonly viewer: Viewer
  readonly member: boolean
}

/** What a served download carries. */
export interface Download {
  readonly bytes: Uint8Array
  readonly mimeType: string
  readonly filename: string
}

interface UploadRow {
  readonly storage_key: string
  readonly page_id: string
  readonly organization_id: string
  readonly filename: string
  readonly mime_type: string
  readonly size_bytes: number | string
  readonly uploaded_by: string
  readonly upload_type: string
  readonly token_digest: string
  readonly expired: boolean
  readonly used_at: unknown
  readonly stored_at: unknown
}

interface FileRow {
  readonly id: string
  readonly page_id: string
  readonly organization_id: string
  readonly filename: string
  readonly mime_type: string
  readonly size_bytes: number | string
  readonly storage_key: string
  readonly uploaded_by: string
  readonly upload_type: string
  readonly download_secret: string
  readonly created_at: string
}

const fileColumns = (alias = "") =>
  `${alias}id, ${alias}page_id, ${alias}organization_id, ${alias}filename, ${alias}mime_type, ${alias}size_bytes, ` +
  `${alias}storage_key, ${alias}uploaded_by, ${alias}upload_type, ${alias}download_secret, ${Row.isoColumn(`${alias}created_at`)} AS created_at`

const pageFileOf = (row: FileRow): PageFile => ({
  id: row.id,
  filename: row.filename,
  mimeType: row.mime_type,
  sizeBytes: Number(row.size_bytes),
  uploadedBy: row.uploaded_by,
  createdAt: row.created_at
})

const fileObjectOf = (row: FileRow): FileObject => ({
  id: row.id,
  pageId: row.page_id,
  filename: row.filename,
  mimeType: row.mime_type,
  sizeBytes: Number(row.size_bytes),
  storageKey: row.storage_key,
  uploadedBy: row.uploaded_by,
  uploadType: row.upload_type,
  createdAt: row.created_at
})

const digest = (token: string): string => createHash("sha256").update(token).digest("hex")

const sameText = (a: string, b: string): boolean => {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
const randomId = (prefix: string, length = 12): string => {
  const bytes = randomBytes(length)
  let out = prefix
  for (const byte of bytes) out += alphabet[byte % alphabet.length]
  return out
}

/** The signature of a download URL: HMAC-SHA256(file secret, "<storage key>\n<expires>"), hex. */
export const signatureOf = (secret: string, storageKey: string, expires: number): string =>
  createHmac("sha256", secret).update(`${storageKey}\n${expires}`).digest("hex")

/** A filename the store and a download's `Content-Disposition` can carry: no separators, no control characters. */
export const filenameProblem = (filename: string): string | undefined => {
  if (filename.trim() === "") return "must not be empty"
  if ([...filename].length > 255) return "must be at most 255 characters"
  if (/[/\\]/.test(filename)) return "must not contain path separators (/ or \\)"
  if (/[\u0000-\u001f\u007f]/.test(filename)) return "must not contain control characters"
  if (filename === "." || filename === "..") return "must be a file name"
  return undefined
}

const mimePattern = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/

/** The media type as stored (lower case, parameters dropped), or `undefined` when it is not one. */
export const normalizeMime = (mime: string): string | undefined => {
  const bare = mime.split(";")[0]!.trim().toLowerCase()
  return mimePattern.test(bare) ? bare : undefined
}

export const mimeAllowed = (allowed: ReadonlyArray<string>, mime: string): boolean =>
  allowed.some((entry) => {
    const wanted = entry.trim().toLowerCase()
    return wanted === mime || wanted === "*/*" || (wanted.endsWith("/*") && mime.startsWith(wanted.slice(0, -1)))
  })

/** The storage key: organization, page, time and randomness, then the filename reduced to safe characters. */
const storageKeyOf = (page: PageRecord, filename: string): string => {
  const safe = filename.replace(/[^A-Za-z0-9._-]/g, "_").slice(-100)
  return `${page.organizationId}/${page.id}/${Date.now()}_${randomId("", 8)}_${safe}`
}

/** The path of a signed download (`FilesHttp.ts` serves it). */
export const downloadPathOf = (storageKey: string, expires: number, sig: string): string =>
  `/v1/storage/download/${encodeURIComponent(storageKey)}?expires=${expires}&sig=${sig}`

/** The `Files` part's operations, for its routes (`FilesHttp.ts`); `Files` (the seam) is derived from them. */
export class FileOperations extends Context.Service<FileOperations, {
  /** The page by id as the current request's viewer may see it (the access problems otherwise). */
  readonly open: (pageId: string) => Effect.Effect<Opened, AccessError, HttpServerRequest.HttpServerRequest>
  readonly presign: (opened: Opened, request: PresignRequest) => Effect.Effect<Presigned, PageStateConflict | InvalidPage | Problems.PayloadTooLarge>
  /** The upload PUT: checks the token, reads at most the declared size, stores, marks the URL used. */
  readonly store: (
    storageKey: string,
    token: string,
    declaredLength: number | undefined,
    body: Stream.Stream<Uint8Array, unknown>
  ) => Effect.Effect<{ readonly sizeBytes: number }, UploadTokenInvalid | UploadAlreadyUsed | UploadExpired | Problems.PayloadTooLarge>
  readonly complete: (opened: Opened, request: CompleteRequest) => Effect.Effect<FileObject, InvalidPage | UploadNotFound | UploadNotStored>
  readonly list: (page: PageRecord) => Effect.Effect<ReadonlyArray<PageFile>>
  /** The signed download path of one of the page's files. */
  readonly downloadUrl: (page: PageRecord, fileId: string) => Effect.Effect<string, FileNotFound>
  /** The bytes of a signed download URL. */
  readonly serve: (storageKey: string, expires: string, sig: string) => Effect.Effect<Download, DownloadLinkInvalid>
  readonly remove: (opened: Opened, fileId: string) => Effect.Effect<void, FileNotFound | PageForbidden>
  /** The viewer form's one-step upload (the `Files` seam). */
  readonly upload: Files["Service"]["upload"]
}>()("pages/FileOperations") {}

const die = <A, E, R>(effect: Effect.Effect<A, E | SqlError, R>): Effect.Effect<A, Exclude<E, SqlError>, R> =>
  Effect.catchTag(effect as Effect.Effect<A, SqlError, R>, "SqlError", Effect.die) as Effect.Effect<A, Exclude<E, SqlError>, R>

export const layerOperations = Layer.effect(
  FileOperations,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const store = yield* FileStore
    const events = yield* PageEvents
    const pages = yield* Pages
    const viewers = yield* Viewers
    const audit = yield* AuditLog
    const config = yield* PagesConfig
    const allowedTypes = config.fileTypes.length === 0 ? defaultFileTypes : config.fileTypes
    const maxBytes = config.maxFileBytes

    const tooLarge = (limit: number, what: string) =>
      new Problems.PayloadTooLarge({ limit, detail: `${what} is larger than the limit of ${limit} bytes.` })

    const open = (pageId: string) =>
      Effect.gen(function*() {
        const viewer = yield* viewers.current
        const found = yield* pages.find(pageId)
        if (Option.isNone(found)) return yield* new PageNotFound({ pageId, detail: `No page with id ${pageId}.` })
        const page = found.value
        const decision = Access.decide(page, viewer)
        switch (decision._tag) {
          case "Allowed":
            return { page, viewer, member: decision.member }
          case "NotFound":
            return yield* new PageNotFound({ pageId, detail: `No page with id ${pageId}.` })
          case "Gone":
            return yield* new PageGone({ pageId, currentStatus: page.status, detail: `The page is ${page.status}.` })
          case "LoginRequired":
            return yield* new PageLoginRequired({ pageId, detail: "Sign in (or open your magic link) to use this page's files." })
          case "Forbidden":
            return yield* new PageForbidden({ pageId, detail: "You may not use this page's files." })
        }
      })

    /** Who uploads, and as what: a member names them, anyone else is who they proved to be. */
    const uploaderOf = (opened: Opened, uploadedBy: string | null | undefined, uploadType: string | null | undefined) => {
      if (opened.member) {
        return {
          uploadedBy: uploadedBy ?? identityOf(opened.viewer) ?? "agent",
          uploadType: uploadType ?? (opened.viewer._tag === "Member" && opened.viewer.principal.kind === "user" ? "user" : "agent")
        }
      }
      return { uploadedBy: identityOf(opened.viewer) ?? "anonymous", uploadType: "user" }
    }

    /** The checks of every upload: the page takes files, the name and type are acceptable, the size fits. */
    const check = (opened: Opened, filename: string, mimeType: string, sizeBytes: number, who: { uploadedBy: string; uploadType: string }) =>
      Effect.gen(function*() {
        const page = opened.page
        if (!(page.status === "active" || (page.status === "draft" && opened.member))) {
          return yield* new PageStateConflict({
            pageId: page.id,
            currentStatus: page.status,
            detail: `The page is ${page.status}: it takes no more files.`
          })
        }
        const nameProblem = filenameProblem(filename)
        if (nameProblem !== undefined) {
          return yield* new InvalidPage({ field: "filename", constraint: nameProblem, detail: `The filename ${nameProblem}.` })
        }
        const mime = normalizeMime(mimeType)
        if (mime === undefined) {
          return yield* new InvalidPage({ field: "mime_type", constraint: "a media type (type/subtype)", detail: "mime_type is not a media type." })
        }
        if (!mimeAllowed(allowedTypes, mime)) {
          return yield* new InvalidPage({
            field: "mime_type",
            constraint: `one of ${allowedTypes.join(", ")}`,
            detail: `Files of type ${mime} are not accepted.`
          })
        }
        if (who.uploadedBy.length > 255 || who.uploadedBy.trim() === "") {
          return yield* new InvalidPage({ field: "uploaded_by", constraint: "1 to 255 characters", detail: "uploaded_by must be 1 to 255 characters." })
        }
        if (!/^[a-z][a-z0-9_-]{0,31}$/.test(who.uploadType)) {
          return yield* new InvalidPage({ field: "upload_type", constraint: "a short lower-case word (agent, user)", detail: "upload_type must be a short lower-case word such as agent or user." })
        }
        if (sizeBytes > maxBytes) return yield* tooLarge(maxBytes, "The file")
        return mime
      })

    /** Records the file, its event and audit entry (in the caller's transaction); `None` when the key has a file already. */
    const commit = (opened: Opened, upload: {
      readonly storageKey: string
      readonly filename: string
      readonly mimeType: string
      readonly sizeBytes: number
      readonly uploadedBy: string
      readonly uploadType: string
    }) =>
      Effect.gen(function*() {
        const id = randomId("file_")
        const rows = yield* sql<FileRow>`
          INSERT INTO pages.files (id, page_id, organization_id, filename, mime_type, size_bytes, storage_key, uploaded_by, upload_type, download_secret)
          VALUES (${id}, ${opened.page.id}, ${opened.page.organizationId}, ${upload.filename}, ${upload.mimeType}, ${upload.sizeBytes},
                  ${upload.storageKey}, ${upload.uploadedBy}, ${upload.uploadType}, ${randomBytes(32).toString("hex")})
          ON CONFLICT (storage_key) DO NOTHING
          RETURNING ${sql.literal(fileColumns())}`
        if (rows.length === 0) return Option.none<FileRow>()
        const row = rows[0]!
        yield* events.emit(opened.page, {
          type: "file.uploaded",
          data: { fileId: row.id, filename: row.filename, mimeType: row.mime_type, sizeBytes: Number(row.size_bytes), uploadedBy: row.uploaded_by },
          actor: row.uploaded_by,
          toAgent: row.upload_type !== "agent"
        })
        yield* audit.append({
          organizationId: opened.page.organizationId,
          actor: auditActorOf(opened.viewer),
          action: "pages.file.upload",
          target: { type: "page", id: opened.page.id },
          details: { fileId: row.id, filename: row.filename, sizeBytes: Number(row.size_bytes) }
        })
        return Option.some(row)
      })

    const presign = (opened: Opened, request: PresignRequest) =>
      Effect.gen(function*() {
        const who = uploaderOf(opened, request.uploaded_by, request.upload_type)
        const mime = yield* check(opened, request.filename, request.mime_type, request.size_bytes, who)
        const storageKey = storageKeyOf(opened.page, request.filename)
        const token = randomBytes(32).toString("base64url")
        const expiresAt = new Date(Date.now() + uploadTtlMs)
        yield* sql`
          INSERT INTO pages.uploads (storage_key, page_id, organization_id, filename, mime_type, size_bytes, uploaded_by, upload_type, token_digest, expires_at)
          VALUES (${storageKey}, ${opened.page.id}, ${opened.page.organizationId}, ${request.filename}, ${mime}, ${request.size_bytes},
                  ${who.uploadedBy}, ${who.uploadType}, ${digest(token)}, ${expiresAt})`
        return {
          uploadUrl: `/v1/storage/upload/${encodeURIComponent(storageKey)}?token=${token}`,
          storageKey,
          filename: request.filename,
          mimeType: mime,
          uploadedBy: who.uploadedBy,
          uploadType: who.uploadType,
          expiresAt: Row.iso(expiresAt)
        } satisfies Presigned
      }).pipe(die)

    const uploadOf = (storageKey: string) =>
      sql<UploadRow>`
        SELECT storage_key, page_id, organization_id, filename, mime_type, size_bytes, uploaded_by, upload_type, token_digest,
               expires_at <= now() AS expired, used_at, stored_at
        FROM pages.uploads WHERE storage_key = ${storageKey}`.pipe(Effect.map((rows) => Option.fromNullishOr(rows[0])))

    /** Reads the body, failing as soon as it passes `limit` bytes. */
    const readAtMost = (body: Stream.Stream<Uint8Array, unknown>, limit: number) =>
      Effect.gen(function*() {
        const chunks: Array<Uint8Array> = []
        let size = 0
        yield* Stream.runForEach(body, (chunk) => {
          size += chunk.byteLength
          if (size > limit) return Effect.fail(tooLarge(limit, "The upload"))
          chunks.push(chunk)
          return Effect.void
        }).pipe(Effect.catchIf((e): e is unknown => !(e instanceof Problems.PayloadTooLarge), (cause) => Effect.die(cause)))
        const bytes = new Uint8Array(size)
        let at = 0
        for (const chunk of chunks) {
          bytes.set(chunk, at)
          at += chunk.byteLength
        }
        return bytes
      })

    const refuseUsed = (row: UploadRow) =>
      row.used_at !== null
        ? Effect.fail(new UploadAlreadyUsed({ storageKey: row.storage_key, detail: "This upload URL was used already: presign again." }))
        : row.expired
        ? Effect.fail(new UploadExpired({ storageKey: row.storage_key, detail: "This upload URL has expired: presign again." }))
        : Effect.void

    const storeUpload = (storageKey: string, token: string, declaredLength: number | undefined, body: Stream.Stream<Uint8Array, unknown>) =>
      Effect.gen(function*() {
        const found = yield* uploadOf(storageKey)
        if (Option.isNone(found) || !sameText(found.value.token_digest, digest(token))) {
          return yield* new UploadTokenInvalid({ detail: "The upload URL's token is missing or wrong." })
        }
        const row = found.value
        yield* refuseUsed(row)
        const limit = Math.min(Number(row.size_bytes), maxBytes)
        if (declaredLength !== undefined && declaredLength > limit) return yield* tooLarge(limit, "The upload")
        const bytes = yield* readAtMost(body, limit)
        return yield* sql.withTransaction(Effect.gen(function*() {
          const marked = yield* sql<{ readonly storage_key: string }>`
            UPDATE pages.uploads SET used_at = now(), stored_at = now(), stored_bytes = ${bytes.byteLength}
            WHERE storage_key = ${storageKey} AND used_at IS NULL AND expires_at > now()
            RETURNING storage_key`
          if (marked.length === 0) {
            // A racing PUT won, or the URL expired while the body was read.
            const now = yield* uploadOf(storageKey)
            if (Option.isSome(now)) yield* refuseUsed(now.value)
            return yield* new UploadAlreadyUsed({ storageKey, detail: "This upload URL was used already: presign again." })
          }
          yield* store.put(storageKey, bytes, { mimeType: row.mime_type, organizationId: row.organization_id }).pipe(Effect.orDie)
          return { sizeBytes: bytes.byteLength }
        }))
      }).pipe(die)

    const complete = (opened: Opened, request: CompleteRequest) =>
      Effect.gen(function*() {
        const found = yield* uploadOf(request.storage_key)
        if (Option.isNone(found) || found.value.page_id !== opened.page.id) {
          return yield* new UploadNotFound({ storageKey: request.storage_key, detail: "No upload with this storage key on this page: presign first." })
        }
        const row = found.value
        if (request.filename != null && request.filename !== row.filename) {
          return yield* new InvalidPage({ field: "filename", constraint: "the presigned filename", detail: "filename differs from the presigned one." })
        }
        if (request.mime_type != null && normalizeMime(request.mime_type) !== row.mime_type) {
          return yield* new InvalidPage({ field: "mime_type", constraint: "the presigned media type", detail: "mime_type differs from the presigned one." })
        }
        if (row.stored_at === null) {
          return yield* new UploadNotStored({ storageKey: row.storage_key, detail: "PUT the file's bytes to the upload URL before completing." })
        }
        const sizeRows = yield* sql<{ readonly stored_bytes: number | string }>`
          SELECT stored_bytes FROM pages.uploads WHERE storage_key = ${row.storage_key}`
        const committed = yield* sql.withTransaction(commit(opened, {
          storageKey: row.storage_key,
          filename: row.filename,
          mimeType: row.mime_type,
          sizeBytes: Number(sizeRows[0]?.stored_bytes ?? row.size_bytes),
          uploadedBy: row.uploaded_by,
          uploadType: row.upload_type
        }))
        if (Option.isSome(committed)) return fileObjectOf(committed.value)
        const existing = yield* sql<FileRow>`
          SELECT ${sql.literal(fileColumns())} FROM pages.files WHERE storage_key = ${row.storage_key} AND deleted_at IS NULL`
        if (existing.length === 0) {
          return yield* new UploadNotFound({ storageKey: row.storage_key, detail: "The file of this upload was deleted." })
        }
        return fileObjectOf(existing[0]!)
      }).pipe(die)

    const list = (page: PageRecord) =>
      sql<FileRow>`
        SELECT ${sql.literal(fileColumns())} FROM pages.files
        WHERE page_id = ${page.id} AND deleted_at IS NULL ORDER BY created_at, id`.pipe(
        Effect.map((rows) => rows.map(pageFileOf)),
        Effect.orDie
      )

    const fileOf = (page: PageRecord, fileId: string) =>
      sql<FileRow>`
        SELECT ${sql.literal(fileColumns())} FROM pages.files
        WHERE id = ${fileId} AND page_id = ${page.id} AND deleted_at IS NULL`.pipe(
        Effect.orDie,
        Effect.flatMap((rows) =>
          rows.length === 0
            ? Effect.fail(new FileNotFound({ pageId: page.id, fileId, detail: `No file ${fileId} on page ${page.id}.` }))
            : Effect.succeed(rows[0]!)
        )
      )

    const downloadUrl = (page: PageRecord, fileId: string) =>
      Effect.map(fileOf(page, fileId), (row) => {
        const expires = Math.floor(Date.now() / 1000) + downloadTtlSeconds
        return downloadPathOf(row.storage_key, expires, signatureOf(row.download_secret, row.storage_key, expires))
      })

    const serve = (storageKey: string, expires: string, sig: string) =>
      Effect.gen(function*() {
        const invalid = (detail: string) => new DownloadLinkInvalid({ detail })
        const rows = yield* sql<FileRow>`
          SELECT ${sql.literal(fileColumns())} FROM pages.files WHERE storage_key = ${storageKey} AND deleted_at IS NULL`
        const row = rows[0]
        const at = /^\d{1,12}$/.test(expires) ? Number(expires) : Number.NaN
        if (row === undefined || Number.isNaN(at) || !sameText(signatureOf(row.download_secret, storageKey, at), sig)) {
          return yield* invalid("The download URL's signature does not match: download again from the page.")
        }
        if (at < Math.floor(Date.now() / 1000)) return yield* invalid("The download URL has expired: download again from the page.")
        const stored = yield* store.get(storageKey).pipe(Effect.orDie)
        if (Option.isNone(stored)) return yield* invalid("The file's bytes are gone.")
        return { bytes: stored.value.bytes, mimeType: row.mime_type, filename: row.filename }
      }).pipe(die)

    const remove = (opened: Opened, fileId: string) =>
      Effect.gen(function*() {
        const row = yield* fileOf(opened.page, fileId)
        const identity = identityOf(opened.viewer)
        const uploader = opened.viewer._tag !== "Anonymous" && identity !== null && identity === row.uploaded_by
        if (!opened.member && !uploader) {
          return yield* new PageForbidden({ pageId: opened.page.id, detail: "Only the page's organization or the file's uploader may delete it." })
        }
        yield* sql.withTransaction(Effect.gen(function*() {
          const deleted = yield* sql<{ readonly id: string }>`
            UPDATE pages.files SET deleted_at = now() WHERE id = ${fileId} AND page_id = ${opened.page.id} AND deleted_at IS NULL RETURNING id`
          if (deleted.length === 0) {
            return yield* new FileNotFound({ pageId: opened.page.id, fileId, detail: `No file ${fileId} on page ${opened.page.id}.` })
          }
          yield* store.delete(row.storage_key).pipe(Effect.orDie)
          const actor = identity ?? "anonymous"
          yield* events.emit(opened.page, {
            type: "file.deleted",
            data: { fileId, filename: row.filename, deletedBy: actor },
            actor,
            toAgent: !opened.member
          })
          yield* audit.append({
            organizationId: opened.page.organizationId,
            actor: auditActorOf(opened.viewer),
            action: "pages.file.delete",
            target: { type: "page", id: opened.page.id },
            details: { fileId, filename: row.filename }
          })
        }))
      }).pipe(die)

    const upload: Files["Service"]["upload"] = (page, viewer, file) =>
      Effect.gen(function*() {
        const decision = Access.decide(page, viewer)
        if (decision._tag !== "Allowed") {
          return yield* new PageForbidden({ pageId: page.id, detail: "You may not add files to this page." })
        }
        const opened: Opened = { page, viewer, member: decision.member }
        const who = uploaderOf(opened, null, null)
        const mime = yield* check(opened, file.filename, file.mimeType, file.bytes.byteLength, who).pipe(
          Effect.catchTag("PageStateConflict", (e) => Effect.fail(new PageForbidden({ pageId: page.id, detail: e.detail ?? "The page takes no more files." })))
        )
        const storageKey = storageKeyOf(page, file.filename)
        const committed = yield* sql.withTransaction(Effect.gen(function*() {
          yield* sql`
            INSERT INTO pages.uploads (storage_key, page_id, organization_id, filename, mime_type, size_bytes, uploaded_by, upload_type,
                                       token_digest, expires_at, used_at, stored_at, stored_bytes)
            VALUES (${storageKey}, ${page.id}, ${page.organizationId}, ${file.filename}, ${mime}, ${file.bytes.byteLength},
                    ${who.uploadedBy}, ${who.uploadType}, ${digest(randomBytes(32).toString("base64url"))}, now(), now(), now(), ${file.bytes.byteLength})`
          yield* store.put(storageKey, file.bytes, { mimeType: mime, organizationId: page.organizationId }).pipe(Effect.orDie)
          return yield* commit(opened, {
            storageKey,
            filename: file.filename,
            mimeType: mime,
            sizeBytes: file.bytes.byteLength,
            ...who
          })
        }))
        if (Option.isNone(committed)) return yield* Effect.die(new Error(`storage key ${storageKey} was taken`))
        return pageFileOf(committed.value)
      }).pipe(die)

    return FileOperations.of({
      open,
      presign,
      store: storeUpload,
      complete,
      list,
      downloadUrl,
      serve,
      remove,
      upload
    })
  })
)

/** The `Files` seam over the operations. */
export const layerFiles = Layer.effect(
  Files,
  Effect.gen(function*() {
    const ops = yield* FileOperations
    return Files.of({
      list: ops.list,
      upload: ops.upload,
      downloadPath: (page, fileId) => `/v1/pages/${encodeURIComponent(page.id)}/files/${encodeURIComponent(fileId)}/download`
    })
  })
)

/** Everything the files part offers: the store (the database's), its operations and the `Files` seam. */
export const layer = layerFiles.pipe(
  Layer.provideMerge(layerOperations),
  Layer.provideMerge(FileStoreModule.layerDatabase)
)
