/**
 * The pages core routes over real HTTP (embedded PGlite, or PostgreSQL with
 * TRELLIS_TEST_DATABASE_URL): publish and drafts, read, update, publish a draft, revoke,
 * renew, expiry by its delayed job, the four block routes (racing appends included), the
 * page's audit log (and that the organization's chain still verifies), and the 4xx answers.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import * as TestKit from "trellis/testing"
import { call, eventually } from "../../automations/test/support.ts"
import type { Json } from "../../automations/test/support.ts"
import { testRunsPlugin } from "../../runs/test/support.ts"
import { member, serviceKey } from "../../tickets/test/support.ts"
import { PagesPlugin } from "../Plugin.ts"

const T = 180_000

const page = (extra: Json = {}): Json => ({
  title: "Refund Approval #4821",
  page_type: "approval",
  summary: "Customer reported damage",
  priority: "high",
  tags: ["refund"],
  blocks: [
    { id: "kv", type: "key_value", data: { pairs: [{ key: "Customer", value: "Alice" }] } },
    { type: "text", data: { content: "## Hello" } }
  ],
  actions: [{ action_id: "approve", label: "Approve" }],
  ...extra
})

const publish = (body: Json = page(), token?: string) =>
  Effect.map(call("POST", "/v1/publish", { body, token }), (reply) => {
    assert.strictEqual(reply.status, 201, reply.text)
    return reply.body
  })

const get = (id: string, token?: string) =>
  Effect.map(call("GET", `/v1/pages/${id}`, { token }), (reply) => {
    assert.strictEqual(reply.status, 200, reply.text)
    return reply.body
  })

/** A refused request: its status, Surflet's `error.code`, and the field it names. */
const refused = (reply: { readonly status: number; readonly body: Json; readonly text: string }, status: number, field?: string) => {
  assert.strictEqual(reply.status, status, reply.text)
  const error = reply.body.error as Json
  assert.isString(error.code, reply.text)
  if (field !== undefined) assert.strictEqual(reply.body.field, field, reply.text)
  return reply.body
}

layer(TestKit.layer({ plugins: [testRunsPlugin(), PagesPlugin] }), { timeout: T, excludeTestServices: true })("pages core", (it) => {
  it.effect("publishes a page and reads it back in Surflet's shape", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const published = yield* publish()
      const id = published.pageId as string
      assert.match(id, /^pg_[a-z0-9]{12}$/)
      assert.strictEqual(published.status, "active")
      assert.strictEqual(published.pageUrl, `${kit.baseUrl}/p/${id}`)
      assert.strictEqual(published.shortUrl, published.pageUrl)
      assert.deepStrictEqual(published.warnings, [])
      const week = Date.parse(published.expiresAt as string) - Date.parse(published.createdAt as string)
      assert.isTrue(Math.abs(week - 7 * 24 * 3600 * 1000) < 60_000, "default expiry is seven days")

      const one = yield* get(id)
      assert.strictEqual(one.pageId, id)
      assert.strictEqual(one.status, "active")
      assert.strictEqual(one.title, "Refund Approval #4821")
      assert.strictEqual(one.page_type, "approval")
      assert.strictEqual(one.priority, "high")
      assert.deepStrictEqual(one.tags, ["refund"])
      assert.strictEqual(one.created_by, "system", "the admin token publishes as `system`")
      assert.strictEqual(one.version, 1)
      const blocks = one.blocks as ReadonlyArray<Json>
      assert.strictEqual(blocks[0]!.id, "kv", "given ids are kept")
      assert.match(blocks[1]!.id as string, /^b_1_[0-9a-f]{8}$/, "missing ids are assigned")
      assert.deepStrictEqual(one.actions, [{ action_id: "approve", label: "Approve" }])
      assert.deepStrictEqual(one.access, { mode: "public" })
      assert.strictEqual(one.approval_chain, null)
      assert.deepStrictEqual(one.stats, { view_count: 0, action_count: 0, last_viewed_at: null })
      assert.match(one.created_at as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    }), T)

  it.effect("answers advisory warnings in Surflet's wording and publishes anyway", () =>
    Effect.gen(function*() {
      const published = yield* publish(page({
        blocks: [
          { id: "b1", type: "callout", data: { message: "careful" } },
          { id: "b2", type: "metric", data: {} },
          { id: "b3", type: "sparkle", data: { x: 1 } }
        ]
      }))
      const warnings = published.warnings as ReadonlyArray<string>
      assert.include(warnings, "Block 'b1' (callout): use 'content' not 'message'. Fix: rename data.message → data.content")
      assert.include(warnings, "Block 'b2' (metric): data.items is missing. Expected: { items: [{ label, value }] }")
      assert.isTrue(warnings.some((w) => w.startsWith("Block 'b3' (sparkle): unknown block type")))
      assert.strictEqual(published.status, "active")
    }), T)

  it.effect("creates a draft, updates it, publishes it once", () =>
    Effect.gen(function*() {
      const drafted = yield* call("POST", "/v1/pages", { body: page({ expires_at: new Date(Date.now() + 3600_000).toISOString() }) })
      assert.strictEqual(drafted.status, 201, drafted.text)
      assert.strictEqual(drafted.body.status, "draft")
      const id = drafted.body.pageId as string
      assert.strictEqual((yield* get(id)).published_at, null)

      const updated = yield* call("PATCH", `/v1/pages/${id}`, { body: { title: "New title", blocks: [{ type: "divider" }] } })
      assert.strictEqual(updated.status, 200, updated.text)
      assert.strictEqual(updated.body.title, "New title")
      assert.strictEqual(updated.body.version, 2)
      assert.strictEqual((updated.body.blocks as ReadonlyArray<Json>).length, 1)
      assert.strictEqual(updated.body.summary, "Customer reported damage", "members not given are kept")

      const published = yield* call("POST", `/v1/pages/${id}/publish`, { body: {} })
      assert.strictEqual(published.status, 200, published.text)
      assert.strictEqual(published.body.status, "active")
      assert.isString(published.body.publishedAt)
      const again = yield* call("POST", `/v1/pages/${id}/publish`, { body: {} })
      const problem = refused(again, 409)
      assert.strictEqual(problem.currentStatus, "active")
      assert.strictEqual((problem.error as Json).code, "CONFLICT")
    }), T)

  it.effect("refuses bad pages naming the field, and stores nothing", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const count = Effect.map(sql<{ n: number | string }>`SELECT count(*) AS n FROM pages.pages`, (rows) => Number(rows[0]!.n))
      const before = yield* count
      const bad = (body: Json, field: string) =>
        Effect.gen(function*() {
          const problem = refused(yield* call("POST", "/v1/publish", { body }), 400, field)
          assert.strictEqual((problem.error as Json).code, "INVALID_REQUEST")
        })
      yield* bad(page({ blocks: [{ type: "text" }, "nope"] }), "blocks[1].type")
      yield* bad(page({ blocks: [{ data: {} }] }), "blocks[0].type")
      yield* bad(page({ blocks: [{ id: "x", type: "text" }, { id: "x", type: "divider" }] }), "blocks[1].id")
      yield* bad(page({ blocks: [{ type: "columns", data: { columns: [{ blocks: [{ id: 3 }] }] } }] }), "blocks[0].data.columns[0].blocks[0].type")
      yield* bad(page({ blocks: Array.from({ length: 501 }, () => ({ type: "divider" })) }), "blocks")
      yield* bad(page({ blocks: [{ type: "text", data: { content: "x".repeat(300 * 1024) } }] }), "blocks[0]")
      yield* bad(page({ expires_at: "2001-01-01T00:00:00Z" }), "expires_at")
      yield* bad(page({ expires_at: "next tuesday" }), "expires_at")
      yield* bad(page({ notify: { channels: [{ type: "email", target: "a@b.test" }, { type: "pager" }] } }), "notify.channels[1].type")
      yield* bad(page({ actions: [{ action_id: "a", label: "A" }, { action_id: "a", label: "B" }] }), "actions[1].action_id")
      yield* bad(page({ approval_chain: { steps: [{ step_id: "s", assignees: ["a@b.test"] }, { step_id: "s", assignees: ["c@d.test"] }] } }), "approval_chain.steps[1].step_id")
      yield* bad(page({ approval_chain: { steps: [{ step_id: "s", assignees: ["a@b.test"], quorum: 2 }] } }), "approval_chain.steps[0].quorum")
      yield* bad(page({ approval_chain: { steps: [{ step_id: "s", assignees: ["a@b.test"], quorum: 0 }] } }), "approval_chain.steps[0].quorum")
      // Not even JSON of the right shape: the platform's validation failure, in Surflet's dialect.
      const noTitle = yield* call("POST", "/v1/publish", { body: { blocks: [] } })
      assert.strictEqual(noTitle.status, 400, noTitle.text)
      assert.strictEqual((noTitle.body.error as Json).code, "INVALID_REQUEST")
      assert.strictEqual(yield* count, before)
    }), T)

  it.effect("another organization's page is not found; scopes are enforced", () =>
    Effect.gen(function*() {
      const id = (yield* publish()).pageId as string
      const outsider = yield* member("owner", "org_pages_outside")
      refused(yield* call("GET", `/v1/pages/${id}`, { token: outsider.key }), 404)
      refused(yield* call("PATCH", `/v1/pages/${id}`, { token: outsider.key, body: { title: "mine" } }), 404)
      refused(yield* call("PATCH", `/v1/pages/${id}/blocks`, { token: outsider.key, body: { blocks: [{ type: "divider" }] } }), 404)
      refused(yield* call("POST", `/v1/pages/${id}/revoke`, { token: outsider.key, body: {} }), 404)
      refused(yield* call("GET", `/v1/pages/${id}/audit`, { token: outsider.key }), 404)
      assert.strictEqual((yield* get(id)).title, "Refund Approval #4821")

      const reader = yield* serviceKey(["pages:read"])
      refused(yield* call("POST", "/v1/publish", { token: reader.key, body: page() }), 403)
      assert.strictEqual((yield* get(id, reader.key)).pageId, id)
      const writer = yield* serviceKey(["pages:read", "pages:write"])
      const own = yield* publish(page(), writer.key)
      const created = yield* get(own.pageId as string, writer.key)
      assert.match(created.created_by as string, /^agent:svc-/, "a service key publishes as agent:<key name>")
      const person = yield* member("editor")
      const theirs = yield* publish(page(), person.key)
      assert.match((yield* get(theirs.pageId as string)).created_by as string, /^user:u-.*@example\.test$/)
    }), T)

  it.effect("revoke, renew and update answer 409 in the wrong status", () =>
    Effect.gen(function*() {
      const id = (yield* publish()).pageId as string
      const revoked = yield* call("POST", `/v1/pages/${id}/revoke`, { body: { reason: "Duplicate request" } })
      assert.strictEqual(revoked.status, 200, revoked.text)
      assert.strictEqual(revoked.body.status, "revoked")
      assert.isString(revoked.body.revokedAt)
      const after = yield* get(id)
      assert.strictEqual(after.status, "revoked")
      assert.strictEqual(after.revoke_reason, "Duplicate request")
      assert.strictEqual(refused(yield* call("POST", `/v1/pages/${id}/revoke`, { body: {} }), 409).currentStatus, "revoked")
      refused(yield* call("PATCH", `/v1/pages/${id}`, { body: { title: "x" } }), 409)
      refused(yield* call("PATCH", `/v1/pages/${id}/blocks`, { body: { blocks: [{ type: "divider" }] } }), 409)
      refused(yield* call("POST", `/v1/pages/${id}/renew`, { body: { expires_at: new Date(Date.now() + 3600_000).toISOString() } }), 409)
      refused(yield* call("POST", `/v1/pages/${id}/blocks/insert`, { body: { position: 0, block: { type: "divider" } } }), 409)

      const active = (yield* publish()).pageId as string
      refused(yield* call("POST", `/v1/pages/${active}/renew`, { body: { expires_at: "2001-01-01T00:00:00Z" } }), 400, "expires_at")
      const later = new Date(Date.now() + 30 * 24 * 3600_000).toISOString()
      const renewed = yield* call("POST", `/v1/pages/${active}/renew`, { body: { expires_at: later } })
      assert.strictEqual(renewed.status, 200, renewed.text)
      assert.deepStrictEqual(renewed.body, { pageId: active, status: "active", expiresAt: later })
      refused(yield* call("GET", "/v1/pages/pg_doesnotexist"), 404)
    }), T)

  it.effect("block routes: append, fix one block, reorder, insert", () =>
    Effect.gen(function*() {
      const id = (yield* publish(page({ blocks: [{ id: "a", type: "text", data: { content: "A" } }] }))).pageId as string
      const appended = yield* call("PATCH", `/v1/pages/${id}/blocks`, {
        body: { blocks: [{ type: "text", data: { content: "B" } }, { id: "c", type: "callout", data: { message: "C" } }] }
      })
      assert.strictEqual(appended.status, 200, appended.text)
      assert.strictEqual(appended.body.version, 2)
      assert.strictEqual(appended.body.totalBlocks, 3)
      assert.strictEqual(appended.body.appendedBlocks, 2)
      const ids = appended.body.appendedBlockIds as ReadonlyArray<string>
      assert.match(ids[0]!, /^b_1_[0-9a-f]{8}$/)
      assert.strictEqual(ids[1], "c")
      assert.deepStrictEqual(appended.body.warnings, ["Block 'c' (callout): use 'content' not 'message'. Fix: rename data.message → data.content"])
      refused(yield* call("PATCH", `/v1/pages/${id}/blocks`, { body: { blocks: [{ id: "a", type: "divider" }] } }), 400, "blocks[0].id")
      refused(yield* call("PATCH", `/v1/pages/${id}/blocks`, { body: { blocks: [] } }), 400, "blocks")

      const fixed = yield* call("PATCH", `/v1/pages/${id}/blocks/c`, { body: { data: { content: "Corrected", style: "info" }, title: "Note" } })
      assert.strictEqual(fixed.status, 200, fixed.text)
      assert.deepStrictEqual(fixed.body, {
        pageId: id,
        blockId: "c",
        version: 3,
        block: { id: "c", type: "callout", title: "Note", data: { content: "Corrected", style: "info" } },
        warnings: []
      })
      const missing = refused(yield* call("PATCH", `/v1/pages/${id}/blocks/nope`, { body: { data: {} } }), 404)
      assert.strictEqual(missing.blockId, "nope")

      const reordered = yield* call("PUT", `/v1/pages/${id}/blocks/reorder`, { body: { block_order: ["c", "a"] } })
      assert.strictEqual(reordered.status, 200, reordered.text)
      assert.deepStrictEqual(reordered.body, { pageId: id, version: 4, block_order: ["c", "a", ids[0]] })
      refused(yield* call("PUT", `/v1/pages/${id}/blocks/reorder`, { body: { block_order: ["c", "zz"] } }), 400, "block_order[1]")

      const inserted = yield* call("POST", `/v1/pages/${id}/blocks/insert`, { body: { position: 1, block: { id: "ins", type: "callout", data: { content: "Inserted!", style: "info" } } } })
      assert.strictEqual(inserted.status, 200, inserted.text)
      assert.deepStrictEqual(inserted.body, { pageId: id, blockId: "ins", version: 5, position: 1, warnings: [] })
      refused(yield* call("POST", `/v1/pages/${id}/blocks/insert`, { body: { position: 0, block: "text" } }), 400, "block[0].type")
      refused(yield* call("POST", `/v1/pages/${id}/blocks/insert`, { body: { position: -1, block: { type: "divider" } } }), 400, "position")
      const final = yield* get(id)
      assert.deepStrictEqual((final.blocks as ReadonlyArray<Json>).map((b) => b.id), ["c", "ins", "a", ids[0]])
      assert.strictEqual(final.version, 5)
    }), T)

  it.effect("20 racing appends all land, with distinct versions and ids", () =>
    Effect.gen(function*() {
      const id = (yield* publish(page({ blocks: [] }))).pageId as string
      const replies = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) => call("PATCH", `/v1/pages/${id}/blocks`, { body: { blocks: [{ type: "text", data: { content: `n${i}` } }] } }),
        { concurrency: "unbounded" }
      )
      for (const reply of replies) assert.strictEqual(reply.status, 200, reply.text)
      const versions = replies.map((reply) => reply.body.version as number).sort((a, b) => a - b)
      assert.deepStrictEqual(versions, Array.from({ length: 20 }, (_, i) => i + 2))
      const final = yield* get(id)
      const blocks = final.blocks as ReadonlyArray<Json>
      assert.strictEqual(blocks.length, 20)
      assert.strictEqual(new Set(blocks.map((b) => b.id)).size, 20)
      assert.deepStrictEqual(new Set(blocks.map((b) => (b.data as Json).content)), new Set(Array.from({ length: 20 }, (_, i) => `n${i}`)))
      assert.strictEqual(final.version, 21)
    }), T)

  it.effect("the page's audit log lists its changes, and the organization's chain still verifies", () =>
    Effect.gen(function*() {
      const id = (yield* call("POST", "/v1/pages", { body: page() })).body.pageId as string
      yield* call("PATCH", `/v1/pages/${id}`, { body: { title: "t2" } })
      yield* call("POST", `/v1/pages/${id}/publish`, { body: {} })
      yield* call("PATCH", `/v1/pages/${id}/blocks`, { body: { blocks: [{ type: "divider" }] } })
      yield* call("POST", `/v1/pages/${id}/revoke`, { body: { reason: "done" } })
      const audit = yield* call("GET", `/v1/pages/${id}/audit`)
      assert.strictEqual(audit.status, 200, audit.text)
      assert.strictEqual(audit.body.total, 5)
      assert.strictEqual(audit.body.page, 1)
      assert.strictEqual(audit.body.per_page, 50)
      const items = audit.body.items as ReadonlyArray<Json>
      assert.deepStrictEqual(items.map((item) => item.event_type), [
        "pages.page.revoke",
        "pages.blocks.append",
        "pages.page.publish",
        "pages.page.update",
        "pages.page.draft"
      ])
      for (const item of items) {
        assert.match(item.chain_hash as string, /^sha256:[0-9a-f]{64}$/)
        assert.strictEqual(item.actor, "system")
        assert.match(item.timestamp as string, /\.\d{3}Z$/)
      }
      assert.deepStrictEqual(items[0]!.details, { reason: "done" })
      const second = yield* call("GET", `/v1/pages/${id}/audit?page=2&per_page=2`)
      assert.deepStrictEqual((second.body.items as ReadonlyArray<Json>).map((item) => item.event_type), ["pages.page.publish", "pages.page.update"])
      refused(yield* call("GET", `/v1/pages/${id}/audit?per_page=0`), 400)
      const verified = yield* call("GET", "/v1/audit/verify")
      assert.strictEqual(verified.status, 200, verified.text)
      assert.strictEqual(verified.body.status, "valid", verified.text)
    }), T)

  it.effect("a body over TRELLIS_MAX_BODY_BYTES is 413", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const reply = yield* call("POST", "/v1/publish", { body: page({ summary: "x".repeat(kit.config.maxBodyBytes + 10) }) })
      assert.strictEqual(reply.status, 413, reply.text)
    }), T)

  it.effect("a page expires when its expiry job runs; renewing makes it active again", () =>
    Effect.gen(function*() {
      const soon = new Date(Date.now() + 2_000).toISOString()
      const id = (yield* publish(page({ expires_at: soon }))).pageId as string
      yield* eventually(Effect.map(get(id), (one) => one.status === "expired" ? true : undefined))
      const audit = yield* call("GET", `/v1/pages/${id}/audit`)
      assert.strictEqual((audit.body.items as ReadonlyArray<Json>)[0]!.event_type, "pages.page.expire")
      refused(yield* call("PATCH", `/v1/pages/${id}/blocks`, { body: { blocks: [{ type: "divider" }] } }), 409)
      const later = new Date(Date.now() + 3600_000).toISOString()
      const renewed = yield* call("POST", `/v1/pages/${id}/renew`, { body: { expires_at: later } })
      assert.strictEqual(renewed.status, 200, renewed.text)
      assert.strictEqual((yield* get(id)).status, "active")
    }), T)
})
