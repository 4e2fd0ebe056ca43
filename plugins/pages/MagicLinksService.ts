/**
 * The `MagicLinks` service: passwordless sign-in for the people a page is for (seed 003's
 * `POST /v1/auth/magic-link/send`), for the API route and the viewer's "email me a link" form
 * alike. Tag and interface here; `MagicLinks.ts` implements it.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { Problems } from "trellis/contract"
import type { InvalidPage } from "./Errors.ts"

export interface MagicLinkRequest {
  readonly email: string
  /** The page the link is for (the person must be allowed on it for a link to be sent). */
  readonly pageId: string | null
  /** Where the link leads after sign-in: a path of this server (`/p/<id>`, `/inbox`); anything else is refused. */
  readonly redirectUrl: string | null
  /** The server's public origin, for the link itself (`TRELLIS_PUBLIC_URL`, else the request's origin). */
  readonly origin: string
  /** The client's address, for the per-client rate limit (optional: without it only the per-address one applies). */
  readonly client?: string | undefined
}

export class MagicLinks extends Context.Service<MagicLinks, {
  /**
   * Sends the link when the address may open the page (answers the same either way, so that
   * nobody learns who may); a bad email or redirect is 400 naming the field; too many links for
   * one address or one client in a minute is 429 (`Retry-After` is set on the response).
   */
  readonly send: (request: MagicLinkRequest) => Effect.Effect<void, InvalidPage | Problems.RateLimited>
}>()("pages/MagicLinks") {}
