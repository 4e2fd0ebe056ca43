/**
 * Login sessions: opaque `trs_` tokens stored as digests, revocable (logout), expiring after
 * `sessionTtlSeconds`. Each session has its own CSRF token, which cookie-authenticated writes
 * must echo in `X-CSRF-Token` (a bearer-authenticated request cannot be forged by a browser).
 */
import { Context, Effect, Layer } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { CredentialCache } from "./CredentialCache.ts"
import * as Secrets from "./Secrets.ts"

/** Sessions last a week. */
export const sessionTtlSeconds = 7 * 24 * 3600

export interface NewSession {
  readonly id: string
  readonly token: string
  readonly csrfToken: string
  readonly expiresAt: Date
}

export class Sessions extends Context.Service<Sessions, {
  /** A session for a user, or for the admin token (`userId` null). */
  readonly create: (input: { readonly userId: string | null; readonly organizationId: string }) => Effect.Effect<NewSession>
  readonly revoke: (sessionId: string) => Effect.Effect<void>
  /** Revokes every session of a user (password change, deactivation). */
  readonly revokeAllOf: (userId: string) => Effect.Effect<void>
}>()("trellis/identity/Sessions") {
  static readonly layer = Layer.effect(
    Sessions,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const cache = yield* CredentialCache

      const create = (input: { readonly userId: string | null; readonly organizationId: string }) =>
        Effect.gen(function*() {
          const id = Secrets.newId("ses")
          const token = Secrets.generate("session")
          const csrfToken = Secrets.generate("csrf")
          const expiresAt = new Date(Date.now() + sessionTtlSeconds * 1000)
          yield* sql`
            INSERT INTO identity.sessions (id, token_hash, csrf_hash, user_id, organization_id, expires_at)
            VALUES (${id}, ${Secrets.digest(token)}, ${Secrets.digest(csrfToken)}, ${input.userId},
              ${input.organizationId}, ${expiresAt})`
          return { id, token, csrfToken, expiresAt }
        }).pipe(Effect.orDie)

      const revoke = (sessionId: string) =>
        sql.withTransaction(Effect.gen(function*() {
          yield* sql`UPDATE identity.sessions SET revoked_at = now() WHERE id = ${sessionId} AND revoked_at IS NULL`
          yield* cache.changed("session.revoked", sessionId)
        })).pipe(Effect.orDie)

      const revokeAllOf = (userId: string) =>
        sql.withTransaction(Effect.gen(function*() {
          yield* sql`UPDATE identity.sessions SET revoked_at = now() WHERE user_id = ${userId} AND revoked_at IS NULL`
          yield* cache.changed("sessions.revoked", userId)
        })).pipe(Effect.orDie)

      return Sessions.of({ create, revoke, revokeAllOf })
    })
  )
}
