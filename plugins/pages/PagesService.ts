/**
 * The `Pages` service: the page store and its lifecycle as the plugin's other parts and other
 * plugins see it (the tag and its interface; `Pages.ts` implements it). Other parts react to a
 * page's moments through listeners registered from their layers; a listener runs inside the
 * transaction of the change, so what it writes or enqueues (a notification, a chain's timeout,
 * the next page of a page workflow, a run's approval) commits if and only if the change does.
 */
import { Context } from "effect"
import type { Effect, Option } from "effect"
import type { CurrentPrincipal } from "trellis/contract"
import type { SqlError } from "effect/sql/SqlError"
import type { PageInput, PageOutcome, PageRecord, StoredBlock } from "./Domain.ts"
import type { InvalidPage, PageNotFound, PageStateConflict } from "./Errors.ts"

/** What publishing (or drafting) answers, before the route shapes it. */
export interface Published {
  readonly page: PageRecord
  /** Advisory block warnings (`Blocks.ts`): the page published anyway. */
  readonly warnings: ReadonlyArray<string>
}

/** Where a publish comes from (recorded on the page's audit event and its `created_by`). */
export interface PublishOptions {
  /** `active` publishes at once (`POST /v1/publish`), `draft` keeps it unpublished (`POST /v1/pages`). */
  readonly status: "active" | "draft"
  /** Extra blocks warnings gathered before (the A2UI / AG-UI translations). */
  readonly warnings?: ReadonlyArray<string> | undefined
}

/**
 * Listeners of a page's moments, each run in the change's transaction with the publisher's
 * principal (`CurrentPrincipal`). A failing listener fails the change (the whole request is a
 * 500 then: a listener must not fail on bad input, which the route checks first).
 */
export interface PageListener {
  readonly name: string
  /** The page became `active` (published at once, or a draft published). */
  readonly published?: ((page: PageRecord) => Effect.Effect<void, SqlError, CurrentPrincipal>) | undefined
  /** The page became `completed` (see `Pages.complete`). */
  readonly completed?: ((page: PageRecord, outcome: PageOutcome) => Effect.Effect<void, SqlError>) | undefined
  /** The page was revoked or expired. */
  readonly closed?: ((page: PageRecord) => Effect.Effect<void, SqlError>) | undefined
}

export class Pages extends Context.Service<Pages, {
  /** Publishes (or drafts) a page in the caller's organization. */
  readonly publish: (input: PageInput, options: PublishOptions) => Effect.Effect<Published, InvalidPage, CurrentPrincipal>
  /** A page of the caller's organization (any status); another organization's is `PageNotFound`. */
  readonly get: (pageId: string) => Effect.Effect<PageRecord, PageNotFound, CurrentPrincipal>
  /**
   * A page by id, whatever its organization, for routes whose caller is a person or nobody
   * (the viewer, public streams, actions): the caller decides access with `Access.decide`.
   */
  readonly find: (pageId: string) => Effect.Effect<Option.Option<PageRecord>>
  /**
   * Completes an active page with its outcome: one guarded UPDATE (`active` to `completed`),
   * then the `completed` listeners, in the caller's transaction. `None` when the page was not
   * active any more (a racing decision won, or it expired): the caller answers 409.
   */
  readonly complete: (pageId: string, outcome: PageOutcome) => Effect.Effect<Option.Option<PageRecord>>
  /** Counts an action on the page's `stats` (in the caller's transaction). */
  readonly countAction: (pageId: string) => Effect.Effect<void>
  /**
   * Records a view by the viewer's render (`GET /v1/pages/:id` does not count): a `page_views`
   * row (for analytics: views, unique viewers by `viewerKey`, daily views) and the counters.
   */
  readonly countView: (pageId: string, viewerKey: string) => Effect.Effect<void>
  /** Registers a listener; call it from a layer. */
  readonly listen: (listener: PageListener) => Effect.Effect<void>
  /** Blocks by id, for parts that anchor to blocks (comments) and check the id exists. */
  readonly block: (page: PageRecord, blockId: string) => Option.Option<StoredBlock>
  /** Errors of a transition another part guards itself, for its 409. */
  readonly conflict: (page: PageRecord) => PageStateConflict
}>()("pages/Pages") {}
