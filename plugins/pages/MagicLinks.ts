/**
 * Magic links (seed 003 `POST /v1/auth/magic-link/send`, `GET /v1/auth/magic-link/verify`):
 * a person proves an email address by opening a link mailed to it, and gets a viewer session.
 *
 * - Sending answers the same whether or not a link went out (nobody learns who may open a
 *   page): a link is mailed only when the address may open the page (`Access.decide`, see `mayOpen`), or, with
 *   no page, to sign in to the inbox (which lists only what is addressed to that address).
 * - Tokens: `ml_` + 32 random bytes, the SHA-256 digest stored, 15 minutes, single use: one
 *   guarded UPDATE spends it, so two racing clicks cannot both sign in.
 * - Rate limits, in this process's memory: a few links a minute per address and per client
 *   (`TRELLIS_MAGIC_LINKS_PER_ADDRESS`, `TRELLIS_MAGIC_LINKS_PER_CLIENT`).
 */
import { Context, Effect, Layer, Option } from "effect"
import { HttpEffect, HttpServerRequest, HttpServerResponse } from "effect/http"
import { SqlClient } from "effect/sql"
import { randomBytes } from "node:crypto"
import { Problems } from "trellis/contract"
import { Mailer, Row } from "trellis/plugin"
import { decide } from "./Access.ts"
import type { PageRecord } from "./Domain.ts"
import { MagicLinks } from "./MagicLinksService.ts"
import { PagesConfig } from "./PagesConfig.ts"
import { Pages } from "./PagesService.ts"
import type { MagicLinkRequest } from "./MagicLinksService.ts"
import { checkEmail, checkRedirect, windows } from "./SignIn.ts"
import { tokenDigest, ViewerSessions } from "./ViewerSessions.ts"
import type { CreatedViewerSession } from "./ViewerSessions.ts"

/** How long a link works. */
export const magicLinkTtlSeconds = 15 * 60
export const magicLinkPrefix = "ml_"

/** Why a link does not sign in. */
export type LinkFailure = "unknown" | "used" | "expired"

/**
 * Whether a person with this (proven) address may open the page: what `Access.decide` answers
 * for them as a viewer session (public pages, and `authenticated` ones that allow the address;
 * never a draft, a gone page or a `private` one: members sign in with their account).
 */
const mayOpen = (page: PageRecord, email: string): boolean =>
  decide(page, { _tag: "Identity", email, sessionId: "" })._tag === "Allowed"

export interface Verified {
  readonly session: CreatedViewerSession
  readonly redirect: string
}

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const pages = yield* Pages
  const mailer = yield* Mailer
  const sessions = yield* ViewerSessions
  const config = yield* PagesConfig
  const byAddress = windows(config.magicLinksPerAddress, 60_000)
  const byClient = windows(config.magicLinksPerClient, 60_000)

  // `Retry-After` on the response when there is one (the API route, the viewer's form).
  const refuse = (retry: number) =>
    Effect.gen(function*() {
      const request = yield* Effect.serviceOption(HttpServerRequest.HttpServerRequest)
      if (Option.isSome(request)) {
        yield* HttpEffect.appendPreResponseHandler((_request, response) =>
          Effect.succeed(HttpServerResponse.setHeader(response, "retry-after", String(retry)))
        ).pipe(Effect.provideService(HttpServerRequest.HttpServerRequest, request.value), Effect.ignore)
      }
      return yield* new Problems.RateLimited({ detail: `Too many sign-in links. Try again in ${retry} seconds.` })
    })

  const send = (request: MagicLinkRequest) =>
    Effect.gen(function*() {
      const email = yield* checkEmail(request.email)
      const pageId = request.pageId === null || request.pageId.trim() === "" ? null : request.pageId.trim()
      const redirect = yield* checkRedirect(request.redirectUrl, request.origin, pageId)
      const now = Date.now()
      if (request.client !== undefined) {
        const retry = byClient.take(request.client, now)
        if (retry !== undefined) return yield* refuse(retry)
      }
      const retry = byAddress.take(email, now)
      if (retry !== undefined) return yield* refuse(retry)

      let title = "your pages"
      if (pageId !== null) {
        const found = yield* pages.find(pageId)
        const page = Option.getOrUndefined(found)
        if (page === undefined || !mayOpen(page, email)) {
          yield* Effect.logDebug("magic link not sent: the address may not open the page").pipe(
            Effect.annotateLogs({ pageId })
          )
          return
        }
        title = page.title
      }
      const token = magicLinkPrefix + randomBytes(32).toString("base64url")
      yield* sql`
        INSERT INTO pages.magic_links (token_digest, email, page_id, redirect, expires_at)
        VALUES (${tokenDigest(token)}, ${email}, ${pageId}, ${redirect}, ${new Date(now + magicLinkTtlSeconds * 1000)})`
      const link = `${request.origin}/v1/auth/magic-link/verify?token=${encodeURIComponent(token)}`
      yield* mailer.send({
        to: email,
        subject: `Your link to ${title}`,
        text: `Open this link to sign in and see ${title}:\n\n${link}\n\n` +
          `The link works once, within ${magicLinkTtlSeconds / 60} minutes. If you did not ask for it, ignore this email.\n`
      }).pipe(
        Effect.catch((error) => Effect.logWarning("magic link mail failed").pipe(Effect.annotateLogs({ error: error.message })))
      )
    }).pipe(Row.dieOnInfrastructure)

  /** Spends a link: a new viewer session and where to go, or why not. */
  const verify = (token: string): Effect.Effect<Verified, LinkFailure> =>
    sql.withTransaction(Effect.gen(function*() {
      const digest = tokenDigest(token.trim())
      const spent = yield* sql<{ readonly email: string; readonly redirect: string }>`
        UPDATE pages.magic_links SET used_at = now()
        WHERE token_digest = ${digest} AND used_at IS NULL AND expires_at > now()
        RETURNING email, redirect`
      const link = spent[0]
      if (link === undefined) {
        const known = yield* sql<{ readonly used: boolean }>`
          SELECT (used_at IS NOT NULL) AS used FROM pages.magic_links WHERE token_digest = ${digest}`
        const failure: LinkFailure = known[0] === undefined ? "unknown" : known[0].used ? "used" : "expired"
        return yield* Effect.fail(failure)
      }
      const session = yield* sessions.create(link.email)
      return { session, redirect: link.redirect }
    })).pipe(Row.dieOnInfrastructure)

  return { send, verify }
})

/** Sending and spending links (the routes use it; the plugin's other parts use the `MagicLinks` seam). */
export class MagicLinkFlow extends Context.Service<MagicLinkFlow, Effect.Success<typeof make>>()("pages/MagicLinkFlow") {}

export const layer = Layer.effect(MagicLinks, Effect.map(MagicLinkFlow, (flow) => MagicLinks.of({ send: flow.send }))).pipe(
  Layer.provideMerge(Layer.effect(MagicLinkFlow, make))
)
