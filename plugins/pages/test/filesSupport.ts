/**
 * What the files tests need of the rest of the plugin: pages to attach files to.
 *
 * Until the core lane's `Pages` lands, a stand-in plugin offers `Pages.find` over rows the test
 * writes into `pages.pages`; `pagesFor` and `pagesHelpers` are the only things to change then
 * (publish through `POST /v1/publish` / `POST /v1/pages`).
 */
import { Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { Plugin } from "trellis/plugin"
import type { AccessMode, PageRecord, PageStatus } from "../Domain.ts"
import { Pages } from "../PagesService.ts"

interface PageRow {
  readonly id: string
  readonly organization_id: string
  readonly status: PageStatus
  readonly access: unknown
  readonly created_at: Date | string
}

const parsed = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) : value)

const recordOf = (row: PageRow): PageRecord => ({
  id: row.id,
  organizationId: row.organization_id,
  status: row.status,
  pageType: "review",
  title: "files test",
  summary: null,
  priority: "normal",
  tags: [],
  blocks: [],
  actions: [],
  access: parsed(row.access) as PageRecord["access"],
  notify: null,
  onAction: null,
  approvalChain: null,
  metadata: null,
  version: 1,
  createdBy: "agent:files-test",
  createdAt: new Date(row.created_at),
  updatedAt: new Date(row.created_at),
  publishedAt: new Date(row.created_at),
  expiresAt: null,
  revokedAt: null,
  revokeReason: null,
  completedAt: null,
  outcome: null,
  viewCount: 0,
  actionCount: 0,
  lastViewedAt: null
})

const unused = Effect.die(new Error("not used by the files tests"))

const stand = Plugin.make({
  id: "pages_standin",
  version: "0.0.0",
  description: "Pages.find over pages.pages, for the files tests until the core lane's Pages lands",
  groups: [],
  migrations: [],
  requires: ["runs"],
  layer: Layer.effect(
    Pages,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      return Pages.of({
        publish: () => unused,
        get: () => unused,
        find: (pageId) =>
          sql<PageRow>`SELECT id, organization_id, status, access, created_at FROM pages.pages WHERE id = ${pageId}`.pipe(
            Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), recordOf)),
            Effect.orDie
          ),
        complete: () => unused,
        countAction: () => unused,
        countView: () => unused,
        listen: () => Effect.void,
        block: () => Option.none(),
        conflict: () => {
          throw new Error("not used by the files tests")
        }
      })
    })
  )
})

/** The plugins the files tests serve for `pages`. */
export const pagesFor = (pages: Plugin.Any): ReadonlyArray<Plugin.Any> => [stand, pages]

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
const pageId = () => {
  let id = "pg_"
  for (const byte of crypto.getRandomValues(new Uint8Array(12))) id += alphabet[byte % alphabet.length]
  return id
}

export interface PublishOptions {
  readonly mode: AccessMode
  readonly status?: PageStatus
  /** Another organization's agent (its key and organization id); the default organization's admin otherwise. */
  readonly as?: { readonly token: string; readonly orgId: string } | undefined
}

export const pagesHelpers = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const publish = (options: PublishOptions) =>
    Effect.gen(function*() {
      const id = pageId()
      yield* sql`
        INSERT INTO pages.pages (id, organization_id, status, page_type, title, priority, access, created_by, principal, published_at)
        VALUES (${id}, ${options.as?.orgId ?? "org_default"}, ${options.status ?? "active"}, 'review', 'files test', 'normal',
                ${JSON.stringify({ mode: options.mode })}::jsonb, 'agent:files-test', '{}'::jsonb, now())`
      return id
    })
  const record = (id: string) =>
    sql<PageRow>`SELECT id, organization_id, status, access, created_at FROM pages.pages WHERE id = ${id}`.pipe(
      Effect.map((rows) => recordOf(rows[0]!))
    )
  return { publish, record }
})
