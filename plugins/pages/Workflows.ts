/**
 * Page workflows (`/v1/workflows`): a named group of pages. `parallel` publishes every page at
 * once; `sequential` publishes the first and keeps the rest as drafts, and a `completed`
 * listener publishes the next one in the completing page's transaction (so the next page is
 * out if and only if the decision committed), as the page's publisher.
 *
 * Every page is published in one transaction: a page that fails its checks is a 400 naming
 * `pages[i].<field>` and nothing is created. The group is `completed` when its last page
 * completes, and `cancelled` when one of its pages is revoked or expires before completing
 * (the drafts after it stay unpublished).
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { CurrentPrincipal, Principal } from "trellis/contract"
import { AuditLog, Row } from "trellis/plugin"
import type { CreateWorkflow, WorkflowView } from "./CatalogApi.ts"
import { WorkflowNotFound } from "./CatalogErrors.ts"
import { newId } from "./CatalogShared.ts"
import type { PageRecord } from "./Domain.ts"
import { InvalidPage } from "./Errors.ts"
import { PagesCore } from "./Pages.ts"
import { PublishBody } from "./PagesApi.ts"
import { Pages } from "./PagesService.ts"

const GroupRow = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  flow: Schema.Literals(["sequential", "parallel"]),
  status: Schema.Literals(["active", "completed", "cancelled"]),
  created_at: Row.Timestamp
})

const MemberOf = Schema.Struct({
  group_id: Schema.String,
  position: Schema.Number,
  flow: Schema.Literals(["sequential", "parallel"]),
  status: Schema.String
})

export class Workflows extends Context.Service<Workflows, {
  readonly create: (input: CreateWorkflow) => Effect.Effect<
    { readonly group_id: string; readonly pages: ReadonlyArray<string>; readonly status: "active" },
    InvalidPage,
    CurrentPrincipal
  >
  readonly get: (groupId: string) => Effect.Effect<WorkflowView, WorkflowNotFound, CurrentPrincipal>
}>()("pages/Workflows") {}

export const layer = Layer.effect(
  Workflows,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* AuditLog
    const pages = yield* Pages
    const core = yield* PagesCore

    const setStatus = (groupId: string, status: "completed" | "cancelled") =>
      sql`UPDATE pages.page_groups SET status = ${status}, updated_at = now() WHERE id = ${groupId} AND status = 'active'`

    /** The page's group, locked, when it is still active. */
    const activeGroupOf = (pageId: string) =>
      sql`SELECT m.group_id, m.position, g.flow, g.status
          FROM pages.page_group_members m JOIN pages.page_groups g ON g.id = m.group_id
          WHERE m.page_id = ${pageId} FOR UPDATE OF g`.pipe(
        Effect.flatMap(Row.decode(MemberOf)),
        Effect.map((rows) => Option.filter(Option.fromNullishOr(rows[0]), (row) => row.status === "active"))
      )

    const advance = (page: PageRecord) =>
      Effect.gen(function*() {
        const found = yield* activeGroupOf(page.id)
        if (Option.isNone(found)) return
        const member = found.value
        if (member.flow === "parallel") {
          const open = yield* sql<{ readonly open: unknown }>`SELECT count(*) AS open
            FROM pages.page_group_members m JOIN pages.pages p ON p.id = m.page_id
            WHERE m.group_id = ${member.group_id} AND p.status <> 'completed'`
          if (Number(open[0]?.open ?? 0) === 0) yield* setStatus(member.group_id, "completed")
          return
        }
        const next = yield* sql<{ readonly page_id: string; readonly status: string; readonly principal: unknown }>`
          SELECT m.page_id, p.status, p.principal
          FROM pages.page_group_members m JOIN pages.pages p ON p.id = m.page_id
          WHERE m.group_id = ${member.group_id} AND m.position = ${member.position + 1}`
        const following = next[0]
        if (following === undefined) {
          yield* setStatus(member.group_id, "completed")
          return
        }
        if (following.status !== "draft") return
        const principal = yield* Schema.decodeUnknownEffect(Row.Json(Principal))(following.principal).pipe(Effect.orDie)
        yield* core.publishDraft(following.page_id, undefined).pipe(
          Effect.provideService(CurrentPrincipal, principal),
          // The next page was published or revoked meanwhile by its agent: nothing to do.
          Effect.catchTags({ InvalidPage: () => Effect.void, PageNotFound: () => Effect.void, PageStateConflict: () => Effect.void })
        )
      })

    const cancel = (page: PageRecord) =>
      Effect.gen(function*() {
        const found = yield* activeGroupOf(page.id)
        if (Option.isSome(found)) yield* setStatus(found.value.group_id, "cancelled")
      })

    yield* pages.listen({
      name: "page-workflows",
      completed: (page) => advance(page),
      closed: (page) => cancel(page)
    })

    const create = (input: CreateWorkflow) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const flow = input.flow ?? "sequential"
        const groupId = newId("wf")
        return yield* sql.withTransaction(Effect.gen(function*() {
          const ids: Array<string> = []
          for (const [index, page] of input.pages.entries()) {
            const status = flow === "parallel" || index === 0 ? "active" : "draft"
            const published = yield* core.publish(page, { status }).pipe(
              Effect.mapError((error) =>
                new InvalidPage({
                  field: `pages[${index}].${error.field}`,
                  constraint: error.constraint,
                  detail: `pages[${index}].${error.field}: ${error.constraint}`
                })
              )
            )
            ids.push(published.page.id)
          }
          yield* sql`INSERT INTO pages.page_groups (id, organization_id, name, flow, status, created_by)
            VALUES (${groupId}, ${principal.organizationId}, ${input.name}, ${flow}, 'active', ${principal.id})`
          for (const [index, pageId] of ids.entries()) {
            yield* sql`INSERT INTO pages.page_group_members (group_id, position, page_id, input)
              VALUES (${groupId}, ${index}, ${pageId}, ${Row.jsonb(Schema.encodeSync(PublishBody)(input.pages[index]!))}::jsonb)`
          }
          yield* audit.record("pages.workflow.create", { type: "page_workflow", id: groupId }, { flow, pages: ids })
          return { group_id: groupId, pages: ids, status: "active" as const }
        })).pipe(Row.dieOnInfrastructure)
      })

    const get = (groupId: string) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const groups = yield* sql`SELECT id, name, flow, status, created_at FROM pages.page_groups
          WHERE id = ${groupId} AND organization_id = ${principal.organizationId}`.pipe(Effect.flatMap(Row.decode(GroupRow)))
        const group = groups[0]
        if (group === undefined) return yield* new WorkflowNotFound({ groupId, detail: `No workflow with id ${groupId}.` })
        const members = yield* sql<{ readonly page_id: string; readonly status: string }>`
          SELECT m.page_id, p.status FROM pages.page_group_members m JOIN pages.pages p ON p.id = m.page_id
          WHERE m.group_id = ${group.id} ORDER BY m.position`
        return {
          group_id: group.id,
          name: group.name,
          flow: group.flow,
          status: group.status === "active" ? "in_progress" : group.status,
          pages: members.map((m) => ({ pageId: m.page_id, status: m.status })),
          createdAt: group.created_at
        } satisfies WorkflowView
      }).pipe(Row.dieOnInfrastructure)

    return Workflows.of({ create, get })
  })
)
