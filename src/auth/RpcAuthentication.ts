/**
 * The RPC counterpart of `Authentication`: plugins attach it to their RpcGroup
 * (`.middleware(RpcAuthentication)`) and annotate each RPC with a `Requirement`
 * (`Rpc.make(...).annotate(Requires, Requirement.read("x"))`); the server resolves the
 * `Authorization: Bearer` header of the `/rpc` request into `CurrentPrincipal` and enforces the
 * requirement; typed RPC clients send the token.
 *
 * Client-safe: imports only `effect`.
 */
import { Schema } from "effect"
import { RpcMiddleware } from "effect/rpc"
import { Forbidden, RateLimited, Unauthorized } from "../problem/Problems.ts"
import { authProblems } from "./AuthProblems.ts"
import type { CurrentPrincipal } from "./Principal.ts"

export class RpcAuthentication extends RpcMiddleware.Service<RpcAuthentication, {
  provides: CurrentPrincipal
}>()("trellis/auth/RpcAuthentication", {
  error: Schema.Union([Unauthorized, Forbidden, RateLimited, ...authProblems]),
  requiredForClient: true
}) {}
