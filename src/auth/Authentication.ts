/**
 * The HTTP security middleware contract: credential in, `CurrentPrincipal` out, and the
 * endpoint's `Requires` enforced before the handler runs.
 *
 * Plugins attach it to their groups (`.middleware(Authentication)`) and annotate each endpoint
 * with a `Requirement`; the server provides the implementation (`AuthenticationLive`), and
 * typed clients provide a client side that adds the token. The credential is a bearer token
 * (`Authorization: Bearer …`) or, for browsers, the `trellis_session` cookie (then unsafe
 * methods must echo the session's CSRF token in `X-CSRF-Token`).
 *
 * Client-safe: imports only `effect`.
 */
import { Context } from "effect"
import { HttpApiMiddleware, HttpApiSecurity } from "effect/http-api"
import { Forbidden, RateLimited, Unauthorized } from "../problem/Problems.ts"
import { authProblems } from "./AuthProblems.ts"
import { CurrentPrincipal } from "./Principal.ts"

/** The session cookie browsers send (`HttpOnly`, `SameSite=Lax`, `Secure` over https). */
export const sessionCookie = "trellis_session"

/** The cookie holding the session's CSRF token, readable by the page's script. */
export const csrfCookie = "trellis_csrf"

/** The header a cookie-authenticated write must carry, equal to the CSRF token. */
export const csrfHeader = "x-csrf-token"

/**
 * Marks a GET endpoint that also accepts its credential as `?token=` (EventSource and
 * WebSocket cannot send headers). Only where declared: a token in a URL ends up in browser
 * history and proxy logs, so ordinary endpoints refuse it. The access log writes paths
 * without their query.
 */
export const AcceptsQueryToken = Context.Reference<boolean>("trellis/auth/AcceptsQueryToken", {
  defaultValue: () => false
})

/** The query parameter of `AcceptsQueryToken` endpoints and `token-query` web routes. */
export const queryTokenParam = "token"

/** Acts in another organization the caller belongs to. */
export const organizationHeader = "x-trellis-organization"

export class Authentication extends HttpApiMiddleware.Service<Authentication, {
  provides: CurrentPrincipal
  requires: never
}>()("trellis/auth/Authentication", {
  requiredForClient: true,
  security: { bearer: HttpApiSecurity.bearer },
  error: [Unauthorized, Forbidden, RateLimited, ...authProblems]
}) {}
