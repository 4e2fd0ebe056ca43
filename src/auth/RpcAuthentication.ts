/**
 * The RPC counterpart of `Authentication`: plugins attach it to their RpcGroup
 * (`.middleware(RpcAuthentication)`), the server resolves the `Authorization: Bearer` header
 * of the `/rpc` request into `CurrentPrincipal`, and typed RPC clients send the token.
 *
 * Client-safe: imports only `effect`.
 */
import { RpcMiddleware } from "effect/rpc"
import { Unauthorized } from "../problem/Problems.ts"
import type { CurrentPrincipal } from "./Principal.ts"

export class RpcAuthentication extends RpcMiddleware.Service<RpcAuthentication, {
  provides: CurrentPrincipal
}>()("trellis/auth/RpcAuthentication", {
  error: Unauthorized,
  requiredForClient: true
}) {}
