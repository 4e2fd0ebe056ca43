/**
 * The `Inbox` implementation. A `published` listener (in the publish's transaction) makes one
 * entry per email address the page names: its allowed identities of type `email`, the
 * assignees and escalation targets of its approval chain, and its `email` notification
 * targets. Only named addresses get entries (not every member of the organization: a page is
 * for the people it names; members find the rest on the dashboard). Addresses are compared
 * lower-cased. An entry shows the page's current title, type and priority.
 */
import { Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { Row } from "trellis/plugin"
import { newId } from "./CatalogShared.ts"
import type { PageRecord } from "./Domain.ts"
import { Inbox } from "./InboxService.ts"
import type { InboxEntry, InboxFilter, InboxTarget } from "./InboxService.ts"
import { Pages } from "./PagesService.ts"

const looksLikeEmail = (value: string): boolean => /^[^\s@]+@[^\s@]+$/.test(value.trim())

/** The email addresses a page names, lower-cased, once each. */
export const namedEmails = (page: PageRecord): ReadonlyArray<string> => {
  const found = new Set<string>()
  const add = (value: string | undefined) => {
    if (value !== undefined && looksLikeEmail(value)) found.add(value.trim().toLowerCase())
  }
  for (const identity of page.access.allowed_identities ?? []) if (identity.type === "email") add(identity.value)
  for (const step of page.approvalChain?.steps ?? []) {
    for (const assignee of step.assignees) add(assignee)
    for (const target of step.escalate_to ?? []) add(target)
  }
  for (const channel of page.notify?.channels ?? []) if (channel.type === "email") add(channel.target)
  return [...found]
}

const EntryRow = Schema.Struct({
  id: Schema.String,
  page_id: Schema.String,
  title: Schema.String,
  page_type: Schema.String,
  status: Schema.Literals(["unread", "read", "archived"]),
  starred: Schema.Boolean,
  priority: Schema.String,
  created_at: Row.Timestamp
})

export const layer = Layer.effect(
  Inbox,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const pages = yield* Pages

    yield* pages.listen({
      name: "inbox",
      published: (page) =>
        Effect.forEach(namedEmails(page), (email) =>
          sql`INSERT INTO pages.inbox_entries (id, organization_id, page_id, email)
              VALUES (${newId("inbox")}, ${page.organizationId}, ${page.id}, ${email})
              ON CONFLICT (page_id, email) DO NOTHING`, { discard: true })
    })

    const list = (email: string, filter: InboxFilter) =>
      Effect.gen(function*() {
        const address = email.trim().toLowerCase()
        const status = filter.status ?? null
        const where = sql`e.email = ${address}
          AND p.status <> 'draft'
          AND (${status}::text IS NULL AND e.status <> 'archived' OR e.status = ${status}::text)
          AND (${filter.priority ?? null}::text IS NULL OR p.priority = ${filter.priority ?? null}::text)
          AND (${filter.pageType ?? null}::text IS NULL OR p.page_type = ${filter.pageType ?? null}::text)
          AND (${filter.organizationId ?? null}::text IS NULL OR e.organization_id = ${filter.organizationId ?? null}::text)`
        const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200)
        const offset = Math.max(filter.offset ?? 0, 0)
        const rows = yield* sql`SELECT e.id, e.page_id, p.title, p.page_type, e.status, e.starred, p.priority, e.created_at
          FROM pages.inbox_entries e JOIN pages.pages p ON p.id = e.page_id
          WHERE ${where} ORDER BY e.created_at DESC, e.id DESC LIMIT ${limit} OFFSET ${offset}`.pipe(
          Effect.flatMap(Row.decode(EntryRow))
        )
        const counted = yield* sql<{ readonly total: number | string }>`SELECT count(*) AS total
          FROM pages.inbox_entries e JOIN pages.pages p ON p.id = e.page_id WHERE ${where}`
        const entries = rows.map((row): InboxEntry => ({
          id: row.id,
          pageId: row.page_id,
          title: row.title,
          pageType: row.page_type,
          status: row.status,
          starred: row.starred,
          priority: row.priority,
          createdAt: row.created_at
        }))
        return { entries, total: Number(counted[0]?.total ?? 0) }
      }).pipe(Effect.orDie)

    const update = (target: InboxTarget, set: ReturnType<typeof sql.literal>) =>
      sql`UPDATE pages.inbox_entries SET ${set}, updated_at = now()
          WHERE id = ${target.entryId} AND email = ${target.email.trim().toLowerCase()}
            AND (${target.organizationId ?? null}::text IS NULL OR organization_id = ${target.organizationId ?? null}::text)
          RETURNING id`.pipe(Effect.map((rows) => rows.length > 0), Effect.orDie)

    return Inbox.of({
      list,
      markRead: (target) => update(target, sql.literal(`status = CASE WHEN status = 'archived' THEN status ELSE 'read' END`)),
      star: (target, starred) => update(target, sql.literal(starred ? "starred = true" : "starred = false")),
      archive: (target) => update(target, sql.literal("status = 'archived'"))
    })
  })
)
