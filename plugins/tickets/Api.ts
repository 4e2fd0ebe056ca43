/**
 * The tickets plugin's HTTP contract: SessionFS's projects and tickets routes (seed 001) at
 * their paths, with their snake_case bodies. Reads need `tickets:read` on a service key (viewer
 * for users), writes `tickets:write` (editor); the organization setting needs an admin.
 * Service keys reach only the routes SessionFS opens to them (its `require_scope` routes); the
 * others (`userOnly`) answer them `403 service_key_not_allowed`, as SessionFS does.
 *
 * Every route is also an RPC (`TicketsRpcs`, derived below).
 *
 * Client-safe: imports only `effect` and `trellis/contract`.
 */
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { AuthProblems, Authentication, Problems, RateGroup, Requirement, Requires, RpcFromApi, runsApiRateGroup, WireDialect } from "trellis/contract"
import {
  Comment,
  CompleteTicket,
  CreateComment,
  CreateMobileProject,
  CreateProject,
  CreateTicket,
  EscalateTicket,
  ListCommentsQuery,
  ListMobileProjectsQuery,
  ListTicketsQuery,
  MobileProject,
  MobileProjectPage,
  Project,
  ProjectContextUpdated,
  ProjectDeleted,
  ProjectTicketSettings,
  RenewLease,
  StartedTicket,
  Ticket,
  TicketDetail,
  TicketEdit,
  TicketReviewState,
  TicketSettings,
  UpdateMobileProject,
  UpdateProjectContext,
  UpdateProjectTicketSettings,
  UpdateTicket
} from "./Domain.ts"
import {
  AgentTicketQuota,
  AgentTicketRejected,
  CloseRequiresIssue,
  DependencyCycle,
  InvalidCursor,
  InvalidDependency,
  InvalidParent,
  InvalidStatusTransition,
  LeaseEpochRequired,
  LeaseHeld,
  LeaseNotHeld,
  NestedIssue,
  NoMutableFields,
  NotProjectAdmin,
  NotTicketEditor,
  ProjectExists,
  ProjectNotFound,
  ProjectNotInAllowlist,
  RepositoryTaken,
  RepositoryUrlHasCredentials,
  StaleLeaseEpoch,
  StatusConflict,
  TicketNotFound
} from "./Errors.ts"

const read = Requirement.read("tickets")
const write = Requirement.write("tickets")
/** Users only (editor and up): SessionFS's `get_current_user` routes refuse service keys. */
const userOnly = Requirement.custom("editor", null)
/** Reads for users only (viewer and up). */
const userRead = Requirement.custom("viewer", null)

const projectErrors = [ProjectNotFound, ProjectNotInAllowlist, AuthProblems.CrossOrgDenied] as const
const ticketErrors = [...projectErrors, TicketNotFound] as const

const ticketParams = { project_id: Schema.String, ticket_id: Schema.String }
const ticketPath = "/api/v1/projects/:project_id/tickets/:ticket_id"

/** `/api/v1/projects/`: the projects tickets live in. */
export class ProjectsGroup extends HttpApiGroup.make("ticketProjects")
  .annotate(WireDialect, WireDialect.sessionFs)
  .add(
    HttpApiEndpoint.get("listProjects", "/api/v1/projects/", {
      success: Schema.Array(Project)
    }).annotate(Requires, userRead),
    HttpApiEndpoint.post("createProject", "/api/v1/projects/", {
      payload: CreateProject,
      success: Project.pipe(HttpApiSchema.status(201)),
      error: [ProjectExists, AuthProblems.CrossOrgDenied]
    }).annotate(Requires, userOnly),
    HttpApiEndpoint.get("getProject", "/api/v1/projects/:project", {
      params: { project: Schema.String },
      success: Project,
      error: projectErrors
    }).annotate(Requires, userRead).annotateMerge(OpenApi.annotations({
      description: "A project by id, or by its normalized git remote: URL-encoded (`acme%2Frepo`), or written as a " +
        "path (`/api/v1/projects/acme/repo`, `/api/v1/projects/github.com/acme/repo`)."
    })),
    // The remote written as a path. Left out of the OpenAPI document: a wildcard segment has no
    // OpenAPI spelling, and `get` documents the form.
    HttpApiEndpoint.get("getProjectByRemote", "/api/v1/projects/:owner/:repo/*", {
      params: { owner: Schema.String, repo: Schema.String, "*": Schema.optional(Schema.String) },
      success: Project,
      error: projectErrors
    }).annotate(Requires, userRead).annotateMerge(OpenApi.annotations({ exclude: true })),
    HttpApiEndpoint.put("updateContext", "/api/v1/projects/:project/context", {
      params: { project: Schema.String },
      payload: UpdateProjectContext,
      success: ProjectContextUpdated,
      error: projectErrors
    }).annotate(Requires, userOnly).annotateMerge(OpenApi.annotations({
      description: "Replaces the context document of the project with this id or URL-encoded remote " +
        "(also `/api/v1/projects/acme/repo/context`)."
    })),
    // The remote written as a path, `/api/v1/projects/{owner}/{repo}[/{host part}]/context`.
    HttpApiEndpoint.put("updateContextByRemote", "/api/v1/projects/:owner/:repo/*", {
      params: { owner: Schema.String, repo: Schema.String, "*": Schema.optional(Schema.String) },
      payload: UpdateProjectContext,
      success: ProjectContextUpdated,
      error: projectErrors
    }).annotate(Requires, userOnly).annotateMerge(OpenApi.annotations({ exclude: true })),
    HttpApiEndpoint.delete("deleteProject", "/api/v1/projects/:project_id", {
      params: { project_id: Schema.String },
      success: ProjectDeleted,
      error: [...projectErrors, NotProjectAdmin]
    }).annotate(Requires, Requirement.custom("editor", null))
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Projects", description: "Projects tickets belong to, keyed by git remote (SessionFS)." }))
{}

/** `/api/v1/projects/{id}/tickets`: tickets, their lifecycle, comments and review state. */
export class TicketsGroup extends HttpApiGroup.make("tickets")
  .annotate(WireDialect, WireDialect.sessionFs)
  .add(
    HttpApiEndpoint.get("list", "/api/v1/projects/:project_id/tickets", {
      params: { project_id: Schema.String },
      query: ListTicketsQuery,
      success: Schema.Array(Ticket),
      error: projectErrors
    }).annotate(Requires, read),
    HttpApiEndpoint.post("create", "/api/v1/projects/:project_id/tickets", {
      params: { project_id: Schema.String },
      payload: CreateTicket,
      success: Ticket.pipe(HttpApiSchema.status(201)),
      error: [
        ...projectErrors,
        NotProjectAdmin,
        NestedIssue,
        InvalidParent,
        AgentTicketRejected,
        AgentTicketQuota,
        InvalidDependency
      ]
    }).annotate(Requires, write),
    HttpApiEndpoint.get("get", ticketPath, {
      params: ticketParams,
      success: TicketDetail,
      error: ticketErrors
    }).annotate(Requires, read),
    HttpApiEndpoint.put("update", ticketPath, {
      params: ticketParams,
      payload: UpdateTicket,
      success: Ticket,
      error: [
        ...ticketErrors,
        NoMutableFields,
        NotTicketEditor,
        StaleLeaseEpoch,
        LeaseEpochRequired,
        InvalidDependency,
        DependencyCycle
      ]
    }).annotate(Requires, userOnly),
    HttpApiEndpoint.post("start", `${ticketPath}/start`, {
      params: ticketParams,
      query: {
        /** Also claim a blocked task. */
        force: Schema.optional(Schema.Boolean),
        /** Size the compiled context for this tool (`claude-code`, `cursor`, ...). */
        tool: Schema.optional(Schema.String)
      },
      headers: { "idempotency-key": Schema.optional(Schema.String.check(Schema.isMaxLength(255))) },
      success: StartedTicket,
      error: [...ticketErrors, LeaseHeld, StatusConflict]
    }).annotate(Requires, write),
    HttpApiEndpoint.post("renew", `${ticketPath}/renew`, {
      params: ticketParams,
      payload: RenewLease,
      success: Ticket,
      error: [...ticketErrors, StaleLeaseEpoch, LeaseNotHeld]
    }).annotate(Requires, write),
    HttpApiEndpoint.post("complete", `${ticketPath}/complete`, {
      params: ticketParams,
      payload: CompleteTicket,
      success: Ticket,
      error: [...ticketErrors, StaleLeaseEpoch, LeaseEpochRequired, InvalidStatusTransition]
    }).annotate(Requires, write),
    HttpApiEndpoint.post("resolve", `${ticketPath}/resolve`, {
      params: ticketParams,
      query: { lease_epoch: Schema.optional(Schema.Int) },
      success: Ticket,
      error: [...ticketErrors, StaleLeaseEpoch, LeaseEpochRequired, StatusConflict]
    }).annotate(Requires, userOnly),
    HttpApiEndpoint.post("accept", `${ticketPath}/accept`, {
      params: ticketParams,
      query: { lease_epoch: Schema.optional(Schema.Int) },
      success: Ticket,
      error: [...ticketErrors, StaleLeaseEpoch, LeaseEpochRequired, StatusConflict]
    }).annotate(Requires, userOnly).annotateMerge(OpenApi.annotations({
      description: "SessionFS's earlier name of resolve (review -> done)."
    })),
    HttpApiEndpoint.post("close", `${ticketPath}/close`, {
      params: ticketParams,
      success: Ticket,
      error: [...ticketErrors, CloseRequiresIssue, NotProjectAdmin, InvalidStatusTransition]
    }).annotate(Requires, userOnly),
    HttpApiEndpoint.post("approve", `${ticketPath}/approve`, {
      params: ticketParams,
      success: Ticket,
      error: [...ticketErrors, InvalidStatusTransition]
    }).annotate(Requires, userOnly),
    HttpApiEndpoint.post("block", `${ticketPath}/block`, {
      params: ticketParams,
      success: Ticket,
      error: [...ticketErrors, InvalidStatusTransition]
    }).annotate(Requires, userOnly),
    HttpApiEndpoint.post("unblock", `${ticketPath}/unblock`, {
      params: ticketParams,
      success: Ticket,
      error: [...ticketErrors, InvalidStatusTransition]
    }).annotate(Requires, userOnly),
    HttpApiEndpoint.post("reopen", `${ticketPath}/reopen`, {
      params: ticketParams,
      success: Ticket,
      error: [...ticketErrors, InvalidStatusTransition]
    }).annotate(Requires, userOnly),
    HttpApiEndpoint.post("dismiss", `${ticketPath}/dismiss`, {
      params: ticketParams,
      success: Ticket,
      error: [...ticketErrors, InvalidStatusTransition]
    }).annotate(Requires, userOnly),
    HttpApiEndpoint.post("escalate", `${ticketPath}/escalate`, {
      params: ticketParams,
      payload: [EscalateTicket, Schema.Null],
      success: Ticket,
      error: ticketErrors
    }).annotate(Requires, write),
    HttpApiEndpoint.post("addComment", `${ticketPath}/comments`, {
      params: ticketParams,
      payload: CreateComment,
      success: Comment.pipe(HttpApiSchema.status(201)),
      error: [...ticketErrors, StaleLeaseEpoch, LeaseEpochRequired]
    }).annotate(Requires, write),
    HttpApiEndpoint.get("listComments", `${ticketPath}/comments`, {
      params: ticketParams,
      query: ListCommentsQuery,
      success: Schema.Array(Comment),
      error: [...ticketErrors, Problems.InvalidRequest]
    }).annotate(Requires, read),
    HttpApiEndpoint.get("reviewState", `${ticketPath}/review-state`, {
      params: ticketParams,
      success: TicketReviewState,
      error: ticketErrors
    }).annotate(Requires, read),
    HttpApiEndpoint.get("edits", `${ticketPath}/edits`, {
      params: ticketParams,
      success: Schema.Array(TicketEdit),
      error: ticketErrors
    }).annotate(Requires, read)
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({
    title: "Tickets",
    description: "Tickets coding agents claim and complete: server-enforced lifecycle, lease epochs, dependencies, comments (SessionFS)."
  }))
{}

/** Per-organization ticket settings. */
export class TicketSettingsGroup extends HttpApiGroup.make("ticketSettings")
  .annotate(WireDialect, WireDialect.sessionFs)
  .add(
    HttpApiEndpoint.get("getSettings", "/api/v1/tickets/settings", {
      success: TicketSettings
    }).annotate(Requires, read),
    HttpApiEndpoint.put("setSettings", "/api/v1/tickets/settings", {
      payload: TicketSettings,
      success: TicketSettings
    }).annotate(Requires, Requirement.settings()),
    HttpApiEndpoint.get("getProjectSettings", "/api/v1/tickets/settings/projects/:project_id", {
      params: { project_id: Schema.String },
      success: ProjectTicketSettings,
      error: projectErrors
    }).annotate(Requires, read),
    HttpApiEndpoint.put("setProjectSettings", "/api/v1/tickets/settings/projects/:project_id", {
      params: { project_id: Schema.String },
      payload: UpdateProjectTicketSettings,
      success: ProjectTicketSettings,
      error: [...projectErrors, NotProjectAdmin]
    }).annotate(Requires, Requirement.custom("editor", null, { limit: "settings" })).annotateMerge(OpenApi.annotations({
      description: "The project's lease length: `lease_seconds` (0: claims never expire; null: the server's " +
        "TRELLIS_TICKETS_LEASE_SECONDS). Project owner or organization admin."
    }))
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Ticket settings", description: "The organization's and each project's ticket settings." }))
{}

const mobileProjectErrors = [Problems.NotFound, ProjectNotInAllowlist, AuthProblems.CrossOrgDenied] as const

/**
 * `/api/projects`: the same projects for seed 002's mobile client (camelCase, plain RFC 7807
 * problems, cursor pages, the seed's 60 a minute). Its clone, pull, RAG index, map, schema,
 * diagrams, snapshots and docs routes are outside Trellis and not served. Left out of the RPCs:
 * the SessionFS-shaped ones above reach the same projects.
 */
export class MobileProjectsGroup extends HttpApiGroup.make("mobileProjects")
  .annotate(WireDialect, WireDialect.runs)
  .annotate(RateGroup, runsApiRateGroup)
  .add(
    HttpApiEndpoint.get("list", "/api/projects", {
      query: ListMobileProjectsQuery,
      success: MobileProjectPage,
      error: InvalidCursor
    }).annotate(Requires, Requirement.read("projects")),
    HttpApiEndpoint.post("create", "/api/projects", {
      payload: CreateMobileProject,
      success: MobileProject.pipe(HttpApiSchema.status(201)),
      error: [RepositoryTaken, RepositoryUrlHasCredentials]
    }).annotate(Requires, Requirement.write("projects")),
    HttpApiEndpoint.get("get", "/api/projects/:project", {
      params: { project: Schema.String },
      success: MobileProject,
      error: mobileProjectErrors
    }).annotate(Requires, Requirement.read("projects")),
    HttpApiEndpoint.put("update", "/api/projects/:project", {
      params: { project: Schema.String },
      payload: UpdateMobileProject,
      success: MobileProject,
      error: mobileProjectErrors
    }).annotate(Requires, Requirement.write("projects")),
    HttpApiEndpoint.delete("archive", "/api/projects/:project", {
      params: { project: Schema.String },
      success: HttpApiSchema.NoContent,
      error: [...mobileProjectErrors, NotProjectAdmin]
    }).annotate(Requires, Requirement.write("projects")).annotateMerge(OpenApi.annotations({
      description: "Soft delete (project owner or organization admin): the project is archived, gone from every list and route (404 after), " +
        "and its repository may be used by a new project."
    }))
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Mobile projects", description: "The projects tickets belong to, for seed 002's mobile client." }))
{}

/** The plugin's own API value, for its handlers and for typed clients of just this plugin. */
export class TicketsApi extends HttpApi.make("tickets").add(ProjectsGroup).add(TicketsGroup).add(TicketSettingsGroup).add(MobileProjectsGroup) {}

/**
 * The RPC form of every route above, served at `/rpc` by the same handlers: tag
 * `tickets.<EndpointName>` (`tickets.CreateProject`, `tickets.Start`), payload
 * `{ params, query, headers, payload }` as the typed HTTP client sends it.
 */
export const TicketsRpcs = RpcFromApi.make("tickets", [ProjectsGroup, TicketsGroup, TicketSettingsGroup])
