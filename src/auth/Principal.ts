/**
 * Who is calling: the principal an authenticated request runs as.
 *
 * The authentication middleware resolves a credential (the static admin token, a session, a
 * user key or a service key) into a `Principal` and provides it to handlers as
 * `CurrentPrincipal`. Every resource belongs to one organization: handlers scope their
 * queries by `organizationId` (another organization's resource answers 404).
 *
 * Client-safe: imports only `effect`.
 */
import { Context, Schema } from "effect"
import { isAbility } from "./Abilities.ts"

export const Role = Schema.Literals(["viewer", "editor", "admin", "owner"])
export type Role = typeof Role.Type

/** Roles in increasing order of power. */
export const roleOrder: ReadonlyArray<Role> = ["viewer", "editor", "admin", "owner"]

/** Whether `role` is at least `required`. */
export const roleAtLeast = (role: Role, required: Role): boolean => roleOrder.indexOf(role) >= roleOrder.indexOf(required)

/**
 * `admin-token`: the static `TRELLIS_ADMIN_TOKEN`. `user`: a login session (bearer or cookie).
 * `user-key`: a user's API key (the user's role). `service-key`: an organization key with
 * enumerated scopes.
 */
export const PrincipalKind = Schema.Literals(["admin-token", "user", "user-key", "service-key"])
export type PrincipalKind = typeof PrincipalKind.Type

export class Principal extends Schema.Class<Principal>("Principal")({
  /** Stable id of the subject: the user id for sessions and user keys, the key id for service keys, `admin`. */
  id: Schema.String,
  kind: PrincipalKind,
  /** The organization the principal acts in (the admin token acts in the default organization). */
  organizationId: Schema.String,
  /** The role in that organization (`owner` for the admin token; `viewer` for service keys). */
  role: Role,
  /** Enumerated scopes (`prompts:read`, ...); `*` grants every scope (admin token, user credentials). */
  scopes: Schema.Array(Schema.String),
  /** The user behind the credential, when there is one. */
  userId: Schema.NullOr(Schema.String),
  /** The session or key id that authenticated the request (`null` for the admin token). */
  credentialId: Schema.NullOr(Schema.String),
  /** A service key's project restriction; `null` when unrestricted. */
  projectIds: Schema.NullOr(Schema.Array(Schema.String)),
  /** Whether the user is an agent (Surflet's agent self-registration) rather than a human. */
  agent: Schema.Boolean,
  /**
   * A mobile token's abilities (seed 002, `src/auth/Abilities.ts`): an endpoint whose scope is
   * an ability needs it here. Absent or `null`: not restricted by abilities.
   */
  abilities: Schema.optionalKey(Schema.NullOr(Schema.Array(Schema.String)))
}) {
  hasScope(scope: string): boolean {
    return this.scopes.includes("*") || this.scopes.includes(scope)
  }

  /** Whether a token restricted by abilities lacks `scope` (always false for a scope that is no ability). */
  lacksAbility(scope: string): boolean {
    const abilities = this.abilities
    return abilities !== undefined && abilities !== null && isAbility(scope) && !abilities.includes(scope)
  }
}

/** The principal of the current request, provided by the `Authentication` middleware. */
export class CurrentPrincipal extends Context.Service<CurrentPrincipal, Principal>()(
  "trellis/auth/CurrentPrincipal"
) {}
