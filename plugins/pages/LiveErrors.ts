/**
 * The problems of the page streams, agent inbox and comment routes (the live part), beside
 * the plugin's shared ones in `Errors.ts`. Surflet's codes, precise `type` URIs.
 *
 * Client-safe: imports only `effect` and `trellis/contract`.
 */
import { Schema } from "effect"
import { Problem, typeFor } from "trellis/contract"

/** 404: no such comment on this page (or it was deleted). */
export class CommentNotFound extends Problem<CommentNotFound>()("CommentNotFound", {
  code: "NOT_FOUND",
  type: typeFor("COMMENT_NOT_FOUND"),
  status: 404,
  title: "Comment not found"
}, { pageId: Schema.String, commentId: Schema.String }) {}

/** 403: only the comment's author (the same proven identity) or the page's organization may change it. */
export class CommentForbidden extends Problem<CommentForbidden>()("CommentForbidden", {
  code: "FORBIDDEN",
  type: typeFor("COMMENT_FORBIDDEN"),
  status: 403,
  title: "You may not change this comment"
}, { pageId: Schema.String, commentId: Schema.String }) {}

/** 404: no such agent event in the caller's organization. */
export class AgentEventNotFound extends Problem<AgentEventNotFound>()("AgentEventNotFound", {
  code: "NOT_FOUND",
  type: typeFor("AGENT_EVENT_NOT_FOUND"),
  status: 404,
  title: "Event not found"
}, { eventId: Schema.String }) {}

export const liveProblems = [CommentNotFound, CommentForbidden, AgentEventNotFound] as const
