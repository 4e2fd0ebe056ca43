/**
 * The live part over real HTTP: a page's event stream and comment stream (connected first,
 * unnamed events in order, resume after Last-Event-ID, access rules), the organization's agent
 * stream (replay, isolation between organizations, an agent's own writes left out), the agent
 * inbox, its count and acknowledgements.
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import * as TestKit from "trellis/testing"
import { RunsPlugin } from "../../runs/Plugin.ts"
import { PagesPlugin } from "../Plugin.ts"
import { bearer, call, dataFrames, otherOrganization, probePlugin, publish, sse } from "./liveSupport.ts"
import type { AgentEventJson, CommentJson, Json, ProblemJson, Services } from "./liveSupport.ts"

const services = Deferred.makeUnsafe<Services>()
const T = 60_000

/** A page event no route of this part emits, through the real `PageEvents`. */
const emit = (pageId: string, n: number) =>
  Effect.gen(function*() {
    const { pages, events } = yield* Deferred.await(services)
    const page = yield* pages.find(pageId)
    if (page._tag === "None") throw new Error(`no page ${pageId}`)
    yield* events.emit(page.value, { type: "page.updated", data: { n }, actor: "agent:test", toAgent: false })
  })

const comment = (pageId: string, content: string, token: string | null = null) =>
  Effect.map(call<CommentJson>("POST", `/v1/pages/${pageId}/comments`, { body: { content }, token }), (reply) => {
    assert.strictEqual(reply.status, 201, reply.text)
    return reply.body
  })

layer(
  Layer.mergeAll(TestKit.layer({ plugins: [RunsPlugin, PagesPlugin, probePlugin(services)] })),
  { timeout: 120_000 }
)("pages: live streams and agent events", (it) => {
  it.effect("page stream: connected first, then the page's events as unnamed events in order; Last-Event-ID resumes", () =>
    Effect.gen(function*() {
      const pageId = yield* publish({ access: { mode: "public" } })
      const stream = yield* sse(`/v1/pages/${pageId}/events`)
      assert.strictEqual(stream.status, 200)
      assert.match(stream.contentType ?? "", /^text\/event-stream/)
      const [connected] = yield* dataFrames(stream, 1)
      assert.deepStrictEqual(connected!.data, { type: "connected", pageId })
      assert.strictEqual(connected!.id, undefined)
      yield* emit(pageId, 1)
      yield* emit(pageId, 2)
      const added = yield* comment(pageId, "Looks right")
      const frames = yield* dataFrames(stream, 4)
      assert.deepStrictEqual(frames.map((f) => f.data.type), ["connected", "page.updated", "page.updated", "comment.added"])
      assert.deepStrictEqual(frames.slice(1).map((f) => f.event), [undefined, undefined, undefined])
      assert.deepStrictEqual(frames[1]!.data.data, { n: 1 })
      assert.deepStrictEqual(frames[3]!.data.data, {
        commentId: added.id,
        content: "Looks right",
        authorName: null,
        blockId: null,
        parentId: null
      })
      const ids = frames.slice(1).map((f) => Number(f.id))
      assert.deepStrictEqual(ids, [ids[0]!, ids[0]! + 1, ids[0]! + 2])

      // A reconnect after the first event gets connected, then exactly what followed it.
      const resumed = yield* sse(`/v1/pages/${pageId}/events`, { "last-event-id": String(ids[0]) })
      const again = yield* dataFrames(resumed, 3)
      assert.deepStrictEqual(again.map((f) => f.data.type), ["connected", "page.updated", "comment.added"])
      assert.deepStrictEqual(again.slice(1).map((f) => Number(f.id)), [ids[1], ids[2]])
    }).pipe(Effect.scoped), T)

  it.effect("comment stream: a heartbeat comment first, then only comment events", () =>
    Effect.gen(function*() {
      const pageId = yield* publish({ access: { mode: "public" } })
      const stream = yield* sse(`/v1/pages/${pageId}/comments/stream`)
      assert.strictEqual(stream.status, 200)
      yield* Effect.promise(() => stream.until((frames) => frames.some((f) => f.comment === " heartbeat")))
      yield* emit(pageId, 1)
      const first = yield* comment(pageId, "first")
      yield* emit(pageId, 2)
      const second = yield* comment(pageId, "second")
      const edited = yield* call("PATCH", `/v1/pages/${pageId}/comments/${first.id}`, { body: { content: "first, edited" } })
      assert.strictEqual(edited.status, 200, edited.text)
      const frames = yield* dataFrames(stream, 3)
      assert.deepStrictEqual(frames.map((f) => [f.data.type, (f.data.data as Json).commentId]), [
        ["comment.added", first.id],
        ["comment.added", second.id],
        ["comment.updated", first.id]
      ])
      // Nothing else came before the comments (the page events were filtered out, not delayed).
      assert.isTrue(stream.frames().every((f) => f.data === undefined || (JSON.parse(f.data) as Json).type !== "page.updated"))
    }).pipe(Effect.scoped), T)

  it.effect("an authenticated page refuses an anonymous stream (401); a member's token opens it, also as ?token=", () =>
    Effect.gen(function*() {
      const pageId = yield* publish({ access: { mode: "authenticated" } })
      const anonymous = yield* call<ProblemJson>("GET", `/v1/pages/${pageId}/events`, { token: null })
      assert.strictEqual(anonymous.status, 401)
      assert.strictEqual(anonymous.body.error.code, "UNAUTHORIZED")
      const comments = yield* call<ProblemJson>("GET", `/v1/pages/${pageId}/comments/stream`, { token: null })
      assert.strictEqual(comments.status, 401)
      const viaQuery = yield* sse(`/v1/pages/${pageId}/events?token=${TestKit.adminToken}`)
      assert.strictEqual(viaQuery.status, 200)
      assert.deepStrictEqual((yield* dataFrames(viaQuery, 1))[0]!.data, { type: "connected", pageId })
      const viaHeader = yield* sse(`/v1/pages/${pageId}/events`, bearer(TestKit.adminToken))
      assert.strictEqual(viaHeader.status, 200)
      // A private page: another organization's member is refused (403), and an unknown page is 404.
      const other = yield* otherOrganization
      const privateId = yield* publish({ access: { mode: "private" } })
      assert.strictEqual((yield* call("GET", `/v1/pages/${privateId}/events`, { token: other.token })).status, 403)
      assert.strictEqual((yield* call("GET", "/v1/pages/pg_nosuchpage00/events", { token: null })).status, 404)
    }).pipe(Effect.scoped), T)

  it.effect("agent stream: people's events of the organization only, replayed after Last-Event-ID (a number or an evt_ id)", () =>
    Effect.gen(function*() {
      const other = yield* otherOrganization
      const pageA = yield* publish({ access: { mode: "public" } })
      const pageB = yield* publish({ access: { mode: "public" } }, other.token)
      const streamA = yield* sse("/v1/agent/events", bearer(TestKit.adminToken))
      const streamB = yield* sse(`/v1/agent/events?token=${other.token}`)
      assert.strictEqual(streamA.status, 200)
      assert.strictEqual(streamB.status, 200)
      yield* Effect.promise(() => streamA.until((frames) => frames.length > 0))
      yield* Effect.promise(() => streamB.until((frames) => frames.length > 0))

      // The organization's own key writes a comment: not news to its agent.
      yield* comment(pageA, "from the agent itself", TestKit.adminToken)
      const one = yield* comment(pageA, "one")
      const onB = yield* comment(pageB, "on B's page")
      const two = yield* comment(pageA, "two")
      const framesA = yield* dataFrames(streamA, 2)
      assert.deepStrictEqual(framesA.map((f) => (f.data.data as Json).commentId), [one.id, two.id])
      const first = framesA[0]!
      assert.strictEqual(first.event, undefined)
      assert.strictEqual(first.data.type, "comment.added")
      assert.strictEqual(first.data.pageId, pageA)
      assert.strictEqual(first.data.actor, "anonymous")
      assert.match(String(first.data.id), /^evt_[a-z0-9]{16}$/)
      assert.match(String(first.data.createdAt), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
      const framesB = yield* dataFrames(streamB, 1)
      assert.deepStrictEqual(framesB.map((f) => (f.data.data as Json).commentId), [onB.id])

      // Replay after the first event, by its number and by its evt_ id.
      for (const lastEventId of [String(first.id), String(first.data.id)]) {
        const resumed = yield* sse("/v1/agent/events", { ...bearer(TestKit.adminToken), "last-event-id": lastEventId })
        const replayed = yield* dataFrames(resumed, 1)
        assert.deepStrictEqual(replayed.map((f) => (f.data.data as Json).commentId), [two.id])
      }
      // B never saw A's events.
      assert.isTrue(streamB.frames().every((f) => f.data === undefined || (JSON.parse(f.data) as Json).pageId === pageB))
      // Without a token the stream is refused.
      assert.strictEqual((yield* call("GET", "/v1/agent/events", { token: null })).status, 401)
    }).pipe(Effect.scoped), T)

  it.effect("agent stream: events the event log's retention deleted are replayed from the inbox table, not a gap", () =>
    Effect.gen(function*() {
      const other = yield* otherOrganization
      const pageId = yield* publish({ access: { mode: "public" } }, other.token)
      const one = yield* comment(pageId, "one")
      const two = yield* comment(pageId, "two")
      const sql = yield* SqlClient.SqlClient
      // Retention deletes the oldest events: here the first of the two.
      yield* sql`DELETE FROM trellis.events WHERE stream = ${`pages.agent.${other.orgId}`} AND seq = 1`
      const stream = yield* sse(`/v1/agent/events?token=${other.token}&lastEventId=0`)
      const frames = yield* dataFrames(stream, 2)
      assert.deepStrictEqual(frames.map((f) => (f.data.data as Json).commentId), [one.id, two.id])
      assert.deepStrictEqual(frames.map((f) => f.id), ["1", "2"])
      assert.isTrue(stream.frames().every((f) => f.event !== "gap"))
    }).pipe(Effect.scoped), T)

  it.effect("agent inbox: pending events oldest first, count, idempotent ack, another organization's event is 404", () =>
    Effect.gen(function*() {
      const other = yield* otherOrganization
      const pageId = yield* publish({ access: { mode: "public" } }, other.token)
      const otherPage = yield* publish({ access: { mode: "public" } }, other.token)
      const count = () =>
        Effect.map(call<{ readonly count: number }>("GET", "/v1/agent/inbox/count", { token: other.token }), (reply) => {
          assert.strictEqual(reply.status, 200, reply.text)
          return reply.body.count
        })
      assert.strictEqual(yield* count(), 0)
      const one = yield* comment(pageId, "one")
      const two = yield* comment(pageId, "two")
      yield* comment(otherPage, "elsewhere")
      assert.strictEqual(yield* count(), 3)

      const inbox = yield* call<{ readonly events: ReadonlyArray<AgentEventJson>; readonly total: number }>(
        "GET",
        `/v1/agent/inbox?page_id=${pageId}&limit=1`,
        { token: other.token }
      )
      assert.strictEqual(inbox.status, 200, inbox.text)
      assert.strictEqual(inbox.body.total, 2)
      assert.deepStrictEqual(inbox.body.events.map((e) => e.data.commentId), [one.id])
      const event = inbox.body.events[0]!
      assert.strictEqual(event.pageId, pageId)
      assert.strictEqual(event.acked, false)

      // Another organization's key cannot acknowledge it (it does not exist for them).
      const foreign = yield* call<ProblemJson>("POST", `/v1/events/${event.id}/ack`, {})
      assert.strictEqual(foreign.status, 404)
      assert.strictEqual(foreign.body.error.code, "NOT_FOUND")
      const acked = yield* call<{ readonly id: string; readonly acked: boolean; readonly ackedAt: string }>(
        "POST",
        `/v1/events/${event.id}/ack`,
        { token: other.token }
      )
      assert.strictEqual(acked.status, 200, acked.text)
      assert.strictEqual(acked.body.id, event.id)
      assert.strictEqual(acked.body.acked, true)
      const again = yield* call<{ readonly ackedAt: string }>("POST", `/v1/events/${event.id}/ack`, { token: other.token })
      assert.strictEqual(again.status, 200)
      assert.strictEqual(again.body.ackedAt, acked.body.ackedAt)
      assert.strictEqual(yield* count(), 2)
      assert.strictEqual((yield* call("POST", "/v1/events/evt_nosuchevent000/ack", { token: other.token })).status, 404)

      const pending = yield* call<{ readonly events: ReadonlyArray<AgentEventJson>; readonly total: number }>(
        "GET",
        "/v1/agent/inbox",
        { token: other.token }
      )
      assert.deepStrictEqual(pending.body.events.map((e) => e.data.commentId), [two.id, pending.body.events[1]!.data.commentId])
      assert.strictEqual(pending.body.total, 2)

      // One page's agent events: acknowledged ones too; another organization's page is 404.
      const ofPage = yield* call<{ readonly events: ReadonlyArray<AgentEventJson> }>("GET", `/v1/pages/${pageId}/agent-events`, {
        token: other.token
      })
      assert.strictEqual(ofPage.status, 200, ofPage.text)
      assert.deepStrictEqual(ofPage.body.events.map((e) => [e.data.commentId, e.acked]), [[one.id, true], [two.id, false]])
      assert.strictEqual((yield* call("GET", `/v1/pages/${pageId}/agent-events`, {})).status, 404)
      // The admin organization's inbox holds none of these.
      const mine = yield* call<{ readonly events: ReadonlyArray<AgentEventJson> }>("GET", "/v1/agent/inbox?limit=500", {})
      assert.isTrue(mine.body.events.every((e) => e.pageId !== pageId && e.pageId !== otherPage))
    }), T)
})
