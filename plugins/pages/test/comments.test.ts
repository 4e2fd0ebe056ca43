/**
 * Comments over real HTTP: what a comment must be (content, block, parent: 400 naming the
 * field, nothing written), threads, who may edit and delete (the author's proven identity or
 * the page's organization; anyone else 403), who may speak as the agent, and access rules.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import * as TestKit from "trellis/testing"
import { RunsPlugin } from "../../runs/Plugin.ts"
import { PagesPlugin } from "../Plugin.ts"
import { call, otherOrganization, publish } from "./liveSupport.ts"
import type { CommentJson, ProblemJson } from "./liveSupport.ts"

const T = 60_000

const commentsOf = (pageId: string, token: string | null = null) =>
  Effect.map(call<{ readonly comments: ReadonlyArray<CommentJson> }>("GET", `/v1/pages/${pageId}/comments`, { token }), (reply) => {
    assert.strictEqual(reply.status, 200, reply.text)
    return reply.body.comments
  })

const stored = (pageId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ readonly n: number | string }>`SELECT count(*) AS n FROM pages.comments WHERE page_id = ${pageId}`).pipe(
    Effect.map((rows) => Number(rows[0]!.n))
  )

layer(TestKit.layer({ plugins: [RunsPlugin, PagesPlugin] }), { timeout: 120_000 })("pages: comments", (it) => {
  it.effect("refuses a bad comment with a 400 naming the field, and writes nothing", () =>
    Effect.gen(function*() {
      const pageId = yield* publish({ access: { mode: "public" }, blocks: [{ id: "b1", type: "text", data: { content: "hi" } }] })
      const otherPage = yield* publish({ access: { mode: "public" } })
      const foreignParent = yield* call<CommentJson>("POST", `/v1/pages/${otherPage}/comments`, { body: { content: "x" }, token: null })
      assert.strictEqual(foreignParent.status, 201)
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{}, "content"],
        [{ content: "   " }, "content"],
        [{ content: "x".repeat(10_001) }, "content"],
        [{ content: "ok", block_id: "nope" }, "block_id"],
        [{ content: "ok", parent_id: "cmt_nosuchcomment" }, "parent_id"],
        [{ content: "ok", parent_id: foreignParent.body.id }, "parent_id"]
      ]
      for (const [body, field] of cases) {
        const reply = yield* call<ProblemJson>("POST", `/v1/pages/${pageId}/comments`, { body, token: null })
        assert.strictEqual(reply.status, 400, `${JSON.stringify(body).slice(0, 60)}: ${reply.text.slice(0, 300)}`)
        assert.strictEqual(reply.body.error.code, "INVALID_REQUEST")
        assert.include(reply.text, field)
      }
      assert.strictEqual(yield* stored(pageId), 0)
      assert.strictEqual((yield* call("POST", "/v1/pages/pg_nosuchpage00/comments", { body: { content: "x" }, token: null })).status, 404)
    }), T)

  it.effect("adds threaded comments anchored to blocks; lists them oldest first without auth on a public page", () =>
    Effect.gen(function*() {
      const pageId = yield* publish({ access: { mode: "public" }, blocks: [{ id: "b1", type: "text", data: { content: "hi" } }] })
      const first = yield* call<CommentJson>("POST", `/v1/pages/${pageId}/comments`, {
        body: { content: "The amount needs checking.", author_name: "Manager Zhang", block_id: "b1" },
        token: null
      })
      assert.strictEqual(first.status, 201, first.text)
      assert.match(first.body.id, /^cmt_[a-z0-9]{12}$/)
      assert.strictEqual(first.body.pageId, pageId)
      assert.strictEqual(first.body.authorName, "Manager Zhang")
      assert.strictEqual(first.body.authorType, "user")
      assert.strictEqual(first.body.blockId, "b1")
      assert.strictEqual(first.body.parentId, null)
      assert.match(first.body.createdAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
      const reply = yield* call<CommentJson>("POST", `/v1/pages/${pageId}/comments`, {
        body: { content: "Checked: correct.", parent_id: first.body.id },
        token: null
      })
      assert.strictEqual(reply.status, 201, reply.text)
      assert.strictEqual(reply.body.parentId, first.body.id)
      const listed = yield* commentsOf(pageId)
      assert.deepStrictEqual(listed.map((c) => c.id), [first.body.id, reply.body.id])
    }), T)

  it.effect("only the author or the page's organization edits or deletes; the agent voice is the organization's keys' only", () =>
    Effect.gen(function*() {
      const other = yield* otherOrganization
      const pageId = yield* publish({ access: { mode: "public" } })
      // A member of another organization comments: its identity is its proven principal.
      const theirs = yield* call<CommentJson>("POST", `/v1/pages/${pageId}/comments`, {
        body: { content: "mine", author_type: "agent" },
        token: other.token
      })
      assert.strictEqual(theirs.status, 201, theirs.text)
      assert.strictEqual(theirs.body.authorType, "user")
      assert.isNotNull(theirs.body.authorIdentity)
      const anonymous = yield* call<CommentJson>("POST", `/v1/pages/${pageId}/comments`, { body: { content: "anon" }, token: null })
      assert.strictEqual(anonymous.body.authorIdentity, null)
      const agent = yield* call<CommentJson>("POST", `/v1/pages/${pageId}/comments`, {
        body: { content: "from the agent", author_type: "agent", author_name: "refund-bot" }
      })
      assert.strictEqual(agent.body.authorType, "agent")

      // Anyone else (no identity, or a claimed editor_identity) may not edit or delete it.
      const path = `/v1/pages/${pageId}/comments/${theirs.body.id}`
      const claimed = yield* call<ProblemJson>("PATCH", path, {
        body: { content: "hijacked", editor_identity: theirs.body.authorIdentity },
        token: null
      })
      assert.strictEqual(claimed.status, 403)
      assert.strictEqual(claimed.body.error.code, "FORBIDDEN")
      assert.strictEqual((yield* call("DELETE", path, { token: null })).status, 403)
      assert.strictEqual((yield* call("PATCH", `/v1/pages/${pageId}/comments/${anonymous.body.id}`, { body: { content: "x" }, token: other.token })).status, 403)
      // The proven identity others see is hidden; its author and the page's organization see it.
      const seen = yield* commentsOf(pageId)
      assert.strictEqual(seen.find((c) => c.id === theirs.body.id)!.authorIdentity, null)
      assert.strictEqual((yield* commentsOf(pageId, other.token)).find((c) => c.id === theirs.body.id)!.authorIdentity, theirs.body.authorIdentity)
      assert.strictEqual((yield* commentsOf(pageId, TestKit.adminToken)).find((c) => c.id === theirs.body.id)!.authorIdentity, theirs.body.authorIdentity)

      // The author edits; the page's organization edits anyone's.
      const edited = yield* call<CommentJson>("PATCH", path, { body: { content: "mine, edited" }, token: other.token })
      assert.strictEqual(edited.status, 200, edited.text)
      assert.strictEqual(edited.body.content, "mine, edited")
      assert.isNotNull(edited.body.updatedAt)
      const moderated = yield* call<CommentJson>("PATCH", `/v1/pages/${pageId}/comments/${anonymous.body.id}`, { body: { content: "[moderated]" } })
      assert.strictEqual(moderated.status, 200, moderated.text)
      const empty = yield* call<ProblemJson>("PATCH", path, { body: { content: "" }, token: other.token })
      assert.strictEqual(empty.status, 400)

      // Delete: 204, gone from the list; again 404.
      assert.strictEqual((yield* call("DELETE", path, { token: other.token })).status, 204)
      assert.deepStrictEqual((yield* commentsOf(pageId)).map((c) => c.id), [anonymous.body.id, agent.body.id])
      assert.strictEqual((yield* call("DELETE", path, { token: other.token })).status, 404)
      assert.strictEqual((yield* call("PATCH", path, { body: { content: "back" }, token: other.token })).status, 404)
    }), T)

  it.effect("a private page: anonymous 401, another organization 403, for reading and writing", () =>
    Effect.gen(function*() {
      const other = yield* otherOrganization
      const pageId = yield* publish({ access: { mode: "private" } })
      assert.strictEqual((yield* call("GET", `/v1/pages/${pageId}/comments`, { token: null })).status, 401)
      assert.strictEqual((yield* call("POST", `/v1/pages/${pageId}/comments`, { body: { content: "x" }, token: null })).status, 401)
      assert.strictEqual((yield* call("GET", `/v1/pages/${pageId}/comments`, { token: other.token })).status, 403)
      assert.strictEqual((yield* call("POST", `/v1/pages/${pageId}/comments`, { body: { content: "x" }, token: other.token })).status, 403)
      assert.strictEqual(yield* stored(pageId), 0)
      assert.strictEqual((yield* call("POST", `/v1/pages/${pageId}/comments`, { body: { content: "x" } })).status, 201)
    }), T)
})
