/**
 * The pages plugin's entries of the cross-organization matrix (`test/identity/crossorg.test.ts`
 * runs them): each part adds the entries of the routes it serves.
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { asA, assertClean, call, ok, ownCreate, ownList, ownRead, registerA, view, World } from "../../../test/identity/crossorgMatrix.ts"
import type { Entry, PluginMatrix, WorldShape } from "../../../test/identity/crossorgMatrix.ts"

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

export const pagesMatrix: PluginMatrix = {
  plugin: "pages",
  routes: { ...catalogRoutes },
  rpcs: {}
}
