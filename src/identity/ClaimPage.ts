/**
 * `GET /claim`: where the `claimUrl` of `POST /v1/auth/agent/register` leads. A person signed in
 * to this server (the `trellis_session` cookie) enters the claim code an agent gave them and
 * becomes an owner of the agent's organization (`Organizations.claim`); someone not signed in
 * is offered a sign-in form first (`POST /claim/sign-in`, the same password check, lockout and
 * session as `/api/login`).
 *
 * Server-rendered, no script (the page policy forbids inline script). The claim form is a
 * cookie-authenticated write, so it carries the session's CSRF token (double submit: the page
 * copies the `trellis_csrf` cookie into a hidden field, the POST checks it against the
 * session's digest), which a cross-site form cannot know.
 */
import { Effect, Option } from "effect"
import { HttpServerRequest, HttpServerResponse, UrlParams } from "effect/http"
import { timingSafeEqual } from "node:crypto"
import { AuditLog } from "../audit/AuditLog.ts"
import { csrfCookie, sessionCookie } from "../auth/Authentication.ts"
import { Credentials } from "../auth/Credentials.ts"
import type { Resolved } from "../auth/Credentials.ts"
import { TrellisConfig } from "../config/TrellisConfig.ts"
import { html, page } from "../web/Html.ts"
import type { Html } from "../web/Html.ts"
import * as WebRoute from "../web/WebRoute.ts"
import { InvalidCredentials } from "./IdentityProblems.ts"
import { LoginGuard } from "./LoginGuard.ts"
import { Organizations } from "./Organizations.ts"
import * as PasswordCheck from "./PasswordCheck.ts"
import * as Secrets from "./Secrets.ts"
import { Sessions, sessionTtlSeconds } from "./Sessions.ts"

// Every answer is 200 with the page: the platform turns any 4xx into problem+json, and a
// person at a form needs the form again with the reason on it.
const layout = (body: Html) =>
  page(html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><title>Claim an agent's account</title></head>
<body><main><h1>Claim an agent's account</h1>${body}</main></body></html>`)

const claimForm = (csrf: string, message?: Html) =>
  html`${message ?? ""}<p>An agent created an account on this server and gave you a claim code (like <code>SURF-7K3M</code>). Enter it to become an owner of the agent's organization.</p>
<form method="post" action="/claim">
<input type="hidden" name="csrf_token" value="${csrf}">
<label for="code">Claim code</label> <input id="code" name="claimCode" required autocomplete="off" autocapitalize="characters">
<button type="submit">Claim</button>
</form>`

const signInForm = (message?: Html) =>
  html`${message ?? ""}<p>Sign in to this server to claim the account.</p>
<form method="post" action="/claim/sign-in">
<label for="username">Username or email</label> <input id="username" name="username" required autocomplete="username">
<label for="password">Password</label> <input id="password" name="password" type="password" required autocomplete="current-password">
<button type="submit">Sign in</button>
</form>`

const error = (text: string) => html`<p role="alert"><strong>${text}</strong></p>`

/** The signed-in person of the session cookie (sessions only: a claim is a person's act). */
const signedIn = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const credentials = yield* Credentials
  const token = request.cookies[sessionCookie] ?? ""
  if (token === "") return Option.none<Resolved>()
  return yield* credentials.resolve(token).pipe(
    Effect.map(Option.filter((r: Resolved) => r.principal.kind === "user" && r.csrfDigest !== null)),
    Effect.orElseSucceed(() => Option.none<Resolved>())
  )
})

const form = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
  request.urlParamsBody.pipe(
    Effect.map((params) => (name: string) => Option.getOrElse(UrlParams.getFirst(params, name), () => "")),
    Effect.orElseSucceed(() => (_name: string) => "")
  ))

const csrfMatches = (presented: string, digest: string): boolean => {
  const a = Buffer.from(Secrets.digest(presented))
  const b = Buffer.from(digest)
  return a.length === b.length && timingSafeEqual(a, b)
}

const show = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const session = yield* signedIn
  if (Option.isNone(session)) return layout(signInForm())
  return layout(claimForm(request.cookies[csrfCookie] ?? ""))
})

const claim = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const organizations = yield* Organizations
  const session = yield* signedIn
  if (Option.isNone(session)) return layout(signInForm(error("Your session has ended: sign in again.")))
  const field = yield* form
  const csrf = request.cookies[csrfCookie] ?? ""
  if (!csrfMatches(field("csrf_token"), session.value.csrfDigest ?? "")) {
    return layout(claimForm(csrf, error("This form has expired: reload the page and try again.")))
  }
  const code = field("claimCode").trim()
  if (code === "") return layout(claimForm(csrf, error("Enter the claim code.")))
  return yield* organizations.claim(session.value.principal, code).pipe(
    Effect.map((org) =>
      layout(html`<p role="status">Claimed: you are now an owner of <strong>${org.name}</strong> (<code>${org.id}</code>).</p>`)
    ),
    Effect.catch((failure) => Effect.succeed(layout(claimForm(csrf, error(failure.detail ?? "This claim code does not work.")))))
  )
})

const signIn = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const sessions = yield* Sessions
  const guard = yield* LoginGuard
  const audit = yield* AuditLog
  const config = yield* TrellisConfig
  const check = yield* PasswordCheck.make(new InvalidCredentials({ detail: "The username or password is wrong." }))
  const field = yield* form
  const address = Option.getOrElse(request.remoteAddress, () => "unknown")
  const checked = yield* check(field("username").trim(), field("password"), address).pipe(Effect.result)
  if (checked._tag === "Failure") return layout(signInForm(error(checked.failure.detail ?? "The username or password is wrong.")))
  const { key, user } = checked.success
  yield* guard.succeeded(key)
  const session = yield* sessions.create({ userId: user.id, organizationId: user.defaultOrganizationId })
  yield* audit.append({
    organizationId: user.defaultOrganizationId,
    actor: { id: user.id, kind: "user" },
    action: "identity.session.login",
    target: { type: "session", id: session.id }
  })
  const secure = config.publicUrl?.startsWith("https:") === true
  return HttpServerResponse.setCookiesUnsafe(
    HttpServerResponse.empty({ status: 303, headers: { location: "/claim", "cache-control": "no-store" } }),
    [
      [sessionCookie, session.token, { path: "/", maxAge: `${sessionTtlSeconds} seconds`, httpOnly: true, sameSite: "lax", secure }],
      [csrfCookie, session.csrfToken, { path: "/", maxAge: `${sessionTtlSeconds} seconds`, sameSite: "lax", secure }]
    ]
  )
})

export const claimRoutes = [
  WebRoute.get("/claim", show, {
    auth: "public",
    reason: "the claim page a person opens from an agent's message; it shows a form, and a claim needs a signed-in session",
    description: "The claim page: a claim-code form for a signed-in person, else a sign-in form."
  }),
  WebRoute.post("/claim", claim, {
    auth: "public",
    reason: "checks the session cookie and its CSRF token itself (a no-script form cannot send X-CSRF-Token); a claim code is a one-time secret, not an id",
    description: "Claims an agent's organization with the code (signed-in person, CSRF token in the form)."
  }),
  WebRoute.post("/claim/sign-in", signIn, {
    auth: "public",
    reason: "a password sign-in (the same check, lockout and session as /api/login), then back to /claim",
    description: "Signs in with a password from the claim page and returns to it."
  })
]
