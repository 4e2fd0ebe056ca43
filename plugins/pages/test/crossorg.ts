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
import * as TestKit from "trellis/testing"
import { SqlClient } from "effect/sql"
import { asA, assertClean, call, ok, openSse, ownCreate, ownList, ownRead, registerA, sentStrings, view, World } from "../../../test/identity/crossorgMatrix.ts"
import type { Check, Entry, Method, PluginMatrix, WorldShape } from "../../../test/identity/crossorgMatrix.ts"
import { protocolRoutes } from "./crossorgProtocols.ts"

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
      const title = world.unique("title")
      const created = yield* asA<{ pageId: string }>("POST", "/v1/publish", {
        title,
        access: { mode: "private" },
        actions: [{ action_id: "act_approve", label: "Approve" }]
      }, 201)
      yield* registerA(created.pageId)
      for (const caller of callers) {
        const reply = yield* call("POST", `/v1/pages/${created.pageId}/actions/act_approve`, { token: caller.token, body: { actor: { identity: "b" } } })
        // The 403 names only the page id B sent in the path (as every page problem does).
        assert.strictEqual(reply.status, 403, `${caller.name}: ${reply.text}`)
        assert.notInclude(reply.text, title, `${caller.name}: the answer names nothing of the page`)
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

// ---------------------------------------------------------------------------------------------
// Streams and comments (the live part)

/** A page of A's (`mode`), with a comment of A's; their ids are registered for the leak scan. */
const aLivePage = (mode: "public" | "private") =>
  Effect.gen(function*() {
    const world = yield* World
    const published = ok<{ pageId: string }>(
      yield* call("POST", "/v1/publish", { token: world.a.token, body: { title: world.unique("page"), access: { mode } } }),
      "A publishes a page"
    )
    const comment = yield* asA<{ id: string }>("POST", `/v1/pages/${published.pageId}/comments`, { content: world.unique("comment") }, 201)
    yield* registerA(published.pageId, comment.id)
    return { pageId: published.pageId, commentId: comment.id }
  })

/** A's pending agent event (an anonymous comment on A's public page): its id and page. */
const aAgentEvent = Effect.gen(function*() {
  const world = yield* World
  const page = yield* aLivePage("public")
  ok(yield* call("POST", `/v1/pages/${page.pageId}/comments`, { token: null, body: { content: world.unique("anonymous") } }), "a person comments", 201)
  const events = yield* asA<{ events: ReadonlyArray<{ id: string }> }>("GET", `/v1/pages/${page.pageId}/agent-events`)
  const ids = events.events.map((e) => e.id)
  yield* registerA(...ids)
  return { pageId: page.pageId, eventIds: ids }
})

/**
 * A route a person reaches from a page's link: on A's private page, B's callers (members of
 * another organization) are refused with 403 and see nothing of the page; A's page is unchanged.
 */
const fromLink = (method: Method, suffix: (page: { readonly pageId: string; readonly commentId: string }) => string, body?: unknown): Entry => ({
  kind: "public",
  reason: "a person follows the page's link: the page's access rules decide (a private page is its organization's only)",
  check: ({ world, callers }) =>
    Effect.gen(function*() {
      const page = yield* aLivePage("private")
      const before = yield* view(`/v1/pages/${page.pageId}/comments`)
      for (const caller of callers) {
        const path = `/v1/pages/${page.pageId}${suffix(page)}`
        const reply = yield* call(method, path, { token: caller.token, body })
        assert.strictEqual(reply.status, 403, `${caller.name}: ${method} ${path}: ${reply.text.slice(0, 200)}`)
        assertClean(world, reply, `${caller.name}: ${method} ${path}`, sentStrings(path, body))
      }
      assert.deepStrictEqual(yield* view(`/v1/pages/${page.pageId}/comments`), before)
    })
})

const liveRoutes: Record<string, Entry> = {
  "GET /v1/pages/{id}/events": fromLink("GET", () => "/events"),
  "GET /v1/pages/{id}/comments/stream": fromLink("GET", () => "/comments/stream"),
  "GET /v1/pages/{id}/comments": fromLink("GET", () => "/comments"),
  "POST /v1/pages/{id}/comments": fromLink("POST", () => "/comments", { content: "from B" }),
  "PATCH /v1/pages/{id}/comments/{commentId}": fromLink("PATCH", (p) => `/comments/${p.commentId}`, { content: "from B" }),
  "DELETE /v1/pages/{id}/comments/{commentId}": fromLink("DELETE", (p) => `/comments/${p.commentId}`),
  "GET /v1/agent/events": {
    kind: "own",
    reason: "the caller organization's agent stream: replayed from its start, it shows B's own event and none of A's",
    check: ({ world, callers }) =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const a = yield* aAgentEvent
        // B's own page and a person's comment on it: what B's stream must show.
        const bPage = ok<{ pageId: string }>(
          yield* call("POST", "/v1/publish", { token: world.b.owner.token, body: { title: "B's page", access: { mode: "public" } } }),
          "B publishes a page"
        )
        const bComment = ok<{ id: string }>(
          yield* call("POST", `/v1/pages/${bPage.pageId}/comments`, { token: null, body: { content: "on B's page" } }),
          "a person comments on B's page",
          201
        )
        for (const caller of callers) {
          const url = `${kit.baseUrl}/v1/agent/events?token=${encodeURIComponent(caller.token)}`
          const stream = yield* Effect.promise(() => openSse(url, { "last-event-id": "0" }))
          assert.strictEqual(stream.status, 200, `${caller.name}: its own stream opens`)
          yield* Effect.promise(() => stream.until((text) => text.includes(bComment.id)))
          stream.close()
          for (const id of [a.pageId, ...a.eventIds]) assert.notInclude(stream.text(), id, `${caller.name}: A's event on B's stream`)
          assert.notInclude(stream.text(), world.marker, `${caller.name}: A's content on B's stream`)
        }
      })
  },
  "GET /v1/agent/inbox": ownList("/v1/agent/inbox?limit=500", Effect.map(aAgentEvent, (e) => e.eventIds), "the caller organization's pending agent events"),
  "GET /v1/agent/inbox/count": ownRead("the caller organization's count of pending agent events"),
  "POST /v1/events/{id}/ack": {
    kind: "byId",
    setup: () =>
      Effect.map(aAgentEvent, (e) => ({
        probes: [{ params: { id: e.eventIds[0]! } }],
        view: view(`/v1/pages/${e.pageId}/agent-events`, "/v1/agent/inbox/count")
      }))
  },
  "GET /v1/pages/{id}/agent-events": {
    kind: "byId",
    setup: () =>
      Effect.map(aAgentEvent, (e) => ({
        probes: [{ params: { id: e.pageId } }],
        view: view(`/v1/pages/${e.pageId}/agent-events`)
      }))
  }
}

// ── catalog: templates, page workflows, associations, analytics, dashboard, quality, inbox ──

const catalogPage = (world: WorldShape, what: string, extra: Record<string, unknown> = {}) => ({
  title: world.unique(what),
  page_type: "approval",
  blocks: [{ type: "text", data: { content: world.unique(`${what}-content`) } }],
  actions: [{ action_id: "approve", label: "Approve" }],
  ...extra
})

/** A page of A's (published with A's owner session), its id registered. */
const aCatalogPage = (what: string, extra: Record<string, unknown> = {}) =>
  Effect.gen(function*() {
    const world = yield* World
    const published = yield* asA<{ pageId: string }>("POST", "/v1/publish", catalogPage(world, what, extra), 201)
    yield* registerA(published.pageId)
    return published.pageId
  })

/** A template of A's (its name carries the marker). */
const aTemplate = Effect.gen(function*() {
  const world = yield* World
  const name = world.unique("tpl")
  yield* asA("POST", "/v1/templates", {
    name,
    description: world.unique("tpl-description"),
    variables: [{ key: "who", label: world.unique("tpl-label"), required: true, type: "string" }],
    page: catalogPage(world, "tpl-page", { summary: "for {{who}}" })
  }, 201)
  return { id: name }
})

const aWorkflow = Effect.gen(function*() {
  const world = yield* World
  const created = yield* asA<{ group_id: string; pages: ReadonlyArray<string> }>("POST", "/v1/workflows", {
    name: world.unique("workflow"),
    pages: [catalogPage(world, "wf-page-1"), catalogPage(world, "wf-page-2")]
  }, 201)
  yield* registerA(created.group_id, ...created.pages)
  return created.group_id
})

/** An inbox entry of A's owner: a page naming A's email. */
const aInboxEntry = Effect.gen(function*() {
  const world = yield* World
  const sql = yield* SqlClient.SqlClient
  // A's owner may have signed up without an address: give it one (the inbox is by email).
  yield* sql`UPDATE identity.users SET email = ${`${world.marker}-owner@example.test`} WHERE id = ${world.a.userId} AND email IS NULL`
  const [user] = yield* sql<{ email: string }>`SELECT email FROM identity.users WHERE id = ${world.a.userId}`
  yield* aCatalogPage("inbox-page", { access: { mode: "authenticated", allowed_identities: [{ type: "email", value: user!.email }] } })
  const inbox = yield* asA<{ entries: ReadonlyArray<{ id: string }> }>("GET", "/v1/inbox")
  const id = inbox.entries[0]!.id
  yield* registerA(id)
  return id
})

const inboxEntryRoute = (body?: unknown): Entry => ({
  kind: "byId",
  body,
  setup: () => Effect.map(aInboxEntry, (id) => ({ probes: [{ params: { id } }], view: view("/v1/inbox") }))
})

const catalogRoutes: Record<string, Entry> = {
  "GET /v1/templates": ownList("/v1/templates", Effect.map(aTemplate, (t) => [t.id]), "the built-in templates and the caller organization's"),
  "POST /v1/templates": ownCreate({
    reason: "a template of the caller's organization",
    body: (world) => ({
      name: `b-${world.b.orgId.toLowerCase().replace(/[^a-z0-9]/g, "")}-${crypto.randomUUID().slice(0, 8)}`,
      variables: [],
      page: { title: "B's template", blocks: [] }
    }),
    status: 201,
    idOf: (body) => (body as { name: string }).name,
    aList: "/v1/templates"
  }),
  "DELETE /v1/templates/{name}": {
    kind: "byId",
    setup: () => Effect.map(aTemplate, (t) => ({ probes: [{ params: { name: t.id } }], view: view("/v1/templates") }))
  },
  "POST /v1/publish/template/{name}": {
    kind: "byId",
    body: { variables: { who: "B" } },
    setup: () => Effect.map(aTemplate, (t) => ({ probes: [{ params: { name: t.id } }], view: view("/v1/templates") }))
  },
  "POST /v1/workflows": {
    kind: "own",
    reason: "a page workflow of the caller's organization",
    check: ({ world, callers }) =>
      Effect.gen(function*() {
        for (const caller of callers) {
          const reply = yield* call("POST", "/v1/workflows", {
            token: caller.token,
            body: { name: "B's workflow", flow: "parallel", pages: [{ title: "B's page" }] }
          })
          const created = ok<{ group_id: string }>(reply, `${caller.name}: POST /v1/workflows`, 201)
          assertClean(world, reply, `${caller.name}: POST /v1/workflows`)
          const fromA = yield* call("GET", `/v1/workflows/${created.group_id}`, { token: world.a.token })
          assert.strictEqual(fromA.status, 404, "A does not see B's workflow")
        }
      })
  },
  "GET /v1/workflows/{groupId}": {
    kind: "byId",
    setup: () => Effect.map(aWorkflow, (id) => ({ probes: [{ params: { groupId: id } }], view: view(`/v1/workflows/${id}`) }))
  },
  "POST /v1/pages/{id}/associations": {
    kind: "byId",
    setup: () =>
      Effect.gen(function*() {
        const source = yield* aCatalogPage("assoc-source")
        const target = yield* aCatalogPage("assoc-target")
        return {
          probes: [{ params: { id: source }, body: { targetPageId: target, relationType: "related" } }],
          view: view(`/v1/pages/${source}/associations`, `/v1/pages/${target}/associations`)
        }
      })
  },
  "GET /v1/pages/{id}/associations": {
    kind: "byId",
    setup: () => Effect.map(aCatalogPage("assoc-list"), (id) => ({ probes: [{ params: { id } }], view: view(`/v1/pages/${id}/associations`) }))
  },
  "GET /v1/pages/{id}/analytics": {
    kind: "byId",
    setup: () => Effect.map(aCatalogPage("analytics"), (id) => ({ probes: [{ params: { id } }], view: view(`/v1/pages/${id}/analytics`) }))
  },
  "GET /v1/tenant/dashboard": ownRead("the caller organization's figures"),
  "GET /v1/quality-score": ownRead("the caller organization's figures"),
  "GET /v1/inbox": ownList("/v1/inbox", Effect.map(aInboxEntry, (id) => [id]), "the caller's own inbox"),
  "PATCH /v1/inbox/{id}/read": inboxEntryRoute(),
  "PATCH /v1/inbox/{id}/star": inboxEntryRoute({ starred: true }),
  "DELETE /v1/inbox/{id}": inboxEntryRoute()
}

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
    ...catalogRoutes,
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
    ...liveRoutes,
    ...protocolRoutes,
    // People (sign-in for the people pages are for): no organization's data in or out.
    "POST /v1/auth/magic-link/send": {
      kind: "public",
      reason: "a person with no account asks for a sign-in link: the answer is {sent:true} whoever asks, and a link is mailed only to an address allowed on the page"
    },
    "GET /v1/auth/magic-link/verify": {
      kind: "public",
      reason: "the mailed link: its single-use token is the credential; it signs in a viewer session for that address only"
    },
    "POST /v1/auth/oauth/github": { kind: "public", reason: "starts a GitHub sign-in: answers the provider's authorize URL, nothing of an organization's" },
    "POST /v1/auth/oauth/google": { kind: "public", reason: "starts a Google sign-in: answers the provider's authorize URL, nothing of an organization's" },
    "GET /v1/auth/oauth/{provider}/callback": {
      kind: "public",
      reason: "the provider sends the browser back: the single-use state and the provider's code are the credential"
    },
    "POST /v1/auth/viewer/logout": { kind: "public", reason: "ends the caller's own viewer session (cookie or pv_ token), if any" },
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
    "POST /inbox/magic-link": { kind: "public", reason: "asks for a sign-in link to the inbox; answers the same for every address" },
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
