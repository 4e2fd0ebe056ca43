/**
 * The live part's HTTP handlers: page streams, comments and the agent's events. Thin: they find
 * the caller (`Viewers` on the public routes, `CurrentPrincipal` on the agent's), decide access
 * and call `Comments`, `AgentInbox` or `Sse`.
 */
import { Effect, Layer, Option, Schema } from "effect"
import { HttpServerRequest } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { CurrentPrincipal, Sse } from "trellis/plugin"
import type { StoredEvent } from "trellis/plugin"
import * as Access from "./Access.ts"
import { AgentInbox } from "./AgentInbox.ts"
import { Comments } from "./CommentsService.ts"
import type { Comment } from "./CommentsService.ts"
import type { PageRecord } from "./Domain.ts"
import { PageForbidden, PageGone, PageLoginRequired, PageNotFound } from "./Errors.ts"
import { AgentEventNotFound } from "./LiveErrors.ts"
import { PagesLiveApi } from "./LiveApi.ts"
import { AgentStream, PageEventData, PageStream } from "./PageStreams.ts"
import { Pages } from "./PagesService.ts"
import { identityOf, Viewers } from "./Viewers.ts"
import type { Viewer } from "./Viewers.ts"

const decodePageEvent = Schema.decodeUnknownOption(PageEventData)

/** A page event as seed 003's clients read it: an unnamed event, `{type, data}`. */
const pageFrame = (event: StoredEvent) => ({
  event: undefined,
  data: {
    type: event.event,
    data: Option.match(decodePageEvent(event.data), { onNone: () => ({}), onSome: (decoded) => decoded.data })
  }
})

/** An agent event: unnamed, its data as stored (`{id, type, pageId, data, actor, createdAt}`). */
const agentFrame = (event: StoredEvent) => ({ event: undefined, data: event.data })

const isComment = (event: StoredEvent): boolean => event.event.startsWith("comment.")

/** The page if this viewer may open it; otherwise the problem each access decision answers. */
const openPage = (pages: Pages["Service"], pageId: string, viewer: Viewer) =>
  Effect.gen(function*() {
    const found = yield* pages.find(pageId)
    if (Option.isNone(found)) return yield* Effect.fail(new PageNotFound({ pageId }))
    const page = found.value
    const decision = Access.decide(page, viewer)
    switch (decision._tag) {
      case "Allowed":
        return page
      case "NotFound":
        return yield* Effect.fail(new PageNotFound({ pageId }))
      case "Gone":
        return yield* Effect.fail(new PageGone({ pageId, currentStatus: page.status }))
      case "LoginRequired":
        return yield* Effect.fail(new PageLoginRequired({ pageId }))
      case "Forbidden":
        return yield* Effect.fail(new PageForbidden({ pageId }))
    }
  })

/**
 * A comment as this viewer sees it: the author's proven identity (an email address) only for
 * the page's organization and the author; anyone else sees the name the author chose.
 */
const viewFor = (page: PageRecord, viewer: Viewer) => (comment: Comment): Comment => {
  if (viewer._tag === "Member" && viewer.principal.organizationId === page.organizationId) return comment
  const identity = identityOf(viewer)
  if (identity !== null && comment.authorIdentity?.toLowerCase() === identity.toLowerCase()) return comment
  return { ...comment, authorIdentity: null }
}

const PageStreamsHttp = HttpApiBuilder.group(
  PagesLiveApi,
  "pageStreams",
  Effect.fn(function*(handlers) {
    const pages = yield* Pages
    const viewers = yield* Viewers
    /** The viewer, with `?token=` for EventSource clients that cannot set a header. */
    const streamViewer = (token: string | undefined) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        if (token !== undefined && token !== "" && request.headers["authorization"] === undefined) return yield* viewers.ofToken(token)
        return yield* viewers.current
      })
    return handlers
      .handle("events", ({ params, query }) =>
        Effect.gen(function*() {
          const page = yield* openPage(pages, params.id, yield* streamViewer(query.token))
          return yield* Sse.response(PageStream.at(page.id), {
            start: "end",
            intro: `data: ${JSON.stringify({ type: "connected", pageId: page.id })}\n\n`,
            format: pageFrame
          })
        }))
      .handle("commentStream", ({ params, query }) =>
        Effect.gen(function*() {
          const page = yield* openPage(pages, params.id, yield* streamViewer(query.token))
          return yield* Sse.response(PageStream.at(page.id), {
            start: "end",
            intro: ": heartbeat\n\n",
            format: pageFrame,
            filter: isComment
          })
        }))
  })
)

const PageCommentsHttp = HttpApiBuilder.group(
  PagesLiveApi,
  "pageComments",
  Effect.fn(function*(handlers) {
    const pages = yield* Pages
    const viewers = yield* Viewers
    const comments = yield* Comments
    const opened = (pageId: string) =>
      Effect.gen(function*() {
        const viewer = yield* viewers.current
        const page = yield* openPage(pages, pageId, viewer)
        return { viewer, page } as const
      })
    return handlers
      .handle("add", ({ params, payload }) =>
        Effect.gen(function*() {
          const { page, viewer } = yield* opened(params.id)
          const comment = yield* comments.add(page, viewer, {
            content: payload.content,
            authorName: payload.author_name,
            authorType: payload.author_type,
            blockId: payload.block_id,
            parentId: payload.parent_id
          })
          return viewFor(page, viewer)(comment)
        }))
      .handle("list", ({ params }) =>
        Effect.gen(function*() {
          const { page, viewer } = yield* opened(params.id)
          const all = yield* comments.list(page)
          return { comments: all.map(viewFor(page, viewer)) }
        }))
      .handle("update", ({ params, payload }) =>
        Effect.gen(function*() {
          const { page, viewer } = yield* opened(params.id)
          const comment = yield* comments.update(page, viewer, params.commentId, payload.content)
          return viewFor(page, viewer)(comment)
        }))
      .handle("remove", ({ params }) =>
        Effect.gen(function*() {
          const { page, viewer } = yield* opened(params.id)
          yield* comments.remove(page, viewer, params.commentId)
        }))
  })
)

const AgentEventsHttp = HttpApiBuilder.group(
  PagesLiveApi,
  "agentEvents",
  Effect.fn(function*(handlers) {
    const pages = yield* Pages
    const inbox = yield* AgentInbox
    return handlers
      .handle("stream", () =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          const request = yield* HttpServerRequest.HttpServerRequest
          // Surflet's clients resume with the event's own id (`Last-Event-ID: evt_...`).
          const given = request.headers["last-event-id"]?.trim()
          const lastEventId = given !== undefined && given.startsWith("evt_")
            ? Option.getOrUndefined(yield* inbox.seqOf(principal.organizationId, given))
            : undefined
          const stream = AgentStream.at(principal.organizationId)
          // Events the event log's retention deleted are replayed from the inbox table.
          const fill = (gap: { readonly from: number; readonly to: number }) =>
            Effect.map(inbox.range(principal.organizationId, gap.from, gap.to), (events) =>
              events.map((e): StoredEvent => ({
                stream: stream.name,
                seq: e.seq,
                event: e.type,
                data: { id: e.id, type: e.type, pageId: e.pageId, data: e.data, actor: e.actor, createdAt: e.createdAt },
                createdAt: new Date(e.createdAt)
              })))
          return yield* Sse.response(stream, { start: "end", format: agentFrame, lastEventId, fill })
        }))
      .handle("inbox", ({ query }) =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          return yield* inbox.pending(principal.organizationId, { limit: query.limit ?? 50, pageId: query.page_id })
        }))
      .handle("count", () =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          return { count: yield* inbox.count(principal.organizationId) }
        }))
      .handle("ack", ({ params }) =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          const acked = yield* inbox.ack(principal.organizationId, params.id, principal.id)
          if (Option.isNone(acked) || acked.value.ackedAt === null) {
            return yield* Effect.fail(new AgentEventNotFound({ eventId: params.id }))
          }
          return { id: acked.value.id, acked: true as const, ackedAt: acked.value.ackedAt }
        }))
      .handle("pageEvents", ({ params, query }) =>
        Effect.gen(function*() {
          const page = yield* pages.get(params.id)
          return { events: yield* inbox.ofPage(page.organizationId, page.id, query.limit ?? 500) }
        }))
  })
)

export const LiveHttpLive = Layer.mergeAll(PageStreamsHttp, PageCommentsHttp, AgentEventsHttp)
