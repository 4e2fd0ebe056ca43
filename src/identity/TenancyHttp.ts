/**
 * Handlers of the tenancy surface (see `TenancyApi.ts`). Thin: they read the principal, call
 * `Workspaces`, `Members`, `Invites` and `Organizations` (which scope every query to the
 * principal's organization and record the audit entries), and shape each seed's JSON.
 */
import { promptOpsRole } from "./PromptOpsRole.ts"
import { Effect, Layer, Option } from "effect"
import { HttpServerRequest } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { CurrentPrincipal } from "../auth/Principal.ts"
import { TrellisConfig } from "../config/TrellisConfig.ts"
import { NotFound } from "../problem/Problems.ts"
import { Invites } from "./Invites.ts"
import type { InviteRecord, InviteRole, ReceivedInvite } from "./Invites.ts"
import { LoginGuard } from "./LoginGuard.ts"
import { Members, normalizeRole } from "./Members.ts"
import type { MemberRecord } from "./Members.ts"
import { Organizations } from "./Organizations.ts"
import { sessionFsRole } from "./AuthApi.ts"
import { TenancyApi } from "./TenancyApi.ts"
import { Workspaces } from "./Workspaces.ts"
import type { WorkspaceRecord } from "./Workspaces.ts"

const workspaceJson = (w: WorkspaceRecord) => ({
  id: w.id,
  organization_id: w.organizationId,
  name: w.name,
  slug: w.slug,
  is_default: w.isDefault,
  description: w.description,
  created_by: w.createdBy,
  created_at: w.createdAt,
  updated_at: w.updatedAt
})

const userJson = (m: MemberRecord) => ({
  id: m.userId,
  username: m.username,
  email: m.email,
  display_name: m.displayName,
  role: promptOpsRole(m.role),
  trellis_role: m.role,
  type: m.kind,
  active: m.active,
  email_verified: m.emailVerified,
  organization_id: m.organizationId,
  joined_at: m.joinedAt,
  created_at: m.createdAt
})

const memberJson = (m: MemberRecord) => ({
  user_id: m.userId,
  username: m.username,
  email: m.email,
  display_name: m.displayName,
  role: sessionFsRole(m.role),
  trellis_role: m.role,
  joined_at: m.joinedAt
})

const pendingInviteJson = (i: InviteRecord) => ({
  id: i.id,
  email: i.email,
  role: sessionFsRole(i.role),
  invited_by: i.invitedBy,
  created_at: i.createdAt,
  expires_at: i.expiresAt,
  last_emailed_at: i.lastEmailedAt,
  status: i.state === "expired" ? "expired" as const : "pending" as const
})

const receivedInviteJson = (i: ReceivedInvite) => ({
  invite_id: i.id,
  id: i.id,
  org_id: i.organizationId,
  org_name: i.organizationName,
  role: sessionFsRole(i.role),
  invited_by_email: i.invitedByEmail,
  created_at: i.createdAt,
  expires_at: i.expiresAt
})

/** SessionFS's `member` is `editor`; owners are never invited (the contract refuses `owner`). */
const inviteRole = (role: InviteRole | "member" | undefined): InviteRole =>
  role === undefined || role === "member" ? "editor" : role

/** Routes that name an organization act in the caller's (another answers 404, like any resource). */
const ownOrganization = (orgId: string) =>
  Effect.flatMap(CurrentPrincipal, (principal) =>
    principal.organizationId === orgId
      ? Effect.succeed(principal)
      : Effect.fail(new NotFound({ detail: `No organization ${orgId}.` })))

const WorkspaceHandlers = HttpApiBuilder.group(TenancyApi, "tenancyWorkspaces", Effect.fn(function*(handlers) {
  const workspaces = yield* Workspaces
  const notFound = (id: string) => new NotFound({ detail: `No workspace ${id}.` })
  return handlers
    .handle("list", () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        return { data: (yield* workspaces.list(principal.organizationId)).map(workspaceJson) }
      }))
    .handle("create", ({ payload }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        return { data: workspaceJson(yield* workspaces.create(principal, payload)) }
      }))
    .handle("get", ({ params }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const found = yield* workspaces.get(principal.organizationId, params.id)
        if (Option.isNone(found)) return yield* notFound(params.id)
        return { data: workspaceJson(found.value) }
      }))
    .handle("remove", ({ params }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        if (!(yield* workspaces.remove(principal, params.id))) return yield* notFound(params.id)
        return { ok: true }
      }))
}))

const UserHandlers = HttpApiBuilder.group(TenancyApi, "tenancyUsers", Effect.fn(function*(handlers) {
  const members = yield* Members
  return handlers
    .handle("list", () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        return { data: (yield* members.list(principal.organizationId)).map(userJson) }
      }))
    .handle("create", ({ payload }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const created = yield* members.create(principal, {
          username: payload.username,
          password: payload.password,
          email: payload.email,
          displayName: payload.display_name,
          role: payload.role === undefined ? undefined : normalizeRole(payload.role)
        })
        return { data: userJson(created) }
      }))
    .handle("get", ({ params }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const found = yield* members.get(principal.organizationId, params.id)
        if (Option.isNone(found)) return yield* new NotFound({ detail: `No user ${params.id} in this organization.` })
        return { data: userJson(found.value) }
      }))
    .handle("update", ({ params, payload }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const updated = yield* members.update(principal, params.id, {
          role: payload.role === undefined ? undefined : normalizeRole(payload.role),
          active: payload.active,
          password: payload.password,
          email: payload.email,
          displayName: payload.display_name
        })
        return { data: userJson(updated) }
      }))
    .handle("remove", ({ params }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        yield* members.remove(principal, params.id)
        return { ok: true }
      }))
}))

const OrgHandlers = HttpApiBuilder.group(TenancyApi, "tenancyOrg", Effect.fn(function*(handlers) {
  const organizations = yield* Organizations
  const members = yield* Members
  const invites = yield* Invites

  const invite = (payload: { readonly email: string; readonly role?: InviteRole | "member" | undefined }) =>
    Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      const { invite } = yield* invites.create(principal, { email: payload.email, role: inviteRole(payload.role) })
      return { invite_id: invite.id, email: invite.email, role: sessionFsRole(invite.role) }
    })

  return handlers
    .handle("create", ({ payload }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const org = yield* organizations.create(principal, payload)
        return { org_id: org.id, name: org.name, slug: org.slug ?? "" }
      }))
    .handle("info", () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const org = yield* organizations.get(principal.organizationId)
        if (Option.isNone(org)) return { org: null, members: [], current_user_role: null }
        const list = yield* members.list(principal.organizationId)
        return {
          org: {
            id: org.value.id,
            name: org.value.name,
            slug: org.value.slug,
            tier: org.value.plan,
            seats_limit: null,
            seats_used: list.length,
            storage_limit_bytes: null,
            storage_used_bytes: 0,
            created_at: org.value.createdAt
          },
          members: list.map(memberJson),
          current_user_role: sessionFsRole(principal.role)
        }
      }))
    .handle("invite", ({ payload }) => invite(payload))
    .handle("inviteInOrg", ({ params, payload }) => Effect.andThen(ownOrganization(params.org_id), invite(payload)))
    .handle("inviteMember", ({ params, payload }) => Effect.andThen(ownOrganization(params.org_id), invite(payload)))
    .handle("accept", ({ params }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const accepted = yield* invites.accept(principal, params.invite_id)
        return { org_id: accepted.organizationId, role: sessionFsRole(accepted.role) }
      }))
    .handle("decline", ({ params, payload }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const reason = payload?.decline_reason ?? payload?.reason ?? null
        const declined = yield* invites.decline(principal, params.invite_id, reason)
        return { invite_id: declined.id, declined: true, declined_at: declined.declinedAt ?? new Date().toISOString() }
      }))
    .handle("listInvites", () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        return { invites: (yield* invites.listOpen(principal.organizationId)).map(pendingInviteJson) }
      }))
    .handle("myInvites", () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        return { invites: (yield* invites.listReceived(principal)).map(receivedInviteJson) }
      }))
    .handle("revokeInvite", ({ params }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        yield* invites.revoke(principal, params.invite_id)
        return { revoked: params.invite_id }
      }))
    .handle("resendInvite", ({ params }) =>
      Effect.gen(function*() {
        const principal = yield* ownOrganization(params.org_id)
        const { delivery, invite } = yield* invites.resend(principal, params.invite_id)
        return { invite_id: invite.id, email: invite.email, last_emailed_at: delivery.lastEmailedAt, sent: delivery.sent }
      }))
    .handle("changeRole", ({ params, payload }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const changed = yield* members.changeRole(principal, params.user_id, normalizeRole(payload.role))
        return { user_id: changed.userId, role: sessionFsRole(changed.role), trellis_role: changed.role }
      }))
    .handle("removeMember", ({ params }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        yield* members.remove(principal, params.user_id)
        // No project transfer in Trellis yet: nothing moves, nothing is cancelled.
        return { removed: params.user_id, projects_transferred: 0, pending_transfers_cancelled: 0 }
      }))
}))

const TenantHandlers = HttpApiBuilder.group(TenancyApi, "tenancyTenant", Effect.fn(function*(handlers) {
  const organizations = yield* Organizations
  const members = yield* Members
  const workspaces = yield* Workspaces
  return handlers
    .handle("tenant", () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const org = yield* organizations.get(principal.organizationId)
        if (Option.isNone(org)) return yield* Effect.die(new Error(`organization ${principal.organizationId} is missing`))
        const memberCount = (yield* members.list(principal.organizationId)).length
        return {
          tenant_id: org.value.id,
          name: org.value.name,
          plan: org.value.plan,
          usage: {
            pages_this_month: 0,
            pages_limit: null,
            members: memberCount,
            workspaces: yield* workspaces.count(principal.organizationId)
          }
        }
      }))
    .handle("claim", ({ payload }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const org = yield* organizations.claim(principal, payload.claimCode)
        return { tenantId: org.id, claimed: true }
      }))
}))

const AgentHandlers = HttpApiBuilder.group(TenancyApi, "tenancyAgent", Effect.fn(function*(handlers) {
  const organizations = yield* Organizations
  const guard = yield* LoginGuard
  const config = yield* TrellisConfig
  return handlers.handle("register", ({ payload }) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      // Self-registration creates accounts without a human: it spends the per-address signup budget.
      yield* guard.signup(Option.getOrElse(request.remoteAddress, () => "unknown"))
      const account = yield* organizations.registerAgent({ name: payload.name, ownerEmail: payload.owner_email ?? null })
      const base = (config.publicUrl ?? `http://${request.headers["host"] ?? `${config.host}:${config.port}`}`).replace(/\/$/, "")
      const claimUrl = `${base}/claim`
      return {
        apiKey: account.apiKey,
        tenantId: account.organizationId,
        claimCode: account.claimCode,
        claimUrl,
        message: `Account created. To manage: visit ${claimUrl.replace(/^https?:\/\//, "")} and enter code ${account.claimCode}`
      }
    }))
}))

/** The tenancy handlers (they need the services of `Tenancy.ts`). */
export const TenancyHttp = Layer.mergeAll(WorkspaceHandlers, UserHandlers, OrgHandlers, TenantHandlers, AgentHandlers)
