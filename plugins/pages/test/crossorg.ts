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

/**
 * Decisions: a person acts from a link, so the action route is public; B's credentials meet A's
 * `private` page as any outsider does (403, nothing recorded). The webhook secret is the
 * caller's organization's own: B's differs from A's.
 */
const actOnPrivate: Entry = {
  kind: "public",
  reason: "a person acts from the page's link; Access.decide refuses B's credentials on A's private page",
  check: ({ world, callers }) =>
    Effect.gen(function*() {
      const created = yield* asA<{ pageId: string }>("POST", "/v1/publish", {
        title: world.unique("title"),
        access: { mode: "private" },
        actions: [{ action_id: "act_approve", label: "Approve" }]
      }, 201)
      yield* registerA(created.pageId)
      for (const caller of callers) {
        const reply = yield* call("POST", `/v1/pages/${created.pageId}/actions/act_approve`, { token: caller.token, body: { actor: { identity: "b" } } })
        assert.strictEqual(reply.status, 403, `${caller.name}: ${reply.text}`)
        assertClean(world, reply, `${caller.name}: act on A's page`)
      }
      const after = yield* asA<{ chain_status: string; current_step: string | null }>("GET", `/v1/pages/${created.pageId}/approval`, undefined, 200)
      assert.strictEqual(after.current_step, "default", "nothing was decided")
      const page = yield* asA<{ status: string }>("GET", `/v1/pages/${created.pageId}`, undefined, 200)
      assert.strictEqual(page.status, "active")
    })
}

const ownSecret: Entry = {
  kind: "own",
  reason: "the webhook signing secret of the caller's organization",
  check: ({ world, callers }) =>
    Effect.gen(function*() {
      const mine = yield* asA<{ secret: string }>("GET", "/v1/webhooks/secret", undefined, 200)
      for (const caller of callers) {
        const reply = yield* call("GET", "/v1/webhooks/secret", { token: caller.token })
        if (reply.status === 403) continue
        const body = ok<{ secret: string }>(reply, `${caller.name}: GET /v1/webhooks/secret`)
        assert.notStrictEqual(body.secret, mine.secret)
        assertClean(world, reply, `${caller.name}: GET /v1/webhooks/secret`)
      }
    })
}

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
    "GET /v1/pages/{id}/approval": onPage(),
    "POST /v1/pages/{id}/actions/{actionId}": actOnPrivate,
    "GET /v1/webhooks/secret": ownSecret,
    // The viewer (web routes): public, the page decides access itself with Access.decide, so
    // another organization's private page answers its 401/403/404 page, never its content.
    "GET /p/assets/viewer.css": { kind: "public", reason: "the viewer's stylesheet: a static asset" },
    "GET /p/assets/viewer.js": { kind: "public", reason: "the viewer's script: a static asset" },
    "GET /p/{id}": { kind: "public", reason: "the viewer: opened from a link by people without a key; Access.decide refuses another organization's non-public pages" },
    "POST /p/{id}/actions/{actionId}": { kind: "public", reason: "the viewer's decision form: Access.decide and Decisions.execute decide who may act; CSRF field required" },
    "POST /p/{id}/comments": { kind: "public", reason: "the viewer's comment form: Access.decide decides who may comment; CSRF field required" },
    "POST /p/{id}/files": { kind: "public", reason: "the viewer's upload form: Access.decide decides who may upload; CSRF field required" },
    "POST /p/{id}/magic-link": { kind: "public", reason: "asks for a sign-in link; answers the same whoever may open the page" },
    "GET /inbox": { kind: "public", reason: "the person's own inbox (viewer session or member email); anyone else gets the sign-in page" },
    "POST /inbox/magic-link": { kind: "public", reason: "asks for a sign-in link to the inbox; answers the same for every address" }
  },
  rpcs: {}
}
