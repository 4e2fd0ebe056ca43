/**
 * Sign-in for the people pages are for (seed 003 "Authentication"): magic links, OAuth with
 * GitHub or Google, and signing a viewer session out. Public: the caller is a person with no
 * account here (yet); each route checks what it is given and is rate-limited where it sends
 * mail. The link and callback a browser opens (`GET /v1/auth/magic-link/verify`,
 * `GET /v1/auth/oauth/<provider>/callback`) are web routes (`PeopleWeb.ts`): they answer a
 * redirect with a cookie, or an HTML page when the link does not work.
 *
 * Client-safe: imports only `effect` and `trellis/contract`.
 */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Problems, Public, WireDialect } from "trellis/contract"
import { InvalidPage } from "./Errors.ts"
import { OAuthNotConfigured } from "./PeopleErrors.ts"

export const MagicLinkSend = Schema.Struct({
  email: Schema.String,
  pageId: Schema.optional(Schema.NullOr(Schema.String)),
  redirectUrl: Schema.optional(Schema.NullOr(Schema.String))
})

export const MagicLinkSent = Schema.Struct({ sent: Schema.Boolean })

export const OAuthStart = Schema.Struct({
  redirectUrl: Schema.optional(Schema.NullOr(Schema.String))
})

export const OAuthUrl = Schema.Struct({ url: Schema.String })

const oauthStart = (provider: "github" | "google", name: string) =>
  HttpApiEndpoint.post(provider, `/v1/auth/oauth/${provider}`, {
    payload: OAuthStart,
    success: OAuthUrl,
    error: [InvalidPage, OAuthNotConfigured]
  }).annotateMerge(OpenApi.annotations({
    description: `Starts a sign-in with ${name}: answers the authorize URL to send the browser to. ${name} sends it back to ` +
      `\`/v1/auth/oauth/${provider}/callback\`, which signs the browser in with the account's verified email address ` +
      "(a viewer session: the `trellis_viewer` cookie, and the token in the redirect's fragment, `#surflet_session=`) and " +
      "redirects to `redirectUrl` (a page of this server: `/p/<id>` or `/inbox`; default `/inbox`). " +
      "400 `oauth-not-configured` when the server has no such OAuth app."
  }))

export class PeopleGroup extends HttpApiGroup.make("people")
  .annotate(WireDialect, WireDialect.surflet)
  .annotate(Public, "sign-in for people with no account here: they prove an email address (a mailed link, an OAuth provider); sending answers the same whoever asks and is rate-limited per address and per client")
  .add(
    HttpApiEndpoint.post("sendMagicLink", "/v1/auth/magic-link/send", {
      payload: MagicLinkSend,
      success: MagicLinkSent,
      error: [InvalidPage, Problems.RateLimited]
    }).annotateMerge(OpenApi.annotations({
      description: "Mails a single-use sign-in link (15 minutes) when the address may open the page (`pageId`; " +
        "without one, a link to the inbox). Answers `{sent: true}` either way, so nobody learns who may open a page. " +
        "`redirectUrl` must be a page of this server (`/p/<id>` or `/inbox`, relative or with this server's origin; " +
        "default `/p/<pageId>`), else 400 naming it. A few links a minute per address and per client, then 429 with `Retry-After`."
    })),
    oauthStart("github", "GitHub"),
    oauthStart("google", "Google"),
    HttpApiEndpoint.post("viewerLogout", "/v1/auth/viewer/logout", {
      success: HttpApiSchema.NoContent
    }).annotateMerge(OpenApi.annotations({
      description: "Ends the caller's viewer session (the `trellis_viewer` cookie, or a `pv_` bearer token) and clears the cookie. " +
        "204 whether or not there was one. (Members sign out with `POST /v1/auth/logout`.)"
    }))
  )
  .annotateMerge(OpenApi.annotations({
    title: "People",
    description: "Sign-in for the people pages are for: magic links, GitHub and Google, viewer sessions."
  }))
{}
