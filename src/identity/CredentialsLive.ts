/**
 * `Credentials` backed by the identity tables: the static admin token, login sessions
 * (`trs_`), user keys and organization service keys (`sk_…`), each resolved by the digest of
 * the presented secret and cached for a few seconds (see `CredentialCache`).
 *
 * A revoked or expired key answers with its structured problem (`api_key_revoked`,
 * `api_key_expired`) rather than a bare 401, so scripts can tell what happened; a user who
 * was deactivated or removed from the organization simply no longer authenticates.
 *
 * Sessions act in the organization they were opened in; user keys in their user's current
 * default organization (read at resolution, so a change reaches the key's next request once
 * the cache is cleared through the `identity.credentials` events); service keys in theirs.
 */
import { Effect, Layer, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { ApiKeyExpired, ApiKeyRevoked, CrossOrgDenied, SessionExpired } from "../auth/AuthProblems.ts"
import { adminPrincipal, adminTokenMatcher, Credentials } from "../auth/Credentials.ts"
import type { CredentialFailure, Resolved } from "../auth/Credentials.ts"
import { Principal } from "../auth/Principal.ts"
import type { Role } from "../auth/Principal.ts"
import { TrellisConfig } from "../config/TrellisConfig.ts"
import { ApiKeys } from "./ApiKeys.ts"
import { CredentialCache } from "./CredentialCache.ts"
import { millis, stringArray } from "./Rows.ts"
import * as Secrets from "./Secrets.ts"

type Lookup =
  | { readonly _tag: "Found"; readonly resolved: Resolved; readonly expiresAt: number | null; readonly keyId: string | null }
  | { readonly _tag: "Revoked"; readonly session: boolean }
  | { readonly _tag: "Expired"; readonly session: boolean }
  | { readonly _tag: "Unknown" }

const unknown: Lookup = { _tag: "Unknown" }

interface SessionRow {
  readonly id: string
  readonly user_id: string | null
  readonly organization_id: string
  readonly csrf_hash: string
  readonly expires_at: unknown
  readonly revoked_at: unknown
  readonly active: boolean | null
  readonly kind: "human" | "agent" | null
  readonly role: Role | null
}

interface KeyRow {
  readonly id: string
  readonly kind: "user" | "service"
  readonly organization_id: string
  readonly user_id: string | null
  readonly scopes: unknown
  readonly abilities: unknown
  readonly project_ids: unknown
  readonly expires_at: unknown
  readonly revoked_at: unknown
  readonly active: boolean | null
  readonly user_kind: "human" | "agent" | null
  readonly role: Role | null
}

/** A user acting through a session or one of their keys, with their role in the organization. */
const userPrincipal = (
  kind: "user" | "user-key",
  userId: string,
  organizationId: string,
  role: Role,
  scopes: ReadonlyArray<string>,
  credentialId: string,
  userKind: "human" | "agent" | null,
  abilities: ReadonlyArray<string> | null = null
) =>
  new Principal({
    id: userId,
    kind,
    organizationId,
    role,
    scopes,
    userId,
    credentialId,
    projectIds: null,
    agent: userKind === "agent",
    ...(abilities === null ? {} : { abilities })
  })

export const layer = Layer.effect(
  Credentials,
  Effect.gen(function*() {
    const config = yield* TrellisConfig
    const sql = yield* SqlClient.SqlClient
    const cache = yield* CredentialCache
    const keys = yield* ApiKeys
    const isAdmin = adminTokenMatcher(config.adminToken)
    const adminResolved: Resolved = { principal: adminPrincipal, csrfDigest: null }

    const lookupSession = (digest: string) =>
      sql<SessionRow>`
        SELECT s.id, s.user_id, s.organization_id, s.csrf_hash, s.expires_at, s.revoked_at, u.active, u.kind, m.role
        FROM identity.sessions s
        LEFT JOIN identity.users u ON u.id = s.user_id
        LEFT JOIN identity.memberships m ON m.user_id = s.user_id AND m.organization_id = s.organization_id
        WHERE s.token_hash = ${digest}`.pipe(
        Effect.map((rows): Lookup => {
          const row = rows[0]
          if (row === undefined) return unknown
          if (row.revoked_at !== null) return { _tag: "Revoked", session: true }
          const expiresAt = millis(row.expires_at)
          if (expiresAt !== null && expiresAt <= Date.now()) return { _tag: "Expired", session: true }
          if (row.user_id === null) {
            return {
              _tag: "Found",
              resolved: {
                principal: new Principal({ ...adminPrincipal, organizationId: row.organization_id, credentialId: row.id }),
                csrfDigest: row.csrf_hash
              },
              expiresAt,
              keyId: null
            }
          }
          if (row.active !== true || row.role === null) return unknown
          return {
            _tag: "Found",
            resolved: {
              principal: userPrincipal("user", row.user_id, row.organization_id, row.role, ["*"], row.id, row.kind),
              csrfDigest: row.csrf_hash
            },
            expiresAt,
            keyId: null
          }
        })
      )

    const lookupKey = (digest: string) =>
      // A service key acts in its organization; a user key acts as its user in the user's
      // current default organization (SessionFS's clients cannot name one per request), with
      // the user's role there. A change of default organization is announced like a revocation.
      sql<KeyRow>`
        SELECT k.id, k.kind, k.user_id, k.scopes, k.abilities, k.project_ids, k.expires_at, k.revoked_at,
          u.active, u.kind AS user_kind, m.role,
          CASE WHEN k.kind = 'user' THEN u.default_organization_id ELSE k.organization_id END AS organization_id
        FROM identity.api_keys k
        LEFT JOIN identity.users u ON u.id = k.user_id
        LEFT JOIN identity.memberships m ON m.user_id = k.user_id
          AND m.organization_id = CASE WHEN k.kind = 'user' THEN u.default_organization_id ELSE k.organization_id END
        WHERE k.secret_hash = ${digest}`.pipe(
        Effect.map((rows): Lookup => {
          const row = rows[0]
          if (row === undefined) return unknown
          if (row.revoked_at !== null) return { _tag: "Revoked", session: false }
          const expiresAt = millis(row.expires_at)
          if (expiresAt !== null && expiresAt <= Date.now()) return { _tag: "Expired", session: false }
          const scopes = stringArray(row.scopes) ?? []
          if (row.kind === "service") {
            return {
              _tag: "Found",
              resolved: {
                principal: new Principal({
                  id: row.id,
                  kind: "service-key",
                  organizationId: row.organization_id,
                  role: "viewer",
                  scopes,
                  userId: null,
                  credentialId: row.id,
                  projectIds: stringArray(row.project_ids),
                  agent: false
                }),
                csrfDigest: null
              },
              expiresAt,
              keyId: row.id
            }
          }
          if (row.user_id === null || row.active !== true || row.role === null) return unknown
          return {
            _tag: "Found",
            resolved: {
              principal: userPrincipal("user-key", row.user_id, row.organization_id, row.role, scopes, row.id, row.user_kind, stringArray(row.abilities)),
              csrfDigest: null
            },
            expiresAt,
            keyId: row.id
          }
        })
      )

    // Cached by the presented secret itself (it is in this process's memory during the request
    // anyway), so a hit costs no hashing; the database is only ever asked by digest.
    const lookup = (token: string): Effect.Effect<Lookup> => {
      const cached = cache.get<Lookup>(token)
      if (cached !== undefined) return Effect.succeed(cached)
      const digest = Secrets.digest(token)
      const query = token.startsWith(Secrets.prefixes.session)
        ? lookupSession(digest)
        : token.startsWith("sk_")
        ? lookupKey(digest)
        : Effect.succeed(unknown)
      return query.pipe(
        Effect.tap((result) => Effect.sync(() => cache.set(token, result))),
        Effect.orDie
      )
    }

    const resolve = (token: string): Effect.Effect<Option.Option<Resolved>, CredentialFailure> => {
      if (isAdmin(token)) return Effect.succeed(Option.some(adminResolved))
      return Effect.flatMap(lookup(token), (result): Effect.Effect<Option.Option<Resolved>, CredentialFailure> => {
        switch (result._tag) {
          case "Unknown":
            return Effect.succeed(Option.none<Resolved>())
          case "Revoked":
            return result.session
              ? Effect.fail(new SessionExpired({ detail: "This session was signed out. Sign in again." }))
              : Effect.fail(new ApiKeyRevoked({ detail: "This API key was revoked." }))
          case "Expired":
            return result.session
              ? Effect.fail(new SessionExpired({ detail: "This session has expired. Sign in again." }))
              : Effect.fail(new ApiKeyExpired({ detail: "This API key has expired." }))
          case "Found": {
            if (result.expiresAt !== null && result.expiresAt <= Date.now()) {
              return result.keyId === null
                ? Effect.fail(new SessionExpired({ detail: "This session has expired. Sign in again." }))
                : Effect.fail(new ApiKeyExpired({ detail: "This API key has expired." }))
            }
            const found = Effect.succeed(Option.some(result.resolved))
            return result.keyId === null ? found : Effect.andThen(keys.touch(result.keyId), found)
          }
        }
      })
    }

    const resolveNow = (token: string): Resolved | undefined => {
      // The cache first: it only ever holds tokens that are not the admin token (`resolve`
      // answers that one before any lookup), and it spares a key the admin token's hash.
      const cached = cache.get<Lookup>(token)
      if (cached === undefined) return isAdmin(token) ? adminResolved : undefined
      if (cached._tag !== "Found") return undefined
      if (cached.expiresAt !== null && cached.expiresAt <= Date.now()) return undefined
      if (cached.keyId !== null && !keys.touchedRecently(cached.keyId)) return undefined
      return cached.resolved
    }

    const actAs = (principal: Principal, organizationId: string) =>
      Effect.gen(function*() {
        if (organizationId === principal.organizationId) return principal
        const denied = new CrossOrgDenied({ detail: `You are not a member of organization ${organizationId}.` })
        if (principal.kind === "service-key") return yield* denied
        if (principal.kind === "admin-token") {
          const rows = yield* sql<{ readonly id: string }>`SELECT id FROM identity.organizations WHERE id = ${organizationId}`.pipe(Effect.orDie)
          if (rows.length === 0) return yield* denied
          return new Principal({ ...principal, organizationId })
        }
        if (principal.userId === null) return yield* denied
        const rows = yield* sql<{ readonly role: Role }>`
          SELECT role FROM identity.memberships WHERE user_id = ${principal.userId} AND organization_id = ${organizationId}`.pipe(
          Effect.orDie
        )
        if (rows.length === 0) return yield* denied
        return new Principal({ ...principal, organizationId, role: rows[0].role })
      })

    return Credentials.of({ resolve, resolveNow, actAs })
  })
)
