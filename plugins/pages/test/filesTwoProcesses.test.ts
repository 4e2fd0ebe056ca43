/**
 * Two real `trellis serve` processes on one PostgreSQL database share a page's files: a 10 MB
 * file presigned on one is PUT to the other (the database store, `bytea`), completed on the
 * first, and its download redirect from the second serves the exact bytes from the first (the
 * signature is the file's own secret, in its row: no key shared by configuration).
 *
 * Runs only when TRELLIS_TEST_DATABASE_URL names a PostgreSQL server.
 */
import { afterAll, assert, describe, it } from "vitest"
import { authorized, pgAdmin as admin, requestJson as json, start, stop, waitReady } from "../../../test/platform/serverProcess.ts"
import type { RunningServer } from "../../../test/platform/serverProcess.ts"

const pgBase = process.env.TRELLIS_TEST_DATABASE_URL

describe.skipIf(pgBase === undefined || pgBase === "")("pages files: two processes on one PostgreSQL", () => {
  const name = `trellis_files_${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`
  const servers: Array<RunningServer> = []
  afterAll(async () => {
    await Promise.all(servers.map((s) => stop(s)))
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  })

  it("a 10 MB file uploaded through one process downloads exactly from the other", async () => {
    await admin(`CREATE DATABASE ${name}`)
    const url = new URL(pgBase ?? "")
    url.pathname = `/${name}`
    const env: Record<string, string> = { DATABASE_URL: url.toString(), TRELLIS_LOG_LEVEL: "warn" }
    const a = await start(env)
    servers.push(a)
    await waitReady(a)
    const b = await start(env)
    servers.push(b)
    await waitReady(b)

    const page = await json<{ pageId: string }>(a, "POST", "/v1/publish", { title: "two processes", access: { mode: "public" } })
    assert.strictEqual(page.status, 201, page.text)
    const bytes = new Uint8Array(10 * 1024 * 1024)
    for (let at = 0; at < bytes.length; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536))

    const signed = await json<{ uploadUrl: string; storageKey: string }>(a, "POST", `/v1/pages/${page.body.pageId}/files/presign`, {
      filename: "big.zip",
      mime_type: "application/zip",
      size_bytes: bytes.length
    })
    assert.strictEqual(signed.status, 200, signed.text)
    const put = await fetch(`${b.url}${signed.body.uploadUrl}`, { method: "PUT", body: bytes, headers: { "content-type": "application/zip" } })
    assert.strictEqual(put.status, 200, await put.text())
    const done = await json<{ id: string; sizeBytes: number }>(a, "POST", `/v1/pages/${page.body.pageId}/files/complete`, {
      storage_key: signed.body.storageKey
    })
    assert.strictEqual(done.status, 201, done.text)
    assert.strictEqual(done.body.sizeBytes, bytes.length)

    const listed = await json<{ files: ReadonlyArray<{ id: string }> }>(b, "GET", `/v1/pages/${page.body.pageId}/files`)
    assert.deepStrictEqual(listed.body.files.map((f) => f.id), [done.body.id])
    const redirect = await fetch(`${b.url}/v1/pages/${page.body.pageId}/files/${done.body.id}/download`, { redirect: "manual" })
    assert.strictEqual(redirect.status, 302)
    const got = await fetch(`${a.url}${redirect.headers.get("location")}`)
    assert.strictEqual(got.status, 200)
    const received = new Uint8Array(await got.arrayBuffer())
    assert.strictEqual(received.length, bytes.length)
    assert.isTrue(Buffer.from(received).equals(Buffer.from(bytes)), "the bytes downloaded from A are the bytes PUT to B")

    // Deleted on B: A's signed URL stops working.
    const removed = await fetch(`${b.url}/v1/pages/${page.body.pageId}/files/${done.body.id}`, { method: "DELETE", headers: authorized })
    assert.strictEqual(removed.status, 204)
    assert.strictEqual((await fetch(`${a.url}${redirect.headers.get("location")}`)).status, 403)
  }, 240_000)
})
