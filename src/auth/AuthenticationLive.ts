/**
 * The server side of `Authentication` and `RpcAuthentication`: resolves the credential through
 * `Credentials`, applies `X-Trellis-Organization`, checks CSRF on cookie-authenticated writes,
 * moves a user to the organization of the resource a route addresses (`ActingOrganization`),
 * enforces the endpoint's `Requires`, spends the principal's rate-limit budget (and a stream
 * slot for live streams), applies `Idempotency-Key` to POSTs, and provides `CurrentPrincipal`.
 */
import { rateGroupOf } from "../ratelimit/RateGroup.ts"
import { Clock, Context, Effect, Layer, Option, Redacted } from "effect"
import type { Scope, Types } from "effect"
import { HttpRouter, HttpServerRequest } from "effect/http"
import type { HttpServerResponse } from "effect/http"
import { ActingOrganization } from "./ActingOrganization.ts"
import type { Resolver } from "./ActingOrganization.ts"
import { Unauthorized } from "../problem/Problems.ts"
import { AcceptsQueryToken, Authentication, csrfHeader, organizationHeader, queryTokenParam, sessionCookie } from "./Authentication.ts"
import { CsrfFailed } from "./AuthProblems.ts"
import { authorize, denialOf } from "./Authorization.ts"
import type { Denial } from "./Authorization.ts"
import { Credentials } from "./Credentials.ts"
import { CurrentPrincipal } from "./Principal.ts"
import type { Principal } from "./Principal.ts"
import { Requires } from "./Requirement.ts"
import type { Requirement } from "./Requirement.ts"
import * as WireDialect from "../http/WireDialect.ts"
import * as Idempotency from "../idempotency/Idempotency.ts"
import { IdempotencyStore } from "../idempotency/IdempotencyStore.ts"
import * as HttpRateLimit from "../ratelimit/HttpRateLimit.ts"
import { isExempt, RateLimiter } from "../ratelimit/RateLimiter.ts"
import { RpcAuthentication } from "./RpcAuthentication.ts"
import { createHash, timingSafeEqual } from "node:crypto"
import { SecretBox } from "../secrets/SecretBox.ts"
import * as Signature from "../web/Signature.ts"
import type * as WebRoute from "../web/WebRoute.ts"

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"])

const sha256 = (value: string): Buffer => createHash("sha256").update(value).digest()

const csrfMatches = (presented: string | undefined, expectedDigest: string): boolean =>
  presented !== undefined && presented !== "" && timingSafeEqual(sha256(presented), Buffer.from(expectedDigest, "hex"))

const missingToken = (where: string) =>
  new Unauthorized({ detail: `${where} needs a credential: send Authorization: Bearer <token>.` })

const invalidToken = new Unauthorized({ detail: "The credential is not valid." })

interface CsrfContext {
  readonly cookie: boolean
  readonly method: string
  readonly header: string | undefined
}

const csrfFailed = () =>
  new CsrfFailed({
    detail: "A write authenticated by the session cookie must send the session's CSRF token in X-CSRF-Token."
  })

/** Whether a write authenticated by the session cookie lacks the session's CSRF token. */
const csrfRefused = (csrfDigest: string | null, csrf: CsrfContext): boolean =>
  csrf.cookie && !safeMethods.has(csrf.method) && (csrfDigest === null || !csrfMatches(csrf.header, csrfDigest))

/** Resolves a token and the organization header into the principal (no authorization yet). */
const principalFor = (
  credentials: Credentials["Service"],
  token: string,
  organization: string | undefined,
  csrf: CsrfContext
) =>
  Effect.gen(function*() {
    const resolved = yield* credentials.resolve(token)
    if (Option.isNone(resolved)) return yield* invalidToken
    const { csrfDigest, principal } = resolved.value
    if (csrfRefused(csrfDigest, csrf)) return yield* csrfFailed()
    return organization === undefined || organization === ""
      ? principal
      : yield* credentials.actAs(principal, organization)
  })

/**
 * The principal a user acts as for a route that names its resource's organization: the first
 * of the resolver's organizations the user is a member of, with their role there; unchanged
 * when the resource is in the current organization or in none of the user's (the handler then
 * answers as it would). Service keys and the admin token never move.
 */
const actingFor = (
  credentials: Credentials["Service"],
  principal: Principal,
  resolve: Resolver,
  params: Readonly<Record<string, string | undefined>>
): Effect.Effect<Principal> => {
  if (principal.userId === null || principal.kind === "service-key" || principal.kind === "admin-token") return Effect.succeed(principal)
  return Effect.flatMap(resolve(params), (organizations) => {
    if (organizations.length === 0 || organizations.includes(principal.organizationId)) return Effect.succeed(principal)
    const firstMember = (i: number): Effect.Effect<Principal> =>
      i >= organizations.length
        ? Effect.succeed(principal)
        : Effect.catchTag(credentials.actAs(principal, organizations[i]!), "CrossOrgDenied", () => firstMember(i + 1))
    return firstMember(0)
  })
}

/** What the middleware fails with (besides the handler's own failures). */
type Failure = Effect.Error<ReturnType<typeof principalFor>> | Denial

/** Enforces the requirement; returns it (defined) for the rate limiter. */
const authorized = (principal: Principal, requirement: Requirement | undefined) =>
  Effect.as(authorize(principal, requirement), requirement as Requirement)

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function*() {
    const credentials = yield* Credentials
    const limiter = yield* RateLimiter
    const idempotency = yield* IdempotencyStore
    const acting = yield* ActingOrganization
    return Authentication.of({
      // Runs on every authenticated request, so it is written without generators: a
      // credential this process resolved a moment ago (`resolveNow`: the admin token, a cached
      // session or key) is checked synchronously; anything else (a lookup, a key's last-use
      // mark, `X-Trellis-Organization`) goes through `principalFor`, with the same outcomes.
      bearer: (httpEffect, { credential, endpoint, group }) =>
        Effect.withFiber<HttpServerResponse.HttpServerResponse, Types.unhandled | Failure, HttpServerRequest.HttpServerRequest | Scope.Scope>((fiber) => {
          const request = Context.getUnsafe(fiber.context, HttpServerRequest.HttpServerRequest)
          const headers = request.headers
          let token = Redacted.value(credential)
          let cookie = false
          if (token === "") {
            token = request.cookies[sessionCookie] ?? ""
            cookie = token !== ""
            // `?token=` only where the endpoint accepts it (EventSource, WebSocket) and only on GET.
            if (token === "" && request.method === "GET" && Context.get(endpoint.annotations, AcceptsQueryToken)) token = queryToken(request.url)
          }
          if (token === "") return Effect.fail(missingToken("This endpoint"))
          const csrf: CsrfContext = { cookie, method: request.method, header: headers[csrfHeader] }
          const organization = headers[organizationHeader]

          const proceed = (
            principal: Principal
          ): Effect.Effect<HttpServerResponse.HttpServerResponse, Types.unhandled | Failure, HttpServerRequest.HttpServerRequest | Scope.Scope> => {
            const requirement = Context.get(endpoint.annotations, Requires)
            const denial = denialOf(principal, requirement)
            if (denial !== undefined) return Effect.fail(denial)
            // Each wrapper is applied only where it can act (every provideService copies the
            // context, on the hot path): idempotency on POSTs that carry a key, rate limits on
            // principals that are not exempt.
            const handler = Effect.provideService(httpEffect, CurrentPrincipal, principal)
            const idempotent = request.method === "POST" && headers[Idempotency.keyHeader] !== undefined
              ? Idempotency.wrap(principal, handler, WireDialect.endpointDialect(group.annotations, endpoint.annotations)).pipe(Effect.provideService(IdempotencyStore, idempotency))
              : handler
            if (isExempt(principal)) return idempotent
            return HttpRateLimit.enforceWith(limiter, principal, requirement as Requirement, idempotent, rateGroupOf(endpoint.annotations, group.annotations))
          }

          // A route whose resource names its organization: a user acts there (unless the header chose).
          const resolve = organization === undefined || organization === "" ? acting.resolverOf(group.identifier) : undefined
          const enter = resolve === undefined ? proceed : (principal: Principal) =>
            Effect.flatMap(actingFor(credentials, principal, resolve, Context.getUnsafe(fiber.context, HttpRouter.RouteContext).params), proceed)

          const known = organization === undefined || organization === "" ? credentials.resolveNow(token) : undefined
          if (known !== undefined) {
            return csrfRefused(known.csrfDigest, csrf) ? Effect.fail(csrfFailed()) : enter(known.principal)
          }
          return Effect.flatMap(principalFor(credentials, token, organization, csrf), enter)
        })
    })
  })
)

export const RpcAuthenticationLive = Layer.effect(
  RpcAuthentication,
  Effect.gen(function*() {
    const credentials = yield* Credentials
    const limiter = yield* RateLimiter
    return RpcAuthentication.of(Effect.fnUntraced(function*(effect, { headers, rpc }) {
      const match = /^Bearer\s+(.+)$/i.exec(headers["authorization"] ?? "")
      if (match === null) return yield* missingToken("An RPC call")
      const principal = yield* principalFor(credentials, match[1].trim(), headers[organizationHeader], {
        cookie: false,
        method: "POST",
        header: undefined
      })
      const requirement = yield* authorized(principal, Context.get(rpc.annotations, Requires))
      const decision = yield* limiter.consume(principal, requirement.limit, rateGroupOf(rpc.annotations))
      if (decision._tag === "Refused") return yield* decision.error.problem
      return yield* Effect.provideService(effect, CurrentPrincipal, principal)
    }))
  })
)

/** `?token=` of a URL ("" when absent). */
const queryToken = (url: string): string => {
  const q = url.indexOf("?")
  return q === -1 ? "" : new URLSearchParams(url.slice(q + 1)).get(queryTokenParam) ?? ""
}

/** The credential of a web route's request: bearer header, else session cookie, else (if accepted, on GET) `?token=`. */
const webCredential = (request: HttpServerRequest.HttpServerRequest, acceptQuery: boolean) => {
  const bearer = /^Bearer\s+(.+)$/i.exec(request.headers["authorization"] ?? "")
  if (bearer !== null) return { token: bearer[1].trim(), cookie: false }
  const session = request.cookies[sessionCookie] ?? ""
  if (session !== "") return { token: session, cookie: true }
  return { token: acceptQuery && request.method === "GET" ? queryToken(request.url) : "", cookie: false }
}

/**
 * A plugin's web route (`WebRoute`) behind the authentication it declares: the same
 * credential resolution, CSRF check, `Requires` and rate limits as the HttpApi middleware for
 * `cookie` and `token-query` routes; the HMAC signature for `signed` ones; nothing for
 * `public` ones. Composed by the host when it mounts the route.
 */
export const webRoute = (route: WebRoute.Any): Effect.Effect<HttpServerResponse.HttpServerResponse, unknown, unknown> => {
  const auth = route.auth
  switch (auth._tag) {
    case "public":
      return route.handler
    case "cookie":
    case "token-query":
      return Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const { token, cookie } = webCredential(request, auth._tag === "token-query")
        if (token === "") {
          return yield* new Unauthorized({
            detail: auth._tag === "token-query"
              ? "This route needs a credential: sign in (session cookie), send Authorization: Bearer <token>, or add ?token=<token>."
              : "This route needs a credential: sign in (session cookie) or send Authorization: Bearer <token>."
          })
        }
        const principal = yield* principalFor(yield* Credentials, token, request.headers[organizationHeader], {
          cookie,
          method: request.method,
          header: request.headers[csrfHeader]
        })
        yield* authorize(principal, auth.requires)
        const handler = Effect.provideService(route.handler, CurrentPrincipal, principal)
        if (isExempt(principal)) return yield* handler
        return yield* HttpRateLimit.enforce(principal, auth.requires, handler)
      })
    case "signed":
      return Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const found = yield* auth.secret
        const refused = (detail: string) => new Unauthorized({ detail })
        if (Option.isNone(found)) return yield* refused("Unknown webhook source.")
        const secret = yield* (yield* SecretBox).open(found.value.sealed, found.value.context)
        const body = yield* request.text
        const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const refusal = Signature.refusal(request.headers[Signature.header], secret, body, now)
        if (refusal !== undefined) return yield* refused(refusal)
        return yield* route.handler
      })
  }
}
