/**
 * The decision: may this principal call an endpoint with this requirement?
 *
 * Deny by default: an authenticated endpoint that declares no `Requires` is refused (and a
 * test walks the composed API so that never ships). The admin token passes; service keys pass
 * only endpoints that name a scope they hold; users pass by role, and a user key restricted to
 * some scopes must also hold the endpoint's scope; a token issued with abilities (seed 002)
 * must also hold the endpoint's scope when that scope is one of the abilities.
 */
import { Effect } from "effect"
import { Forbidden } from "../problem/Problems.ts"
import { InsufficientRole, InsufficientScope, ServiceKeyNotAllowed } from "./AuthProblems.ts"
import { roleAtLeast } from "./Principal.ts"
import type { Principal } from "./Principal.ts"
import type { Requirement } from "./Requirement.ts"

export type Denial = Forbidden | InsufficientRole | InsufficientScope | ServiceKeyNotAllowed

/** Why the principal may not call an endpoint with this requirement; `undefined` when it may. */
export const denialOf = (principal: Principal, requirement: Requirement | undefined): Denial | undefined => {
  if (requirement === undefined) {
    return new Forbidden({ detail: "This endpoint declares no access requirement, so it is refused to everyone." })
  }
  if (principal.kind === "admin-token") return undefined
  if (principal.kind === "service-key") {
    if (requirement.scope === null) {
      return new ServiceKeyNotAllowed({ detail: "Service keys may not call this endpoint; use a user credential." })
    }
    return principal.hasScope(requirement.scope)
      ? undefined
      : new InsufficientScope({
        detail: `This endpoint requires the scope ${requirement.scope}.`,
        required: [requirement.scope],
        current: principal.scopes
      })
  }
  if (!roleAtLeast(principal.role, requirement.role)) {
    return new InsufficientRole({
      detail: `This endpoint requires the ${requirement.role} role; you are ${principal.role} in this organization.`,
      required: requirement.role,
      current: principal.role
    })
  }
  if (requirement.scope !== null && !principal.hasScope(requirement.scope)) {
    return new InsufficientScope({
      detail: `This key is restricted and lacks the scope ${requirement.scope}.`,
      required: [requirement.scope],
      current: principal.scopes
    })
  }
  if (requirement.scope !== null && principal.lacksAbility(requirement.scope)) {
    return new InsufficientScope({
      detail: `This token was issued without the ability ${requirement.scope}.`,
      required: [requirement.scope],
      current: principal.abilities ?? []
    })
  }
  return undefined
}

export const authorize = (principal: Principal, requirement: Requirement | undefined): Effect.Effect<void, Denial> => {
  const denial = denialOf(principal, requirement)
  return denial === undefined ? Effect.void : Effect.fail(denial)
}
