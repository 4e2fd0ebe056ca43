/**
 * The live part's HTTP contract (seed 003): a page's event streams and comments, which a person
 * reaches from the page's link (public routes that still recognize a member, a magic-link
 * viewer or nobody, and decide with `Access.decide`), and the agent's side: its organization's
 * event stream, inbox, count and acknowledgements, and one page's agent events (authenticated,
 * `pages:read`; acknowledging is a write, `pages:write`).
 *
 * Client-safe: imports only `effect` and `trellis/contract`.
 */
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { AcceptsQueryToken, Authentication, Public, Requirement, Requires, WireDialect } from "trellis/contract"
import { InvalidPage, PageForbidden, PageGone, PageLoginRequired, PageNotFound } from "./Errors.ts"
import { AgentEventNotFound, CommentForbidden, CommentNotFound } from "./LiveErrors.ts"

const pageParams = { id: Schema.String }
const commentParams = { id: Schema.String, commentId: Schema.String }
/** What a person's route answers when the page is not theirs to see. */
const accessErrors = [PageNotFound, PageGone, PageLoginRequired, PageForbidden] as const
/** `?token=` for EventSource clients that cannot set a header; `?lastEventId=` (or `?after=`) as `Last-Event-ID`. */
const streamQuery = {
  token: Schema.optionalKey(Schema.String),
  lastEventId: Schema.optionalKey(Schema.String),
  after: Schema.optionalKey(Schema.String)
}
const eventStream = Schema.String.pipe(HttpApiSchema.asText({ contentType: "text/event-stream" }))

/** A comment on the wire (seed 003's camelCase, plus the thread and edit members). */
export const CommentView = Schema.Struct({
  id: Schema.String,
  pageId: Schema.String,
  content: Schema.String,
  authorName: Schema.NullOr(Schema.String),
  authorType: Schema.Literals(["user", "agent"]),
  /** The proven identity of the author (shown to the page's organization and to the author only). */
  authorIdentity: Schema.NullOr(Schema.String),
  blockId: Schema.NullOr(Schema.String),
  parentId: Schema.NullOr(Schema.String),
  createdAt: Schema.String,
  updatedAt: Schema.NullOr(Schema.String)
})
export type CommentView = typeof CommentView.Type

export const NewCommentBody = Schema.Struct({
  content: Schema.String,
  author_name: Schema.optionalKey(Schema.NullOr(Schema.String)),
  author_type: Schema.optionalKey(Schema.Literals(["user", "agent"])),
  block_id: Schema.optionalKey(Schema.NullOr(Schema.String)),
  parent_id: Schema.optionalKey(Schema.NullOr(Schema.String))
})

export const EditCommentBody = Schema.Struct({
  content: Schema.String,
  /** Accepted for Surflet's clients and ignored: the editor is the caller's proven identity. */
  editor_identity: Schema.optionalKey(Schema.NullOr(Schema.String))
})

/** An agent event: what a person did on one of the organization's pages. */
export const AgentEventView = Schema.Struct({
  id: Schema.String,
  type: Schema.String,
  pageId: Schema.String,
  data: Schema.Record(Schema.String, Schema.Unknown),
  actor: Schema.String,
  /** The event's number on the agent stream (its SSE `id:`). */
  seq: Schema.Number,
  createdAt: Schema.String,
  acked: Schema.Boolean,
  ackedAt: Schema.NullOr(Schema.String),
  ackedBy: Schema.NullOr(Schema.String)
})
export type AgentEventView = typeof AgentEventView.Type

export const AgentInboxPage = Schema.Struct({
  events: Schema.Array(AgentEventView),
  /** Pending events in all (of the page, with `page_id`), beyond `limit` too. */
  total: Schema.Number
})

export const AgentInboxCount = Schema.Struct({ count: Schema.Number })

export const AckResult = Schema.Struct({ id: Schema.String, acked: Schema.Literal(true), ackedAt: Schema.String })

const limitOf = (maximum: number) => Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum })))

/** `GET /v1/pages/:id/events` and `/comments/stream`: a page's live events, for anyone who may open it. */
export class PageStreamsGroup extends HttpApiGroup.make("pageStreams")
  .annotate(WireDialect, WireDialect.surflet)
  .annotate(Public, "a person follows a page from its link: the route recognizes a member, a magic-link viewer or nobody and decides with the page's access rules")
  .add(
    HttpApiEndpoint.get("events", "/v1/pages/:id/events", {
      params: pageParams,
      query: streamQuery,
      success: eventStream,
      error: accessErrors
    }).annotateMerge(OpenApi.annotations({
      description: "Server-Sent Events: first `data: {\"type\":\"connected\",\"pageId\":...}`, then each page event as an " +
        "unnamed event (`EventSource.onmessage`) `data: {\"type\":\"<type>\",\"data\":{...}}` with `id:` its number; " +
        "`Last-Event-ID` (or `?lastEventId=`) replays what followed, otherwise only new events; `:ping` keepalives. " +
        "A page that is not public takes the viewer cookie, a bearer token or `?token=`."
    })),
    HttpApiEndpoint.get("commentStream", "/v1/pages/:id/comments/stream", {
      params: pageParams,
      query: streamQuery,
      success: eventStream,
      error: accessErrors
    }).annotateMerge(OpenApi.annotations({
      description: "As `/events`, only `comment.added`, `comment.updated` and `comment.deleted`; starts with a `: heartbeat` comment."
    }))
  )
  .annotateMerge(OpenApi.annotations({ title: "Page streams", description: "A page's live events (seed 003)." }))
{}

/** `/v1/pages/:id/comments`: a page's threaded comments. */
export class PageCommentsGroup extends HttpApiGroup.make("pageComments")
  .annotate(WireDialect, WireDialect.surflet)
  .annotate(Public, "a person comments from the page's link: the route recognizes a member, a magic-link viewer or nobody and decides with the page's access rules")
  .add(
    HttpApiEndpoint.post("add", "/v1/pages/:id/comments", {
      params: pageParams,
      payload: NewCommentBody,
      success: CommentView.pipe(HttpApiSchema.status(201)),
      error: [...accessErrors, InvalidPage]
    }).annotateMerge(OpenApi.annotations({
      description: "Adds a comment (`content` 1 to 10,000 characters; `block_id` a block of the page; `parent_id` a comment " +
        "of the page). The author is the caller's proven identity; `author_type: \"agent\"` only from a key of the page's organization."
    })),
    HttpApiEndpoint.get("list", "/v1/pages/:id/comments", {
      params: pageParams,
      success: Schema.Struct({ comments: Schema.Array(CommentView) }),
      error: accessErrors
    }).annotateMerge(OpenApi.annotations({ description: "The page's comments, oldest first; deleted ones are left out." })),
    HttpApiEndpoint.patch("update", "/v1/pages/:id/comments/:commentId", {
      params: commentParams,
      payload: EditCommentBody,
      success: CommentView,
      error: [...accessErrors, InvalidPage, CommentNotFound, CommentForbidden]
    }).annotateMerge(OpenApi.annotations({
      description: "Edits a comment: its author (the same proven identity) or a member of the page's organization; anyone else 403."
    })),
    HttpApiEndpoint.delete("remove", "/v1/pages/:id/comments/:commentId", {
      params: commentParams,
      success: HttpApiSchema.NoContent,
      error: [...accessErrors, CommentNotFound, CommentForbidden]
    }).annotateMerge(OpenApi.annotations({
      description: "Deletes a comment (same rule as editing). A body `deleter_identity` is ignored: the caller's identity counts."
    }))
  )
  .annotateMerge(OpenApi.annotations({ title: "Page comments", description: "Threaded comments on a page (seed 003)." }))
{}

/** The publishing agent's side: its organization's events, inbox and acknowledgements. */
export class AgentEventsGroup extends HttpApiGroup.make("agentEvents")
  .annotate(WireDialect, WireDialect.surflet)
  .add(
    HttpApiEndpoint.get("stream", "/v1/agent/events", {
      query: streamQuery,
      success: eventStream
    }).annotate(Requires, Requirement.stream("pages")).annotate(AcceptsQueryToken, true).annotateMerge(OpenApi.annotations({
      description: "Server-Sent Events of what people did on the organization's pages: unnamed events, `id:` the event's " +
        "number, `data: {id, type, pageId, data, actor, createdAt}`. `Last-Event-ID` (a number, or an `evt_` id) replays " +
        "what followed, then live events; without it only new events. `?token=` for clients that cannot set headers."
    })),
    HttpApiEndpoint.get("inbox", "/v1/agent/inbox", {
      query: { limit: limitOf(500), page_id: Schema.optionalKey(Schema.String) },
      success: AgentInboxPage
    }).annotate(Requires, Requirement.read("pages")).annotateMerge(OpenApi.annotations({
      description: "Pending (not acknowledged) agent events, oldest first: `limit` (default 50, at most 500), `page_id`; " +
        "`total` counts every pending one."
    })),
    HttpApiEndpoint.get("count", "/v1/agent/inbox/count", {
      success: AgentInboxCount
    }).annotate(Requires, Requirement.read("pages")).annotateMerge(OpenApi.annotations({
      description: "`{count}`: how many agent events are pending."
    })),
    HttpApiEndpoint.post("ack", "/v1/events/:id/ack", {
      params: pageParams,
      success: AckResult,
      error: AgentEventNotFound
    }).annotate(Requires, Requirement.write("pages")).annotateMerge(OpenApi.annotations({
      description: "Acknowledges an agent event (it leaves the inbox). Idempotent: again answers the first `ackedAt`."
    })),
    HttpApiEndpoint.get("pageEvents", "/v1/pages/:id/agent-events", {
      params: pageParams,
      query: { limit: limitOf(1000) },
      success: Schema.Struct({ events: Schema.Array(AgentEventView) }),
      error: PageNotFound
    }).annotate(Requires, Requirement.read("pages")).annotateMerge(OpenApi.annotations({
      description: "Every agent event of one page, acknowledged or not, oldest first (`limit`: default 500, at most 1000)."
    }))
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({
    title: "Agent events",
    description: "What people did on the organization's pages: a live stream, an inbox with acknowledgements (seed 003)."
  }))
{}

/** The live part's API value, for its handlers and for typed clients of just these routes. */
export class PagesLiveApi extends HttpApi.make("pagesLive").add(PageStreamsGroup).add(PageCommentsGroup).add(AgentEventsGroup) {}
