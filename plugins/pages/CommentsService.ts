/**
 * The `Comments` service: a page's threaded comments, anchored to blocks, for the API routes
 * and the viewer's form alike. Tag and interface here; `Comments.ts` implements it.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { PageRecord } from "./Domain.ts"
import type { InvalidPage, PageForbidden, PageNotFound } from "./Errors.ts"
import type { CommentForbidden, CommentNotFound } from "./LiveErrors.ts"
import type { Viewer } from "./Viewers.ts"

/** A comment on the wire (seed 003's camelCase shape, plus Trellis's thread and edit members). */
export interface Comment {
  readonly id: string
  readonly pageId: string
  readonly content: string
  readonly authorName: string | null
  readonly authorType: "user" | "agent"
  readonly authorIdentity: string | null
  readonly blockId: string | null
  readonly parentId: string | null
  readonly createdAt: string
  readonly updatedAt: string | null
}

export interface NewComment {
  readonly content: string
  readonly authorName?: string | null | undefined
  readonly authorType?: "user" | "agent" | undefined
  readonly blockId?: string | null | undefined
  readonly parentId?: string | null | undefined
}

export class Comments extends Context.Service<Comments, {
  readonly add: (page: PageRecord, viewer: Viewer, comment: NewComment) => Effect.Effect<Comment, InvalidPage | PageForbidden | PageNotFound>
  /** Oldest first; replies carry their `parentId`. Deleted comments are left out. */
  readonly list: (page: PageRecord) => Effect.Effect<ReadonlyArray<Comment>>
  /** Edits the content: the author (the same identity) or a member of the page's organization. */
  readonly update: (
    page: PageRecord,
    viewer: Viewer,
    commentId: string,
    content: string
  ) => Effect.Effect<Comment, InvalidPage | CommentNotFound | CommentForbidden>
  /** Deletes (the row stays, marked deleted): the author or a member of the page's organization. */
  readonly remove: (page: PageRecord, viewer: Viewer, commentId: string) => Effect.Effect<void, CommentNotFound | CommentForbidden>
}>()("pages/Comments") {}
