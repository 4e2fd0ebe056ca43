/**
 * The `Pages` service as other parts use it (through a probe plugin that registers a listener):
 * listeners hear `published`, `completed` and `closed`; `complete` is one guarded transition
 * (a second completion answers `None`); `countAction` and `countView` move the page's `stats`
 * and write `page_views` rows; `block` finds nested blocks. And across a restart: a pending
 * expiry job survives the process and expires the page in the next one.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Deferred, Effect, Option } from "effect"
import { SqlClient } from "effect/sql"
import { CurrentPrincipal, systemPrincipal } from "trellis/plugin"
import * as TestKit from "trellis/testing"
import { call, eventually } from "../../automations/test/support.ts"
import type { Json } from "../../automations/test/support.ts"
import { testRunsPlugin } from "../../runs/test/support.ts"
import { PagesPlugin } from "../Plugin.ts"
import { Pages } from "../PagesService.ts"

const T = 180_000

const heard: Array<string> = []
const services = Effect.runSync(Deferred.make<Pages["Service"]>())

const probe = (target: Deferred.Deferred<Pages["Service"]>, record: boolean) =>
  TestKit.probe({ id: "pages_probe", requires: ["pages"] }, Effect.gen(function*() {
    const pages = yield* Pages
    if (record) {
      yield* pages.listen({
        name: "test",
        published: (page) => Effect.sync(() => void heard.push(`published:${page.id}`)),
        completed: (page, outcome) => Effect.sync(() => void heard.push(`completed:${page.id}:${outcome.decision}`)),
        closed: (page) => Effect.sync(() => void heard.push(`closed:${page.id}:${page.status}`))
      })
    }
    yield* Deferred.succeed(target, pages)
  }))

const asSystem = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provideService(effect, CurrentPrincipal, systemPrincipal("pages-tests"))

layer(TestKit.layer({ plugins: [testRunsPlugin(), PagesPlugin, probe(services, true)] }), { timeout: T, excludeTestServices: true })(
  "Pages service",
  (it) => {
    it.effect("listeners, complete, counters and nested blocks", () =>
      Effect.gen(function*() {
        const pages = yield* Deferred.await(services)
        const sql = yield* SqlClient.SqlClient
        const published = yield* pages.publish({
          title: "From a service",
          blocks: [{ type: "columns", data: { columns: [{ blocks: [{ id: "inner", type: "text", data: { content: "x" } }] }] } }],
          actions: [{ action_id: "approve", label: "Approve" }]
        }, { status: "active" }).pipe(asSystem)
        const id = published.page.id
        assert.include(heard, `published:${id}`)
        assert.strictEqual(published.page.createdBy, "system")
        assert.strictEqual(Option.getOrUndefined(pages.block(published.page, "inner"))?.type, "text")
        assert.isTrue(Option.isNone(pages.block(published.page, "nope")))

        yield* pages.countAction(id)
        yield* pages.countView(id, "viewer-1")
        yield* pages.countView(id, "viewer-1")
        yield* pages.countView(id, "viewer-2")
        const page = yield* call("GET", `/v1/pages/${id}`)
        const stats = page.body.stats as Json
        assert.strictEqual(stats.view_count, 3)
        assert.strictEqual(stats.action_count, 1)
        assert.isString(stats.last_viewed_at)
        const views = yield* sql<{ viewer_key: string; organization_id: string }>`
          SELECT viewer_key, organization_id FROM pages.page_views WHERE page_id = ${id} ORDER BY viewer_key`
        assert.deepStrictEqual(views.map((v) => v.viewer_key), ["viewer-1", "viewer-1", "viewer-2"])
        assert.strictEqual(views[0]!.organization_id, "org_default")

        const completed = yield* sql.withTransaction(pages.complete(id, { actionId: "approve", decision: "approve", actor: "ann@example.test" }))
        assert.strictEqual(Option.getOrUndefined(completed)?.status, "completed")
        assert.include(heard, `completed:${id}:approve`)
        const again = yield* pages.complete(id, { actionId: "approve", decision: "reject", actor: "bob@example.test" })
        assert.isTrue(Option.isNone(again), "a completed page completes once")
        const read = yield* call("GET", `/v1/pages/${id}`)
        assert.deepStrictEqual(read.body.outcome, { action_id: "approve", decision: "approve", actor: "ann@example.test" })
        assert.strictEqual(pages.conflict(Option.getOrThrow(completed)).currentStatus, "completed")

        const found = yield* pages.find(id)
        assert.strictEqual(Option.getOrUndefined(found)?.id, id)
        assert.isTrue(Option.isNone(yield* pages.find("pg_nothinghere")))

        const other = (yield* call("POST", "/v1/publish", { body: { title: "to revoke" } })).body.pageId as string
        yield* call("POST", `/v1/pages/${other}/revoke`, { body: {} })
        assert.include(heard, `closed:${other}:revoked`)
      }), T)
  }
)

describe("pages across restarts", () => {
  it.live("a pending expiry survives a restart and expires the page in the next process", () =>
    Effect.gen(function*() {
      const server = yield* TestKit.restartable({ plugins: [testRunsPlugin(), PagesPlugin] })
      const first = yield* Deferred.make<Pages["Service"]>()
      const id = yield* Effect.scoped(Effect.gen(function*() {
        yield* server.boot([testRunsPlugin(), PagesPlugin, probe(first, false)])
        const pages = yield* Deferred.await(first)
        const published = yield* pages.publish({ title: "expires later", expires_at: new Date(Date.now() + 3_000).toISOString() }, { status: "active" })
          .pipe(asSystem)
        return published.page.id
      }))
      const second = yield* Deferred.make<Pages["Service"]>()
      yield* Effect.scoped(Effect.gen(function*() {
        yield* server.boot([testRunsPlugin(), PagesPlugin, probe(second, false)])
        const pages = yield* Deferred.await(second)
        const expired = yield* eventually(Effect.map(pages.find(id), (page) => Option.getOrUndefined(page)?.status === "expired" ? true : undefined))
        assert.isTrue(expired)
      }))
    }), T)
})
