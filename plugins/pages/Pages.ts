/**
 * The `Pages` implementation (seam in `PagesService.ts`) and the operations of the pages and blocks routes
 * (`PagesCore`: update, publish a draft, revoke, renew, the block routes, the page audit).
 *
 * Every change is one transaction: the guarded UPDATE (or INSERT), the page's event
 * (`PageEvents.emit`), its audit entry and the listeners, so a change and what follows from it
 * commit together or not at all. Guards live in the UPDATE's WHERE clause (`status IN (...)`),
 * never in a read before it, so two racing requests cannot both win; appends bump `version` in
 * the same statement, so racing appends get distinct versions.
 *
 * Expiry is a delayed job (`pages.expire`, pg-boss rows: a restart loses none) enqueued with the
 * publish or renewal; the worker's UPDATE checks `expires_at <= now()`, so the old job of a
 * renewed page changes nothing.
 */
import { randomBytes } from "node:crypto"
import { Context, Effect, Layer, Option, Schema } from "effect"
import { HttpServerRequest } from "effect/http"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { CurrentPrincipal, Principal } from "trellis/contract"
import { AuditLog, Directory, JobQueue, Row, TrellisConfig } from "trellis/plugin"
import * as Blocks from "./Blocks.ts"
import type { Access, Action, ApprovalChain, Notify, OnAction, PageInput, PageOutcome, PageRecord, PageStatus, StoredBlock } from "./Domain.ts"
import { BlockNotFound, InvalidPage, PageNotFound, PageStateConflict } from "./Errors.ts"
import { PageEvents } from "./PageEvents.ts"
import type { PageEventInput } from "./PageEvents.ts"
import { Pages } from "./PagesService.ts"
import type { PageListener, PublishOptions, Published } from "./PagesService.ts"

export { Pages } from "./PagesService.ts"

/** Seven days: a page's life when `expires_at` is not given. */
export const defaultTtlMs = 7 * 24 * 60 * 60 * 1000

/** The expiry job's queue and payload. */
export const expireQueue = "pages.expire"
export const ExpireJob = Schema.Struct({ pageId: Schema.String })

/** `pg_` + 12 lowercase alphanumerics. */
export const newPageId = (): string => {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
  const bytes = randomBytes(12)
  let id = "pg_"
  for (const byte of bytes) id += alphabet[byte % alphabet.length]
  return id
}

/** The public base URL of links: `TRELLIS_PUBLIC_URL`, else the request's own origin, else the listen address. */
export const publicBaseOf = (
  config: { readonly publicUrl: string | undefined; readonly host: string; readonly port: number },
  request: HttpServerRequest.HttpServerRequest | undefined
): string => {
  if (config.publicUrl !== undefined) return config.publicUrl.replace(/\/+$/, "")
  const host = request?.headers["host"]
  if (host !== undefined && host !== "") {
    const proto = request?.headers["x-forwarded-proto"] === "https" ? "https" : "http"
    return `${proto}://${host}`
  }
  return `http://${config.host}:${config.port}`
}

/** A page's link, `<public base>/p/<id>` (the request's origin when `TRELLIS_PUBLIC_URL` is unset). */
export const pageUrlOf = (pageId: string): Effect.Effect<string, never, TrellisConfig> =>
  Effect.gen(function*() {
    const config = yield* TrellisConfig
    const request = yield* Effect.serviceOption(HttpServerRequest.HttpServerRequest)
    return `${publicBaseOf(config, Option.getOrUndefined(request))}/p/${pageId}`
  })

/** The answer of every publish (`POST /v1/publish`, a template, A2UI, AG-UI): the page's links and state, and the warnings. */
export const publishedAnswer = (published: Published) =>
  Effect.map(pageUrlOf(published.page.id), (pageUrl) => ({
    pageId: published.page.id,
    pageUrl,
    shortUrl: pageUrl,
    status: published.page.status,
    createdAt: Row.iso(published.page.createdAt),
    expiresAt: published.page.expiresAt === null ? null : Row.iso(published.page.expiresAt),
    warnings: published.warnings
  }))

// ── rows ─────────────────────────────────────────────────────────────────

interface PageRow {
  readonly id: string
  readonly organization_id: string
  readonly status: string
  readonly page_type: string
  readonly title: string
  readonly summary: string | null
  readonly priority: string
  readonly tags: unknown
  readonly blocks: unknown
  readonly actions: unknown
  readonly access: unknown
  readonly notify: unknown
  readonly on_action: unknown
  readonly approval_chain: unknown
  readonly metadata: unknown
  readonly version: number | string
  readonly created_by: string
  readonly principal: unknown
  readonly created_at: Date | string
  readonly updated_at: Date | string
  readonly published_at: Date | string | null
  readonly expires_at: Date | string | null
  readonly revoked_at: Date | string | null
  readonly revoke_reason: string | null
  readonly completed_at: Date | string | null
  readonly outcome: unknown
  readonly view_count: number | string
  readonly action_count: number | string
  readonly last_viewed_at: Date | string | null
}

const columns = `id, organization_id, status, page_type, title, summary, priority, tags, blocks, actions, access,
  notify, on_action, approval_chain, metadata, version, created_by, principal, created_at, updated_at, published_at,
  expires_at, revoked_at, revoke_reason, completed_at, outcome, view_count, action_count, last_viewed_at`

/** A nullable jsonb parameter: SQL NULL for null (not the JSON `null`). */
const jsonOrNull = (value: unknown): string | null => value === null || value === undefined ? null : Row.jsonb(value)

const parseJson = (value: unknown): unknown => typeof value === "string" ? JSON.parse(value) : value
const date = (value: Date | string): Date => value instanceof Date ? value : new Date(value)
const dateOrNull = (value: Date | string | null): Date | null => value === null ? null : date(value)

export const toRecord = (row: PageRow): PageRecord => ({
  id: row.id,
  organizationId: row.organization_id,
  status: row.status as PageStatus,
  pageType: row.page_type,
  title: row.title,
  summary: row.summary,
  priority: row.priority,
  tags: parseJson(row.tags) as ReadonlyArray<string>,
  blocks: parseJson(row.blocks) as ReadonlyArray<StoredBlock>,
  actions: parseJson(row.actions) as ReadonlyArray<Action>,
  access: parseJson(row.access) as Access,
  notify: parseJson(row.notify) as Notify | null,
  onAction: parseJson(row.on_action) as OnAction | null,
  approvalChain: parseJson(row.approval_chain) as ApprovalChain | null,
  metadata: parseJson(row.metadata) as Record<string, unknown> | null,
  version: Number(row.version),
  createdBy: row.created_by,
  createdAt: date(row.created_at),
  updatedAt: date(row.updated_at),
  publishedAt: dateOrNull(row.published_at),
  expiresAt: dateOrNull(row.expires_at),
  revokedAt: dateOrNull(row.revoked_at),
  revokeReason: row.revoke_reason,
  completedAt: dateOrNull(row.completed_at),
  outcome: parseJson(row.outcome) as PageOutcome | null,
  viewCount: Number(row.view_count),
  actionCount: Number(row.action_count),
  lastViewedAt: dateOrNull(row.last_viewed_at)
})

const encodePrincipal = Schema.encodeSync(Principal)

// ── inputs of the core routes ────────────────────────────────────────────

/** A publish body as the routes receive it: blocks are checked by `Blocks.check`, not the schema. */
export type LooseInput = Omit<PageInput, "blocks"> & { readonly blocks?: ReadonlyArray<unknown> | undefined }

/** `PATCH /v1/pages/:id`: the members given replace the page's (blocks replace all blocks). */
export type PageUpdate = { readonly [K in Exclude<keyof LooseInput, "version">]?: LooseInput[K] | undefined }

export interface Appended {
  readonly page: PageRecord
  readonly appendedIds: ReadonlyArray<string>
  readonly totalBlocks: number
  readonly warnings: ReadonlyArray<string>
}

export interface BlockChange {
  readonly data: Record<string, unknown>
  readonly type?: string | undefined
  readonly title?: string | null | undefined
  readonly group?: string | null | undefined
  readonly tab?: string | null | undefined
}

export interface AuditItem {
  readonly event_id: string
  readonly event_type: string
  readonly timestamp: string
  readonly actor: string
  readonly details: Record<string, unknown>
  readonly chain_hash: string
}

/** The operations of the pages and blocks routes beyond the seam (the routes of `PagesHttp.ts`). */
export class PagesCore extends Context.Service<PagesCore, {
  readonly publish: (input: LooseInput, options: PublishOptions) => Effect.Effect<Published, InvalidPage, CurrentPrincipal>
  readonly update: (pageId: string, update: PageUpdate) => Effect.Effect<Published, InvalidPage | PageNotFound | PageStateConflict, CurrentPrincipal>
  readonly publishDraft: (pageId: string, notify: Notify | undefined) => Effect.Effect<PageRecord, InvalidPage | PageNotFound | PageStateConflict, CurrentPrincipal>
  readonly revoke: (pageId: string, reason: string | null) => Effect.Effect<PageRecord, PageNotFound | PageStateConflict, CurrentPrincipal>
  readonly renew: (pageId: string, expiresAt: string) => Effect.Effect<PageRecord, InvalidPage | PageNotFound | PageStateConflict, CurrentPrincipal>
  readonly append: (pageId: string, blocks: ReadonlyArray<unknown>) => Effect.Effect<Appended, InvalidPage | PageNotFound | PageStateConflict, CurrentPrincipal>
  readonly updateBlock: (pageId: string, blockId: string, change: BlockChange) => Effect.Effect<
    { readonly page: PageRecord; readonly block: StoredBlock; readonly warnings: ReadonlyArray<string> },
    InvalidPage | PageNotFound | PageStateConflict | BlockNotFound,
    CurrentPrincipal
  >
  readonly reorder: (pageId: string, order: ReadonlyArray<string>) => Effect.Effect<PageRecord, InvalidPage | PageNotFound | PageStateConflict, CurrentPrincipal>
  readonly insert: (pageId: string, position: number, block: unknown) => Effect.Effect<
    { readonly page: PageRecord; readonly blockId: string; readonly position: number; readonly warnings: ReadonlyArray<string> },
    InvalidPage | PageNotFound | PageStateConflict,
    CurrentPrincipal
  >
  readonly audit: (pageId: string, page: number, perPage: number) => Effect.Effect<
    { readonly items: ReadonlyArray<AuditItem>; readonly total: number },
    PageNotFound,
    CurrentPrincipal
  >
}>()("pages/PagesCore") {}

const invalid = (field: string, constraint: string) => new InvalidPage({ field, constraint, detail: `${field}: ${constraint}` })

const conflictOf = (page: { readonly id: string; readonly status: string }, doing?: string) =>
  new PageStateConflict({
    pageId: page.id,
    currentStatus: page.status,
    detail: `Page ${page.id} is ${page.status}${doing === undefined ? "" : `: cannot ${doing}`}.`
  })

const notFound = (pageId: string) => new PageNotFound({ pageId, detail: `No page with id ${pageId}.` })

/** Parses a wire date that must lie in the future. */
const futureDate = (value: string, field: string): Effect.Effect<Date, InvalidPage> => {
  const parsed = new Date(value)
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(parsed.getTime())) {
    return Effect.fail(invalid(field, "an ISO 8601 date and time"))
  }
  if (parsed.getTime() <= Date.now()) return Effect.fail(invalid(field, "in the future"))
  return Effect.succeed(parsed)
}

const fromCheck = <A>(result: Blocks.BlockProblem | A): Effect.Effect<Exclude<A, Blocks.BlockProblem>, InvalidPage> =>
  typeof result === "object" && result !== null && (result as { _tag?: unknown })._tag === "Invalid"
    ? Effect.fail(invalid((result as Blocks.BlockProblem).field, (result as Blocks.BlockProblem).constraint))
    : Effect.succeed(result as Exclude<A, Blocks.BlockProblem>)

export const layer = Layer.effectContext(
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const directory = yield* Directory
    const events = yield* PageEvents
    const audit = yield* AuditLog
    const jobs = yield* JobQueue
    const cols = sql.literal(columns)
    const listeners: Array<PageListener> = []

    const transact = <A, E, R>(effect: Effect.Effect<A, E, R>) => Row.dieOnInfrastructure(sql.withTransaction(effect))

    const rowOf = (rows: ReadonlyArray<PageRow>): PageRecord | undefined => rows[0] === undefined ? undefined : toRecord(rows[0])

    const find = (pageId: string) =>
      sql<PageRow>`SELECT ${cols} FROM pages.pages WHERE id = ${pageId}`.pipe(Effect.map(rowOf))

    /** The caller's page, locked for the transaction when `lock`. */
    const own = (pageId: string, lock = false) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const rows = lock
          ? yield* sql<PageRow>`SELECT ${cols} FROM pages.pages WHERE id = ${pageId} AND organization_id = ${principal.organizationId} FOR UPDATE`
          : yield* sql<PageRow>`SELECT ${cols} FROM pages.pages WHERE id = ${pageId} AND organization_id = ${principal.organizationId}`
        const page = rowOf(rows)
        if (page === undefined) return yield* notFound(pageId)
        return page
      })

    /** `agent:<name>` for service keys (the key's name) and agent users (the name they registered with), `user:<email or id>` for people, `system` for the admin token. */
    const createdByOf = (principal: Principal) =>
      Effect.map(directory.nameOf(principal), (name) => name.kind === "system" ? "system" : `${name.kind}:${name.name}`)

    const actorOf = (principal: Principal) => principal.kind === "admin-token" ? "system" : principal.id

    const emit = (page: PageRecord, type: PageEventInput["type"], data: Record<string, unknown>, actor: string) =>
      events.emit(page, { type, data, actor, toAgent: false })

    const enqueueExpiry = (page: PageRecord) =>
      page.expiresAt === null
        ? Effect.void
        : jobs.enqueue(expireQueue, ExpireJob, { pageId: page.id }, { startAfter: page.expiresAt }).pipe(
          Effect.catchTag("JobError", Effect.die),
          Effect.asVoid
        )

    const runListeners = <K extends "published" | "closed">(kind: K, page: PageRecord) =>
      Effect.forEach(listeners, (listener) => {
        const run = listener[kind]
        return run === undefined ? Effect.void : (run as (page: PageRecord) => Effect.Effect<void, SqlError, CurrentPrincipal>)(page)
      }, { discard: true })

    // ── publish ──────────────────────────────────────────────────────────

    const publish = (input: LooseInput, options: PublishOptions) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const checked = yield* fromCheck(Blocks.check(input.blocks ?? []))
        yield* fromCheck(Blocks.checkParts(input) ?? {})
        const expiresAt = input.expires_at === undefined
          ? (options.status === "active" ? new Date(Date.now() + defaultTtlMs) : null)
          : yield* futureDate(input.expires_at, "expires_at")
        const id = newPageId()
        const warnings = [...(options.warnings ?? []), ...checked.warnings]
        return yield* transact(Effect.gen(function*() {
          const createdBy = yield* createdByOf(principal)
          const rows = yield* sql<PageRow>`
            INSERT INTO pages.pages (id, organization_id, status, page_type, title, summary, priority, tags, blocks, actions,
              access, notify, on_action, approval_chain, metadata, created_by, principal, published_at, expires_at)
            VALUES (${id}, ${principal.organizationId}, ${options.status}, ${input.page_type ?? "general"}, ${input.title},
              ${input.summary ?? null}, ${input.priority ?? "normal"}, ${Row.jsonb(input.tags ?? [])}::jsonb,
              ${Row.jsonb(checked.blocks)}::jsonb, ${Row.jsonb(input.actions ?? [])}::jsonb,
              ${Row.jsonb(input.access ?? { mode: "public" })}::jsonb,
              ${input.notify === undefined ? null : Row.jsonb(input.notify)}::jsonb,
              ${input.on_action === undefined ? null : Row.jsonb(input.on_action)}::jsonb,
              ${input.approval_chain === undefined ? null : Row.jsonb(input.approval_chain)}::jsonb,
              ${input.metadata === undefined ? null : Row.jsonb(input.metadata)}::jsonb,
              ${createdBy}, ${Row.jsonb(encodePrincipal(principal))}::jsonb,
              ${options.status === "active" ? sql`now()` : null}, ${expiresAt})
            RETURNING ${cols}`
          const page = toRecord(rows[0]!)
          yield* audit.record(options.status === "active" ? "pages.page.publish" : "pages.page.draft", { type: "page", id }, {
            title: page.title,
            status: page.status,
            warnings: warnings.length
          })
          if (page.status === "active") {
            yield* emit(page, "page.published", { status: page.status, version: page.version }, createdBy)
            yield* runListeners("published", page)
            yield* enqueueExpiry(page)
          }
          return { page, warnings } satisfies Published
        }))
      })

    // ── the seam's other members ─────────────────────────────────────────

    const complete = (pageId: string, outcome: PageOutcome) =>
      Effect.gen(function*() {
        const rows = yield* sql<PageRow>`
          UPDATE pages.pages SET status = 'completed', outcome = ${Row.jsonb(outcome)}::jsonb, completed_at = now(), updated_at = now()
          WHERE id = ${pageId} AND status = 'active' RETURNING ${cols}`
        const page = rowOf(rows)
        if (page === undefined) return Option.none<PageRecord>()
        yield* audit.append({
          organizationId: page.organizationId,
          actor: { id: outcome.actor, kind: "viewer" },
          action: "pages.page.complete",
          target: { type: "page", id: page.id },
          details: { action_id: outcome.actionId, decision: outcome.decision }
        })
        yield* emit(page, "page.completed", { outcome: { action_id: outcome.actionId, decision: outcome.decision, actor: outcome.actor } }, outcome.actor)
        yield* Effect.forEach(listeners, (listener) => listener.completed === undefined ? Effect.void : listener.completed(page, outcome), {
          discard: true
        })
        return Option.some(page)
      }).pipe(Effect.orDie)

    const countAction = (pageId: string) =>
      sql`UPDATE pages.pages SET action_count = action_count + 1 WHERE id = ${pageId}`.pipe(Effect.asVoid, Effect.orDie)

    const countView = (pageId: string, viewerKey: string) =>
      sql.withTransaction(Effect.gen(function*() {
        const rows = yield* sql<{ readonly organization_id: string }>`
          UPDATE pages.pages SET view_count = view_count + 1, last_viewed_at = now() WHERE id = ${pageId} RETURNING organization_id`
        if (rows[0] === undefined) return
        yield* sql`
          INSERT INTO pages.page_views (page_id, organization_id, viewer_key, day)
          VALUES (${pageId}, ${rows[0].organization_id}, ${viewerKey}, (now() AT TIME ZONE 'UTC')::date)`
      })).pipe(Effect.orDie)

    const pages = Pages.of({
      publish: (input, options) => publish(input, options),
      get: (pageId) => Row.dieOnInfrastructure(own(pageId)),
      find: (pageId) => find(pageId).pipe(Effect.map(Option.fromNullishOr), Effect.orDie),
      complete,
      countAction,
      countView,
      listen: (listener) => Effect.sync(() => void listeners.push(listener)),
      block: (page, blockId) => Option.fromNullishOr(Blocks.findBlock(page.blocks, blockId)),
      conflict: (page) => conflictOf(page)
    })

    // ── expiry ───────────────────────────────────────────────────────────

    yield* jobs.register(expireQueue, {
      schema: ExpireJob,
      retryLimit: 5,
      expireInSeconds: 60,
      handler: ({ pageId }) =>
        transact(Effect.gen(function*() {
          const rows = yield* sql<PageRow>`
            UPDATE pages.pages SET status = 'expired', updated_at = now()
            WHERE id = ${pageId} AND status = 'active' AND expires_at <= now() RETURNING ${cols}`
          const page = rowOf(rows)
          if (page === undefined) return
          yield* audit.append({
            organizationId: page.organizationId,
            actor: { id: "system:pages", kind: "system" },
            action: "pages.page.expire",
            target: { type: "page", id: page.id },
            details: { expires_at: page.expiresAt?.toISOString() ?? null }
          })
          yield* emit(page, "page.expired", { status: "expired", expires_at: page.expiresAt?.toISOString() ?? null }, "system")
          yield* runListeners("closed", page)
        }))
    }).pipe(Effect.orDie)

    // ── the core routes ──────────────────────────────────────────────────

    /** Runs `change` on the caller's page, locked, in one transaction. */
    const locked = <A, E>(pageId: string, change: (page: PageRecord, principal: Principal) => Effect.Effect<A, E | SqlError, CurrentPrincipal>) =>
      transact(Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const page = yield* own(pageId, true)
        return yield* change(page, principal)
      }))

    const editable = (page: PageRecord, doing: string) =>
      page.status === "draft" || page.status === "active" ? Effect.void : Effect.fail(conflictOf(page, doing))

    const update = (pageId: string, change: PageUpdate) =>
      Effect.gen(function*() {
        const checked = change.blocks === undefined ? undefined : yield* fromCheck(Blocks.check(change.blocks))
        yield* fromCheck(Blocks.checkParts(change) ?? {})
        const expiresAt = change.expires_at === undefined ? undefined : yield* futureDate(change.expires_at, "expires_at")
        return yield* locked(pageId, (page, principal) =>
          Effect.gen(function*() {
            yield* editable(page, "update it")
            const rows = yield* sql<PageRow>`
              UPDATE pages.pages SET
                page_type = ${change.page_type ?? page.pageType},
                title = ${change.title ?? page.title},
                summary = ${change.summary === undefined ? page.summary : change.summary},
                priority = ${change.priority ?? page.priority},
                tags = ${Row.jsonb(change.tags ?? page.tags)}::jsonb,
                blocks = ${Row.jsonb(checked?.blocks ?? page.blocks)}::jsonb,
                actions = ${Row.jsonb(change.actions ?? page.actions)}::jsonb,
                access = ${Row.jsonb(change.access ?? page.access)}::jsonb,
                notify = ${jsonOrNull(change.notify ?? page.notify)}::jsonb,
                on_action = ${jsonOrNull(change.on_action ?? page.onAction)}::jsonb,
                approval_chain = ${jsonOrNull(change.approval_chain ?? page.approvalChain)}::jsonb,
                metadata = ${jsonOrNull(change.metadata ?? page.metadata)}::jsonb,
                expires_at = ${expiresAt ?? page.expiresAt},
                version = version + 1, updated_at = now()
              WHERE id = ${page.id} AND status IN ('draft', 'active') RETURNING ${cols}`
            const updated = rowOf(rows)
            if (updated === undefined) return yield* conflictOf(page, "update it")
            const fields = Object.keys(change).filter((key) => (change as Record<string, unknown>)[key] !== undefined)
            yield* audit.record("pages.page.update", { type: "page", id: page.id }, { fields, version: updated.version })
            yield* emit(updated, "page.updated", { version: updated.version, fields }, actorOf(principal))
            if (expiresAt !== undefined && updated.status === "active") yield* enqueueExpiry(updated)
            return { page: updated, warnings: checked?.warnings ?? [] } satisfies Published
          }))
      })

    const publishDraft = (pageId: string, notify: Notify | undefined) =>
      Effect.gen(function*() {
        if (notify !== undefined) yield* fromCheck(Blocks.checkParts({ notify }) ?? {})
        return yield* locked(pageId, (page, principal) =>
          Effect.gen(function*() {
            if (page.status !== "draft") return yield* conflictOf(page, "publish it (only a draft can be)")
            const expiresAt = page.expiresAt !== null && page.expiresAt.getTime() > Date.now()
              ? page.expiresAt
              : new Date(Date.now() + defaultTtlMs)
            const rows = yield* sql<PageRow>`
              UPDATE pages.pages SET status = 'active', published_at = now(), updated_at = now(), expires_at = ${expiresAt},
                notify = ${jsonOrNull(notify ?? page.notify)}::jsonb
              WHERE id = ${page.id} AND status = 'draft' RETURNING ${cols}`
            const published = rowOf(rows)
            if (published === undefined) return yield* conflictOf(page, "publish it")
            yield* audit.record("pages.page.publish", { type: "page", id: page.id }, { from: "draft" })
            yield* emit(published, "page.published", { status: "active", version: published.version }, actorOf(principal))
            yield* runListeners("published", published)
            yield* enqueueExpiry(published)
            return published
          }))
      })

    const revoke = (pageId: string, reason: string | null) =>
      locked(pageId, (page, principal) =>
        Effect.gen(function*() {
          const rows = yield* sql<PageRow>`
            UPDATE pages.pages SET status = 'revoked', revoked_at = now(), revoke_reason = ${reason}, updated_at = now()
            WHERE id = ${page.id} AND status IN ('draft', 'active') RETURNING ${cols}`
          const revoked = rowOf(rows)
          if (revoked === undefined) return yield* conflictOf(page, "revoke it")
          yield* audit.record("pages.page.revoke", { type: "page", id: page.id }, { reason })
          yield* emit(revoked, "page.revoked", { status: "revoked", reason }, actorOf(principal))
          yield* runListeners("closed", revoked)
          return revoked
        }))

    const renew = (pageId: string, expires: string) =>
      Effect.gen(function*() {
        const expiresAt = yield* futureDate(expires, "expires_at")
        return yield* locked(pageId, (page, principal) =>
          Effect.gen(function*() {
            const rows = yield* sql<PageRow>`
              UPDATE pages.pages SET status = 'active', expires_at = ${expiresAt}, updated_at = now()
              WHERE id = ${page.id} AND status IN ('active', 'expired') RETURNING ${cols}`
            const renewed = rowOf(rows)
            if (renewed === undefined) return yield* conflictOf(page, "renew it (only an active or expired page can be)")
            yield* audit.record("pages.page.renew", { type: "page", id: page.id }, { expires_at: expiresAt.toISOString(), from: page.status })
            yield* emit(renewed, page.status === "expired" ? "page.published" : "page.updated", {
              status: "active",
              version: renewed.version,
              expires_at: expiresAt.toISOString()
            }, actorOf(principal))
            yield* enqueueExpiry(renewed)
            return renewed
          }))
      })

    const append = (pageId: string, input: ReadonlyArray<unknown>) =>
      Effect.gen(function*() {
        if (input.length === 0) return yield* invalid("blocks", "at least one block")
        // Lock the row: ids are checked unique against the blocks as they are now.
        return yield* locked(pageId, (page, principal) =>
          Effect.gen(function*() {
            yield* editable(page, "append blocks")
            const taken = new Set(Blocks.idsOf(page.blocks))
            const checked = yield* fromCheck(Blocks.check(input, { taken, startIndex: page.blocks.length, existingCount: taken.size }))
            const rows = yield* sql<{ readonly version: number | string; readonly total: number | string }>`
              UPDATE pages.pages SET blocks = blocks || ${Row.jsonb(checked.blocks)}::jsonb, version = version + 1, updated_at = now()
              WHERE id = ${page.id} AND organization_id = ${page.organizationId} AND status IN ('draft', 'active')
              RETURNING version, jsonb_array_length(blocks) AS total`
            if (rows[0] === undefined) return yield* conflictOf(page, "append blocks")
            const version = Number(rows[0].version)
            const updated: PageRecord = { ...page, version, blocks: [...page.blocks, ...checked.blocks] }
            yield* audit.record("pages.blocks.append", { type: "page", id: page.id }, {
              version,
              block_ids: checked.blocks.map((block) => block.id)
            })
            yield* emit(updated, "blocks.appended", { version, newBlocks: checked.blocks }, actorOf(principal))
            return {
              page: updated,
              appendedIds: checked.blocks.map((block) => block.id),
              totalBlocks: Number(rows[0].total),
              warnings: checked.warnings
            } satisfies Appended
          }))
      })

    /** Writes `blocks` with version + 1 on a page already locked and checked editable. */
    const writeBlocks = (page: PageRecord, blocks: ReadonlyArray<StoredBlock>, doing: string) =>
      Effect.gen(function*() {
        const rows = yield* sql<PageRow>`
          UPDATE pages.pages SET blocks = ${Row.jsonb(blocks)}::jsonb, version = version + 1, updated_at = now()
          WHERE id = ${page.id} AND status IN ('draft', 'active') RETURNING ${cols}`
        const updated = rowOf(rows)
        if (updated === undefined) return yield* conflictOf(page, doing)
        return updated
      })

    const updateBlock = (pageId: string, blockId: string, change: BlockChange) =>
      locked(pageId, (page, principal) =>
        Effect.gen(function*() {
          yield* editable(page, "update a block")
          const index = page.blocks.findIndex((block) => block.id === blockId)
          if (index < 0) {
            return yield* new BlockNotFound({ pageId: page.id, blockId, detail: `Page ${page.id} has no top-level block '${blockId}'.` })
          }
          const current = page.blocks[index]!
          const taken = new Set(Blocks.idsOf(page.blocks.filter((_, i) => i !== index)))
          const merged: Record<string, unknown> = {
            id: blockId,
            type: change.type ?? current.type,
            data: change.data,
            title: change.title === undefined ? current.title : change.title,
            group: change.group === undefined ? current.group : change.group,
            tab: change.tab === undefined ? current.tab : change.tab
          }
          for (const key of ["title", "group", "tab"]) if (merged[key] === undefined) delete merged[key]
          const checked = yield* fromCheck(Blocks.check([merged], { path: "block", taken, startIndex: index, existingCount: taken.size }))
          const block = checked.blocks[0]!
          const blocks = page.blocks.map((b, i) => i === index ? block : b)
          const updated = yield* writeBlocks(page, blocks, "update a block")
          yield* audit.record("pages.block.update", { type: "page", id: page.id }, { block_id: blockId, version: updated.version })
          yield* emit(updated, "block.updated", { version: updated.version, blockId, block }, actorOf(principal))
          return { page: updated, block, warnings: checked.warnings }
        }))

    const reorder = (pageId: string, order: ReadonlyArray<string>) =>
      locked(pageId, (page, principal) =>
        Effect.gen(function*() {
          yield* editable(page, "reorder its blocks")
          const byId = new Map(page.blocks.map((block) => [block.id, block]))
          const seen = new Set<string>()
          for (let i = 0; i < order.length; i++) {
            if (!byId.has(order[i]!)) return yield* invalid(`block_order[${i}]`, `no block '${order[i]}' at the top level of the page`)
            if (seen.has(order[i]!)) return yield* invalid(`block_order[${i}]`, `block '${order[i]}' is listed twice`)
            seen.add(order[i]!)
          }
          const blocks = [...order.map((id) => byId.get(id)!), ...page.blocks.filter((block) => !seen.has(block.id))]
          const updated = yield* writeBlocks(page, blocks, "reorder its blocks")
          const newOrder = blocks.map((block) => block.id)
          yield* audit.record("pages.blocks.reorder", { type: "page", id: page.id }, { version: updated.version, block_order: newOrder })
          yield* emit(updated, "blocks.reordered", { version: updated.version, blockOrder: newOrder }, actorOf(principal))
          return updated
        }))

    const insert = (pageId: string, position: number, input: unknown) =>
      locked(pageId, (page, principal) =>
        Effect.gen(function*() {
          yield* editable(page, "insert a block")
          if (!Number.isInteger(position) || position < 0) return yield* invalid("position", "an integer from 0")
          const at = Math.min(position, page.blocks.length)
          const taken = new Set(Blocks.idsOf(page.blocks))
          const checked = yield* fromCheck(Blocks.check([input], { path: "block", taken, startIndex: at, existingCount: taken.size }))
          const block = checked.blocks[0]!
          const blocks = [...page.blocks.slice(0, at), block, ...page.blocks.slice(at)]
          const updated = yield* writeBlocks(page, blocks, "insert a block")
          yield* audit.record("pages.block.insert", { type: "page", id: page.id }, { block_id: block.id, position: at, version: updated.version })
          yield* emit(updated, "blocks.appended", { version: updated.version, newBlocks: [block], position: at }, actorOf(principal))
          return { page: updated, blockId: block.id, position: at, warnings: checked.warnings }
        }))

    const auditOf = (pageId: string, page: number, perPage: number) =>
      Row.dieOnInfrastructure(Effect.gen(function*() {
        const owned = yield* own(pageId)
        const rows = yield* sql<{
          readonly seq: number | string
          readonly action: string
          readonly created_at: Date | string
          readonly actor_id: string
          readonly actor_kind: string
          readonly details: unknown
          readonly hash: string
        }>`
          SELECT seq, action, created_at, actor_id, actor_kind, details, hash FROM audit.entries
          WHERE organization_id = ${owned.organizationId} AND target_type = 'page' AND target_id = ${owned.id}
          ORDER BY seq DESC LIMIT ${perPage} OFFSET ${(page - 1) * perPage}`
        const counted = yield* sql<{ readonly total: number | string }>`
          SELECT count(*) AS total FROM audit.entries
          WHERE organization_id = ${owned.organizationId} AND target_type = 'page' AND target_id = ${owned.id}`
        return {
          items: rows.map((row): AuditItem => ({
            event_id: `aud_${owned.organizationId}_${Number(row.seq)}`,
            event_type: row.action,
            timestamp: Row.iso(row.created_at),
            actor: row.actor_kind === "admin-token" ? "system" : row.actor_id,
            details: (parseJson(row.details) ?? {}) as Record<string, unknown>,
            chain_hash: row.hash.startsWith("sha256:") ? row.hash : `sha256:${row.hash}`
          })),
          total: Number(counted[0]?.total ?? 0)
        }
      }))

    const core = PagesCore.of({
      publish,
      update,
      publishDraft,
      revoke,
      renew,
      append,
      updateBlock,
      reorder,
      insert,
      audit: auditOf
    })

    return Context.make(Pages, pages).pipe(Context.add(PagesCore, core))
  })
)
