/**
 * Everything a plugin author imports from Trellis (`import { Plugin, Problem } from "trellis/plugin"`):
 * the plugin contract, problems, authentication contracts, and the platform services a plugin
 * layer may require. Contract modules (problems, authentication) are client-safe.
 */
export * as Plugin from "./Plugin.ts"
export type { AnyRpcGroup, Migration } from "./Plugin.ts"
export { Problem, FieldIssue, typeFor } from "../problem/Problem.ts"
export type { ProblemSpec } from "../problem/Problem.ts"
export * as Problems from "../problem/Problems.ts"
export { Authentication } from "../auth/Authentication.ts"
export { RpcAuthentication } from "../auth/RpcAuthentication.ts"
export { CurrentPrincipal, Principal } from "../auth/Principal.ts"
export { TrellisConfig } from "../config/TrellisConfig.ts"
export { Lifecycle } from "../server/Lifecycle.ts"
export { EventLog } from "../events/EventLog.ts"
export type { StoredEvent } from "../events/EventLog.ts"
export * as Sse from "../events/Sse.ts"
