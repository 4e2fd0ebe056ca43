/**
 * The problems of organizations, members, invites and workspaces. A missing (or another
 * organization's) invite, member or workspace is the platform's `NOT_FOUND`; an unknown or used
 * claim code is identity's `invalid_token`.
 *
 * Client-safe: imports only `effect`.
 */
import { Schema } from "effect"
import { Problem } from "../problem/Problem.ts"

/** 409: another organization already uses this slug. */
export class SlugTaken extends Problem<SlugTaken>()("SlugTaken", {
  code: "org_slug_taken",
  status: 409,
  title: "Organization slug already taken"
}, { slug: Schema.String }) {}

/** 409: the organization already has a workspace with this name. */
export class WorkspaceNameTaken extends Problem<WorkspaceNameTaken>()("WorkspaceNameTaken", {
  code: "workspace_name_taken",
  status: 409,
  title: "Workspace name already taken"
}, { name: Schema.String }) {}

/** 409: the address already has a pending invite to this organization. */
export class InviteExists extends Problem<InviteExists>()("InviteExists", {
  code: "invite_exists",
  status: 409,
  title: "An active invite already exists for this email"
}, { invite_id: Schema.String }) {}

/** 409: the user (or the invite's addressee) is already a member of the organization. */
export class AlreadyMember extends Problem<AlreadyMember>()("AlreadyMember", {
  code: "already_member",
  status: 409,
  title: "Already a member of this organization"
}) {}

/** 400: the invite was accepted, declined or has expired: it can no longer be answered. */
export class InviteNotPending extends Problem<InviteNotPending>()("InviteNotPending", {
  code: "invite_not_pending",
  status: 400,
  title: "Invite is no longer pending"
}, { state: Schema.Literals(["accepted", "declined", "expired"]) }) {}

/** 409: only a pending invite can be resent; an answered or expired one needs a new invite. */
export class InviteNotResendable extends Problem<InviteNotResendable>()("InviteNotResendable", {
  code: "invite_not_resendable",
  status: 409,
  title: "Invite cannot be resent"
}, { state: Schema.Literals(["accepted", "declined", "expired"]) }) {}

/** 403: answering invites needs a verified email address (the invite is addressed to it). */
export class EmailNotVerified extends Problem<EmailNotVerified>()("EmailNotVerified", {
  code: "email_not_verified",
  status: 403,
  title: "Email address not verified"
}) {}

/** 400: the change would leave the organization without an owner or admin. */
export class LastAdministrator extends Problem<LastAdministrator>()("LastAdministrator", {
  code: "last_administrator",
  status: 400,
  title: "The organization's last administrator"
}) {}

/** 400: members cannot change their own role or remove themselves (ask another admin). */
export class SelfMembershipChange extends Problem<SelfMembershipChange>()("SelfMembershipChange", {
  code: "self_membership_change",
  status: 400,
  title: "Cannot change your own membership"
}) {}

/** 403: only an owner may grant the owner role or change or remove an owner. */
export class OwnerProtected extends Problem<OwnerProtected>()("OwnerProtected", {
  code: "owner_protected",
  status: 403,
  title: "Only an owner may do this to an owner"
}) {}

/**
 * 403: the account also belongs to other organizations, so one organization's admin may not
 * change its password or deactivate it (that would reach into the other organizations).
 */
export class AccountShared extends Problem<AccountShared>()("AccountShared", {
  code: "account_shared",
  status: 403,
  title: "The account belongs to other organizations too"
}) {}

/** 409: the organization already has a workspace with this slug. */
export class WorkspaceSlugTaken extends Problem<WorkspaceSlugTaken>()("WorkspaceSlugTaken", {
  code: "workspace_slug_taken",
  status: 409,
  title: "Workspace slug already taken"
}, { slug: Schema.String }) {}

/** 400: the default workspace always exists (PromptOps's console needs one to land in). */
export class DefaultWorkspaceProtected extends Problem<DefaultWorkspaceProtected>()("DefaultWorkspaceProtected", {
  code: "default_workspace_protected",
  status: 400,
  title: "The default workspace cannot be deleted"
}) {}

export const tenancyProblems = [
  SlugTaken,
  WorkspaceNameTaken,
  InviteExists,
  AlreadyMember,
  InviteNotPending,
  InviteNotResendable,
  EmailNotVerified,
  LastAdministrator,
  SelfMembershipChange,
  OwnerProtected,
  AccountShared,
  WorkspaceSlugTaken,
  DefaultWorkspaceProtected
] as const
