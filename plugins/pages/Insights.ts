/**
 * Associations between pages and the figures computed from pages: one page's analytics (its
 * `page_views` rows), the organization's 30-day dashboard and its agents' quality score. All
 * figures are SQL over the tables, in the caller's organization.
 *
 * Quality score (0-100, over the organization's last 100 published pages):
 * `score = round(0.5 × acceptanceRate + 0.3 × decisionRate + 0.2 × speed)`, where
 * `acceptanceRate` is the share of decided pages approved (0-100), `decisionRate` the share of
 * those pages that got a decision (0-100), and `speed` is 100 for an average decision within an
 * hour, falling linearly to 0 at 24 hours (0 when nothing was decided).
 */
import { Context, Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { CurrentPrincipal } from "trellis/contract"
import { AuditLog, Row } from "trellis/plugin"
import type { Association, Dashboard, PageAnalytics, QualityScore } from "./CatalogApi.ts"
import { AssociationExists } from "./CatalogErrors.ts"
import { newId } from "./CatalogShared.ts"
import { InvalidPage } from "./Errors.ts"
import type { PageNotFound } from "./Errors.ts"
import { Pages } from "./PagesService.ts"

const AssociationRow = Schema.Struct({
  id: Schema.String,
  source_page_id: Schema.String,
  target_page_id: Schema.String,
  relation_type: Schema.String,
  organization_id: Schema.String,
  created_at: Row.Timestamp
})

const toAssociation = (row: typeof AssociationRow.Type): Association => ({
  id: row.id,
  sourcePageId: row.source_page_id,
  targetPageId: row.target_page_id,
  relationType: row.relation_type,
  tenantId: row.organization_id,
  createdAt: row.created_at
})

const invalid = (field: string, constraint: string) => new InvalidPage({ field, constraint, detail: `${field}: ${constraint}` })

const num = (value: unknown): number => value === null || value === undefined ? 0 : Number(value)
const round = (value: number, digits: number): number => {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

/** The quality score's formula (see the module comment). */
export const scoreOf = (acceptanceRate: number, decisionRate: number, avgDecisionMinutes: number, decisions: number): number => {
  const speed = decisions === 0 ? 0 : Math.max(0, Math.min(100, 100 - ((avgDecisionMinutes - 60) / (1440 - 60)) * 100))
  return Math.round(0.5 * acceptanceRate + 0.3 * decisionRate + 0.2 * speed)
}

export class Insights extends Context.Service<Insights, {
  readonly associate: (pageId: string, targetPageId: string, relationType: string) => Effect.Effect<
    Association,
    PageNotFound | InvalidPage | AssociationExists,
    CurrentPrincipal
  >
  readonly associations: (pageId: string) => Effect.Effect<ReadonlyArray<Association>, PageNotFound, CurrentPrincipal>
  readonly analytics: (pageId: string) => Effect.Effect<PageAnalytics, PageNotFound, CurrentPrincipal>
  readonly dashboard: Effect.Effect<Dashboard, never, CurrentPrincipal>
  readonly quality: Effect.Effect<QualityScore, never, CurrentPrincipal>
}>()("pages/Insights") {}

export const layer = Layer.effect(
  Insights,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* AuditLog
    const pages = yield* Pages

    const associate = (pageId: string, targetPageId: string, relationType: string) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const relation = relationType.trim()
        if (!/^[A-Za-z0-9_.-]{1,64}$/.test(relation)) {
          return yield* invalid("relationType", "1 to 64 letters, digits, '_', '-' or '.' (e.g. follow_up, duplicate, related)")
        }
        const source = yield* pages.get(pageId)
        if (targetPageId === source.id) return yield* invalid("targetPageId", "a page cannot be associated with itself")
        const target = yield* pages.get(targetPageId)
        const created = yield* sql.withTransaction(Effect.gen(function*() {
          const rows = yield* sql`INSERT INTO pages.associations (id, organization_id, source_page_id, target_page_id, relation_type, created_by)
            VALUES (${newId("assoc")}, ${principal.organizationId}, ${source.id}, ${target.id}, ${relation}, ${principal.id})
            ON CONFLICT (source_page_id, target_page_id, relation_type) DO NOTHING
            RETURNING id, source_page_id, target_page_id, relation_type, organization_id, created_at`.pipe(
            Effect.flatMap(Row.decode(AssociationRow))
          )
          const row = rows[0]
          if (row === undefined) return undefined
          yield* audit.record("pages.page.associate", { type: "page", id: source.id }, {
            associationId: row.id,
            targetPageId: target.id,
            relationType: relation
          })
          return toAssociation(row)
        })).pipe(Effect.orDie)
        if (created !== undefined) return created
        const existing = yield* sql<{ readonly id: string }>`SELECT id FROM pages.associations
          WHERE source_page_id = ${source.id} AND target_page_id = ${target.id} AND relation_type = ${relation}`.pipe(Effect.orDie)
        const associationId = existing[0]?.id ?? ""
        return yield* new AssociationExists({
          associationId,
          detail: `${source.id} is already associated with ${target.id} as ${relation} (${associationId})`
        })
      })

    const associations = (pageId: string) =>
      Effect.gen(function*() {
        const page = yield* pages.get(pageId)
        const rows = yield* sql`SELECT id, source_page_id, target_page_id, relation_type, organization_id, created_at
          FROM pages.associations
          WHERE organization_id = ${page.organizationId} AND (source_page_id = ${page.id} OR target_page_id = ${page.id})
          ORDER BY created_at, id`.pipe(Effect.flatMap(Row.decode(AssociationRow)), Effect.orDie)
        return rows.map(toAssociation)
      })

    const analytics = (pageId: string) =>
      Effect.gen(function*() {
        const page = yield* pages.get(pageId)
        const totals = yield* sql<{ readonly total: unknown; readonly unique_viewers: unknown }>`
          SELECT count(*) AS total, count(DISTINCT viewer_key) AS unique_viewers
          FROM pages.page_views WHERE page_id = ${page.id}`.pipe(Effect.orDie)
        const days = yield* sql<{ readonly day: string; readonly views: unknown }>`
          SELECT to_char(day, 'YYYY-MM-DD') AS day, count(*) AS views
          FROM pages.page_views WHERE page_id = ${page.id} GROUP BY day ORDER BY day`.pipe(Effect.orDie)
        return {
          pageId: page.id,
          totalViews: num(totals[0]?.total),
          uniqueViewers: num(totals[0]?.unique_viewers),
          dailyViews: Object.fromEntries(days.map((d) => [d.day, num(d.views)])),
          createdAt: page.createdAt.toISOString(),
          status: page.status
        } satisfies PageAnalytics
      })

    const dashboard = Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      const rows = yield* sql<Record<string, unknown>>`
        SELECT count(*) AS total,
          count(*) FILTER (WHERE status = 'active') AS active,
          count(*) FILTER (WHERE status = 'completed') AS completed,
          avg(EXTRACT(EPOCH FROM (completed_at - published_at))) FILTER (WHERE status = 'completed' AND published_at IS NOT NULL) AS avg_seconds,
          count(*) FILTER (WHERE status = 'completed' AND outcome->>'decision' = 'approve') AS approved
        FROM pages.pages
        WHERE organization_id = ${principal.organizationId} AND created_at >= now() - interval '30 days'`.pipe(Effect.orDie)
      const row = rows[0] ?? {}
      const completed = num(row["completed"])
      return {
        period: "last_30_days",
        metrics: {
          total_pages: num(row["total"]),
          active_pages: num(row["active"]),
          completed_pages: completed,
          avg_resolution_time_hours: round(num(row["avg_seconds"]) / 3600, 2),
          approval_rate: completed === 0 ? 0 : round(num(row["approved"]) / completed, 2)
        }
      } satisfies Dashboard
    })

    const quality = Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      const rows = yield* sql<Record<string, unknown>>`
        WITH recent AS (
          SELECT status, outcome, published_at, completed_at FROM pages.pages
          WHERE organization_id = ${principal.organizationId} AND status <> 'draft'
          ORDER BY created_at DESC, id DESC LIMIT 100
        )
        SELECT count(*) AS total,
          count(*) FILTER (WHERE status = 'completed' AND outcome IS NOT NULL) AS decisions,
          count(*) FILTER (WHERE status = 'completed' AND outcome->>'decision' = 'approve') AS approved,
          avg(EXTRACT(EPOCH FROM (completed_at - published_at))) FILTER (WHERE status = 'completed' AND outcome IS NOT NULL) AS avg_seconds
        FROM recent`.pipe(Effect.orDie)
      const row = rows[0] ?? {}
      const total = num(row["total"])
      const decisions = num(row["decisions"])
      const acceptanceRate = decisions === 0 ? 0 : Math.round((num(row["approved"]) / decisions) * 100)
      const decisionRate = total === 0 ? 0 : (decisions / total) * 100
      const avgMinutes = num(row["avg_seconds"]) / 60
      return {
        tenantId: principal.organizationId,
        totalPages: total,
        totalDecisions: decisions,
        acceptanceRate,
        avgDecisionTimeMinutes: Math.round(avgMinutes),
        score: scoreOf(acceptanceRate, decisionRate, avgMinutes, decisions),
        period: "last_100_pages"
      } satisfies QualityScore
    })

    return Insights.of({ associate, associations, analytics, dashboard, quality })
  })
)
