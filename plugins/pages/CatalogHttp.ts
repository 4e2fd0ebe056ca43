/** The catalog part's HTTP handlers: thin, they call the services. */
import { Effect, Layer, Option } from "effect"
import { HttpApi, HttpApiBuilder } from "effect/http-api"
import { CurrentPrincipal } from "trellis/contract"
import { Directory } from "trellis/plugin"
import { PagesCatalogGroup, PagesInboxGroup } from "./CatalogApi.ts"
import { InboxEntryNotFound } from "./CatalogErrors.ts"
import { Inbox } from "./InboxService.ts"
import { Insights } from "./Insights.ts"
import { publishedAnswer } from "./Pages.ts"
import { Templates } from "./Templates.ts"
import { Workflows } from "./Workflows.ts"

/** The catalog part's own API value, for its handlers. */
export class CatalogApi extends HttpApi.make("pages-catalog").add(PagesCatalogGroup).add(PagesInboxGroup) {}

const CatalogHttp = HttpApiBuilder.group(
  CatalogApi,
  "pagesCatalog",
  Effect.fn(function*(handlers) {
    const templates = yield* Templates
    const workflows = yield* Workflows
    const insights = yield* Insights
    return handlers
      .handle("listTemplates", () => Effect.map(templates.list, (list) => ({ templates: list })))
      .handle("createTemplate", ({ payload }) => templates.create(payload))
      .handle("deleteTemplate", ({ params }) => templates.remove(params.name))
      .handle("publishTemplate", ({ params, payload }) =>
        Effect.flatMap(templates.publish(params.name, payload.variables ?? {}), publishedAnswer))
      .handle("createWorkflow", ({ payload }) => workflows.create(payload))
      .handle("getWorkflow", ({ params }) => workflows.get(params.groupId))
      .handle("createAssociation", ({ params, payload }) => insights.associate(params.id, payload.targetPageId, payload.relationType))
      .handle("listAssociations", ({ params }) => Effect.map(insights.associations(params.id), (associations) => ({ associations })))
      .handle("analytics", ({ params }) => insights.analytics(params.id))
      .handle("dashboard", () => insights.dashboard)
      .handle("qualityScore", () => insights.quality)
  })
)

const InboxHttp = HttpApiBuilder.group(
  CatalogApi,
  "pagesInbox",
  Effect.fn(function*(handlers) {
    const inbox = yield* Inbox
    const directory = yield* Directory
    /** The caller's email: their user's address; a credential without a user (a service key, the admin token) has no inbox. */
    const emailOf = Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      if (principal.userId === null) return null
      return Option.getOrNull(yield* directory.emailOf(principal.userId))
    })
    const change = (entryId: string, act: (target: { email: string; entryId: string; organizationId: string }) => Effect.Effect<boolean>) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const email = yield* emailOf
        const done = email === null ? false : yield* act({ email, entryId, organizationId: principal.organizationId })
        if (!done) return yield* new InboxEntryNotFound({ entryId, detail: `No inbox entry with id ${entryId}.` })
      })
    return handlers
      .handle("list", ({ query }) =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          const email = yield* emailOf
          if (email === null) return { entries: [], total: 0 }
          return yield* inbox.list(email, { ...query, organizationId: principal.organizationId })
        }))
      .handle("read", ({ params }) => change(params.id, (target) => inbox.markRead(target)))
      .handle("star", ({ params, payload }) => change(params.id, (target) => inbox.star(target, payload.starred ?? true)))
      .handle("archive", ({ params }) => change(params.id, (target) => inbox.archive(target)))
  })
)

export const CatalogHttpLive = Layer.mergeAll(CatalogHttp, InboxHttp)
