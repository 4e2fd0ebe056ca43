/**
 * The pages core HTTP contract (Surflet, seed 003): publish in one step or as a draft, read,
 * update, publish a draft, revoke, renew, the four block routes (append, fix one block,
 * reorder, insert) and a page's audit log. Agents call them with a key: `pages:read` /
 * `pages:write` (a session or user key grants them by role), in their own organization; another
 * organization's page is `PageNotFound`.
 *
 * Blocks are `unknown` in the bodies on purpose: `Blocks.ts` checks them so a bad block is a 400
 * naming `blocks[i].type`, and data issues are advisory `warnings`.
 *
 * Client-safe: imports only `effect` and `trellis/contract`.
 */
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Authentication, Requirement, Requires, WireDialect } from "trellis/contract"
import { Access, Action, ApprovalChain, Notify, OnAction, PageInput, PageStatus, StoredBlock } from "./Domain.ts"
import { BlockNotFound, InvalidPage, PageNotFound, PageStateConflict } from "./Errors.ts"

const read = Requirement.read("pages")
const write = Requirement.write("pages")

const Blocks = Schema.Array(Schema.Unknown)

/** `POST /v1/publish` and `POST /v1/pages`: Surflet's page body. */
export const PublishBody = Schema.Struct({ ...PageInput.fields, blocks: Schema.optional(Blocks) })
export type PublishBody = typeof PublishBody.Type

/** `PATCH /v1/pages/:id`: any member of the page body; blocks replace the page's blocks. */
export const UpdateBody = Schema.Struct({
  page_type: Schema.optional(Schema.String),
  title: Schema.optional(Schema.String),
  summary: Schema.optional(Schema.NullOr(Schema.String)),
  priority: Schema.optional(Schema.String),
  tags: Schema.optional(Schema.Array(Schema.String)),
  blocks: Schema.optional(Blocks),
  actions: Schema.optional(Schema.Array(Action)),
  access: Schema.optional(Access),
  notify: Schema.optional(Notify),
  on_action: Schema.optional(OnAction),
  approval_chain: Schema.optional(ApprovalChain),
  expires_at: Schema.optional(Schema.String),
  metadata: Schema.optional(Schema.Record(Schema.String, Schema.Unknown))
})
export type UpdateBody = typeof UpdateBody.Type

export const Warnings = Schema.Array(Schema.String)

export const PublishedPage = Schema.Struct({
  pageId: Schema.String,
  pageUrl: Schema.String,
  shortUrl: Schema.String,
  status: PageStatus,
  createdAt: Schema.String,
  expiresAt: Schema.NullOr(Schema.String),
  warnings: Warnings
})

export const DraftPage = Schema.Struct({
  pageId: Schema.String,
  pageUrl: Schema.String,
  status: PageStatus,
  createdAt: Schema.String,
  warnings: Warnings
})

export const PageStats = Schema.Struct({
  view_count: Schema.Number,
  action_count: Schema.Number,
  last_viewed_at: Schema.NullOr(Schema.String)
})

export const PageOutcomeView = Schema.Struct({
  action_id: Schema.String,
  decision: Schema.String,
  actor: Schema.String
})

/** `GET /v1/pages/:id`: Surflet's page object, plus Trellis's version, dates and outcome. */
export const PageView = Schema.Struct({
  pageId: Schema.String,
  pageUrl: Schema.String,
  status: PageStatus,
  page_type: Schema.String,
  title: Schema.String,
  summary: Schema.NullOr(Schema.String),
  priority: Schema.String,
  tags: Schema.Array(Schema.String),
  created_by: Schema.String,
  created_at: Schema.String,
  updated_at: Schema.String,
  published_at: Schema.NullOr(Schema.String),
  expires_at: Schema.NullOr(Schema.String),
  revoked_at: Schema.NullOr(Schema.String),
  revoke_reason: Schema.NullOr(Schema.String),
  completed_at: Schema.NullOr(Schema.String),
  version: Schema.Number,
  blocks: Schema.Array(StoredBlock),
  actions: Schema.Array(Action),
  access: Access,
  notify: Schema.NullOr(Notify),
  on_action: Schema.NullOr(OnAction),
  approval_chain: Schema.NullOr(ApprovalChain),
  metadata: Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown)),
  outcome: Schema.NullOr(PageOutcomeView),
  stats: PageStats
})
export type PageView = typeof PageView.Type

/** `PATCH /v1/pages/:id` answers the full page and the warnings of its new blocks. */
export const UpdatedPage = Schema.Struct({ ...PageView.fields, warnings: Warnings })

export const PublishDraftBody = Schema.Struct({ notify: Schema.optional(Notify) })
export const PublishedDraft = Schema.Struct({
  pageId: Schema.String,
  pageUrl: Schema.String,
  status: PageStatus,
  publishedAt: Schema.String,
  expiresAt: Schema.NullOr(Schema.String)
})

export const RevokeBody = Schema.Struct({ reason: Schema.optional(Schema.NullOr(Schema.String)) })
export const Revoked = Schema.Struct({ pageId: Schema.String, status: PageStatus, revokedAt: Schema.String, reason: Schema.NullOr(Schema.String) })

export const RenewBody = Schema.Struct({ expires_at: Schema.String })
export const Renewed = Schema.Struct({ pageId: Schema.String, status: PageStatus, expiresAt: Schema.String })

export const AppendBody = Schema.Struct({ blocks: Blocks })
export const AppendedBlocks = Schema.Struct({
  pageId: Schema.String,
  version: Schema.Number,
  totalBlocks: Schema.Number,
  appendedBlocks: Schema.Number,
  appendedBlockIds: Schema.Array(Schema.String),
  warnings: Warnings
})

export const BlockBody = Schema.Struct({
  data: Schema.Record(Schema.String, Schema.Unknown),
  type: Schema.optional(Schema.String),
  title: Schema.optional(Schema.NullOr(Schema.String)),
  group: Schema.optional(Schema.NullOr(Schema.String)),
  tab: Schema.optional(Schema.NullOr(Schema.String))
})
export const UpdatedBlock = Schema.Struct({
  pageId: Schema.String,
  blockId: Schema.String,
  version: Schema.Number,
  block: StoredBlock,
  warnings: Warnings
})

export const ReorderBody = Schema.Struct({ block_order: Schema.Array(Schema.String) })
export const Reordered = Schema.Struct({ pageId: Schema.String, version: Schema.Number, block_order: Schema.Array(Schema.String) })

export const InsertBody = Schema.Struct({ position: Schema.Int, block: Schema.Unknown })
export const Inserted = Schema.Struct({
  pageId: Schema.String,
  blockId: Schema.String,
  version: Schema.Number,
  position: Schema.Number,
  warnings: Warnings
})

export const AuditItem = Schema.Struct({
  event_id: Schema.String,
  event_type: Schema.String,
  timestamp: Schema.String,
  actor: Schema.String,
  details: Schema.Record(Schema.String, Schema.Unknown),
  chain_hash: Schema.String
})
export const PageAudit = Schema.Struct({
  items: Schema.Array(AuditItem),
  total: Schema.Number,
  page: Schema.Number,
  per_page: Schema.Number
})

const pageParams = { id: Schema.String }
const changeErrors = [PageNotFound, PageStateConflict, InvalidPage] as const

/** `/v1/publish`, `/v1/pages/...`: the page's lifecycle and its blocks. */
export class PagesGroup extends HttpApiGroup.make("pages")
  .annotate(WireDialect, WireDialect.surflet)
  .add(
    HttpApiEndpoint.post("publish", "/v1/publish", {
      payload: PublishBody,
      success: PublishedPage.pipe(HttpApiSchema.status(201)),
      error: InvalidPage
    }).annotate(Requires, write).annotateMerge(OpenApi.annotations({
      description: "Creates and publishes a page in one step. `warnings` lists data issues of blocks (advisory: the page " +
        "published). It expires at `expires_at` (default seven days)."
    })),
    HttpApiEndpoint.post("draft", "/v1/pages", {
      payload: PublishBody,
      success: DraftPage.pipe(HttpApiSchema.status(201)),
      error: InvalidPage
    }).annotate(Requires, write).annotateMerge(OpenApi.annotations({ description: "Creates a draft page (publish it with `POST /v1/pages/:id/publish`)." })),
    HttpApiEndpoint.get("get", "/v1/pages/:id", {
      params: pageParams,
      success: PageView,
      error: PageNotFound
    }).annotate(Requires, read),
    HttpApiEndpoint.patch("update", "/v1/pages/:id", {
      params: pageParams,
      payload: UpdateBody,
      success: UpdatedPage,
      error: changeErrors
    }).annotate(Requires, write).annotateMerge(OpenApi.annotations({
      description: "Changes the members given of a draft or active page (`blocks` replace all blocks); the version goes up by one."
    })),
    HttpApiEndpoint.post("publishDraft", "/v1/pages/:id/publish", {
      params: pageParams,
      payload: PublishDraftBody,
      success: PublishedDraft,
      error: changeErrors
    }).annotate(Requires, write),
    HttpApiEndpoint.post("revoke", "/v1/pages/:id/revoke", {
      params: pageParams,
      payload: RevokeBody,
      success: Revoked,
      error: [PageNotFound, PageStateConflict]
    }).annotate(Requires, write).annotateMerge(OpenApi.annotations({ description: "Revokes a draft or active page: people see it as gone (410)." })),
    HttpApiEndpoint.post("renew", "/v1/pages/:id/renew", {
      params: pageParams,
      payload: RenewBody,
      success: Renewed,
      error: changeErrors
    }).annotate(Requires, write).annotateMerge(OpenApi.annotations({
      description: "Gives an active or expired page a new `expires_at` (in the future); an expired page becomes active again."
    })),
    HttpApiEndpoint.patch("append", "/v1/pages/:id/blocks", {
      params: pageParams,
      payload: AppendBody,
      success: AppendedBlocks,
      error: changeErrors
    }).annotate(Requires, write).annotateMerge(OpenApi.annotations({
      description: "Appends blocks to a draft or active page (streaming publish); racing appends all land, each with its own version."
    })),
    HttpApiEndpoint.put("reorder", "/v1/pages/:id/blocks/reorder", {
      params: pageParams,
      payload: ReorderBody,
      success: Reordered,
      error: changeErrors
    }).annotate(Requires, write).annotateMerge(OpenApi.annotations({ description: "Reorders the page's blocks; blocks not listed follow, in their order." })),
    HttpApiEndpoint.post("insert", "/v1/pages/:id/blocks/insert", {
      params: pageParams,
      payload: InsertBody,
      success: Inserted,
      error: changeErrors
    }).annotate(Requires, write).annotateMerge(OpenApi.annotations({ description: "Inserts a block at `position` (0 is first; past the end appends)." })),
    HttpApiEndpoint.patch("updateBlock", "/v1/pages/:id/blocks/:blockId", {
      params: { id: Schema.String, blockId: Schema.String },
      payload: BlockBody,
      success: UpdatedBlock,
      error: [...changeErrors, BlockNotFound]
    }).annotate(Requires, write).annotateMerge(OpenApi.annotations({
      description: "Fixes one top-level block: its `data` is replaced (and `type`, `title`, `group`, `tab` when given)."
    })),
    HttpApiEndpoint.get("audit", "/v1/pages/:id/audit", {
      params: pageParams,
      query: {
        page: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
        per_page: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 200 })))
      },
      success: PageAudit,
      error: PageNotFound
    }).annotate(Requires, read).annotateMerge(OpenApi.annotations({
      description: "The page's entries of the organization's hash-chained audit log, newest first (`chain_hash` is the entry's hash)."
    }))
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({
    title: "Pages",
    description: "Surflet pages: publish, drafts, updates, revoke and renew, blocks and the page's audit log."
  }))
{}

export class PagesApi extends HttpApi.make("pages").add(PagesGroup) {}
