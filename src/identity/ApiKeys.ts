/**
 * API keys: user keys (they act as their user, with the user's role) and organization service
 * keys (enumerated scopes, optional expiry and project restriction, deny by default).
 *
 * The secret is returned once, by `create` and `rotate`; the table keeps its digest and a
 * display prefix. Revocation, rotation and expiry take effect on the key's next request: the
 * change is announced through `CredentialCache.changed` in the same transaction.
 */
import { Context, Effect, Layer, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { CredentialCache } from "./CredentialCache.ts"
import { iso, millis, stringArray } from "./Rows.ts"
import * as Secrets from "./Secrets.ts"

export type KeyKind = "user" | "service"

export interface ApiKeyRecord {
  readonly id: string
  readonly kind: KeyKind
  readonly organizationId: string
  readonly userId: string | null
  readonly name: string
  readonly prefix: string
  readonly scopes: ReadonlyArray<string>
  /** A mobile token's abilities (seed 002); `null` for other keys. */
  readonly abilities: ReadonlyArray<string> | null
  readonly projectIds: ReadonlyArray<string> | null
  readonly expiresAt: string | null
  readonly revokedAt: string | null
  readonly revokeReason: string | null
  readonly createdBy: string | null
  readonly createdAt: string
  readonly rotatedAt: string | null
  readonly lastUsedAt: string | null
}

export interface NewKey {
  readonly kind: KeyKind
  readonly organizationId: string
  readonly userId: string | null
  readonly name: string
  readonly scopes: ReadonlyArray<string>
  /** A mobile token's abilities (seed 002). */
  readonly abilities?: ReadonlyArray<string> | null | undefined
  readonly projectIds?: ReadonlyArray<string> | null | undefined
  readonly expiresAt?: Date | null | undefined
  readonly createdBy: string | null
  /** Which secret prefix to mint (`sk_sfs_user_`, `sk_sfs_svc_`, `sk_live_`). */
  readonly secretKind: "userKey" | "serviceKey" | "surfletKey" | "mobileToken"
}

interface KeyRow {
  readonly id: string
  readonly kind: KeyKind
  readonly organization_id: string
  readonly user_id: string | null
  readonly name: string
  readonly prefix: string
  readonly scopes: unknown
  readonly abilities: unknown
  readonly project_ids: unknown
  readonly expires_at: unknown
  readonly revoked_at: unknown
  readonly revoke_reason: string | null
  readonly created_by: string | null
  readonly created_at: unknown
  readonly rotated_at: unknown
  readonly last_used_at: unknown
}

const columns =
  "id, kind, organization_id, user_id, name, prefix, scopes, abilities, project_ids, expires_at, revoked_at, revoke_reason, created_by, created_at, rotated_at, last_used_at"

const toRecord = (row: KeyRow): ApiKeyRecord => ({
  id: row.id,
  kind: row.kind,
  organizationId: row.organization_id,
  userId: row.user_id,
  name: row.name,
  prefix: row.prefix,
  scopes: stringArray(row.scopes) ?? [],
  abilities: stringArray(row.abilities),
  projectIds: stringArray(row.project_ids),
  expiresAt: iso(row.expires_at),
  revokedAt: iso(row.revoked_at),
  revokeReason: row.revoke_reason,
  createdBy: row.created_by,
  createdAt: iso(row.created_at) ?? "",
  rotatedAt: iso(row.rotated_at),
  lastUsedAt: iso(row.last_used_at)
})

/** `last_used_at` is written at most this often per key. */
const touchIntervalMillis = 60_000

export class ApiKeys extends Context.Service<ApiKeys, {
  readonly create: (input: NewKey) => Effect.Effect<{ readonly record: ApiKeyRecord; readonly secret: string }>
  /**
   * Keys of an organization, or of a user in every organization (user keys follow their user),
   * newest first; narrowed to one user and/or kind. At least one of the two must be given.
   */
  readonly list: (filter: {
    readonly organizationId?: string | undefined
    readonly userId?: string | undefined
    readonly kind?: KeyKind | undefined
    readonly includeRevoked?: boolean | undefined
  }) => Effect.Effect<ReadonlyArray<ApiKeyRecord>>
  readonly get: (organizationId: string, id: string) => Effect.Effect<Option.Option<ApiKeyRecord>>
  /** Revokes a key of the organization and/or of that user (at least one given); `None` when there is no such key. */
  readonly revoke: (input: {
    readonly organizationId?: string | undefined
    readonly id: string
    readonly userId?: string | undefined
    readonly kind?: KeyKind | undefined
    readonly reason?: string | null | undefined
  }) => Effect.Effect<Option.Option<ApiKeyRecord>>
  /** A new key replacing a live one (same name, scopes, restriction, lifetime); the old one is revoked at once. */
  readonly rotate: (input: { readonly organizationId: string; readonly id: string; readonly kind?: KeyKind | undefined }) => Effect.Effect<
    Option.Option<{ readonly record: ApiKeyRecord; readonly secret: string }>
  >
  /** Records a use (throttled to once a minute per key). */
  readonly touch: (id: string) => Effect.Effect<void>
  /** Whether `touch` would write nothing now (the key's last-use mark is recent). */
  readonly touchedRecently: (id: string) => boolean
}>()("trellis/identity/ApiKeys") {
  static readonly layer = Layer.effect(
    ApiKeys,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const cache = yield* CredentialCache
      const touched = new Map<string, number>()

      const create = (input: NewKey) =>
        Effect.gen(function*() {
          const id = Secrets.newId("key")
          const secret = Secrets.generate(input.secretKind)
          const rows = yield* sql<KeyRow>`
            INSERT INTO identity.api_keys
              (id, kind, organization_id, user_id, name, prefix, secret_hash, scopes, abilities, project_ids, expires_at, created_by)
            VALUES (${id}, ${input.kind}, ${input.organizationId}, ${input.userId}, ${input.name},
              ${Secrets.displayPrefix(secret)}, ${Secrets.digest(secret)}, ${JSON.stringify(input.scopes)}::jsonb,
              ${input.abilities === null || input.abilities === undefined ? null : JSON.stringify(input.abilities)}::jsonb,
              ${input.projectIds === null || input.projectIds === undefined ? null : JSON.stringify(input.projectIds)}::jsonb,
              ${input.expiresAt ?? null}, ${input.createdBy})
            RETURNING ${sql.unsafe(columns)}`
          return { record: toRecord(rows[0]), secret }
        }).pipe(Effect.orDie)

      const list = (filter: {
        readonly organizationId?: string | undefined
        readonly userId?: string | undefined
        readonly kind?: KeyKind | undefined
        readonly includeRevoked?: boolean | undefined
      }) =>
        filter.organizationId === undefined && filter.userId === undefined
        ? Effect.die(new Error("ApiKeys.list needs an organization or a user"))
        : sql<KeyRow>`
          SELECT ${sql.unsafe(columns)} FROM identity.api_keys
          WHERE (${filter.organizationId ?? null}::text IS NULL OR organization_id = ${filter.organizationId ?? null})
            AND (${filter.userId ?? null}::text IS NULL OR user_id = ${filter.userId ?? null})
            AND (${filter.kind ?? null}::text IS NULL OR kind = ${filter.kind ?? null})
            AND (${filter.includeRevoked === true} OR revoked_at IS NULL)
          ORDER BY created_at DESC, id`.pipe(Effect.map((rows) => rows.map(toRecord)), Effect.orDie)

      const get = (organizationId: string, id: string) =>
        sql<KeyRow>`SELECT ${sql.unsafe(columns)} FROM identity.api_keys WHERE organization_id = ${organizationId} AND id = ${id}`.pipe(
          Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), toRecord)),
          Effect.orDie
        )

      const revoke = (input: {
        readonly organizationId?: string | undefined
        readonly id: string
        readonly userId?: string | undefined
        readonly kind?: KeyKind | undefined
        readonly reason?: string | null | undefined
      }) =>
        input.organizationId === undefined && input.userId === undefined
        ? Effect.die(new Error("ApiKeys.revoke needs an organization or a user"))
        : sql.withTransaction(Effect.gen(function*() {
          const rows = yield* sql<KeyRow>`
            UPDATE identity.api_keys
            SET revoked_at = coalesce(revoked_at, now()), revoke_reason = coalesce(revoke_reason, ${input.reason ?? null})
            WHERE (${input.organizationId ?? null}::text IS NULL OR organization_id = ${input.organizationId ?? null}) AND id = ${input.id}
              AND (${input.userId ?? null}::text IS NULL OR user_id = ${input.userId ?? null})
              AND (${input.kind ?? null}::text IS NULL OR kind = ${input.kind ?? null})
            RETURNING ${sql.unsafe(columns)}`
          if (rows.length > 0) yield* cache.changed("key.revoked", input.id)
          return Option.map(Option.fromNullishOr(rows[0]), toRecord)
        })).pipe(Effect.orDie)

      // Rotation mints a new key (new id, new secret) with the old one's name, scopes, project
      // restriction and remaining lifetime, and revokes the old one in the same transaction.
      const rotate = (input: { readonly organizationId: string; readonly id: string; readonly kind?: KeyKind | undefined }) =>
        sql.withTransaction(Effect.gen(function*() {
          const existing = yield* sql<KeyRow>`
            SELECT ${sql.unsafe(columns)} FROM identity.api_keys
            WHERE organization_id = ${input.organizationId} AND id = ${input.id} AND revoked_at IS NULL
              AND (${input.kind ?? null}::text IS NULL OR kind = ${input.kind ?? null})
            FOR UPDATE`
          const old = existing[0]
          if (old === undefined) return Option.none()
          const secretKind = old.prefix.startsWith(Secrets.prefixes.serviceKey)
            ? "serviceKey" as const
            : old.prefix.startsWith(Secrets.prefixes.surfletKey)
            ? "surfletKey" as const
            : old.prefix.startsWith(Secrets.prefixes.mobileToken)
            ? "mobileToken" as const
            : "userKey" as const
          const created = millis(old.created_at) ?? Date.now()
          const expires = millis(old.expires_at)
          const created_ = yield* create({
            kind: old.kind,
            organizationId: old.organization_id,
            userId: old.user_id,
            name: old.name,
            scopes: stringArray(old.scopes) ?? [],
            abilities: stringArray(old.abilities),
            projectIds: stringArray(old.project_ids),
            expiresAt: expires === null ? null : new Date(Date.now() + (expires - created)),
            createdBy: old.created_by,
            secretKind
          })
          yield* sql`
            UPDATE identity.api_keys SET revoked_at = now(), revoke_reason = ${`rotated: replaced by ${created_.record.id}`}
            WHERE id = ${old.id}`
          yield* cache.changed("key.rotated", input.id)
          return Option.some(created_)
        })).pipe(Effect.orDie)

      const touchedRecently = (id: string) => {
        const last = touched.get(id)
        return last !== undefined && Date.now() - last < touchIntervalMillis
      }

      const touch = (id: string) =>
        Effect.suspend(() => {
          if (touchedRecently(id)) return Effect.void
          touched.set(id, Date.now())
          return sql`UPDATE identity.api_keys SET last_used_at = now() WHERE id = ${id}`.pipe(Effect.asVoid, Effect.ignore)
        })

      return ApiKeys.of({ create, list, get, revoke, rotate, touch, touchedRecently })
    })
  )
}
