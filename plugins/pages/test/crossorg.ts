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
import { asA, assertClean, call, ok, registerA, view, World } from "../../../test/identity/crossorgMatrix.ts"
import type { Entry, PluginMatrix } from "../../../test/identity/crossorgMatrix.ts"

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
    "GET /v1/pages/{id}/audit": onPage()
  },
  rpcs: {}
}
