/**
 * Who is calling: the principal an authenticated request runs as.
 *
 * The authentication middleware resolves a credential into a `Principal` and provides it to
 * handlers as `CurrentPrincipal`. Users, keys, organizations and roles arrive with the identity
 * work; the shape already carries them so handlers written today keep working.
 *
 * Client-safe: imports only `effect`.
 */
import { Context, Schema } from "effect"

export const Role = Schema.Literals(["viewer", "editor", "admin", "owner"])
export type Role = typeof Role.Type

export const PrincipalKind = Schema.Literals(["admin-token", "user", "user-key", "service-key", "agent"])
export type PrincipalKind = typeof PrincipalKind.Type

export class Principal extends Schema.Class<Principal>("Principal")({
  /** Stable id of the subject (a user id, a key id, or `admin` for the static admin token). */
  id: Schema.String,
  kind: PrincipalKind,
  /** The organization the principal acts in; `null` for the platform-wide admin token. */
  organizationId: Schema.NullOr(Schema.String),
  role: Role,
  /** Enumerated scopes (`prompts:read`, ...); `*` grants every scope. */
  scopes: Schema.Array(Schema.String)
}) {
  hasScope(scope: string): boolean {
    return this.scopes.includes("*") || this.scopes.includes(scope)
  }
}

/** The principal of the current request, provided by the `Authentication` middleware. */
export class CurrentPrincipal extends Context.Service<CurrentPrincipal, Principal>()(
  "trellis/auth/CurrentPrincipal"
) {}
