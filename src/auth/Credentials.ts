/**
 * The seam where a secret becomes a principal.
 *
 * The authentication middleware asks `Credentials.resolve` for every request's bearer token
 * (or session cookie). `layerAdminToken` knows only `TRELLIS_ADMIN_TOKEN`; the identity
 * module's layer (`src/identity/CredentialsLive.ts`) adds sessions, user keys and service
 * keys on top of it. Either way the middleware and the handlers stay the same.
 */
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import { TrellisConfig } from "../config/TrellisConfig.ts"
import type { ApiKeyExpired, ApiKeyRevoked, CrossOrgDenied, SessionExpired } from "./AuthProblems.ts"
import { Principal } from "./Principal.ts"

/** Why a recognised credential no longer works (an unknown one is simply `None`). */
export type CredentialFailure = ApiKeyRevoked | ApiKeyExpired | SessionExpired

export interface Resolved {
  readonly principal: Principal
  /**
   * For sessions: the SHA-256 hex digest of the session's CSRF token, which a
   * cookie-authenticated write must present in `X-CSRF-Token`. `null` for other credentials.
   */
  readonly csrfDigest: string | null
}

export class Credentials extends Context.Service<Credentials, {
  readonly resolve: (token: string) => Effect.Effect<Option.Option<Resolved>, CredentialFailure>
  /**
   * What `resolve` would answer, when that is known in memory and needs no write: the admin
   * token, or a live session or key this process resolved a moment ago. `undefined` means
   * "ask `resolve`" (unknown, failed, expired, or a key whose last-use mark is due).
   * The HTTP fast path uses it; it never touches the database.
   */
  readonly resolveNow: (token: string) => Resolved | undefined
  /**
   * The same principal acting in another organization (`X-Trellis-Organization`): the
   * admin token may act in any existing organization, a user in those they are a member of
   * (with their role there); service keys never leave their organization.
   */
  readonly actAs: (principal: Principal, organizationId: string) => Effect.Effect<Principal, CrossOrgDenied>
}>()("trellis/auth/Credentials") {
  /** Resolves only the static admin token of the configuration. */
  static readonly layerAdminToken = Layer.effect(
    Credentials,
    Effect.gen(function*() {
      const config = yield* TrellisConfig
      const isAdmin = adminTokenMatcher(config.adminToken)
      const admin: Resolved = { principal: adminPrincipal, csrfDigest: null }
      const resolveNow = (token: string) => isAdmin(token) ? admin : undefined
      const resolve = (token: string) => Effect.sync(() => Option.fromUndefinedOr(resolveNow(token)))
      return Credentials.of({ resolve, resolveNow, actAs: (principal) => Effect.succeed(principal) })
    })
  )
}

/** Fixed-length digests, so the comparison takes the same time whatever the token's length. */
const digest = (token: string): Buffer => createHash("sha256").update(token).digest()

/** A constant-time test for the configured admin token (always false when none is set). */
export const adminTokenMatcher = (adminToken: Redacted.Redacted<string> | undefined): (token: string) => boolean => {
  if (adminToken === undefined) return () => false
  const expected = digest(Redacted.value(adminToken))
  // The last token that matched, so the common case (scripts reusing the admin token) costs a
  // string comparison instead of a hash; a different token is still compared by digest.
  let lastMatch: Buffer | undefined
  return (token) => {
    if (lastMatch !== undefined && token.length === lastMatch.length) {
      const presented = Buffer.from(token)
      if (presented.length === lastMatch.length && timingSafeEqual(presented, lastMatch)) return true
    }
    const matches = timingSafeEqual(digest(token), expected)
    if (matches) lastMatch = Buffer.from(token)
    return matches
  }
}

/**
 * The organization that exists from the first start: the admin token acts in it, and a
 * single-team installation never needs another.
 */
export const defaultOrganizationId = "org_default"

/** The principal of the static admin token: every scope, in the default organization. */
export const adminPrincipal = new Principal({
  id: "admin",
  kind: "admin-token",
  organizationId: defaultOrganizationId,
  role: "owner",
  scopes: ["*"],
  userId: null,
  credentialId: null,
  projectIds: null,
  agent: false
})
