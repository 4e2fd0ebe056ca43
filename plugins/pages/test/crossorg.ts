/**
 * The pages plugin's entries of the cross-organization matrix (`test/identity/crossorg.test.ts`
 * runs them): each part adds the entries of the routes it serves.
 *
 * Core: every route on one page (`/v1/pages/{id}...`) is probed with A's page id: B gets 404
 * (the page does not exist for B) and A's page reads the same afterwards. Publishing and
 * drafting make B's own page, which A cannot read.
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { asA, assertClean, call, ok, registerA, sentStrings, view, World } from "../../../test/identity/crossorgMatrix.ts"
import type { Check, Entry, Method, PluginMatrix } from "../../../test/identity/crossorgMatrix.ts"

/** A page of organization A's, with a named block; its ids registered for the leak scan. */
const aPage = Effect.gen(function*() {
  const world = yield* World
  const blockId = `blk_${world.unique("block").replace(/[^a-z0-9]/gi, "")}`
  const created = yield* asA<{ pageId: string }>("POST", "/v1/publish", {
    title: world.unique("title"),
    summary: world.unique("summary"),
    blocks: [{ id: blockId, type: "text", data: { content: world.unique("content") } }, { type: "divider" }]
  }, 201)
  yield* registerA(created.pageId, blockId)
  return { id: created.pageId, blockId }
})

const onPage = (body?: unknown, withBlock = false): Entry => ({
  kind: "byId",
  body,
  setup: () =>
    Effect.gen(function*() {
      const page = yield* aPage
      return {
        probes: [{ params: withBlock ? { id: page.id, blockId: page.blockId } : { id: page.id }, code: "NOT_FOUND" }],
        view: view(`/v1/pages/${page.id}`, `/v1/pages/${page.id}/audit`)
      }
    })
})

const ownPublish = (reason: string): Entry => ({
  kind: "own",
  reason,
  check: ({ world, callers, key }) =>
    Effect.gen(function*() {
      const path = key.slice(key.indexOf(" ") + 1)
      for (const caller of callers) {
        const reply = yield* call("POST", path, { token: caller.token, body: { title: "B's page", blocks: [{ type: "divider" }] } })
        const created = ok<{ pageId: string }>(reply, `${caller.name}: POST ${path}`, 201)
        assertClean(world, reply, `${caller.name}: POST ${path}`)
        const fromA = yield* call("GET", `/v1/pages/${created.pageId}`, { token: world.a.token })
        assert.strictEqual(fromA.status, 404, `B's page is not A's: ${fromA.text}`)
      }
    })
})

/**
 * Files: the routes are public (a page's link reaches them; `Access.decide` rules), so each is
 * checked by hand: A attaches a file to a private page; B's callers, naming A's page, file and
 * storage key, are refused (403 for the private page, 404 for a file through another page) and
 * see nothing of A's; A's file list and bytes are the same afterwards. The upload PUT and the
 * signed download refuse B's made-up token and signature.
 */
const aFile = Effect.gen(function*() {
  const world = yield* World
  const page = yield* asA<{ pageId: string }>("POST", "/v1/publish", {
    title: world.unique("title"),
    blocks: [{ type: "file_list", data: { allow_upload: true } }],
    access: { mode: "private" }
  }, 201)
  const signed = yield* asA<{ uploadUrl: string; storageKey: string }>("POST", `/v1/pages/${page.pageId}/files/presign`, {
    filename: "a-report.txt",
    mime_type: "text/plain",
    size_bytes: 64
  })
  const put = yield* call("PUT", signed.uploadUrl, { token: null, body: world.unique("content") })
  ok(put, "A's upload PUT")
  const file = yield* asA<{ id: string }>("POST", `/v1/pages/${page.pageId}/files/complete`, { storage_key: signed.storageKey }, 201)
  yield* registerA(page.pageId, file.id, signed.storageKey)
  return { pageId: page.pageId, fileId: file.id, storageKey: signed.storageKey }
})

const filesCheck = (request: (file: { pageId: string; fileId: string; storageKey: string }) => {
  readonly path: string
  readonly body?: unknown
  readonly statuses: ReadonlyArray<number>
}): Check =>
({ world, callers, method }) =>
  Effect.gen(function*() {
    const file = yield* aFile
    const before = yield* view(`/v1/pages/${file.pageId}/files`)
    const { path, body, statuses } = request(file)
    for (const caller of [...callers, world.b.service]) {
      const reply = yield* call(method as Method, path, { token: caller.token, body })
      assert.include(statuses, reply.status, `${caller.name}: ${method} ${path}: ${reply.text}`)
      assertClean(world, reply, `${caller.name}: ${method} ${path}`, sentStrings(path, body))
    }
    assert.deepStrictEqual(yield* view(`/v1/pages/${file.pageId}/files`), before, "A's files are unchanged")
  })

const filesRoute = (reason: string, request: Parameters<typeof filesCheck>[0]): Entry => ({
  kind: "public",
  reason,
  check: filesCheck(request)
})

const filesReason = "a page's files are reached from its link: Access.decide rules on the page (another organization's private page is 403)"

export const pagesMatrix: PluginMatrix = {
  plugin: "pages",
  routes: {
    "POST /v1/publish": ownPublish("publishes a page in the caller's organization"),
    "POST /v1/pages": ownPublish("drafts a page in the caller's organization"),
    "GET /v1/pages/{id}": onPage(),
    "PATCH /v1/pages/{id}": onPage({ title: "B's title" }),
    "POST /v1/pages/{id}/publish": onPage({}),
    "POST /v1/pages/{id}/revoke": onPage({ reason: "B" }),
    "POST /v1/pages/{id}/renew": onPage({ expires_at: "2999-01-01T00:00:00.000Z" }),
    "PATCH /v1/pages/{id}/blocks": onPage({ blocks: [{ type: "divider" }] }),
    "PUT /v1/pages/{id}/blocks/reorder": onPage({ block_order: [] }),
    "POST /v1/pages/{id}/blocks/insert": onPage({ position: 0, block: { type: "divider" } }),
    "PATCH /v1/pages/{id}/blocks/{blockId}": onPage({ data: { content: "B" } }, true),
    "GET /v1/pages/{id}/audit": onPage(),
    "POST /v1/pages/{id}/files/presign": filesRoute(filesReason, (f) => ({
      path: `/v1/pages/${f.pageId}/files/presign`,
      body: { filename: "b.txt", mime_type: "text/plain", size_bytes: 4 },
      statuses: [403]
    })),
    "POST /v1/pages/{id}/files/complete": filesRoute(filesReason, (f) => ({
      path: `/v1/pages/${f.pageId}/files/complete`,
      body: { storage_key: f.storageKey },
      statuses: [403]
    })),
    "GET /v1/pages/{id}/files": filesRoute(filesReason, (f) => ({ path: `/v1/pages/${f.pageId}/files`, statuses: [403] })),
    "GET /v1/pages/{id}/files/{fileId}/download": filesRoute(filesReason, (f) => ({
      path: `/v1/pages/${f.pageId}/files/${f.fileId}/download`,
      statuses: [403]
    })),
    "DELETE /v1/pages/{id}/files/{fileId}": filesRoute(filesReason, (f) => ({ path: `/v1/pages/${f.pageId}/files/${f.fileId}`, statuses: [403] })),
    "PUT /v1/storage/upload/{key}": filesRoute(
      "a presigned upload URL: its single-use token proves the caller (presign decided access)",
      (f) => ({ path: `/v1/storage/upload/${encodeURIComponent(f.storageKey)}?token=made-up-by-b`, body: { b: "bytes" }, statuses: [403] })
    ),
    "GET /v1/storage/download/{key}": filesRoute(
      "a signed download URL: its HMAC signature and expiry prove the caller (the download route decided access)",
      (f) => ({ path: `/v1/storage/download/${encodeURIComponent(f.storageKey)}?expires=9999999999&sig=${"0".repeat(64)}`, statuses: [403] })
    )
  },
  rpcs: {}
}
