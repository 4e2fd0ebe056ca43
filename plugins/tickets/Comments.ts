/**
 * The comment thread of a ticket and the review state derived from it (SessionFS seed 001).
 *
 * Posting is one `INSERT ... SELECT` from the ticket row, so a `lease_epoch` fence and the
 * write are the same statement: a comment from a worker whose claim was taken over never
 * lands. Reading is oldest first, ordered by `(created_at, id)`, with a `since` / `since_id`
 * cursor that never skips a comment sharing its sibling's timestamp.
 */
import { Context, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { AuditLog, CurrentPrincipal, Problems } from "trellis/plugin"
import { actorId, newId } from "./Access.ts"
import type { Comment, CreateComment, ListCommentsQuery, TicketReviewState } from "./Domain.ts"
import { StaleLeaseEpoch, TicketNotFound } from "./Errors.ts"
import type { LeaseEpochRequired } from "./Errors.ts"
import { Projects } from "./Projects.ts"
import type { ProjectAccessError } from "./Projects.ts"
import * as ReviewState from "./ReviewState.ts"
import { commentColumns, decodeComments, toComment } from "./TicketRows.ts"
import { TicketSettings } from "./TicketSettings.ts"

/** The most comments one page returns, and the most the review state reads (earliest first). */
export const maxPage = 500
const defaultPage = 200

const isoTimestamp = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/

/** The paging of `list`: the route's query. */
export type ListOptions = ListCommentsQuery

type Access<A, E = never> = Effect.Effect<A, E | ProjectAccessError | TicketNotFound, CurrentPrincipal>

export class Comments extends Context.Service<Comments, {
  readonly list: (projectId: string, ticketId: string, options: ListOptions) => Access<ReadonlyArray<Comment>, Problems.InvalidRequest>
  readonly add: (projectId: string, ticketId: string, input: CreateComment) => Access<Comment, StaleLeaseEpoch | LeaseEpochRequired>
  readonly reviewState: (projectId: string, ticketId: string) => Access<TicketReviewState>
}>()("tickets/Comments") {
  static readonly layer = Layer.effect(
    Comments,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const audit = yield* AuditLog
      const projects = yield* Projects
      const settings = yield* TicketSettings
      const columns = sql.literal(commentColumns)

      const ticketState = Effect.fnUntraced(function*(projectId: string, ticketId: string) {
        const principal = yield* CurrentPrincipal
        const rows = yield* sql<{ readonly id: string; readonly lease_epoch: number }>`
          SELECT t.id, t.lease_epoch FROM tickets.tickets t
          WHERE t.id = ${ticketId} AND t.project_id = ${projectId} AND t.organization_id = ${principal.organizationId}
        `.pipe(Effect.orDie)
        if (rows.length === 0) {
          return yield* new TicketNotFound({ ticket_id: ticketId, detail: `No ticket ${ticketId} in project ${projectId}.` })
        }
        return rows[0]
      })

      const thread = (ticketId: string, limit: number) =>
        sql`
          SELECT ${columns} FROM tickets.ticket_comments c WHERE c.ticket_id = ${ticketId}
          ORDER BY c.created_at, c.id LIMIT ${limit}
        `.pipe(Effect.flatMap(decodeComments), Effect.map((rows) => rows.map(toComment)), Effect.orDie)

      const list = Effect.fn("Comments.list")(function*(projectId: string, ticketId: string, options: ListOptions) {
        yield* projects.require(projectId)
        yield* ticketState(projectId, ticketId)
        const limit = options.limit ?? defaultPage
        // A `+` of an unencoded offset arrives as a space: read it back as `+`.
        const since = options.since?.trim().replace(/(T[\d:.]+) (\d{2}:?\d{2})$/, "$1+$2")
        if (since !== undefined && (!isoTimestamp.test(since) || Number.isNaN(Date.parse(since)))) {
          return yield* new Problems.InvalidRequest({
            detail: "Invalid query.since: expected an ISO 8601 timestamp (a comment's created_at).",
            errors: [{ path: "query.since", message: "expected an ISO 8601 timestamp" }]
          })
        }
        // `since_id` is only the tie-breaker of `since`; alone it is ignored, as SessionFS does.
        const cursor = since === undefined
          ? sql.literal("TRUE")
          : options.since_id === undefined
          ? sql`c.created_at > ${since}::timestamptz`
          : sql`(c.created_at > ${since}::timestamptz OR (c.created_at = ${since}::timestamptz AND c.id > ${options.since_id}))`
        const rows = yield* sql`
          SELECT ${columns} FROM tickets.ticket_comments c
          WHERE c.ticket_id = ${ticketId} AND ${cursor}
          ORDER BY c.created_at, c.id LIMIT ${limit}
        `.pipe(Effect.flatMap(decodeComments), Effect.orDie)
        return rows.map(toComment)
      })

      const add = Effect.fn("Comments.add")(function*(projectId: string, ticketId: string, input: CreateComment) {
        const principal = yield* CurrentPrincipal
        yield* projects.require(projectId)
        yield* settings.requireLease(input.lease_epoch)
        const id = newId("tc_")
        const fence = input.lease_epoch === undefined ? sql.literal("TRUE") : sql`t.lease_epoch = ${input.lease_epoch}`
        const inserted = yield* sql.withTransaction(Effect.gen(function*() {
          // The fence and the write are one statement: the row is read and checked as it is inserted.
          const rows = yield* sql`
            INSERT INTO tickets.ticket_comments (id, organization_id, ticket_id, author_user_id, author_persona, content, session_id, actor_kind)
            SELECT ${id}, t.organization_id, t.id, ${actorId(principal)}, ${input.author_persona ?? null}, ${input.content},
                   ${input.session_id ?? null}, ${principal.kind}
            FROM tickets.tickets t
            WHERE t.id = ${ticketId} AND t.project_id = ${projectId} AND t.organization_id = ${principal.organizationId} AND ${fence}
            RETURNING id
          `
          if (rows.length === 0) return false
          yield* audit.record("tickets.comment.create", { type: "ticket", id: ticketId }, {
            project_id: projectId,
            comment_id: id,
            ...(input.lease_epoch === undefined ? {} : { lease_epoch: input.lease_epoch })
          })
          return true
        })).pipe(Effect.orDie)
        if (!inserted) {
          const ticket = yield* ticketState(projectId, ticketId)
          return yield* StaleLeaseEpoch.of(ticketId, input.lease_epoch ?? ticket.lease_epoch, ticket.lease_epoch)
        }
        const rows = yield* sql`SELECT ${columns} FROM tickets.ticket_comments c WHERE c.id = ${id}`.pipe(
          Effect.flatMap(decodeComments),
          Effect.orDie
        )
        return toComment(Option.getOrThrow(Option.fromNullishOr(rows[0])))
      })

      const reviewState = Effect.fn("Comments.reviewState")(function*(projectId: string, ticketId: string) {
        yield* projects.require(projectId)
        yield* ticketState(projectId, ticketId)
        // At most the earliest `maxPage` comments: the first rounds are what the state is about.
        const comments = yield* thread(ticketId, maxPage)
        return { ticket_id: ticketId, review_state: ReviewState.derive(comments) }
      })

      return Comments.of({ list, add, reviewState })
    })
  )
}
