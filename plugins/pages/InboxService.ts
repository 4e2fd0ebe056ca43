/**
 * The `Inbox` service: the pages waiting for a person (seed 003's `/v1/inbox`), for the API
 * routes and the viewer's inbox page alike. An entry is made when a page that names the person
 * (an allowed identity, a chain assignee, an email notification) is published. Tag and
 * interface here; `Inbox.ts` implements it.
 */
import { Context } from "effect"
import type { Effect } from "effect"

export interface InboxEntry {
  readonly id: string
  readonly pageId: string
  readonly title: string
  readonly pageType: string
  readonly status: "unread" | "read" | "archived"
  readonly starred: boolean
  readonly priority: string
  readonly createdAt: string
}

export interface InboxFilter {
  readonly status?: "unread" | "read" | "archived" | undefined
  readonly priority?: string | undefined
  readonly pageType?: string | undefined
  readonly limit?: number | undefined
  readonly offset?: number | undefined
  /** Only the entries of pages of this organization (the API's `/v1/inbox` is the caller's organization's). */
  readonly organizationId?: string | undefined
}

/** Which entry: its id, for the person with this email (in this organization, when given). */
export interface InboxTarget {
  readonly email: string
  readonly entryId: string
  readonly organizationId?: string | undefined
}

export class Inbox extends Context.Service<Inbox, {
  /** The entries of the person with this email address (archived ones only when asked for). */
  readonly list: (email: string, filter: InboxFilter) => Effect.Effect<{ readonly entries: ReadonlyArray<InboxEntry>; readonly total: number }>
  /** Marks the entry read (an archived one stays archived); `false` when the person has no such entry. */
  readonly markRead: (target: InboxTarget) => Effect.Effect<boolean>
  /** Stars or unstars the entry; `false` when the person has no such entry. */
  readonly star: (target: InboxTarget, starred: boolean) => Effect.Effect<boolean>
  /** Archives the entry (soft delete); `false` when the person has no such entry. */
  readonly archive: (target: InboxTarget) => Effect.Effect<boolean>
}>()("pages/Inbox") {}
