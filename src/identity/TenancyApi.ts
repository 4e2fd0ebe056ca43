/**
 * The tenancy surface, at each seed's paths and in each seed's JSON casing:
 *
 * - PromptOps (004): `/api/workspaces`, `/api/users` (snake_case, `{ data }` envelopes like the
 *   prompts plugin's PromptOps paths).
 * - SessionFS (001): `/api/v1/org`, its invites and members, `/api/v1/orgs/{org_id}/invite`,
 *   `/api/v1/orgs/{org_id}/invites/{invite_id}/resend` (snake_case).
 * - Surflet (003): `GET /v1/tenant` (snake_case, as documented), `POST /v1/auth/agent/register`
 *   and `POST /v1/auth/claim` (camelCase).
 *
 * Roles given are the platform's (`viewer`, `editor`, `admin`, `owner`) or SessionFS's
 * (`member` is accepted as `editor`); on SessionFS's paths roles read as SessionFS's (`admin`
 * for owners and admins, `member` for editors and viewers), as its server answers.
 *
 * Client-safe: imports only `effect`.
 */
import { PromptOpsRole } from "./PromptOpsRole.ts"
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { WireDialect } from "../http/WireDialect.ts"
import { Authentication } from "../auth/Authentication.ts"
import { Role } from "../auth/Principal.ts"
import * as Requirement from "../auth/Requirement.ts"
import { Public, Requires } from "../auth/Requirement.ts"
import { Forbidden, NotFound, RateLimited } from "../problem/Problems.ts"
import { SessionFsRole } from "./AuthApi.ts"
import { AccountExists, InvalidToken } from "./IdentityProblems.ts"
import {
  AccountShared,
  AlreadyMember,
  EmailNotVerified,
  InviteExists,
  InviteNotPending,
  InviteNotResendable,
  LastAdministrator,
  OwnerProtected,
  SelfMembershipChange,
  SlugTaken,
  WorkspaceNameTaken,
  DefaultWorkspaceProtected,
  WorkspaceSlugTaken
} from "./TenancyProblems.ts"

const NullableString = Schema.NullOr(Schema.String)
const Timestamp = Schema.String
const Email = Schema.String.check(Schema.isPattern(/^[^\s@]+@[^\s@]+$/), Schema.isMaxLength(320))
const data = <S extends Schema.Top>(schema: S) => Schema.Struct({ data: schema })
const Ok = Schema.Struct({ ok: Schema.Boolean })

/** A role to give: the platform's, or SessionFS's `member` (= `editor`). */
export const RoleInput = Schema.Literals(["viewer", "editor", "admin", "owner", "member"])
export type RoleInput = typeof RoleInput.Type

/** A role an invite may carry (owners are never invited). */
export const InviteRoleInput = Schema.Literals(["viewer", "editor", "admin", "member"])

/** Scopes a service key may hold for the workspace endpoints. */
export const tenancyScopes = ["workspaces:read", "workspaces:write", "tenant:read"] as const

// ---------------------------------------------------------------------------------------------
// PromptOps: workspaces

/** PromptOps's workspace (`id, name, slug, created_at`) plus Trellis's fields. */
export const Workspace = Schema.Struct({
  id: Schema.String,
  organization_id: Schema.String,
  name: Schema.String,
  /** Unique within the organization; the default workspace's is `default`. */
  slug: Schema.String,
  /** The organization's default workspace: always there, never deleted. */
  is_default: Schema.Boolean,
  description: Schema.String,
  created_by: NullableString,
  created_at: Timestamp,
  updated_at: Timestamp
})
export type Workspace = typeof Workspace.Type

/** PromptOps's console sends `name` and, optionally, `slug` (derived from the name when absent or blank). */
export const CreateWorkspace = Schema.Struct({
  name: Schema.String.check(
    Schema.isMaxLength(200),
    Schema.makeFilter((name: string) => name.trim() !== "" || "name is required")
  ),
  slug: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(60))),
  description: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(2000)))
})

/**
 * Workspaces of the caller's organization. Reads: viewer (service keys `workspaces:read`);
 * create: editor (`workspaces:write`); delete: admin (`workspaces:write`), since it removes a
 * team's grouping for everyone.
 */
export class TenancyWorkspacesGroup extends HttpApiGroup.make("tenancyWorkspaces")
  .annotate(WireDialect, WireDialect.promptOps)
  .add(
    HttpApiEndpoint.get("list", "/api/workspaces", { success: data(Schema.Array(Workspace)) })
      .annotate(Requires, Requirement.read("workspaces")),
    HttpApiEndpoint.post("create", "/api/workspaces", {
      payload: CreateWorkspace,
      success: data(Workspace).pipe(HttpApiSchema.status(201)),
      error: [WorkspaceNameTaken, WorkspaceSlugTaken]
    }).annotate(Requires, Requirement.write("workspaces")),
    HttpApiEndpoint.get("get", "/api/workspaces/:id", {
      params: { id: Schema.String },
      success: data(Workspace),
      error: NotFound
    }).annotate(Requires, Requirement.read("workspaces")),
    HttpApiEndpoint.delete("remove", "/api/workspaces/:id", {
      params: { id: Schema.String },
      success: Ok,
      error: [NotFound, DefaultWorkspaceProtected]
    }).annotate(Requires, Requirement.custom("admin", "workspaces:write"))
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Workspaces", description: "Team workspaces of the organization (PromptOps paths)" }))
{}

// ---------------------------------------------------------------------------------------------
// PromptOps: users (admin only)

export const OrganizationUser = Schema.Struct({
  id: Schema.String,
  username: Schema.String,
  email: NullableString,
  display_name: NullableString,
  /** The role in the caller's organization, as PromptOps names it (an owner is `admin`). */
  role: PromptOpsRole,
  /** The Trellis role (`owner` included). */
  trellis_role: Role,
  type: Schema.Literals(["human", "agent"]),
  active: Schema.Boolean,
  email_verified: Schema.Boolean,
  organization_id: Schema.String,
  joined_at: Timestamp,
  created_at: Timestamp
})
export type OrganizationUser = typeof OrganizationUser.Type

const Username = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$/))
const Password = Schema.String.check(Schema.isMinLength(8), Schema.isMaxLength(1024))

export const CreateUser = Schema.Struct({
  username: Username,
  password: Password,
  email: Schema.optionalKey(Schema.NullOr(Email)),
  display_name: Schema.optionalKey(Schema.NullOr(Schema.String.check(Schema.isMaxLength(200)))),
  /** Defaults to `viewer`. */
  role: Schema.optionalKey(RoleInput)
})

export const UpdateUser = Schema.Struct({
  role: Schema.optionalKey(RoleInput),
  active: Schema.optionalKey(Schema.Boolean),
  password: Schema.optionalKey(Password),
  email: Schema.optionalKey(Schema.NullOr(Email)),
  display_name: Schema.optionalKey(Schema.NullOr(Schema.String.check(Schema.isMaxLength(200))))
})

const memberRuleErrors = [NotFound, LastAdministrator, SelfMembershipChange, OwnerProtected] as const

/** The organization's users (its members) for admins: list, create, change, remove. */
export class TenancyUsersGroup extends HttpApiGroup.make("tenancyUsers")
  .annotate(WireDialect, WireDialect.promptOps)
  .add(
    HttpApiEndpoint.get("list", "/api/users", { success: data(Schema.Array(OrganizationUser)) })
      .annotate(Requires, Requirement.admin()),
    HttpApiEndpoint.post("create", "/api/users", {
      payload: CreateUser,
      success: data(OrganizationUser).pipe(HttpApiSchema.status(201)),
      error: [AccountExists, OwnerProtected]
    }).annotate(Requires, Requirement.admin()),
    HttpApiEndpoint.get("get", "/api/users/:id", {
      params: { id: Schema.String },
      success: data(OrganizationUser),
      error: NotFound
    }).annotate(Requires, Requirement.admin()),
    HttpApiEndpoint.put("update", "/api/users/:id", {
      params: { id: Schema.String },
      payload: UpdateUser,
      success: data(OrganizationUser),
      error: [...memberRuleErrors, AccountShared, AccountExists]
    }).annotate(Requires, Requirement.admin()),
    HttpApiEndpoint.delete("remove", "/api/users/:id", {
      params: { id: Schema.String },
      success: Ok,
      error: memberRuleErrors
    }).annotate(Requires, Requirement.admin())
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Users", description: "User management of the organization, admin only (PromptOps paths)" }))
{}

// ---------------------------------------------------------------------------------------------
// SessionFS: organization, invites, members

const Slug = Schema.String.check(Schema.isPattern(/^[a-z0-9][a-z0-9-]{2,99}$/))

export const CreateOrgRequest = Schema.Struct({
  name: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(200)),
  /** Lowercase letters, digits and hyphens, 3 to 100 characters; derived from the name when absent. */
  slug: Schema.optionalKey(Slug)
})

export const OrgCreated = Schema.Struct({ org_id: Schema.String, name: Schema.String, slug: Schema.String })

export const OrgMember = Schema.Struct({
  user_id: Schema.String,
  username: Schema.String,
  email: NullableString,
  display_name: NullableString,
  /** SessionFS's name of the role (`admin` or `member`). */
  role: SessionFsRole,
  /** The platform's role (`viewer`, `editor`, `admin`, `owner`). */
  trellis_role: Role,
  joined_at: NullableString
})

export const OrgInfo = Schema.Struct({
  org: Schema.NullOr(Schema.Struct({
    id: Schema.String,
    name: Schema.String,
    slug: NullableString,
    tier: Schema.String,
    seats_limit: Schema.NullOr(Schema.Number),
    seats_used: Schema.Number,
    storage_limit_bytes: Schema.NullOr(Schema.Number),
    storage_used_bytes: Schema.Number,
    created_at: Timestamp
  })),
  members: Schema.Array(OrgMember),
  current_user_role: Schema.NullOr(SessionFsRole)
})

export const InviteRequest = Schema.Struct({
  email: Email,
  /** Defaults to `member` (= `editor`). */
  role: Schema.optionalKey(InviteRoleInput)
})

export const InviteCreated = Schema.Struct({ invite_id: Schema.String, email: Schema.String, role: SessionFsRole })

export const PendingInvite = Schema.Struct({
  id: Schema.String,
  email: Schema.String,
  role: SessionFsRole,
  invited_by: NullableString,
  created_at: Timestamp,
  expires_at: Timestamp,
  last_emailed_at: NullableString,
  status: Schema.Literals(["pending", "expired"])
})

export const MyInvite = Schema.Struct({
  /** SessionFS's name for the id (`id` is kept for earlier Trellis clients). */
  invite_id: Schema.String,
  id: Schema.String,
  org_id: Schema.String,
  org_name: Schema.String,
  role: SessionFsRole,
  invited_by_email: NullableString,
  created_at: Timestamp,
  expires_at: Timestamp
})

export const DeclineRequest = Schema.Struct({
  decline_reason: Schema.optionalKey(Schema.NullOr(Schema.String.check(Schema.isMaxLength(1000)))),
  reason: Schema.optionalKey(Schema.NullOr(Schema.String.check(Schema.isMaxLength(1000))))
})

export const ResendResponse = Schema.Struct({
  invite_id: Schema.String,
  email: Schema.String,
  last_emailed_at: NullableString,
  sent: Schema.Boolean
})

const InviteParams = { invite_id: Schema.String }
const OrgParams = { org_id: Schema.String }
const inviteErrors = [InviteExists, AlreadyMember] as const
const answerErrors = [NotFound, InviteNotPending, EmailNotVerified, Forbidden] as const

export class TenancyOrgGroup extends HttpApiGroup.make("tenancyOrg")
  .annotate(WireDialect, WireDialect.sessionFs)
  .add(
    HttpApiEndpoint.post("create", "/api/v1/org", {
      payload: CreateOrgRequest,
      success: OrgCreated,
      error: SlugTaken
    }).annotate(Requires, Requirement.member()),
    HttpApiEndpoint.get("info", "/api/v1/org", { success: OrgInfo }).annotate(Requires, Requirement.member()),
    HttpApiEndpoint.post("invite", "/api/v1/org/invite", {
      payload: InviteRequest,
      success: InviteCreated,
      error: inviteErrors
    }).annotate(Requires, Requirement.admin()),
    HttpApiEndpoint.post("inviteInOrg", "/api/v1/orgs/:org_id/invite", {
      params: OrgParams,
      payload: InviteRequest,
      success: InviteCreated,
      error: [...inviteErrors, NotFound]
    }).annotate(Requires, Requirement.admin()),
    // SessionFS's multi-org invite path (its server's `org_members` routes).
    HttpApiEndpoint.post("inviteMember", "/api/v1/orgs/:org_id/members/invite", {
      params: OrgParams,
      payload: InviteRequest,
      success: InviteCreated,
      error: [...inviteErrors, NotFound]
    }).annotate(Requires, Requirement.admin()),
    HttpApiEndpoint.post("accept", "/api/v1/org/invite/:invite_id/accept", {
      params: InviteParams,
      success: Schema.Struct({ org_id: Schema.String, role: SessionFsRole }),
      error: [...answerErrors, AlreadyMember]
    }).annotate(Requires, Requirement.member()),
    HttpApiEndpoint.post("decline", "/api/v1/org/invite/:invite_id/decline", {
      params: InviteParams,
      // The body is optional: an empty one decodes as null.
      payload: [DeclineRequest, Schema.Null],
      success: Schema.Struct({ invite_id: Schema.String, declined: Schema.Boolean, declined_at: Schema.String }),
      error: answerErrors
    }).annotate(Requires, Requirement.member()),
    HttpApiEndpoint.get("listInvites", "/api/v1/org/invites", {
      success: Schema.Struct({ invites: Schema.Array(PendingInvite) })
    }).annotate(Requires, Requirement.admin()),
    HttpApiEndpoint.get("myInvites", "/api/v1/org/invites/me", {
      success: Schema.Struct({ invites: Schema.Array(MyInvite) })
    }).annotate(Requires, Requirement.member()),
    HttpApiEndpoint.delete("revokeInvite", "/api/v1/org/invites/:invite_id", {
      params: InviteParams,
      success: Schema.Struct({ revoked: Schema.String }),
      error: NotFound
    }).annotate(Requires, Requirement.admin()),
    HttpApiEndpoint.post("resendInvite", "/api/v1/orgs/:org_id/invites/:invite_id/resend", {
      params: { ...OrgParams, ...InviteParams },
      success: ResendResponse,
      error: [NotFound, InviteNotResendable]
    }).annotate(Requires, Requirement.admin()),
    HttpApiEndpoint.put("changeRole", "/api/v1/org/members/:user_id/role", {
      params: { user_id: Schema.String },
      payload: Schema.Struct({ role: RoleInput }),
      success: Schema.Struct({ user_id: Schema.String, role: SessionFsRole, trellis_role: Role }),
      error: memberRuleErrors
    }).annotate(Requires, Requirement.admin()),
    HttpApiEndpoint.delete("removeMember", "/api/v1/org/members/:user_id", {
      params: { user_id: Schema.String },
      // Trellis has no project transfer yet: the two counts are always 0.
      success: Schema.Struct({ removed: Schema.String, projects_transferred: Schema.Number, pending_transfers_cancelled: Schema.Number }),
      error: memberRuleErrors
    }).annotate(Requires, Requirement.admin())
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "SessionFS organization", description: "Organization, members and invites (SessionFS paths)" }))
{}

// ---------------------------------------------------------------------------------------------
// Surflet: tenant, agent self-registration, claim

export const Tenant = Schema.Struct({
  tenant_id: Schema.String,
  name: Schema.String,
  plan: Schema.String,
  usage: Schema.Struct({
    pages_this_month: Schema.Number,
    pages_limit: Schema.NullOr(Schema.Number),
    members: Schema.Number,
    workspaces: Schema.Number
  })
})

export const AgentRegisterRequest = Schema.Struct({
  name: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(100)),
  owner_email: Schema.optionalKey(Schema.NullOr(Email))
})

export const AgentRegistered = Schema.Struct({
  apiKey: Schema.String,
  tenantId: Schema.String,
  claimCode: Schema.String,
  claimUrl: Schema.String,
  message: Schema.String
})

export class TenancyTenantGroup extends HttpApiGroup.make("tenancyTenant")
  .annotate(WireDialect, WireDialect.surflet)
  .add(
    HttpApiEndpoint.get("tenant", "/v1/tenant", { success: Tenant }).annotate(Requires, Requirement.read("tenant")),
    HttpApiEndpoint.post("claim", "/v1/auth/claim", {
      payload: Schema.Struct({ claimCode: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(100)) }),
      success: Schema.Struct({ tenantId: Schema.String, claimed: Schema.Boolean }),
      error: [InvalidToken, Forbidden]
    }).annotate(Requires, Requirement.member())
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Surflet tenant", description: "The tenant and claiming agent-created accounts (Surflet paths)" }))
{}

/** Public: an agent creates its own account (rate-limited per client address). */
export class TenancyAgentGroup extends HttpApiGroup.make("tenancyAgent")
  .annotate(Public, "an agent creates its own account")
  .annotate(WireDialect, WireDialect.surflet)
  .add(
    HttpApiEndpoint.post("register", "/v1/auth/agent/register", {
      payload: AgentRegisterRequest,
      success: AgentRegistered.pipe(HttpApiSchema.status(201)),
      error: RateLimited
    })
  )
  .annotateMerge(OpenApi.annotations({ title: "Agent registration", description: "Agent self-registration (Surflet paths)" }))
{}

/** The tenancy groups, for the identity plugin's `groups`. */
export const tenancyGroups = [TenancyWorkspacesGroup, TenancyUsersGroup, TenancyOrgGroup, TenancyTenantGroup, TenancyAgentGroup] as const

/** The tenancy API on its own, for its handlers and for typed clients of just these paths. */
export class TenancyApi extends HttpApi.make("identity-tenancy")
  .add(TenancyWorkspacesGroup)
  .add(TenancyUsersGroup)
  .add(TenancyOrgGroup)
  .add(TenancyTenantGroup)
  .add(TenancyAgentGroup)
{}
