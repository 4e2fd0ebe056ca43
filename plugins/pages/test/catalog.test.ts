/**
 * The catalog routes over real HTTP (embedded PGlite, or PostgreSQL with
 * TRELLIS_TEST_DATABASE_URL): templates (built-in and added, variables checked, 404 listing the
 * available ones), page workflows (sequential pages published as the one before completes,
 * parallel, a revoked page cancelling its group, nothing created when a page is invalid),
 * associations, analytics from real views, the inbox (entries for the named emails, read, star,
 * archive, another person's entry 404) and the dashboard and quality score of an organization
 * whose pages were completed through `Pages.complete`.
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Option } from "effect"
import { SqlClient } from "effect/sql"
import * as TestKit from "trellis/testing"
import { call } from "../../automations/test/support.ts"
import type { Json } from "../../automations/test/support.ts"
import { testRunsPlugin } from "../../runs/test/support.ts"
import { member, serviceKey } from "../../tickets/test/support.ts"
import type { PageOutcome } from "../Domain.ts"
import { Inbox } from "../InboxService.ts"
import { PagesPlugin } from "../Plugin.ts"
import { Pages } from "../PagesService.ts"

const T = 180_000

interface Services {
  readonly pages: Pages["Service"]
  readonly inbox: Inbox["Service"]
  readonly sql: SqlClient.SqlClient
}

const probeOf = (services: Deferred.Deferred<Services>) =>
  TestKit.probe({ id: "pages_catalog_probe", requires: ["pages"], description: "test probe: the pages services" }, Effect.gen(function*() {
    yield* Deferred.succeed(services, { pages: yield* Pages, inbox: yield* Inbox, sql: yield* SqlClient.SqlClient })
  }))

const page = (title: string, extra: Json = {}): Json => ({
  title,
  page_type: "approval",
  priority: "high",
  blocks: [{ type: "text", data: { content: "Please decide" } }],
  actions: [{ action_id: "approve", label: "Approve" }, { action_id: "reject", label: "Reject" }],
  ...extra
})

const expect = (reply: { readonly status: number; readonly body: Json; readonly text: string }, status: number) => {
  assert.strictEqual(reply.status, status, reply.text)
  return reply.body
}

/** A refused request: status, Surflet's `error.code`, and the details. */
const refused = (reply: { readonly status: number; readonly body: Json; readonly text: string }, status: number, code: string) => {
  assert.strictEqual(reply.status, status, reply.text)
  const error = reply.body.error as Json
  assert.strictEqual(error.code, code, reply.text)
  return reply.body
}

const publish = (body: Json, token?: string) => Effect.map(call("POST", "/v1/publish", { body, token }), (r) => expect(r, 201).pageId as string)

const statusOf = (id: string) => Effect.map(call("GET", `/v1/pages/${id}`), (r) => expect(r, 200).status as string)

const pageCount = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ n: unknown }>`SELECT count(*) AS n FROM pages.pages`
  return Number(rows[0]!.n)
})

const services = Effect.runSync(Deferred.make<Services>())
/** The second server's (each server's probe hands over its own services). */
const dashboardServices = Effect.runSync(Deferred.make<Services>())

/** Completes a page as a person's decision would (in a transaction, the listeners in it). */
const completeWith = (from: Deferred.Deferred<Services>) => (pageId: string, decision: PageOutcome["decision"] = "approve") =>
  Effect.gen(function*() {
    const { pages, sql } = yield* Deferred.await(from)
    const done = yield* sql.withTransaction(pages.complete(pageId, { actionId: decision, decision, actor: "[email protected]" }))
    assert.isTrue(Option.isSome(done), `completed ${pageId}`)
  })
const complete = completeWith(services)

layer(TestKit.layer({ plugins: [testRunsPlugin(), PagesPlugin, probeOf(services)] }), { timeout: T, excludeTestServices: true })("pages catalog", (it) => {
  it.effect("templates: the built-in set, publishing with checked variables, 404 listing the available ones", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const list = expect(yield* call("GET", "/v1/templates"), 200).templates as ReadonlyArray<Json>
      const names = list.map((t) => t.name)
      for (const name of ["refund_approval", "deploy_approval", "incident_report", "data_review"]) assert.include(names, name)
      const refund = list.find((t) => t.name === "refund_approval")!
      assert.deepInclude(refund.variables as ReadonlyArray<Json>, { key: "customer", label: "Customer name", required: true, type: "string" })
      assert.deepInclude(refund.variables as ReadonlyArray<Json>, { key: "amount", label: "Refund amount", required: true, type: "number" })

      const published = expect(yield* call("POST", "/v1/publish/template/refund_approval", {
        body: { variables: { customer: "Alice Wang", order_id: "#ORD-7891", amount: 127.5, reason: "Product arrived <b>damaged</b> {{customer}}" } }
      }), 201)
      const id = published.pageId as string
      assert.match(id, /^pg_[a-z0-9]{12}$/)
      assert.strictEqual(published.pageUrl, `${kit.baseUrl}/p/${id}`)
      assert.strictEqual(published.status, "active")
      const one = expect(yield* call("GET", `/v1/pages/${id}`), 200)
      assert.strictEqual(one.title, "Refund approval: Alice Wang")
      assert.strictEqual(one.page_type, "approval")
      const blocks = one.blocks as ReadonlyArray<{ type: string; data: Json }>
      assert.deepInclude(blocks[0]!.data.pairs as ReadonlyArray<Json>, { key: "Amount", value: "127.5" })
      // A value is text, substituted once: a placeholder inside a value stays as written.
      assert.strictEqual(blocks[1]!.data.content, "Product arrived <b>damaged</b> {{customer}}")
      assert.deepStrictEqual((one.actions as ReadonlyArray<Json>).map((a) => a.action_id), ["approve", "reject"])

      // An optional variable left out renders empty; no placeholder shows.
      const short = expect(yield* call("POST", "/v1/publish/template/refund_approval", { body: { variables: { customer: "Bob", amount: 3 } } }), 201)
      const shortPage = expect(yield* call("GET", `/v1/pages/${short.pageId as string}`), 200)
      assert.notInclude(JSON.stringify(shortPage.blocks), "{{")

      const before = yield* pageCount
      const missing = refused(yield* call("POST", "/v1/publish/template/refund_approval", { body: { variables: { amount: 5 } } }), 400, "INVALID_REQUEST")
      assert.strictEqual(missing.field, "variables.customer")
      const wrongType = refused(yield* call("POST", "/v1/publish/template/refund_approval", {
        body: { variables: { customer: "A", amount: "lots" } }
      }), 400, "INVALID_REQUEST")
      assert.strictEqual(wrongType.field, "variables.amount")
      assert.include(wrongType.constraint as string, "number")
      const unknown = refused(yield* call("POST", "/v1/publish/template/refund_approval", {
        body: { variables: { customer: "A", amount: 1, coupon: "x" } }
      }), 400, "INVALID_REQUEST")
      assert.strictEqual(unknown.field, "variables.coupon")
      const none = refused(yield* call("POST", "/v1/publish/template/no_such_template", { body: { variables: {} } }), 404, "NOT_FOUND")
      const details = (none.error as Json).details as Json
      assert.includeMembers(details.available as Array<string>, ["refund_approval", "deploy_approval"])
      assert.strictEqual(yield* pageCount, before, "nothing published by a refused request")
    }))

  it.effect("templates: an organization adds, lists, publishes and deletes its own; built-ins are read-only", () =>
    Effect.gen(function*() {
      const body = {
        name: "vendor_onboarding",
        description: "New vendor",
        variables: [{ key: "vendor", label: "Vendor", required: true, type: "string" }, { key: "urgent", label: "Urgent", required: false, type: "boolean" }],
        page: page("Onboard {{vendor}}", { summary: "urgent: {{urgent}}" })
      }
      const created = expect(yield* call("POST", "/v1/templates", { body }), 201)
      assert.strictEqual(created.name, "vendor_onboarding")
      assert.strictEqual(created.builtIn, false)
      refused(yield* call("POST", "/v1/templates", { body }), 409, "CONFLICT")
      refused(yield* call("POST", "/v1/templates", { body: { ...body, name: "refund_approval" } }), 409, "CONFLICT")
      const undeclared = refused(yield* call("POST", "/v1/templates", {
        body: { ...body, name: "other", page: page("Hi {{nobody}}") }
      }), 400, "INVALID_REQUEST")
      assert.include(undeclared.constraint as string, "nobody")
      // What a publish would refuse is refused when the template is added, named inside `page`.
      const untyped = refused(yield* call("POST", "/v1/templates", {
        body: { ...body, name: "untyped", page: page("Hi", { blocks: [{ data: { content: "no type" } }] }) }
      }), 400, "INVALID_REQUEST")
      assert.strictEqual(untyped.field, "page.blocks[0].type")
      const twice = refused(yield* call("POST", "/v1/templates", {
        body: { ...body, name: "twice", page: page("Hi", { actions: [{ action_id: "ok", label: "A" }, { action_id: "ok", label: "B" }] }) }
      }), 400, "INVALID_REQUEST")
      assert.strictEqual(twice.field, "page.actions[1].action_id")
      refused(yield* call("POST", "/v1/templates", { body: { ...body, name: "Bad Name!" } }), 400, "INVALID_REQUEST")

      const listed = expect(yield* call("GET", "/v1/templates"), 200).templates as ReadonlyArray<Json>
      assert.isTrue(listed.some((t) => t.name === "vendor_onboarding" && t.builtIn === false))
      assert.isTrue(listed.some((t) => t.name === "refund_approval" && t.builtIn === true))
      assert.isFalse(listed.some((t) => t.name === "untyped" || t.name === "twice"), "a refused template is not stored")

      const published = expect(yield* call("POST", "/v1/publish/template/vendor_onboarding", { body: { variables: { vendor: "Acme", urgent: true } } }), 201)
      const one = expect(yield* call("GET", `/v1/pages/${published.pageId as string}`), 200)
      assert.strictEqual(one.title, "Onboard Acme")
      assert.strictEqual(one.summary, "urgent: true")
      refused(yield* call("POST", "/v1/publish/template/vendor_onboarding", { body: { variables: { vendor: "Acme", urgent: "yes" } } }), 400, "INVALID_REQUEST")

      // Another organization neither sees nor uses it.
      const outsider = yield* member("owner", "org_catalog_outside")
      const theirs = expect(yield* call("GET", "/v1/templates", { token: outsider.key }), 200).templates as ReadonlyArray<Json>
      assert.isFalse(theirs.some((t) => t.name === "vendor_onboarding"))
      const notTheirs = refused(yield* call("POST", "/v1/publish/template/vendor_onboarding", { token: outsider.key, body: { variables: { vendor: "x" } } }), 404, "NOT_FOUND")
      assert.notInclude(((notTheirs.error as Json).details as Json).available as Array<string>, "vendor_onboarding")

      // A viewer may list, not add; a service key needs pages:write to add.
      const viewer = yield* member("viewer")
      assert.strictEqual((yield* call("GET", "/v1/templates", { token: viewer.key })).status, 200)
      assert.strictEqual((yield* call("POST", "/v1/templates", { token: viewer.key, body: { ...body, name: "by_viewer" } })).status, 403)
      const reader = yield* serviceKey(["pages:read"])
      assert.strictEqual((yield* call("POST", "/v1/templates", { token: reader.key, body: { ...body, name: "by_reader" } })).status, 403)

      refused(yield* call("DELETE", "/v1/templates/refund_approval"), 409, "CONFLICT")
      expect(yield* call("DELETE", "/v1/templates/vendor_onboarding"), 204)
      refused(yield* call("DELETE", "/v1/templates/vendor_onboarding"), 404, "NOT_FOUND")
      refused(yield* call("POST", "/v1/publish/template/vendor_onboarding", { body: { variables: { vendor: "Acme" } } }), 404, "NOT_FOUND")
    }))

  it.effect("workflows: sequential pages are published one after the other as each completes", () =>
    Effect.gen(function*() {
      const created = expect(yield* call("POST", "/v1/workflows", {
        body: { name: "Refund Processing", flow: "sequential", pages: [page("Step 1"), page("Step 2"), page("Step 3")] }
      }), 201)
      const groupId = created.group_id as string
      assert.match(groupId, /^wf_[a-z0-9]{12}$/)
      assert.strictEqual(created.status, "active")
      const [p1, p2, p3] = created.pages as ReadonlyArray<string>
      assert.deepStrictEqual([yield* statusOf(p1!), yield* statusOf(p2!), yield* statusOf(p3!)], ["active", "draft", "draft"])

      const view = () => Effect.map(call("GET", `/v1/workflows/${groupId}`), (r) => expect(r, 200))
      const first = yield* view()
      assert.strictEqual(first.name, "Refund Processing")
      assert.strictEqual(first.status, "in_progress")
      assert.deepStrictEqual(first.pages, [{ pageId: p1, status: "active" }, { pageId: p2, status: "draft" }, { pageId: p3, status: "draft" }])

      yield* complete(p1!)
      assert.deepStrictEqual([yield* statusOf(p2!), yield* statusOf(p3!)], ["active", "draft"])
      yield* complete(p2!, "reject")
      assert.strictEqual(yield* statusOf(p3!), "active")
      assert.strictEqual((yield* view()).status, "in_progress")
      yield* complete(p3!)
      const done = yield* view()
      assert.strictEqual(done.status, "completed")
      assert.deepStrictEqual((done.pages as ReadonlyArray<Json>).map((p) => p.status), ["completed", "completed", "completed"])

      // Default flow is sequential; the next page is published as the workflow's creator.
      const second = expect(yield* call("POST", "/v1/workflows", { body: { name: "Two", pages: [page("A"), page("B")] } }), 201)
      const [a, b] = second.pages as ReadonlyArray<string>
      assert.strictEqual(yield* statusOf(b!), "draft")
      yield* complete(a!)
      const next = expect(yield* call("GET", `/v1/pages/${b!}`), 200)
      assert.strictEqual(next.status, "active")
      assert.strictEqual(next.created_by, "system")
    }))

  it.effect("workflows: parallel publishes all; a revoked page cancels its group; an invalid page creates nothing", () =>
    Effect.gen(function*() {
      const parallel = expect(yield* call("POST", "/v1/workflows", {
        body: { name: "Both", flow: "parallel", pages: [page("P1"), page("P2")] }
      }), 201)
      const [x, y] = parallel.pages as ReadonlyArray<string>
      assert.deepStrictEqual([yield* statusOf(x!), yield* statusOf(y!)], ["active", "active"])
      yield* complete(y!)
      assert.strictEqual(expect(yield* call("GET", `/v1/workflows/${parallel.group_id as string}`), 200).status, "in_progress")
      yield* complete(x!)
      assert.strictEqual(expect(yield* call("GET", `/v1/workflows/${parallel.group_id as string}`), 200).status, "completed")

      const seq = expect(yield* call("POST", "/v1/workflows", { body: { name: "Cancelled", pages: [page("C1"), page("C2")] } }), 201)
      const [c1, c2] = seq.pages as ReadonlyArray<string>
      expect(yield* call("POST", `/v1/pages/${c1!}/revoke`, { body: { reason: "wrong customer" } }), 200)
      const cancelled = expect(yield* call("GET", `/v1/workflows/${seq.group_id as string}`), 200)
      assert.strictEqual(cancelled.status, "cancelled")
      assert.strictEqual(yield* statusOf(c2!), "draft", "the pages after it stay unpublished")

      const before = yield* pageCount
      const bad = refused(yield* call("POST", "/v1/workflows", {
        body: { name: "Bad", pages: [page("Fine"), page("Broken", { notify: { channels: [{ type: "fax", target: "x" }] } })] }
      }), 400, "INVALID_REQUEST")
      assert.strictEqual(bad.field, "pages[1].notify.channels[0].type", JSON.stringify(bad))
      const broken = refused(yield* call("POST", "/v1/workflows", {
        body: { name: "Bad", pages: [page("Fine"), page("Fine too"), { ...page("Broken"), blocks: ["not a block"] }] }
      }), 400, "INVALID_REQUEST")
      assert.strictEqual(broken.field, "pages[2].blocks[0].type", JSON.stringify(broken))
      refused(yield* call("POST", "/v1/workflows", { body: { name: "Empty", pages: [] } }), 400, "INVALID_REQUEST")
      refused(yield* call("POST", "/v1/workflows", { body: { name: "Odd", flow: "zigzag", pages: [page("Z")] } }), 400, "INVALID_REQUEST")
      assert.strictEqual(yield* pageCount, before, "no page of a refused workflow exists")

      refused(yield* call("GET", "/v1/workflows/wf_doesnotexist"), 404, "NOT_FOUND")
      const outsider = yield* member("owner", "org_catalog_outside")
      refused(yield* call("GET", `/v1/workflows/${seq.group_id as string}`, { token: outsider.key }), 404, "NOT_FOUND")
    }))

  it.effect("associations: typed links between two pages of the organization, listed from either side", () =>
    Effect.gen(function*() {
      const source = yield* publish(page("Source"))
      const target = yield* publish(page("Target"))
      const created = expect(yield* call("POST", `/v1/pages/${source}/associations`, {
        body: { targetPageId: target, relationType: "follow_up" }
      }), 201)
      assert.match(created.id as string, /^assoc_[a-z0-9]{12}$/)
      assert.strictEqual(created.sourcePageId, source)
      assert.strictEqual(created.targetPageId, target)
      assert.strictEqual(created.relationType, "follow_up")
      assert.strictEqual(created.tenantId, "org_default")
      assert.isString(created.createdAt)

      const dup = refused(yield* call("POST", `/v1/pages/${source}/associations`, { body: { targetPageId: target, relationType: "follow_up" } }), 409, "CONFLICT")
      assert.strictEqual(((dup.error as Json).details as Json).associationId, created.id)
      expect(yield* call("POST", `/v1/pages/${source}/associations`, { body: { targetPageId: target, relationType: "related" } }), 201)
      const self = refused(yield* call("POST", `/v1/pages/${source}/associations`, { body: { targetPageId: source, relationType: "related" } }), 400, "INVALID_REQUEST")
      assert.strictEqual(self.field, "targetPageId")
      refused(yield* call("POST", `/v1/pages/${source}/associations`, { body: { targetPageId: target, relationType: "" } }), 400, "INVALID_REQUEST")
      refused(yield* call("POST", `/v1/pages/${source}/associations`, { body: { targetPageId: "pg_000000000000", relationType: "related" } }), 404, "NOT_FOUND")

      const fromTarget = expect(yield* call("GET", `/v1/pages/${target}/associations`), 200).associations as ReadonlyArray<Json>
      assert.deepStrictEqual(fromTarget.map((a) => a.relationType), ["follow_up", "related"])

      // Another organization's page is not found, as source or target.
      const outsider = yield* member("owner", "org_catalog_outside")
      const theirs = yield* publish(page("Theirs"), outsider.key)
      refused(yield* call("POST", `/v1/pages/${theirs}/associations`, { token: outsider.key, body: { targetPageId: source, relationType: "related" } }), 404, "NOT_FOUND")
      refused(yield* call("POST", `/v1/pages/${source}/associations`, { token: outsider.key, body: { targetPageId: theirs, relationType: "related" } }), 404, "NOT_FOUND")
      refused(yield* call("GET", `/v1/pages/${source}/associations`, { token: outsider.key }), 404, "NOT_FOUND")
    }))

  it.effect("analytics: views, unique viewers and daily views from the page's recorded views", () =>
    Effect.gen(function*() {
      const { pages } = yield* Deferred.await(services)
      const id = yield* publish(page("Viewed"))
      const empty = expect(yield* call("GET", `/v1/pages/${id}/analytics`), 200)
      assert.strictEqual(empty.totalViews, 0)
      assert.deepStrictEqual(empty.dailyViews, {})
      yield* pages.countView(id, "viewer-a")
      yield* pages.countView(id, "viewer-a")
      yield* pages.countView(id, "viewer-b")
      const stats = expect(yield* call("GET", `/v1/pages/${id}/analytics`), 200)
      assert.strictEqual(stats.pageId, id)
      assert.strictEqual(stats.totalViews, 3)
      assert.strictEqual(stats.uniqueViewers, 2)
      const today = new Date().toISOString().slice(0, 10)
      const days = stats.dailyViews as Record<string, number>
      assert.strictEqual(Object.values(days).reduce((a, b) => a + b, 0), 3)
      assert.isTrue(today in days || Object.keys(days).length === 1, JSON.stringify(days))
      assert.strictEqual(stats.status, "active")
      assert.isString(stats.createdAt)
      refused(yield* call("GET", "/v1/pages/pg_000000000000/analytics"), 404, "NOT_FOUND")
    }))

  it.effect("inbox: entries for the emails a page names; read, star, archive; another person's entry is 404", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const alice = yield* member("viewer")
      const bob = yield* member("viewer")
      const emailOf = (userId: string) => Effect.map(sql<{ email: string }>`SELECT email FROM identity.users WHERE id = ${userId}`, (r) => r[0]!.email)
      const aliceEmail = yield* emailOf(alice.userId)
      const bobEmail = yield* emailOf(bob.userId)

      const forAlice = yield* publish(page("For Alice", {
        page_type: "approval",
        priority: "high",
        access: { mode: "authenticated", allowed_identities: [{ type: "email", value: aliceEmail.toUpperCase() }] }
      }))
      const forBoth = yield* publish(page("Chain", {
        page_type: "review",
        priority: "low",
        approval_chain: { steps: [{ step_id: "s1", assignees: [aliceEmail] }, { step_id: "s2", assignees: [bobEmail] }] }
      }))
      yield* publish(page("Nobody named"))

      const listOf = (token: string, query = "") =>
        Effect.map(call("GET", `/v1/inbox${query}`, { token }), (r) => expect(r, 200) as { entries: ReadonlyArray<Json>; total: number })
      const mine = yield* listOf(alice.key)
      assert.strictEqual(mine.total, 2)
      assert.deepStrictEqual(mine.entries.map((e) => e.pageId), [forBoth, forAlice], "newest first")
      const entry = mine.entries.find((e) => e.pageId === forAlice)!
      assert.match(entry.id as string, /^inbox_[a-z0-9]{12}$/)
      assert.deepInclude(entry, { title: "For Alice", pageType: "approval", status: "unread", starred: false, priority: "high" })
      assert.deepStrictEqual((yield* listOf(bob.key)).entries.map((e) => e.pageId), [forBoth])
      assert.deepStrictEqual((yield* listOf(alice.key, "?priority=low")).entries.map((e) => e.pageId), [forBoth])
      assert.deepStrictEqual((yield* listOf(alice.key, "?pageType=approval")).entries.map((e) => e.pageId), [forAlice])
      const paged = yield* listOf(alice.key, "?limit=1&offset=1")
      assert.deepStrictEqual(paged.entries.map((e) => e.pageId), [forAlice])
      assert.strictEqual(paged.total, 2)

      const id = entry.id as string
      // Bob cannot touch Alice's entry.
      refused(yield* call("PATCH", `/v1/inbox/${id}/read`, { token: bob.key }), 404, "NOT_FOUND")
      refused(yield* call("PATCH", `/v1/inbox/${id}/star`, { token: bob.key, body: {} }), 404, "NOT_FOUND")
      refused(yield* call("DELETE", `/v1/inbox/${id}`, { token: bob.key }), 404, "NOT_FOUND")

      expect(yield* call("PATCH", `/v1/inbox/${id}/read`, { token: alice.key }), 204)
      expect(yield* call("PATCH", `/v1/inbox/${id}/star`, { token: alice.key, body: {} }), 204)
      let now = (yield* listOf(alice.key, "?status=read")).entries
      assert.deepStrictEqual(now.map((e) => [e.pageId, e.status, e.starred]), [[forAlice, "read", true]])
      expect(yield* call("PATCH", `/v1/inbox/${id}/star`, { token: alice.key, body: { starred: false } }), 204)
      now = (yield* listOf(alice.key, "?status=read")).entries
      assert.strictEqual(now[0]!.starred, false)
      expect(yield* call("DELETE", `/v1/inbox/${id}`, { token: alice.key }), 204)
      assert.deepStrictEqual((yield* listOf(alice.key)).entries.map((e) => e.pageId), [forBoth], "archived entries leave the default list")
      assert.deepStrictEqual((yield* listOf(alice.key, "?status=archived")).entries.map((e) => e.pageId), [forAlice])
      refused(yield* call("PATCH", "/v1/inbox/inbox_doesnotexist/read", { token: alice.key }), 404, "NOT_FOUND")
      refused(yield* call("GET", "/v1/inbox?status=bogus", { token: alice.key }), 400, "INVALID_REQUEST")

      // The viewer's inbox page reads the same entries by email (a magic-link person has no member credential).
      const { inbox } = yield* Deferred.await(services)
      const viaService = yield* inbox.list(bobEmail.toUpperCase(), {})
      assert.deepStrictEqual(viaService.entries.map((e) => e.pageId), [forBoth])

      // A service key has no person behind it: an empty inbox; the inbox needs a member's credential.
      const key = yield* serviceKey(["pages:read"])
      assert.strictEqual((yield* call("GET", "/v1/inbox", { token: key.key })).status, 403)
      assert.strictEqual((yield* call("GET", "/v1/inbox", { token: null })).status, 401)
    }))
})

layer(TestKit.layer({ plugins: [testRunsPlugin(), PagesPlugin, probeOf(dashboardServices)] }), { timeout: T, excludeTestServices: true })("pages dashboard", (it) => {
  it.effect("dashboard and quality score from real pages, completed through Pages.complete", () =>
    Effect.gen(function*() {
      const complete = completeWith(dashboardServices)
      const sql = yield* SqlClient.SqlClient
      const zero = expect(yield* call("GET", "/v1/tenant/dashboard"), 200)
      assert.deepStrictEqual(zero, {
        period: "last_30_days",
        metrics: { total_pages: 0, active_pages: 0, completed_pages: 0, avg_resolution_time_hours: 0, approval_rate: 0 }
      })
      const emptyScore = expect(yield* call("GET", "/v1/quality-score"), 200)
      assert.deepInclude(emptyScore, { tenantId: "org_default", totalPages: 0, totalDecisions: 0, acceptanceRate: 0, score: 0, period: "last_100_pages" })

      const ids = yield* Effect.forEach([1, 2, 3, 4], (i) => publish(page(`Dash ${i}`)))
      yield* complete(ids[0]!, "approve")
      yield* complete(ids[1]!, "approve")
      yield* complete(ids[2]!, "reject")
      // Resolution times of 1, 2 and 3 hours: published earlier than completed.
      for (const [i, hours] of [[0, 1], [1, 2], [2, 3]] as const) {
        yield* sql`UPDATE pages.pages SET published_at = completed_at - make_interval(hours => ${hours}) WHERE id = ${ids[i]!}`
      }
      const dash = expect(yield* call("GET", "/v1/tenant/dashboard"), 200)
      assert.deepStrictEqual(dash, {
        period: "last_30_days",
        metrics: { total_pages: 4, active_pages: 1, completed_pages: 3, avg_resolution_time_hours: 2, approval_rate: 0.67 }
      })
      const score = expect(yield* call("GET", "/v1/quality-score"), 200)
      // acceptance 67, decided 3 of 4 (75), average 120 minutes: speed 100 - 60/1380*100 = 95.65.
      assert.deepStrictEqual(score, {
        tenantId: "org_default",
        totalPages: 4,
        totalDecisions: 3,
        acceptanceRate: 67,
        avgDecisionTimeMinutes: 120,
        score: Math.round(0.5 * 67 + 0.3 * 75 + 0.2 * (100 - (60 / 1380) * 100)),
        period: "last_100_pages"
      })
      // Another organization's figures are its own.
      const outsider = yield* member("owner", "org_dash_outside")
      const theirs = expect(yield* call("GET", "/v1/tenant/dashboard", { token: outsider.key }), 200)
      assert.strictEqual((theirs.metrics as Json).total_pages, 0)
      const theirScore = expect(yield* call("GET", "/v1/quality-score", { token: outsider.key }), 200)
      assert.strictEqual(theirScore.tenantId, "org_dash_outside")
      assert.strictEqual(theirScore.totalPages, 0)
    }))
})
