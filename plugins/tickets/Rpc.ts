/**
 * The tickets plugin's RPC contract, served at `/rpc`: the same operations as the HTTP routes,
 * with the same payloads, results and problems. Tags are prefixed `tickets.`.
 *
 * Client-safe: imports only `effect` and `trellis/contract`.
 */
import { Schema } from "effect"
import { Rpc, RpcGroup } from "effect/rpc"
import { AuthProblems, Problems, Requirement, Requires, RpcAuthentication } from "trellis/contract"
import {
  Comment,
  CompleteTicket,
  CreateComment,
  CreateProject,
  CreateTicket,
  Kind,
  Priority,
  Project,
  ProjectDeleted,
  StartedTicket,
  Status,
  Ticket,
  TicketDetail,
  TicketEdit,
  TicketReviewState,
  TicketSettings,
  UpdateTicket
} from "./Domain.ts"
import {
  AgentTicketQuota,
  AgentTicketRejected,
  CloseRequiresIssue,
  DependencyCycle,
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
  StaleLeaseEpoch,
  StatusConflict,
  TicketNotFound
} from "./Errors.ts"

const read = Requirement.read("tickets")
const write = Requirement.write("tickets")
/** Users only, as the HTTP routes SessionFS refuses service keys (`service_key_not_allowed`). */
const userOnly = Requirement.custom("editor", null)
const userRead = Requirement.custom("viewer", null)

const ProjectErrors = Schema.Union([ProjectNotFound, ProjectNotInAllowlist, AuthProblems.CrossOrgDenied])
const TicketErrors = Schema.Union([ProjectNotFound, ProjectNotInAllowlist, AuthProblems.CrossOrgDenied, TicketNotFound])
const ticketKey = { project_id: Schema.String, ticket_id: Schema.String }

export class TicketsRpcs extends RpcGroup.make(
  Rpc.make("tickets.ListProjects", { success: Schema.Array(Project) }).annotate(Requires, userRead),
  Rpc.make("tickets.CreateProject", { payload: CreateProject, success: Project, error: ProjectExists }).annotate(Requires, userOnly),
  Rpc.make("tickets.GetProject", {
    payload: { project: Schema.String },
    success: Project,
    error: ProjectErrors
  }).annotate(Requires, userRead),
  Rpc.make("tickets.DeleteProject", {
    payload: { project_id: Schema.String },
    success: ProjectDeleted,
    error: Schema.Union([ProjectNotFound, ProjectNotInAllowlist, AuthProblems.CrossOrgDenied, NotProjectAdmin])
  }).annotate(Requires, Requirement.custom("editor", null)),
  Rpc.make("tickets.ListTickets", {
    payload: {
      project_id: Schema.String,
      status: Schema.optional(Status),
      assigned_to: Schema.optional(Schema.String),
      kind: Schema.optional(Kind),
      priority: Schema.optional(Priority)
    },
    success: Schema.Array(Ticket),
    error: ProjectErrors
  }).annotate(Requires, read),
  Rpc.make("tickets.CreateTicket", {
    payload: { project_id: Schema.String, ticket: CreateTicket },
    success: Ticket,
    error: Schema.Union([
      ProjectNotFound,
      ProjectNotInAllowlist, AuthProblems.CrossOrgDenied,
      NotProjectAdmin,
      NestedIssue,
      InvalidParent,
      AgentTicketRejected,
      AgentTicketQuota,
      InvalidDependency
    ])
  }).annotate(Requires, write),
  Rpc.make("tickets.GetTicket", { payload: ticketKey, success: TicketDetail, error: TicketErrors }).annotate(Requires, read),
  Rpc.make("tickets.UpdateTicket", {
    payload: { ...ticketKey, update: UpdateTicket },
    success: Ticket,
    error: Schema.Union([
      ProjectNotFound,
      ProjectNotInAllowlist, AuthProblems.CrossOrgDenied,
      TicketNotFound,
      NoMutableFields,
      NotTicketEditor,
      StaleLeaseEpoch,
      LeaseEpochRequired,
      InvalidDependency,
      DependencyCycle
    ])
  }).annotate(Requires, userOnly),
  Rpc.make("tickets.StartTicket", {
    payload: {
      ...ticketKey,
      force: Schema.optional(Schema.Boolean),
      tool: Schema.optional(Schema.String),
      /** A retry with the same key by the same principal returns the claim it holds. */
      idempotency_key: Schema.optional(Schema.String)
    },
    success: StartedTicket,
    error: Schema.Union([ProjectNotFound, ProjectNotInAllowlist, AuthProblems.CrossOrgDenied, TicketNotFound, LeaseHeld, StatusConflict])
  }).annotate(Requires, write),
  Rpc.make("tickets.RenewLease", {
    payload: { ...ticketKey, lease_epoch: Schema.Int },
    success: Ticket,
    error: Schema.Union([ProjectNotFound, ProjectNotInAllowlist, AuthProblems.CrossOrgDenied, TicketNotFound, StaleLeaseEpoch, LeaseNotHeld])
  }).annotate(Requires, write),
  Rpc.make("tickets.CompleteTicket", {
    payload: { ...ticketKey, completion: CompleteTicket },
    success: Ticket,
    error: Schema.Union([
      ProjectNotFound,
      ProjectNotInAllowlist, AuthProblems.CrossOrgDenied,
      TicketNotFound,
      StaleLeaseEpoch,
      LeaseEpochRequired,
      InvalidStatusTransition
    ])
  }).annotate(Requires, write),
  Rpc.make("tickets.ResolveTicket", {
    payload: { ...ticketKey, lease_epoch: Schema.optional(Schema.Int) },
    success: Ticket,
    error: Schema.Union([
      ProjectNotFound,
      ProjectNotInAllowlist, AuthProblems.CrossOrgDenied,
      TicketNotFound,
      StaleLeaseEpoch,
      LeaseEpochRequired,
      StatusConflict
    ])
  }).annotate(Requires, userOnly),
  Rpc.make("tickets.CloseTicket", {
    payload: ticketKey,
    success: Ticket,
    error: Schema.Union([
      ProjectNotFound,
      ProjectNotInAllowlist, AuthProblems.CrossOrgDenied,
      TicketNotFound,
      CloseRequiresIssue,
      NotProjectAdmin,
      InvalidStatusTransition
    ])
  }).annotate(Requires, userOnly),
  Rpc.make("tickets.TransitionTicket", {
    payload: { ...ticketKey, transition: Schema.Literals(["approve", "block", "unblock", "reopen", "dismiss"]) },
    success: Ticket,
    error: Schema.Union([ProjectNotFound, ProjectNotInAllowlist, AuthProblems.CrossOrgDenied, TicketNotFound, InvalidStatusTransition])
  }).annotate(Requires, userOnly),
  Rpc.make("tickets.EscalateTicket", {
    payload: { ...ticketKey, reason: Schema.optional(Schema.String) },
    success: Ticket,
    error: TicketErrors
  }).annotate(Requires, write),
  Rpc.make("tickets.AddComment", {
    payload: { ...ticketKey, comment: CreateComment },
    success: Comment,
    error: Schema.Union([
      ProjectNotFound,
      ProjectNotInAllowlist, AuthProblems.CrossOrgDenied,
      TicketNotFound,
      StaleLeaseEpoch,
      LeaseEpochRequired
    ])
  }).annotate(Requires, write),
  Rpc.make("tickets.ListComments", {
    payload: {
      ...ticketKey,
      since: Schema.optional(Schema.String),
      since_id: Schema.optional(Schema.String),
      limit: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 500 })))
    },
    success: Schema.Array(Comment),
    error: Schema.Union([ProjectNotFound, ProjectNotInAllowlist, AuthProblems.CrossOrgDenied, TicketNotFound, Problems.InvalidRequest])
  }).annotate(Requires, read),
  Rpc.make("tickets.GetReviewState", { payload: ticketKey, success: TicketReviewState, error: TicketErrors }).annotate(Requires, read),
  Rpc.make("tickets.ListEdits", { payload: ticketKey, success: Schema.Array(TicketEdit), error: TicketErrors }).annotate(Requires, read),
  Rpc.make("tickets.GetSettings", { success: TicketSettings }).annotate(Requires, read),
  Rpc.make("tickets.SetSettings", { payload: TicketSettings, success: TicketSettings }).annotate(Requires, Requirement.settings())
).middleware(RpcAuthentication) {}
