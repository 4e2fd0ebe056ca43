/**
 * The client-safe half of `trellis/plugin`: what a plugin's contract files (`Api.ts`,
 * `Domain.ts`, `Errors.ts`) import. Everything here imports only `effect`, so a
 * typed client built from a plugin's contract carries no server code (`trellis/client` is
 * checked for that by a test).
 *
 * ```ts
 * import { Authentication, Problem, Requirement, Requires } from "trellis/contract"
 * ```
 */
export { Problem, FieldIssue, typeFor } from "../problem/Problem.ts"
export type { ProblemSpec } from "../problem/Problem.ts"
export * as Problems from "../problem/Problems.ts"
export { AcceptsQueryToken, Authentication } from "../auth/Authentication.ts"
export { RpcAuthentication } from "../auth/RpcAuthentication.ts"
export * as RpcFromApi from "./RpcFromApi.ts"
export { CurrentPrincipal, Principal, roleAtLeast } from "../auth/Principal.ts"
export type { Role } from "../auth/Principal.ts"
export * as Requirement from "../auth/Requirement.ts"
export { Public, Requires } from "../auth/Requirement.ts"
export * as AuthProblems from "../auth/AuthProblems.ts"
export { WireDialect } from "../http/WireDialect.ts"
export type { Dialect as WireDialectShape } from "../http/WireDialect.ts"
export { RateGroup, rateGroupOf, runsApi as runsApiRateGroup } from "../ratelimit/RateGroup.ts"
export type { RateGroupPolicy } from "../ratelimit/RateGroup.ts"
export * as Template from "../text/Template.ts"
