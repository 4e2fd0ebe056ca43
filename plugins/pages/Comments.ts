/**
 * The `Comments` implementation: a page's threaded comments in `pages.comments`. Each change
 * emits its `comment.*` event (the page stream, and the agent stream and inbox unless the
 * page's organization wrote it with a key: an agent does not need to hear of its own comment)
 * and an audit entry on the page, in one transaction.
 *
 * Who may change a comment is decided here, not from the body: Surflet's `editor_identity` /
 * `deleter_identity` are claims anyone could send, so the author is the viewer's proven
 * identity (`identityOf`), and a member of the page's organization may change any comment.
 */
import { Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { AuditLog, Row } from "trellis/plugin"
import * as Access from "./Access.ts"
import { Comments } from "./CommentsService.ts"
import type { Comment, NewComment } from "./CommentsService.ts"
import type { PageRecord } from "./Domain.ts"
import { InvalidPage, PageForbidden, PageNotFound } from "./Errors.ts"
import { CommentForbidden, CommentNotFound } from "./LiveErrors.ts"
import { PageEvents } from "./PageEvents.ts"
import type { PageEventType } from "./PageEvents.ts"
import { newId } from "./PageStreams.ts"
import { Pages } from "./PagesService.ts"
import { auditActorOf, identityOf } from "./Viewers.ts"
import type { Viewer } from "./Viewers.ts"

/** The longest comment, in characters. */
export const maxContentLength = 10_000
/** The longest author name, in characters. */
export const maxAuthorNameLength = 200

const CommentRow = Schema.Struct({
  id: Schema.String,
  page_id: Schema.String,
  content: Schema.String,
  author_name: Schema.NullOr(Schema.String),
  author_type: Schema.Literals(["user", "agent"]),
  author_identity: Schema.NullOr(Schema.String),
  block_id: Schema.NullOr(Schema.String),
  parent_id: Schema.NullOr(Schema.String),
  created_at: Row.Timestamp,
  updated_at: Schema.NullOr(Row.Timestamp)
})
const decodeRows = Row.decode(CommentRow)

const columns = "id, page_id, content, author_name, author_type, author_identity, block_id, parent_id, created_at, updated_at"

const toComment = (row: typeof CommentRow.Type): Comment => ({
  id: row.id,
  pageId: row.page_id,
  content: row.content,
  authorName: row.author_name,
  authorType: row.author_type,
  authorIdentity: row.author_identity,
  blockId: row.block_id,
  parentId: row.parent_id,
  createdAt: row.created_at,
  updatedAt: row.updated_at
})

/** Whether the viewer holds a credential of the page's organization. */
const isMember = (page: PageRecord, viewer: Viewer): boolean =>
  viewer._tag === "Member" && viewer.principal.organizationId === page.organizationId

/** A key (not a person's session) of the page's organization: its writes are the agent's own. */
const isOwnKey = (page: PageRecord, viewer: Viewer): boolean =>
  isMember(page, viewer) && viewer._tag === "Member" && viewer.principal.kind !== "user"

const checkContent = (content: string): Effect.Effect<string, InvalidPage> => {
  if (content.trim() === "") return Effect.fail(new InvalidPage({ field: "content", constraint: "required, not empty" }))
  if (content.length > maxContentLength) {
    return Effect.fail(new InvalidPage({ field: "content", constraint: `at most ${maxContentLength} characters` }))
  }
  return Effect.succeed(content)
}

export const layer = Layer.effect(
  Comments,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const pages = yield* Pages
    const events = yield* PageEvents
    const audit = yield* AuditLog

    const findRow = (page: PageRecord, commentId: string) =>
      sql`SELECT ${sql.literal(columns)} FROM pages.comments
        WHERE id = ${commentId} AND page_id = ${page.id} AND deleted_at IS NULL`.pipe(
        Effect.orDie,
        Effect.flatMap(decodeRows),
        Effect.map((rows) => Option.fromNullishOr(rows[0]))
      )

    const announce = (page: PageRecord, viewer: Viewer, type: PageEventType, comment: Comment, deleted: boolean) =>
      Effect.gen(function*() {
        const actor = identityOf(viewer) ?? "anonymous"
        yield* events.emit(page, {
          type,
          actor,
          toAgent: !isOwnKey(page, viewer),
          data: {
            commentId: comment.id,
            content: deleted ? null : comment.content,
            authorName: comment.authorName,
            blockId: comment.blockId,
            parentId: comment.parentId
          }
        })
        yield* audit.append({
          organizationId: page.organizationId,
          actor: auditActorOf(viewer),
          action: `pages.${type}`,
          target: { type: "page", id: page.id },
          details: { commentId: comment.id }
        })
      })

    /** The existing comment the viewer may change, or why not. */
    const changeable = (page: PageRecord, viewer: Viewer, commentId: string) =>
      Effect.gen(function*() {
        const row = yield* findRow(page, commentId)
        if (Option.isNone(row)) return yield* Effect.fail(new CommentNotFound({ pageId: page.id, commentId }))
        const identity = identityOf(viewer)
        const author = row.value.author_identity !== null && identity !== null &&
          row.value.author_identity.toLowerCase() === identity.toLowerCase()
        if (!author && !isMember(page, viewer)) return yield* Effect.fail(new CommentForbidden({ pageId: page.id, commentId }))
        return toComment(row.value)
      })

    const add = (page: PageRecord, viewer: Viewer, input: NewComment) =>
      Effect.gen(function*() {
        const access = Access.decide(page, viewer)
        if (access._tag === "NotFound") return yield* Effect.fail(new PageNotFound({ pageId: page.id }))
        if (access._tag !== "Allowed") return yield* Effect.fail(new PageForbidden({ pageId: page.id }))
        const content = yield* checkContent(input.content)
        const blockId = input.blockId ?? null
        if (blockId !== null && Option.isNone(pages.block(page, blockId))) {
          return yield* Effect.fail(new InvalidPage({ field: "block_id", constraint: "a block of this page" }))
        }
        const parentId = input.parentId ?? null
        if (parentId !== null && Option.isNone(yield* findRow(page, parentId))) {
          return yield* Effect.fail(new InvalidPage({ field: "parent_id", constraint: "a comment of this page" }))
        }
        const identity = identityOf(viewer)
        const givenName = input.authorName?.trim() ?? ""
        if (givenName.length > maxAuthorNameLength) {
          return yield* Effect.fail(new InvalidPage({ field: "author_name", constraint: `at most ${maxAuthorNameLength} characters` }))
        }
        const authorName = givenName === "" ? identity : givenName
        // Only the page's organization speaks as its agent; anyone else's comment is a person's.
        const authorType = input.authorType === "agent" && isOwnKey(page, viewer) ? "agent" : "user"
        const id = newId("cmt_", 12)
        return yield* Effect.gen(function*() {
          const rows = yield* sql`INSERT INTO pages.comments
              (id, page_id, organization_id, content, author_name, author_type, author_identity, block_id, parent_id)
            VALUES (${id}, ${page.id}, ${page.organizationId}, ${content}, ${authorName}, ${authorType}, ${identity},
              ${blockId}, ${parentId})
            RETURNING ${sql.literal(columns)}`.pipe(Effect.orDie, Effect.flatMap(decodeRows))
          const comment = toComment(rows[0]!)
          yield* announce(page, viewer, "comment.added", comment, false)
          return comment
        }).pipe(sql.withTransaction, Effect.orDie)
      })

    const list = (page: PageRecord) =>
      sql`SELECT ${sql.literal(columns)} FROM pages.comments
        WHERE page_id = ${page.id} AND deleted_at IS NULL ORDER BY created_at, id`.pipe(
        Effect.orDie,
        Effect.flatMap(decodeRows),
        Effect.map((rows) => rows.map(toComment))
      )

    const update = (page: PageRecord, viewer: Viewer, commentId: string, content: string) =>
      Effect.gen(function*() {
        const checked = yield* checkContent(content)
        yield* changeable(page, viewer, commentId)
        return yield* Effect.gen(function*() {
          const rows = yield* sql`UPDATE pages.comments SET content = ${checked}, updated_at = now()
            WHERE id = ${commentId} AND page_id = ${page.id} AND deleted_at IS NULL
            RETURNING ${sql.literal(columns)}`.pipe(Effect.orDie, Effect.flatMap(decodeRows))
          const row = rows[0]
          // Deleted between the check and the update: as if it had been gone before.
          if (row === undefined) return yield* Effect.fail(new CommentNotFound({ pageId: page.id, commentId }))
          const comment = toComment(row)
          yield* announce(page, viewer, "comment.updated", comment, false)
          return comment
        }).pipe(sql.withTransaction, Effect.catchTag("SqlError", Effect.die))
      })

    const remove = (page: PageRecord, viewer: Viewer, commentId: string) =>
      Effect.gen(function*() {
        yield* changeable(page, viewer, commentId)
        yield* Effect.gen(function*() {
          const rows = yield* sql`UPDATE pages.comments SET deleted_at = now()
            WHERE id = ${commentId} AND page_id = ${page.id} AND deleted_at IS NULL
            RETURNING ${sql.literal(columns)}`.pipe(Effect.orDie, Effect.flatMap(decodeRows))
          const row = rows[0]
          // Two racing deletes: one wins, the other finds it gone.
          if (row === undefined) return yield* Effect.fail(new CommentNotFound({ pageId: page.id, commentId }))
          yield* announce(page, viewer, "comment.deleted", toComment(row), true)
        }).pipe(sql.withTransaction, Effect.catchTag("SqlError", Effect.die))
      })

    return Comments.of({ add, list, update, remove })
  })
)
