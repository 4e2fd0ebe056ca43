/**
 * The files part over real HTTP and real SQL (embedded PGlite, or PostgreSQL with
 * TRELLIS_TEST_DATABASE_URL): the three-step upload round-trips bytes exactly (larger than
 * `TRELLIS_MAX_BODY_BYTES`), the upload URL is single-use and expires, sizes (declared and
 * actual) and types are limited, downloads redirect to signed URLs that refuse tampering and
 * expiry, delete removes the bytes, anonymous uploads on public pages only, and another page's
 * or organization's file is not found.
 */
import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Deferred, Effect, Layer } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import { SqlClient } from "effect/sql"
import * as TestKit from "trellis/testing"
import { RunsPlugin } from "../../runs/Plugin.ts"
import { signatureOf } from "../Files.ts"
import { Files } from "../FilesService.ts"
import { PagesPlugin } from "../Plugin.ts"
import { pagesHelpers, pagesProbe } from "./filesSupport.ts"

type Json = Record<string, unknown>

const T = 180_000
const maxFileBytes = 2 * 1024 * 1024

// A small file limit for this file's server (test files share a worker process), above the
// body limit of 1 MB so the round trip shows the upload route's own limit applies.
const smallLimit = ConfigProvider.layer(
  ConfigProvider.fromEnvRecord({ ...process.env, TRELLIS_PAGES_MAX_FILE_BYTES: String(maxFileBytes), TRELLIS_MAX_BODY_BYTES: String(1024 * 1024) })
)

const files = Effect.runSync(Deferred.make<Files["Service"]>())
const filesProbe = TestKit.probe({ id: "files_probe", requires: ["pages"] }, Effect.gen(function*() {
  yield* Deferred.succeed(files, yield* Files)
}))

const call = (method: "GET" | "POST" | "PUT" | "DELETE", path: string, options: TestKit.RequestOptions = {}) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request(method, path, options)
    const text = yield* response.text
    let body: Json | null = null
    try {
      body = text === "" ? null : JSON.parse(text) as Json
    } catch {
      body = null
    }
    return { status: response.status, body: body ?? {}, text, headers: response.headers }
  })

/** A raw request (bytes in, bytes out), redirects not followed. */
const raw = (method: "GET" | "PUT", path: string, bytes?: Uint8Array, contentType = "application/octet-stream") =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const client = yield* HttpClient.HttpClient
    const url = path.startsWith("http") ? path : kit.baseUrl + path
    const base = method === "PUT" ? HttpClientRequest.put(url) : HttpClientRequest.get(url)
    const request = bytes === undefined ? base : base.pipe(HttpClientRequest.bodyUint8Array(bytes, contentType))
    const response = yield* client.execute(request).pipe(Effect.provideService(FetchHttpClient.RequestInit, { redirect: "manual" }))
    const body = new Uint8Array(yield* response.arrayBuffer)
    const text = new TextDecoder().decode(body)
    let json: Json = {}
    try {
      json = JSON.parse(text) as Json
    } catch {
      json = {}
    }
    return { status: response.status, bytes: body, text, json, headers: response.headers }
  })

const randomBytes = (size: number): Uint8Array => {
  const bytes = new Uint8Array(size)
  for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65536)))
  return bytes
}

const presign = (pageId: string, body: Json, token?: string | null) =>
  call("POST", `/v1/pages/${pageId}/files/presign`, { body, token })

const upload = (pageId: string, bytes: Uint8Array, options: { filename?: string; mime?: string; token?: string | null } = {}) =>
  Effect.gen(function*() {
    const filename = options.filename ?? "report.pdf"
    const mime = options.mime ?? "application/pdf"
    const signed = yield* presign(pageId, { filename, mime_type: mime, size_bytes: bytes.byteLength }, options.token)
    assert.strictEqual(signed.status, 200, signed.text)
    const put = yield* raw("PUT", signed.body.uploadUrl as string, bytes, mime)
    assert.strictEqual(put.status, 200, put.text)
    const done = yield* call("POST", `/v1/pages/${pageId}/files/complete`, { body: { storage_key: signed.body.storageKey }, token: options.token })
    assert.strictEqual(done.status, 201, done.text)
    return { signed: signed.body, file: done.body }
  })

const blobCount = (storageKey: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly n: number | string }>`SELECT count(*) AS n FROM pages.file_blobs WHERE storage_key = ${storageKey}`
    return Number(rows[0]!.n)
  })

const registerOther = Effect.map(
  call("POST", "/v1/auth/agent/register", { token: null, body: { name: "other org agent", owner_email: "other-files@example.test" } }),
  (reply) => {
    assert.strictEqual(reply.status, 201, reply.text)
    return { token: reply.body.apiKey as string, orgId: reply.body.tenantId as string }
  }
)

layer(
  TestKit.layer({ plugins: [RunsPlugin, PagesPlugin, filesProbe, pagesProbe] }).pipe(Layer.provide(smallLimit)),
  { timeout: T, excludeTestServices: true }
)("pages files", (it) => {
  it.effect("presign, PUT, complete round-trips 1.5 MB of binary exactly (over the body limit), lists it and downloads it", () =>
    Effect.gen(function*() {
      const { publish } = yield* pagesHelpers
      const pageId = yield* publish({ mode: "public" })
      const bytes = randomBytes(1536 * 1024)
      const signed = yield* presign(pageId, {
        filename: "invoice 4821 é.pdf",
        mime_type: "application/pdf",
        size_bytes: bytes.byteLength,
        uploaded_by: "agent:refund-bot",
        upload_type: "agent"
      })
      assert.strictEqual(signed.status, 200, signed.text)
      const storageKey = signed.body.storageKey as string
      assert.match(storageKey, new RegExp(`^org_default/${pageId}/\\d+_[a-z0-9]{8}_invoice_4821__\\.pdf$`))
      assert.strictEqual(signed.body.uploadUrl, `/v1/storage/upload/${encodeURIComponent(storageKey)}?token=${(signed.body.uploadUrl as string).split("token=")[1]}`)
      assert.deepInclude(signed.body, { filename: "invoice 4821 é.pdf", mimeType: "application/pdf", uploadedBy: "agent:refund-bot", uploadType: "agent" })

      const notYet = yield* call("POST", `/v1/pages/${pageId}/files/complete`, { body: { storage_key: storageKey } })
      assert.strictEqual(notYet.status, 409, notYet.text)
      assert.strictEqual((notYet.body.error as Json).code, "CONFLICT")

      const put = yield* raw("PUT", signed.body.uploadUrl as string, bytes)
      assert.strictEqual(put.status, 200, put.text)
      assert.strictEqual(put.json.sizeBytes, bytes.byteLength)

      const done = yield* call("POST", `/v1/pages/${pageId}/files/complete`, {
        body: { storage_key: storageKey, filename: "invoice 4821 é.pdf", mime_type: "application/pdf", uploaded_by: "agent:refund-bot", upload_type: "agent" }
      })
      assert.strictEqual(done.status, 201, done.text)
      assert.match(done.body.id as string, /^file_[a-z0-9]{12}$/)
      assert.deepInclude(done.body, {
        pageId,
        filename: "invoice 4821 é.pdf",
        mimeType: "application/pdf",
        sizeBytes: bytes.byteLength,
        storageKey,
        uploadedBy: "agent:refund-bot"
      })
      assert.match(done.body.createdAt as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)

      // Idempotent per storage key: the same file again, one row.
      const again = yield* call("POST", `/v1/pages/${pageId}/files/complete`, { body: { storage_key: storageKey } })
      assert.strictEqual(again.status, 201, again.text)
      assert.strictEqual(again.body.id, done.body.id)

      const listed = yield* call("GET", `/v1/pages/${pageId}/files`, { token: null })
      assert.strictEqual(listed.status, 200, listed.text)
      assert.deepStrictEqual(listed.body.files, [{
        id: done.body.id,
        filename: "invoice 4821 é.pdf",
        mimeType: "application/pdf",
        sizeBytes: bytes.byteLength,
        uploadedBy: "agent:refund-bot",
        createdAt: done.body.createdAt
      }])

      const redirect = yield* raw("GET", `/v1/pages/${pageId}/files/${done.body.id}/download`)
      assert.strictEqual(redirect.status, 302, redirect.text)
      const location = redirect.headers["location"]!
      assert.match(location, new RegExp(`^/v1/storage/download/${encodeURIComponent(storageKey).replace(/[.]/g, "\\.")}\\?expires=\\d+&sig=[0-9a-f]{64}$`))
      const got = yield* raw("GET", location)
      assert.strictEqual(got.status, 200, got.text.slice(0, 200))
      assert.strictEqual(got.bytes.byteLength, bytes.byteLength)
      assert.isTrue(Buffer.from(got.bytes).equals(Buffer.from(bytes)), "the downloaded bytes are the uploaded bytes")
      assert.strictEqual(got.headers["content-type"], "application/pdf")
      assert.strictEqual(got.headers["content-disposition"], `attachment; filename="invoice 4821 _.pdf"; filename*=UTF-8''invoice%204821%20%C3%A9.pdf`)
      assert.strictEqual(got.headers["x-content-type-options"], "nosniff")
      assert.strictEqual(got.headers["content-security-policy"], "default-src 'none'; sandbox")

      // The change is on the page's stream.
      const sql = yield* SqlClient.SqlClient
      const events = yield* sql<{ readonly payload: unknown }>`
        SELECT data AS payload FROM trellis.events WHERE stream LIKE ${`%${pageId}`} AND event = 'file.uploaded'`
      assert.strictEqual(events.length, 1)
    }))

  it.effect("the upload URL is single-use, expires, and wants its token; a JSON file is stored as is", () =>
    Effect.gen(function*() {
      const { publish } = yield* pagesHelpers
      const pageId = yield* publish({ mode: "public" })
      const json = new TextEncoder().encode('{"a": "\\u0000 nul"}\u0000')
      const signed = yield* presign(pageId, { filename: "data.json", mime_type: "application/json", size_bytes: json.byteLength })
      assert.strictEqual(signed.status, 200, signed.text)
      const url = signed.body.uploadUrl as string
      const storageKey = signed.body.storageKey as string

      const wrong = yield* raw("PUT", url.replace(/token=.*/, "token=not-the-token"), json, "application/json")
      assert.strictEqual(wrong.status, 403, wrong.text)
      assert.strictEqual((wrong.json.error as Json).code, "FORBIDDEN")
      const none = yield* raw("PUT", url.replace(/\?token=.*/, ""), json, "application/json")
      assert.strictEqual(none.status, 403, none.text)
      assert.strictEqual(yield* blobCount(storageKey), 0)

      const first = yield* raw("PUT", url, json, "application/json")
      assert.strictEqual(first.status, 200, first.text)
      const second = yield* raw("PUT", url, json, "application/json")
      assert.strictEqual(second.status, 409, second.text)
      assert.strictEqual(second.json.type, "urn:trellis:problem:upload-already-used")
      assert.strictEqual((second.json.error as Json).code, "CONFLICT")

      const done = yield* call("POST", `/v1/pages/${pageId}/files/complete`, { body: { storage_key: storageKey } })
      assert.strictEqual(done.status, 201, done.text)
      const got = yield* raw("GET", (yield* raw("GET", `/v1/pages/${pageId}/files/${done.body.id}/download`)).headers["location"]!)
      assert.isTrue(Buffer.from(got.bytes).equals(Buffer.from(json)))

      // Expired: the row's expiry moved into the past.
      const late = yield* presign(pageId, { filename: "late.txt", mime_type: "text/plain", size_bytes: 3 })
      const sql = yield* SqlClient.SqlClient
      yield* sql`UPDATE pages.uploads SET expires_at = now() - interval '1 minute' WHERE storage_key = ${late.body.storageKey as string}`
      const expired = yield* raw("PUT", late.body.uploadUrl as string, new Uint8Array([1, 2, 3]), "text/plain")
      assert.strictEqual(expired.status, 410, expired.text)
      assert.strictEqual(expired.json.type, "urn:trellis:problem:upload-expired")
      assert.strictEqual(yield* blobCount(late.body.storageKey as string), 0)
    }))

  it.effect("oversized files are 413, declared or actual, and nothing is stored; bad names and types are 400", () =>
    Effect.gen(function*() {
      const { publish } = yield* pagesHelpers
      const pageId = yield* publish({ mode: "public" })
      const declared = yield* presign(pageId, { filename: "big.pdf", mime_type: "application/pdf", size_bytes: maxFileBytes + 1 })
      assert.strictEqual(declared.status, 413, declared.text)
      assert.strictEqual(declared.body.code, "PAYLOAD_TOO_LARGE")
      assert.strictEqual(declared.body.limit, maxFileBytes)
      assert.strictEqual((declared.body.error as Json).code, "PAYLOAD_TOO_LARGE")

      const signed = yield* presign(pageId, { filename: "small.pdf", mime_type: "application/pdf", size_bytes: 10 })
      const over = yield* raw("PUT", signed.body.uploadUrl as string, randomBytes(11))
      assert.strictEqual(over.status, 413, over.text)
      assert.strictEqual(over.json.limit, 10)
      assert.strictEqual(yield* blobCount(signed.body.storageKey as string), 0)
      // Over the file limit too (and over the body limit): still the upload's own 413.
      const huge = yield* raw("PUT", signed.body.uploadUrl as string, randomBytes(maxFileBytes + 10))
      assert.strictEqual(huge.status, 413, huge.text)
      const notStored = yield* call("POST", `/v1/pages/${pageId}/files/complete`, { body: { storage_key: signed.body.storageKey } })
      assert.strictEqual(notStored.status, 409, notStored.text)
      // The URL was not spent by the refusals.
      const fits = yield* raw("PUT", signed.body.uploadUrl as string, randomBytes(10))
      assert.strictEqual(fits.status, 200, fits.text)

      for (
        const [body, field] of [
          [{ filename: "run.exe", mime_type: "application/x-msdownload", size_bytes: 5 }, "mime_type"],
          [{ filename: "x", mime_type: "not a type", size_bytes: 5 }, "mime_type"],
          [{ filename: "../etc/passwd", mime_type: "text/plain", size_bytes: 5 }, "filename"],
          [{ filename: "a\\b.txt", mime_type: "text/plain", size_bytes: 5 }, "filename"],
          [{ filename: "x".repeat(256), mime_type: "text/plain", size_bytes: 5 }, "filename"],
          [{ filename: "", mime_type: "text/plain", size_bytes: 5 }, "filename"]
        ] as const
      ) {
        const refused = yield* presign(pageId, body)
        assert.strictEqual(refused.status, 400, refused.text)
        assert.strictEqual((refused.body.error as Json).code, "INVALID_REQUEST")
        assert.strictEqual(refused.body.field, field, refused.text)
      }
      const negative = yield* presign(pageId, { filename: "a.txt", mime_type: "text/plain", size_bytes: -1 })
      assert.strictEqual(negative.status, 400, negative.text)
      const sql = yield* SqlClient.SqlClient
      const uploads = yield* sql<{ readonly n: number | string }>`SELECT count(*) AS n FROM pages.uploads WHERE page_id = ${pageId}`
      assert.strictEqual(Number(uploads[0]!.n), 1, "only the one valid presign left a row")
    }))

  it.effect("signed download URLs refuse tampering and expiry; delete removes the bytes and the file", () =>
    Effect.gen(function*() {
      const { publish } = yield* pagesHelpers
      const pageId = yield* publish({ mode: "public" })
      const { file } = yield* upload(pageId, randomBytes(2048))
      const fileId = file.id as string
      const storageKey = file.storageKey as string
      const location = (yield* raw("GET", `/v1/pages/${pageId}/files/${fileId}/download`)).headers["location"]!
      const tampered = location.replace(/sig=(.)/, (_, c: string) => `sig=${c === "0" ? "1" : "0"}`)
      const refused = yield* raw("GET", tampered)
      assert.strictEqual(refused.status, 403, refused.text)
      assert.strictEqual(refused.json.type, "urn:trellis:problem:download-link-invalid")
      const later = location.replace(/expires=(\d+)/, (_, e: string) => `expires=${Number(e) + 3600}`)
      assert.strictEqual((yield* raw("GET", later)).status, 403)

      const sql = yield* SqlClient.SqlClient
      const secret = (yield* sql<{ readonly download_secret: string }>`SELECT download_secret FROM pages.files WHERE id = ${fileId}`)[0]!.download_secret
      const past = Math.floor(Date.now() / 1000) - 10
      const expired = yield* raw("GET", `/v1/storage/download/${encodeURIComponent(storageKey)}?expires=${past}&sig=${signatureOf(secret, storageKey, past)}`)
      assert.strictEqual(expired.status, 403, expired.text)
      assert.match(expired.json.detail as string, /expired/)

      // Anonymous callers may not delete the agent's file; the page's organization may.
      const anonymous = yield* call("DELETE", `/v1/pages/${pageId}/files/${fileId}`, { token: null })
      assert.strictEqual(anonymous.status, 403, anonymous.text)
      assert.strictEqual(yield* blobCount(storageKey), 1)
      const removed = yield* call("DELETE", `/v1/pages/${pageId}/files/${fileId}`)
      assert.strictEqual(removed.status, 204, removed.text)
      assert.strictEqual(yield* blobCount(storageKey), 0)
      assert.deepStrictEqual((yield* call("GET", `/v1/pages/${pageId}/files`)).body.files, [])
      assert.strictEqual((yield* raw("GET", location)).status, 403)
      assert.strictEqual((yield* raw("GET", `/v1/pages/${pageId}/files/${fileId}/download`)).status, 404)
      const twice = yield* call("DELETE", `/v1/pages/${pageId}/files/${fileId}`)
      assert.strictEqual(twice.status, 404, twice.text)
      const deleted = yield* sql<{ readonly n: number | string }>`
        SELECT count(*) AS n FROM trellis.events WHERE stream LIKE ${`%${pageId}`} AND event = 'file.deleted'`
      assert.strictEqual(Number(deleted[0]!.n), 1)
    }))

  it.effect("anonymous uploads on a public page (recorded as anonymous users); 401 on an authenticated page", () =>
    Effect.gen(function*() {
      const { publish } = yield* pagesHelpers
      const open = yield* publish({ mode: "public" })
      const signed = yield* presign(open, { filename: "photo.png", mime_type: "image/png", size_bytes: 4, uploaded_by: "agent:refund-bot", upload_type: "agent" }, null)
      assert.strictEqual(signed.status, 200, signed.text)
      assert.deepInclude(signed.body, { uploadedBy: "anonymous", uploadType: "user" })
      assert.strictEqual((yield* raw("PUT", signed.body.uploadUrl as string, new Uint8Array([137, 80, 78, 71]), "image/png")).status, 200)
      const done = yield* call("POST", `/v1/pages/${open}/files/complete`, { body: { storage_key: signed.body.storageKey }, token: null })
      assert.strictEqual(done.status, 201, done.text)
      assert.strictEqual(done.body.uploadedBy, "anonymous")
      // Another anonymous caller is no proven uploader.
      assert.strictEqual((yield* call("DELETE", `/v1/pages/${open}/files/${done.body.id}`, { token: null })).status, 403)

      const closed = yield* publish({ mode: "authenticated" })
      const refused = yield* presign(closed, { filename: "a.pdf", mime_type: "application/pdf", size_bytes: 4 }, null)
      assert.strictEqual(refused.status, 401, refused.text)
      assert.strictEqual((refused.body.error as Json).code, "UNAUTHORIZED")
      assert.strictEqual((yield* call("GET", `/v1/pages/${closed}/files`, { token: null })).status, 401)
      const privatePage = yield* publish({ mode: "private" })
      assert.strictEqual((yield* call("GET", `/v1/pages/${privatePage}/files`, { token: null })).status, 401)
    }))

  it.effect("another page's file is 404; another organization cannot reach a private page's files", () =>
    Effect.gen(function*() {
      const { publish } = yield* pagesHelpers
      const other = yield* registerOther
      const mine = yield* publish({ mode: "private" })
      const theirs = yield* publish({ mode: "public", as: other })
      const { file } = yield* upload(mine, randomBytes(100))
      const fileId = file.id as string
      // Through another page's path: not found, whoever asks.
      for (const [path, token] of [[`/v1/pages/${theirs}/files/${fileId}/download`, other.token], [`/v1/pages/${theirs}/files/${fileId}/download`, undefined]] as const) {
        const reply = yield* call("GET", path, { token })
        assert.strictEqual(reply.status, 404, reply.text)
        assert.strictEqual(reply.body.type, "urn:trellis:problem:file-not-found")
      }
      assert.strictEqual((yield* call("DELETE", `/v1/pages/${theirs}/files/${fileId}`, { token: other.token })).status, 404)
      // The private page itself: the other organization's key is refused, and sees nothing.
      for (
        const [method, path] of [
          ["GET", `/v1/pages/${mine}/files`],
          ["GET", `/v1/pages/${mine}/files/${fileId}/download`],
          ["DELETE", `/v1/pages/${mine}/files/${fileId}`]
        ] as const
      ) {
        const reply = yield* call(method, path, { token: other.token })
        assert.strictEqual(reply.status, 403, `${method} ${path}: ${reply.text}`)
        assert.notInclude(JSON.stringify({ ...reply.body, instance: null }), fileId)
      }
      const presigned = yield* presign(mine, { filename: "x.pdf", mime_type: "application/pdf", size_bytes: 1 }, other.token)
      assert.strictEqual(presigned.status, 403, presigned.text)
      const completed = yield* call("POST", `/v1/pages/${mine}/files/complete`, { body: { storage_key: file.storageKey }, token: other.token })
      assert.strictEqual(completed.status, 403, completed.text)
      // A draft of another organization does not exist for them.
      const draft = yield* publish({ mode: "public", status: "draft" })
      assert.strictEqual((yield* call("GET", `/v1/pages/${draft}/files`, { token: other.token })).status, 404)
      assert.strictEqual((yield* call("GET", `/v1/pages/pg_nosuchpage00/files`)).status, 404)
      assert.strictEqual(yield* blobCount(file.storageKey as string), 1)
    }))

  it.effect("Files.upload (the viewer form's one step) stores, checks and lists like the three steps", () =>
    Effect.gen(function*() {
      const { publish, record } = yield* pagesHelpers
      const pageId = yield* publish({ mode: "public" })
      const service = yield* Deferred.await(files)
      const page = yield* record(pageId)
      const bytes = randomBytes(3000)
      const stored = yield* service.upload(page, { _tag: "Anonymous" }, { filename: "form.csv", mimeType: "text/csv; charset=utf-8", bytes })
      assert.deepInclude(stored, { filename: "form.csv", mimeType: "text/csv", sizeBytes: 3000, uploadedBy: "anonymous" })
      assert.deepStrictEqual(yield* service.list(page), [stored])
      const path = service.downloadPath(page, stored.id)
      assert.strictEqual(path, `/v1/pages/${pageId}/files/${stored.id}/download`)
      const got = yield* raw("GET", (yield* raw("GET", path)).headers["location"]!)
      assert.isTrue(Buffer.from(got.bytes).equals(Buffer.from(bytes)))
      const tooBig = yield* Effect.flip(service.upload(page, { _tag: "Anonymous" }, { filename: "big.csv", mimeType: "text/csv", bytes: new Uint8Array(maxFileBytes + 1) }))
      assert.strictEqual(tooBig._tag, "PayloadTooLarge")
      const badType = yield* Effect.flip(service.upload(page, { _tag: "Anonymous" }, { filename: "a.exe", mimeType: "application/x-msdownload", bytes }))
      assert.strictEqual(badType._tag, "InvalidPage")
    }))
})
