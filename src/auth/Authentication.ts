/**
 * The HTTP security middleware contract: bearer token in, `CurrentPrincipal` out.
 *
 * Plugins attach it to their groups (`.middleware(Authentication)`); the server provides the
 * implementation (`AuthenticationLive`), and typed clients provide a client side that adds the
 * token. A missing or unknown token is a 401 `Unauthorized` problem.
 *
 * Client-safe: imports only `effect`.
 */
import { HttpApiMiddleware, HttpApiSecurity } from "effect/http-api"
import { Unauthorized } from "../problem/Problems.ts"
import { CurrentPrincipal } from "./Principal.ts"

export class Authentication extends HttpApiMiddleware.Service<Authentication, {
  provides: CurrentPrincipal
  requires: never
}>()("trellis/auth/Authentication", {
  requiredForClient: true,
  security: { bearer: HttpApiSecurity.bearer },
  error: Unauthorized
}) {}
