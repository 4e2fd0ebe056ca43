/**
 * Handlers of the people routes (`PeopleApi.ts`) and the web routes a browser opens from a link
 * or a provider. Those two answer a link that does not work with the problem a client expects,
 * or, to a browser (`Accept: text/html`), with a page that says the same in words.
 */
import { Effect, Option } from "effect"
import { HttpEffect, HttpRouter, HttpServerRequest } from "effect/http"
import type { HttpServerResponse } from "effect/http"
import { HttpApi, HttpApiBuilder } from "effect/http-api"
import { TrellisConfig, WebRoute } from "trellis/plugin"
import { MagicLinkFlow } from "./MagicLinks.ts"
import type { LinkFailure } from "./MagicLinks.ts"
import { isProvider, OAuthFlow } from "./OAuth.ts"
import { PeopleGroup } from "./PeopleApi.ts"
import { MagicLinkGone, MagicLinkInvalid, OAuthProviderFailed, OAuthSignInFailed } from "./PeopleErrors.ts"
import { clearViewerCookie, originOf, signedIn } from "./SignIn.ts"
import { ViewerSessions, viewerTokenPrefix } from "./ViewerSessions.ts"
import { viewerCookie } from "./Viewers.ts"
import { messagePage } from "./ViewerRoutes.ts"

export class PeopleApi extends HttpApi.make("pages-people").add(PeopleGroup) {}

const origin = Effect.gen(function*() {
  const config = yield* TrellisConfig
  const request = yield* HttpServerRequest.HttpServerRequest
  return originOf(request, config.publicUrl)
})

const PeopleHandlers = HttpApiBuilder.group(PeopleApi, "people", Effect.fn(function*(handlers) {
  const links = yield* MagicLinkFlow
  const oauth = yield* OAuthFlow
  const sessions = yield* ViewerSessions
  const config = yield* TrellisConfig
  return handlers
    .handle("sendMagicLink", ({ payload }) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        yield* links.send({
          email: payload.email,
          pageId: payload.pageId ?? null,
          redirectUrl: payload.redirectUrl ?? null,
          origin: originOf(request, config.publicUrl),
          client: Option.getOrElse(request.remoteAddress, () => "unknown")
        })
        return { sent: true }
      }))
    .handle("github", ({ payload }) => Effect.flatMap(origin, (o) => Effect.map(oauth.start("github", payload.redirectUrl, o), (url) => ({ url }))))
    .handle("google", ({ payload }) => Effect.flatMap(origin, (o) => Effect.map(oauth.start("google", payload.redirectUrl, o), (url) => ({ url }))))
    .handle("viewerLogout", () =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers["authorization"] ?? "")?.[1]
        const tokens = [bearer, request.cookies[viewerCookie]].filter((t): t is string => t !== undefined && t.startsWith(viewerTokenPrefix))
        for (const token of tokens) yield* sessions.revoke(token)
        const o = originOf(request, config.publicUrl)
        yield* HttpEffect.appendPreResponseHandler((_request, response) => Effect.succeed(clearViewerCookie(response, o)))
      }))
}))

export const PeopleHttpLive = PeopleHandlers

/** Whether the request comes from a browser that wants a page rather than a problem. */
const wantsPage = (request: HttpServerRequest.HttpServerRequest): boolean => (request.headers["accept"] ?? "").includes("text/html")

/**
 * A failed sign-in: to a browser, a page with the problem's status and detail (fixed texts,
 * never the request's); to anything else, the problem itself.
 */
const failedSignIn = <E extends { readonly status: number; readonly detail?: string | undefined }>(title: string, problem: E) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    wantsPage(request)
      ? Effect.succeed(messagePage(problem.status, title, problem.detail ?? title, { back: "/inbox" }))
      : Effect.fail(problem))

const linkFailed = "This sign-in link does not work"

/** `GET /v1/auth/magic-link/verify?token=`: signs the browser in and redirects, or says why not. */
const verifyLink = Effect.gen(function*() {
  const links = yield* MagicLinkFlow
  const request = yield* HttpServerRequest.HttpServerRequest
  const o = yield* origin
  const token = new URL(request.url, o).searchParams.get("token") ?? ""
  if (token === "") return yield* failedSignIn(linkFailed, new MagicLinkInvalid({ detail: "The link has no token." }))
  return yield* links.verify(token).pipe(
    Effect.map(({ redirect, session }) => signedIn(session, o, redirect)),
    Effect.catch((reason: LinkFailure): Effect.Effect<HttpServerResponse.HttpServerResponse, MagicLinkInvalid | MagicLinkGone, HttpServerRequest.HttpServerRequest> =>
      reason === "unknown"
        ? failedSignIn(linkFailed, new MagicLinkInvalid({ detail: "This sign-in link is not one this server sent." }))
        : failedSignIn(
          linkFailed,
          new MagicLinkGone({
            reason,
            detail: reason === "used"
              ? "This sign-in link was already used: each link works once. Ask for a new one on the page."
              : "This sign-in link has expired (links work for 15 minutes). Ask for a new one on the page."
          })
        ))
  )
})

const oauthFailed = "Sign-in did not work"

/** `GET /v1/auth/oauth/:provider/callback?code&state`: where the provider sends the browser back. */
const oauthCallback = Effect.gen(function*() {
  const oauth = yield* OAuthFlow
  const request = yield* HttpServerRequest.HttpServerRequest
  const params = yield* HttpRouter.params
  const provider = params["provider"] ?? ""
  const o = yield* origin
  if (!isProvider(provider)) return yield* failedSignIn(oauthFailed, new OAuthSignInFailed({ detail: "This server signs in with github or google." }))
  const query = new URL(request.url, o).searchParams
  const value = (name: string) => query.get(name) ?? undefined
  return yield* oauth.callback(provider, { code: value("code"), state: value("state"), error: value("error") }, o).pipe(
    Effect.map(({ redirect, session }) => signedIn(session, o, redirect)),
    Effect.catchTag("OAuthFailure", (failure): Effect.Effect<HttpServerResponse.HttpServerResponse, OAuthProviderFailed | OAuthSignInFailed, HttpServerRequest.HttpServerRequest> =>
      failure.status === 502
        ? failedSignIn(oauthFailed, new OAuthProviderFailed({ detail: failure.message }))
        : failedSignIn(oauthFailed, new OAuthSignInFailed({ detail: failure.message })))
  )
})

export const webRoutes = [
  WebRoute.get("/v1/auth/magic-link/verify", verifyLink, {
    auth: "public",
    reason: "the link mailed to a person with no account: the single-use token in the URL is the credential",
    description: "Spends a magic link: sets the viewer cookie and redirects (the token also in the fragment); 400 `magic-link-invalid` (unknown), 410 `magic-link-gone` (used or expired), as an HTML page to a browser (`Accept: text/html`)."
  }),
  WebRoute.get("/v1/auth/oauth/:provider/callback", oauthCallback, {
    auth: "public",
    reason: "the OAuth provider sends the browser back here: the single-use state and the provider's code are the credential",
    description: "Completes a GitHub or Google sign-in: a viewer session for the verified email address, then a redirect; 400 `oauth-sign-in-failed`, 502 `oauth-provider-failed`, as an HTML page to a browser (`Accept: text/html`)."
  })
]

