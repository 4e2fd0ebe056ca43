/** The pages core HTTP handlers: thin, they call `PagesCore` / `Pages` and shape Surflet's answers. */
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import type { PageRecord } from "./Domain.ts"
import { pageUrlOf, PagesCore, publishedAnswer } from "./Pages.ts"
import { PagesApi } from "./PagesApi.ts"
import type { PageView } from "./PagesApi.ts"
import { Pages } from "./PagesService.ts"

const isoOrNull = (date: Date | null): string | null => date === null ? null : date.toISOString()

/** A page as `GET /v1/pages/:id` shows it. */
export const viewOf = (page: PageRecord) =>
  Effect.map(pageUrlOf(page.id), (pageUrl): PageView => ({
    pageId: page.id,
    pageUrl,
    status: page.status,
    page_type: page.pageType,
    title: page.title,
    summary: page.summary,
    priority: page.priority,
    tags: page.tags,
    created_by: page.createdBy,
    created_at: page.createdAt.toISOString(),
    updated_at: page.updatedAt.toISOString(),
    published_at: isoOrNull(page.publishedAt),
    expires_at: isoOrNull(page.expiresAt),
    revoked_at: isoOrNull(page.revokedAt),
    revoke_reason: page.revokeReason,
    completed_at: isoOrNull(page.completedAt),
    version: page.version,
    blocks: page.blocks,
    actions: page.actions,
    access: page.access,
    notify: page.notify,
    on_action: page.onAction,
    approval_chain: page.approvalChain,
    metadata: page.metadata,
    outcome: page.outcome === null ? null : { action_id: page.outcome.actionId, decision: page.outcome.decision, actor: page.outcome.actor },
    stats: { view_count: page.viewCount, action_count: page.actionCount, last_viewed_at: isoOrNull(page.lastViewedAt) }
  }))

export const PagesHttpLive = HttpApiBuilder.group(
  PagesApi,
  "pages",
  Effect.fn(function*(handlers) {
    const core = yield* PagesCore
    const pages = yield* Pages
    return handlers
      .handle("publish", ({ payload }) => Effect.flatMap(core.publish(payload, { status: "active" }), publishedAnswer))
      .handle("draft", ({ payload }) =>
        Effect.gen(function*() {
          const { page, warnings } = yield* core.publish(payload, { status: "draft" })
          return { pageId: page.id, pageUrl: yield* pageUrlOf(page.id), status: page.status, createdAt: page.createdAt.toISOString(), warnings }
        }))
      .handle("get", ({ params }) => Effect.flatMap(pages.get(params.id), viewOf))
      .handle("update", ({ params, payload }) =>
        Effect.gen(function*() {
          const { page, warnings } = yield* core.update(params.id, payload)
          return { ...(yield* viewOf(page)), warnings }
        }))
      .handle("publishDraft", ({ params, payload }) =>
        Effect.gen(function*() {
          const page = yield* core.publishDraft(params.id, payload.notify)
          return {
            pageId: page.id,
            pageUrl: yield* pageUrlOf(page.id),
            status: page.status,
            publishedAt: isoOrNull(page.publishedAt) ?? new Date().toISOString(),
            expiresAt: isoOrNull(page.expiresAt)
          }
        }))
      .handle("revoke", ({ params, payload }) =>
        Effect.map(core.revoke(params.id, payload.reason ?? null), (page) => ({
          pageId: page.id,
          status: page.status,
          revokedAt: isoOrNull(page.revokedAt) ?? new Date().toISOString(),
          reason: page.revokeReason
        })))
      .handle("renew", ({ params, payload }) =>
        Effect.map(core.renew(params.id, payload.expires_at), (page) => ({
          pageId: page.id,
          status: page.status,
          expiresAt: isoOrNull(page.expiresAt) ?? ""
        })))
      .handle("append", ({ params, payload }) =>
        Effect.map(core.append(params.id, payload.blocks), (appended) => ({
          pageId: appended.page.id,
          version: appended.page.version,
          totalBlocks: appended.totalBlocks,
          appendedBlocks: appended.appendedIds.length,
          appendedBlockIds: appended.appendedIds,
          warnings: appended.warnings
        })))
      .handle("reorder", ({ params, payload }) =>
        Effect.map(core.reorder(params.id, payload.block_order), (page) => ({
          pageId: page.id,
          version: page.version,
          block_order: page.blocks.map((block) => block.id)
        })))
      .handle("insert", ({ params, payload }) =>
        Effect.map(core.insert(params.id, payload.position, payload.block), (inserted) => ({
          pageId: inserted.page.id,
          blockId: inserted.blockId,
          version: inserted.page.version,
          position: inserted.position,
          warnings: inserted.warnings
        })))
      .handle("updateBlock", ({ params, payload }) =>
        Effect.map(core.updateBlock(params.id, params.blockId, payload), (changed) => ({
          pageId: changed.page.id,
          blockId: changed.block.id,
          version: changed.page.version,
          block: changed.block,
          warnings: changed.warnings
        })))
      .handle("audit", ({ params, query }) =>
        Effect.gen(function*() {
          const page = query.page ?? 1
          const perPage = query.per_page ?? 50
          const result = yield* core.audit(params.id, page, perPage)
          return { ...result, page, per_page: perPage }
        }))
  })
)
