/**
 * The catalog part's HTTP contract (Surflet, seed 003): templates and publishing from one,
 * page workflows, associations, page analytics, the tenant dashboard and quality score (the
 * organization's agents call these with their key: `pages:read` / `pages:write`), and the
 * person's inbox (`/v1/inbox`: a signed-in member, for the email address of their user).
 *
 * Client-safe: imports only `effect` and `trellis/contract`.
 */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Authentication, Requirement, Requires, WireDialect } from "trellis/contract"
import {
  AssociationExists,
  InboxEntryNotFound,
  TemplateConflict,
  TemplateNotFound,
  WorkflowNotFound
} from "./CatalogErrors.ts"
import { InvalidPage, PageNotFound } from "./Errors.ts"
import { PublishBody, PublishedPage } from "./PagesApi.ts"

const read = Requirement.read("pages")
const write = Requirement.write("pages")

export const TemplateVariableType = Schema.Literals(["string", "number", "boolean"])

export const TemplateVariable = Schema.Struct({
  key: Schema.String.check(Schema.isPattern(/^[A-Za-z_][\w]{0,63}$/)),
  label: Schema.String,
  required: Schema.Boolean,
  type: TemplateVariableType
})
export type TemplateVariable = typeof TemplateVariable.Type

export const TemplateSummary = Schema.Struct({
  name: Schema.String,
  description: Schema.String,
  variables: Schema.Array(TemplateVariable),
  /** Trellis: whether the template is one of the server's built-in set (not deletable). */
  builtIn: Schema.Boolean
})
export type TemplateSummary = typeof TemplateSummary.Type

export const TemplateList = Schema.Struct({ templates: Schema.Array(TemplateSummary) })

/** `POST /v1/templates` (Trellis): `page` is a publish body whose strings may hold `{{key}}` placeholders of the declared variables. */
export const CreateTemplate = Schema.Struct({
  name: Schema.String.check(Schema.isPattern(/^[a-z0-9][a-z0-9_-]{0,63}$/)),
  description: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(1000))),
  variables: Schema.Array(TemplateVariable).check(Schema.isMaxLength(50)),
  page: PublishBody
})
export type CreateTemplate = typeof CreateTemplate.Type

export const PublishFromTemplate = Schema.Struct({
  variables: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
})

export const CreateWorkflow = Schema.Struct({
  name: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(200)),
  pages: Schema.Array(PublishBody).check(Schema.isMinLength(1), Schema.isMaxLength(20)),
  flow: Schema.optionalKey(Schema.Literals(["sequential", "parallel"]))
})
export type CreateWorkflow = typeof CreateWorkflow.Type

export const CreatedWorkflow = Schema.Struct({
  group_id: Schema.String,
  pages: Schema.Array(Schema.String),
  status: Schema.Literal("active")
})

export const WorkflowView = Schema.Struct({
  group_id: Schema.String,
  name: Schema.String,
  /** Trellis: the group's flow. */
  flow: Schema.Literals(["sequential", "parallel"]),
  status: Schema.Literals(["in_progress", "completed", "cancelled"]),
  pages: Schema.Array(Schema.Struct({ pageId: Schema.String, status: Schema.String })),
  createdAt: Schema.String
})
export type WorkflowView = typeof WorkflowView.Type

export const CreateAssociation = Schema.Struct({
  targetPageId: Schema.String,
  relationType: Schema.String
})

export const Association = Schema.Struct({
  id: Schema.String,
  sourcePageId: Schema.String,
  targetPageId: Schema.String,
  relationType: Schema.String,
  tenantId: Schema.String,
  createdAt: Schema.String
})
export type Association = typeof Association.Type

export const AssociationList = Schema.Struct({ associations: Schema.Array(Association) })

export const PageAnalytics = Schema.Struct({
  pageId: Schema.String,
  totalViews: Schema.Number,
  uniqueViewers: Schema.Number,
  dailyViews: Schema.Record(Schema.String, Schema.Number),
  createdAt: Schema.String,
  status: Schema.String
})
export type PageAnalytics = typeof PageAnalytics.Type

export const Dashboard = Schema.Struct({
  period: Schema.Literal("last_30_days"),
  metrics: Schema.Struct({
    total_pages: Schema.Number,
    active_pages: Schema.Number,
    completed_pages: Schema.Number,
    avg_resolution_time_hours: Schema.Number,
    approval_rate: Schema.Number
  })
})
export type Dashboard = typeof Dashboard.Type

export const QualityScore = Schema.Struct({
  tenantId: Schema.String,
  totalPages: Schema.Number,
  totalDecisions: Schema.Number,
  acceptanceRate: Schema.Number,
  avgDecisionTimeMinutes: Schema.Number,
  score: Schema.Number,
  period: Schema.Literal("last_100_pages")
})
export type QualityScore = typeof QualityScore.Type

export const InboxEntryWire = Schema.Struct({
  id: Schema.String,
  pageId: Schema.String,
  title: Schema.String,
  pageType: Schema.String,
  status: Schema.Literals(["unread", "read", "archived"]),
  starred: Schema.Boolean,
  priority: Schema.String,
  createdAt: Schema.String
})

export const InboxList = Schema.Struct({ entries: Schema.Array(InboxEntryWire), total: Schema.Number })

const nameParams = { name: Schema.String }
const pageParams = { id: Schema.String }

/** Templates, page workflows, associations, analytics, dashboard and quality score. */
export class PagesCatalogGroup extends HttpApiGroup.make("pagesCatalog")
  .annotate(WireDialect, WireDialect.surflet)
  .add(
    HttpApiEndpoint.get("listTemplates", "/v1/templates", { success: TemplateList }).annotate(Requires, read)
      .annotateMerge(OpenApi.annotations({ description: "The built-in templates and the organization's own." })),
    HttpApiEndpoint.post("createTemplate", "/v1/templates", {
      payload: CreateTemplate,
      success: TemplateSummary.pipe(HttpApiSchema.status(201)),
      error: [TemplateConflict, InvalidPage]
    }).annotate(Requires, write).annotateMerge(OpenApi.annotations({
      description: "Trellis: adds a template to the organization. Every `{{key}}` in the page's strings must be a declared variable."
    })),
    HttpApiEndpoint.delete("deleteTemplate", "/v1/templates/:name", {
      params: nameParams,
      success: HttpApiSchema.NoContent,
      error: [TemplateNotFound, TemplateConflict]
    }).annotate(Requires, write).annotateMerge(OpenApi.annotations({ description: "Trellis: deletes a template the organization added (built-ins are 409)." })),
    HttpApiEndpoint.post("publishTemplate", "/v1/publish/template/:name", {
      params: nameParams,
      payload: PublishFromTemplate,
      success: PublishedPage.pipe(HttpApiSchema.status(201)),
      error: [TemplateNotFound, InvalidPage]
    }).annotate(Requires, write).annotateMerge(OpenApi.annotations({
      description: "Publishes a page from a template with `variables` checked against it (missing required, wrong type " +
        "or unknown variables are 400 naming `variables.<key>`); an unknown template is 404 with `details.available`."
    })),
    HttpApiEndpoint.post("createWorkflow", "/v1/workflows", {
      payload: CreateWorkflow,
      success: CreatedWorkflow.pipe(HttpApiSchema.status(201)),
      error: InvalidPage
    }).annotate(Requires, write).annotateMerge(OpenApi.annotations({
      description: "Creates a page workflow. `sequential` (default) publishes the first page and keeps the others as drafts, " +
        "each published when the one before completes; `parallel` publishes all. Every page is checked first (400 naming `pages[i].<field>`)."
    })),
    HttpApiEndpoint.get("getWorkflow", "/v1/workflows/:groupId", {
      params: { groupId: Schema.String },
      success: WorkflowView,
      error: WorkflowNotFound
    }).annotate(Requires, read),
    HttpApiEndpoint.post("createAssociation", "/v1/pages/:id/associations", {
      params: pageParams,
      payload: CreateAssociation,
      success: Association.pipe(HttpApiSchema.status(201)),
      error: [PageNotFound, InvalidPage, AssociationExists]
    }).annotate(Requires, write),
    HttpApiEndpoint.get("listAssociations", "/v1/pages/:id/associations", {
      params: pageParams,
      success: AssociationList,
      error: PageNotFound
    }).annotate(Requires, read).annotateMerge(OpenApi.annotations({ description: "Trellis: the page's associations, either direction." })),
    HttpApiEndpoint.get("analytics", "/v1/pages/:id/analytics", {
      params: pageParams,
      success: PageAnalytics,
      error: PageNotFound
    }).annotate(Requires, read),
    HttpApiEndpoint.get("dashboard", "/v1/tenant/dashboard", { success: Dashboard }).annotate(Requires, read),
    HttpApiEndpoint.get("qualityScore", "/v1/quality-score", { success: QualityScore }).annotate(Requires, read)
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({
    title: "Page templates, workflows and analytics",
    description: "Surflet's templates, page workflows, associations, page analytics, tenant dashboard and quality score."
  }))
{}

const entryParams = { id: Schema.String }

/** `/v1/inbox`: the pages waiting for the signed-in person. */
export class PagesInboxGroup extends HttpApiGroup.make("pagesInbox")
  .annotate(WireDialect, WireDialect.surflet)
  .add(
    HttpApiEndpoint.get("list", "/v1/inbox", {
      query: {
        status: Schema.optionalKey(Schema.Literals(["unread", "read", "archived"])),
        priority: Schema.optionalKey(Schema.String),
        pageType: Schema.optionalKey(Schema.String),
        limit: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 200 }))),
        offset: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))
      },
      success: InboxList
    }).annotate(Requires, Requirement.member()).annotateMerge(OpenApi.annotations({
      description: "The caller's inbox (their user's email address, in the caller's organization), newest first; archived entries only with `status=archived`."
    })),
    HttpApiEndpoint.patch("read", "/v1/inbox/:id/read", {
      params: entryParams,
      success: HttpApiSchema.NoContent,
      error: InboxEntryNotFound
    }).annotate(Requires, Requirement.member()),
    HttpApiEndpoint.patch("star", "/v1/inbox/:id/star", {
      params: entryParams,
      payload: Schema.Struct({ starred: Schema.optionalKey(Schema.Boolean) }),
      success: HttpApiSchema.NoContent,
      error: InboxEntryNotFound
    }).annotate(Requires, Requirement.member()),
    HttpApiEndpoint.delete("archive", "/v1/inbox/:id", {
      params: entryParams,
      success: HttpApiSchema.NoContent,
      error: InboxEntryNotFound
    }).annotate(Requires, Requirement.member())
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Inbox", description: "Surflet's inbox: the pages that name the signed-in person." }))
{}
