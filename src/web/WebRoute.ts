/**
 * Web routes: what a plugin serves beside its HttpApi: server-rendered HTML pages, static
 * assets, file downloads, incoming webhooks. They are not part of the OpenAPI document, but
 * the host treats them like every other route: it refuses a route that collides with another
 * (API or web, any plugin), labels their metrics and access-log lines with the route template,
 * writes their errors as problem+json, and lists them for the route matrices.
 *
 * Each route declares how it is authenticated (there is no default):
 * - `public`: no credential; a `reason` says why that is right (it shows in reviews and in the
 *   cross-organization matrix).
 * - `cookie`: the browser's session cookie (or a bearer token), CSRF-checked on writes
 *   exactly like HttpApi endpoints; `requires` is enforced and the rate limits apply.
 * - `token-query`: as `cookie`, and also `?token=` in the URL, for EventSource and WebSocket,
 *   which cannot send headers. The access log never writes the query.
 * - `signed`: an HMAC-signed request from a webhook source (`Signature`); `secret` finds the
 *   source's secret, stored sealed with `SecretBox`. No principal.
 *
 * ```ts
 * WebRoute.get("/hello/greetings", GreetingsPage, { auth: "cookie", requires: Requirement.read("hello") })
 * WebRoute.asset("/hello/assets/viewer.css", viewerCss)
 * ```
 * A handler reads path parameters with `HttpRouter.params` and the request with
 * `HttpServerRequest.HttpServerRequest`; an authenticated one gets `CurrentPrincipal`.
 */
import type { Effect, Option } from "effect"
import type { HttpServerResponse } from "effect/http"
import type { CurrentPrincipal } from "../auth/Principal.ts"
import type { Requirement } from "../auth/Requirement.ts"
import type { Dialect } from "../http/WireDialect.ts"
import * as Asset from "./Asset.ts"

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE"

/** A webhook source's secret as stored: sealed by `SecretBox.seal(secret, context)`. */
export interface SealedSecret {
  readonly sealed: string
  readonly context: string
}

export type Auth =
  | { readonly _tag: "public"; readonly reason: string }
  | { readonly _tag: "cookie"; readonly requires: Requirement }
  | { readonly _tag: "token-query"; readonly requires: Requirement }
  | {
    readonly _tag: "signed"
    /** The source's sealed secret (from the route's parameters, say); `None` is refused with 401. */
    readonly secret: Effect.Effect<Option.Option<SealedSecret>, unknown, unknown>
  }

export interface WebRoute<E = unknown, R = unknown> {
  readonly method: Method
  /** A path pattern (`/hello/greetings/:id`). */
  readonly path: `/${string}`
  readonly auth: Auth
  readonly description: string
  readonly handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  /**
   * The handler reads and limits the request body itself (a file upload larger than
   * `TRELLIS_MAX_BODY_BYTES`, any content type): the host skips its body limit and its input
   * hygiene scan for this route.
   */
  readonly rawBody?: boolean | undefined
  /** The wire dialect of the route's errors (as `WireDialect` on an API group); the platform's by default. */
  readonly dialect?: Dialect | undefined
}

/** A route with its types erased, as the host handles it. */
export type Any = WebRoute<unknown, unknown>

/** A handler that needs the principal cannot be public or signed (there is none). */
type NoPrincipal<R, A> = [CurrentPrincipal] extends [R] ? never : A

/** What every kind of route may add: see `WebRoute.rawBody` and `WebRoute.dialect`. */
interface Extras {
  readonly rawBody?: boolean | undefined
  readonly dialect?: Dialect | undefined
}

export type Options<R, RS> = Extras & (
  | NoPrincipal<R, { readonly auth: "public"; readonly reason: string; readonly description?: string | undefined }>
  | {
    readonly auth: "cookie" | "token-query"
    readonly requires: Requirement
    readonly description?: string | undefined
  }
  | NoPrincipal<R, {
    readonly auth: "signed"
    readonly secret: Effect.Effect<Option.Option<SealedSecret>, never, RS>
    readonly description?: string | undefined
  }>)

const authOf = (options: Options<never, unknown>): Auth => {
  switch (options.auth) {
    case "public":
      return { _tag: "public", reason: options.reason }
    case "cookie":
    case "token-query":
      return { _tag: options.auth, requires: options.requires }
    case "signed":
      return { _tag: "signed", secret: options.secret }
  }
}

export const make = <E, R, RS = never>(
  method: Method,
  path: `/${string}`,
  handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
  options: Options<R, RS>
): WebRoute<E, R | RS> => ({
  method,
  path,
  auth: authOf(options as Options<never, unknown>),
  description: options.description ?? "",
  handler,
  ...(options.rawBody === true ? { rawBody: true } : {}),
  ...(options.dialect !== undefined ? { dialect: options.dialect } : {})
})

export const get = <E, R, RS = never>(path: `/${string}`, handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>, options: Options<R, RS>) =>
  make("GET", path, handler, options)

export const post = <E, R, RS = never>(path: `/${string}`, handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>, options: Options<R, RS>) =>
  make("POST", path, handler, options)

export const put = <E, R, RS = never>(path: `/${string}`, handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>, options: Options<R, RS>) =>
  make("PUT", path, handler, options)

/** A static asset at `path` (public: assets carry nothing of an organization's). */
export const asset = (path: `/${string}`, content: Asset.Asset): WebRoute<never, unknown> =>
  make("GET", path, Asset.respond(content), { auth: "public", reason: "a static asset of the plugin's pages" }) as WebRoute<never, unknown>

/** What an authenticated route requires (`undefined` for public and signed routes). */
export const requirementOf = (route: Any): Requirement | undefined =>
  route.auth._tag === "cookie" || route.auth._tag === "token-query" ? route.auth.requires : undefined

/** Whether a caller must prove something (a credential or a signature) to reach the route. */
export const isAuthenticated = (route: Any): boolean => route.auth._tag !== "public"
