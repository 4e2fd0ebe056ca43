/**
 * The decision: may this principal call an endpoint with this requirement?
 *
 * Deny by default: an authenticated endpoint that declares no `Requires` is refused (and a
 * test walks the composed API so that never ships). The admin token passes; service keys pass
 * only endpoints that name a scope they hold; users pass by role, and a user key restricted to
 * some scopes must also hold the endpoint's scope.
 */
import { Effect } from "effect"
import { Forbidden } from "../problem/Problems.ts"
import { InsufficientRole, InsufficientScope, ServiceKeyNotAllowed } from "./AuthProblems.ts"
import { roleAtLeast } from "./Principal.ts"
import type { Principal } from "./Principal.ts"
import type { Requirement } from "./Requirement.ts"

export type Denial = Forbidden | InsufficientRole | InsufficientScope | ServiceKeyNotAllowed

export const authorize = (principal: Principal, requirement: Requirement | undefined): Effect.Effect<void, Denial> => {
  if (requirement === undefined) {
    return Effect.fail(new Forbidden({ detail: "This endpoint declares no access requirement, so it is refused to everyone." }))
  }
  if (principal.kind === "admin-token") return Effect.void
  if (principal.kind === "service-key") {
    if (requirement.scope === null) {
      return Effect.fail(new ServiceKeyNotAllowed({ detail: "Service keys may not call this endpoint; use a user credential." }))
    }
    return principal.hasScope(requirement.scope)
      ? Effect.void
      : Effect.fail(new InsufficientScope({
        detail: `This endpoint requires the scope ${requirement.scope}.`,
        required: [requirement.scope],
        current: principal.scopes
      }))
  }
  if (!roleAtLeast(principal.role, requirement.role)) {
    return Effect.fail(new InsufficientRole({
      detail: `This endpoint requires the ${requirement.role} role; you are ${principal.role} in this organization.`,
      required: requirement.role,
      current: principal.role
    }))
  }
  if (requirement.scope !== null && !principal.hasScope(requirement.scope)) {
    return Effect.fail(new InsufficientScope({
      detail: `This key is restricted and lacks the scope ${requirement.scope}.`,
      required: [requirement.scope],
      current: principal.scopes
    }))
  }
  return Effect.void
}
