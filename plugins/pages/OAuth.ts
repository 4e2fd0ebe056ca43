/**
 * OAuth sign-in (seed 003 `POST /v1/auth/oauth/github`, `/google`): a person proves an email
 * address with their GitHub or Google account and gets a viewer session, as with a magic link.
 *
 * `start` answers the provider's authorize URL with a `state` stored (digest, 10 minutes,
 * single use); the provider sends the browser back to `/v1/auth/oauth/<provider>/callback`,
 * which spends the state (one guarded UPDATE: a replayed callback finds it used), exchanges the
 * code at the token endpoint and reads a verified address (GitHub: the primary verified one of
 * `/user/emails`; Google: userinfo's `email` with `email_verified`). Calls to the provider go
 * through the platform's `OutboundHttp` (internal addresses refused unless
 * `TRELLIS_OAUTH_ALLOW_PRIVATE`); the endpoints come only from configuration (`PagesConfig`).
 */
import { Context, Data, Effect, Layer, Option, Redacted, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { randomBytes } from "node:crypto"
import { OutboundHttp, Row } from "trellis/plugin"
import type { InvalidPage } from "./Errors.ts"
import { PagesConfig } from "./PagesConfig.ts"
import { OAuthNotConfigured } from "./PeopleErrors.ts"
import { checkRedirect } from "./SignIn.ts"
import { tokenDigest, ViewerSessions } from "./ViewerSessions.ts"
import type { CreatedViewerSession } from "./ViewerSessions.ts"

export const providers = ["github", "google"] as const
export type Provider = typeof providers[number]

export const isProvider = (value: string): value is Provider => (providers as ReadonlyArray<string>).includes(value)

/** How long a started sign-in may take. */
export const stateTtlSeconds = 10 * 60

const timeoutMs = 15_000

/** Why a callback does not sign in (shown to the person; never a provider's body). */
export class OAuthFailure extends Data.TaggedError("OAuthFailure")<{
  readonly status: number
  readonly message: string
}> {}

const TokenAnswer = Schema.Struct({ access_token: Schema.String })
const GitHubEmails = Schema.Array(Schema.Struct({ email: Schema.String, primary: Schema.Boolean, verified: Schema.Boolean }))
const GoogleUser = Schema.Struct({ email: Schema.optional(Schema.String), email_verified: Schema.optional(Schema.Union([Schema.Boolean, Schema.String])) })

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const config = yield* PagesConfig
  const sessions = yield* ViewerSessions
  const policy: OutboundHttp.Policy = { allowPrivate: config.oauthAllowPrivate }

  const app = (provider: Provider) => {
    const [id, secret] = provider === "github"
      ? [config.githubClientId, config.githubClientSecret]
      : [config.googleClientId, config.googleClientSecret]
    return id === undefined || secret === undefined ? Option.none() : Option.some({ id, secret })
  }

  const callbackUrl = (provider: Provider, origin: string) => `${origin}/v1/auth/oauth/${provider}/callback`

  /** The provider's authorize URL for a new sign-in that ends at `redirectUrl`. */
  const start = (provider: Provider, redirectUrl: string | null | undefined, origin: string): Effect.Effect<string, OAuthNotConfigured | InvalidPage> =>
    Effect.gen(function*() {
      const client = app(provider)
      if (Option.isNone(client)) {
        const prefix = `TRELLIS_OAUTH_${provider.toUpperCase()}`
        return yield* new OAuthNotConfigured({
          provider,
          variables: [`${prefix}_CLIENT_ID`, `${prefix}_CLIENT_SECRET`],
          detail: `Sign-in with ${provider === "github" ? "GitHub" : "Google"} is not configured on this server: ` +
            `an operator sets ${prefix}_CLIENT_ID and ${prefix}_CLIENT_SECRET.`
        })
      }
      const redirect = yield* checkRedirect(redirectUrl, origin, null)
      const state = randomBytes(32).toString("base64url")
      yield* sql`
        INSERT INTO pages.oauth_states (state_digest, provider, redirect, expires_at)
        VALUES (${tokenDigest(state)}, ${provider}, ${redirect}, ${new Date(Date.now() + stateTtlSeconds * 1000)})`
      const url = new URL(provider === "github" ? `${config.githubBaseUrl.replace(/\/$/, "")}/login/oauth/authorize` : config.googleAuthorizeUrl)
      url.searchParams.set("client_id", client.value.id)
      url.searchParams.set("redirect_uri", callbackUrl(provider, origin))
      url.searchParams.set("scope", provider === "github" ? "user:email" : "openid email")
      url.searchParams.set("state", state)
      if (provider === "google") url.searchParams.set("response_type", "code")
      return url.toString()
    }).pipe(Row.dieOnInfrastructure)

  const failure = (status: number, message: string) => new OAuthFailure({ status, message })

  /** A provider call's JSON, decoded; anything else is a 502 failure. */
  const call = <A>(what: string, request: OutboundHttp.OutboundRequest, schema: Schema.Decoder<A>) =>
    Effect.gen(function*() {
      const response = yield* OutboundHttp.send(request, policy).pipe(
        Effect.tapError((error) => Effect.logWarning(`OAuth ${what} failed`).pipe(Effect.annotateLogs({ error: error._tag }))),
        Effect.mapError(() => failure(502, `The sign-in provider could not be reached (${what}).`))
      )
      const body = yield* Effect.tryPromise({ try: () => response.text(), catch: () => failure(502, `The sign-in provider's answer could not be read (${what}).`) })
      if (!response.ok) {
        yield* Effect.logWarning(`OAuth ${what} answered ${response.status}`)
        return yield* failure(502, `The sign-in provider refused the sign-in (${what}).`)
      }
      let json: unknown
      try {
        json = JSON.parse(body)
      } catch {
        return yield* failure(502, `The sign-in provider's answer was not JSON (${what}).`)
      }
      return yield* Schema.decodeUnknownEffect(schema)(json).pipe(
        Effect.mapError(() => failure(502, `The sign-in provider's answer was not understood (${what}).`))
      )
    })

  /** The verified address of the person the code stands for. */
  const verifiedEmail = (provider: Provider, code: string, origin: string, client: { readonly id: string; readonly secret: Redacted.Redacted<string> }) =>
    Effect.gen(function*() {
      const form = new URLSearchParams({
        client_id: client.id,
        client_secret: Redacted.value(client.secret),
        code,
        redirect_uri: callbackUrl(provider, origin),
        grant_type: "authorization_code"
      })
      const token = yield* call("token exchange", {
        url: provider === "github" ? `${config.githubBaseUrl.replace(/\/$/, "")}/login/oauth/access_token` : config.googleTokenUrl,
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json", "user-agent": "Trellis" },
        body: form.toString(),
        timeoutMs
      }, TokenAnswer)
      const authorization = { authorization: `Bearer ${token.access_token}`, "user-agent": "Trellis" }
      if (provider === "github") {
        const emails = yield* call("email addresses", {
          url: `${config.githubApiUrl.replace(/\/$/, "")}/user/emails`,
          headers: { ...authorization, accept: "application/vnd.github+json" },
          timeoutMs
        }, GitHubEmails)
        const primary = emails.find((e) => e.primary && e.verified)
        if (primary === undefined) return yield* failure(400, "Your GitHub account has no verified primary email address.")
        return primary.email
      }
      const user = yield* call("userinfo", { url: config.googleUserinfoUrl, headers: { ...authorization, accept: "application/json" }, timeoutMs }, GoogleUser)
      const verified = user.email_verified === true || user.email_verified === "true"
      if (user.email === undefined || !verified) return yield* failure(400, "Your Google account has no verified email address.")
      return user.email
    })

  /** Completes a sign-in: the state is spent first, so a replayed callback signs nobody in. */
  const callback = (provider: Provider, params: { readonly code: string | undefined; readonly state: string | undefined; readonly error: string | undefined }, origin: string): Effect.Effect<{ readonly session: CreatedViewerSession; readonly redirect: string }, OAuthFailure> =>
    Effect.gen(function*() {
      const client = app(provider)
      if (Option.isNone(client)) return yield* failure(400, "This sign-in method is not configured on this server.")
      if (params.state === undefined || params.state === "") return yield* failure(400, "The sign-in answer has no state.")
      const spent = yield* sql<{ readonly redirect: string }>`
        UPDATE pages.oauth_states SET used_at = now()
        WHERE state_digest = ${tokenDigest(params.state)} AND provider = ${provider} AND used_at IS NULL AND expires_at > now()
        RETURNING redirect`
      const started = spent[0]
      if (started === undefined) return yield* failure(400, "This sign-in is unknown, was already completed, or took too long. Start again.")
      if (params.error !== undefined) return yield* failure(400, "The sign-in was cancelled or refused at the provider.")
      if (params.code === undefined || params.code === "") return yield* failure(400, "The sign-in answer has no code.")
      const email = yield* verifiedEmail(provider, params.code, origin, client.value)
      const session = yield* sessions.create(email)
      return { session, redirect: started.redirect }
    }).pipe(Row.dieOnInfrastructure)

  return { start, callback }
})

export class OAuthFlow extends Context.Service<OAuthFlow, Effect.Success<typeof make>>()("pages/OAuthFlow") {}

export const layer = Layer.effect(OAuthFlow, make)
