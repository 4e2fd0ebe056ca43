/**
 * Where idempotency keys live: `trellis.idempotency_keys`, shared by every server process on
 * the database, so a retry that lands on another process still finds the first attempt.
 *
 * - `claim` is one statement: `INSERT ... ON CONFLICT DO UPDATE ... WHERE <the old row may be
 *   taken over> RETURNING`. Two requests with the same key cannot both get a row back, on any
 *   number of processes. The old row may be taken over when it has expired (the lazy deletion
 *   of that key) or when it is an attempt still marked running after `staleAfter` (a process
 *   that died mid-request must not block the key for a day).
 * - Each claim carries a random token; `complete` and `release` only touch the row holding it,
 *   so a stale attempt that finishes late cannot overwrite the attempt that took over.
 * - Expired rows of other keys are swept now and then, from the claim path.
 *
 * - A stored answer is sealed with the platform's `SecretBox` (AES-256-GCM, bound to the
 *   organization, principal and key) before it is written: answers can carry secrets (a
 *   created API key is shown once, in the answer), and database dumps and backups must not.
 *   Without a usable secret key an answer is not kept (the key is released, a retry runs
 *   again); an answer sealed with another server key is reported as `Unreadable`.
 *
 * Times are the database's `now()`, so processes with drifting clocks agree.
 */
import { Context, Effect, Layer, Result } from "effect"
import { Base64 } from "effect/encoding"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { SecretBox } from "../secrets/SecretBox.ts"

/** A key as scoped: the principal that used it, within its organization. */
export interface KeyRef {
  readonly organizationId: string
  readonly principalId: string
  readonly key: string
}

/** A response as stored for replay. */
export interface StoredResponse {
  readonly status: number
  readonly contentType: string | null
  readonly location: string | null
  readonly body: Uint8Array
}

export type ClaimResult =
  /** This attempt holds the key: run the handler, then `complete` or `release` with `claim`. */
  | { readonly _tag: "Claimed"; readonly claim: string }
  /** Another attempt holds the key and has not answered yet. */
  | { readonly _tag: "InProgress"; readonly requestHash: string }
  /** The key has an answer. */
  | { readonly _tag: "Done"; readonly requestHash: string; readonly response: StoredResponse }
  /** The key has an answer this server cannot open (sealed with another secret key). */
  | { readonly _tag: "Unreadable"; readonly requestHash: string; readonly detail: string }

export interface Options {
  /** How long a key is remembered, in seconds (24 h). */
  readonly ttlSeconds: number
  /** After how long a still-running attempt may be taken over, in seconds (10 min). */
  readonly staleAfterSeconds: number
  /** At most how often expired rows are swept, in milliseconds (10 min). */
  readonly sweepEveryMs: number
}

export const defaults: Options = { ttlSeconds: 24 * 3600, staleAfterSeconds: 600, sweepEveryMs: 600_000 }

export interface IdempotencyStoreShape {
  readonly options: Options
  readonly claim: (ref: KeyRef, requestHash: string) => Effect.Effect<ClaimResult, SqlError>
  readonly complete: (ref: KeyRef, claim: string, response: StoredResponse) => Effect.Effect<void, SqlError>
  readonly release: (ref: KeyRef, claim: string) => Effect.Effect<void, SqlError>
}

interface Row {
  readonly claim: string
  readonly requestHash: string
  readonly state: string
  readonly status: number | null
  readonly contentType: string | null
  readonly location: string | null
  readonly bodySealed: string | null
}

export class IdempotencyStore extends Context.Service<IdempotencyStore, IdempotencyStoreShape>()(
  "trellis/idempotency/IdempotencyStore"
) {
  static readonly layer: Layer.Layer<IdempotencyStore, never, SqlClient.SqlClient | SecretBox> = Layer.effect(
    IdempotencyStore,
    Effect.suspend(() => make(defaults))
  )

  /** A store with other retention settings (tests). */
  static readonly layerWith = (options: Partial<Options>): Layer.Layer<IdempotencyStore, never, SqlClient.SqlClient | SecretBox> =>
    Layer.effect(IdempotencyStore, Effect.suspend(() => make({ ...defaults, ...options })))
}

const fromBase64 = (text: string): Uint8Array => Result.getOrElse(Base64.decode(text), () => new Uint8Array(0))

/** What a sealed answer is bound to: it opens for this key of this principal only. */
const sealContext = (ref: KeyRef) => JSON.stringify(["trellis.idempotency", ref.organizationId, ref.principalId, ref.key])

export const make = Effect.fnUntraced(function*(options: Options) {
  const sql = yield* SqlClient.SqlClient
  const box = yield* SecretBox
  let lastSweep = 0

  const sweep = Effect.suspend(() => {
    const now = Date.now()
    if (now - lastSweep < options.sweepEveryMs) return Effect.void
    lastSweep = now
    return sql`DELETE FROM trellis.idempotency_keys WHERE expires_at <= now()`.pipe(
      Effect.asVoid,
      Effect.catchCause((cause) => Effect.logWarning("idempotency key sweep failed", cause))
    )
  })

  const tryClaim = (ref: KeyRef, requestHash: string, claim: string) =>
    sql<{ readonly claim: string }>`
      INSERT INTO trellis.idempotency_keys
        (organization_id, principal_id, key, request_hash, claim, state, claimed_at, expires_at)
      VALUES (${ref.organizationId}, ${ref.principalId}, ${ref.key}, ${requestHash}, ${claim}, 'running', now(),
        now() + make_interval(secs => ${options.ttlSeconds}))
      ON CONFLICT (organization_id, principal_id, key) DO UPDATE SET
        request_hash = EXCLUDED.request_hash, claim = EXCLUDED.claim, state = 'running', status = NULL,
        content_type = NULL, location = NULL, body_sealed = NULL,
        claimed_at = EXCLUDED.claimed_at, expires_at = EXCLUDED.expires_at
      WHERE idempotency_keys.expires_at <= now()
        OR (idempotency_keys.state = 'running'
          AND idempotency_keys.claimed_at <= now() - make_interval(secs => ${options.staleAfterSeconds}))
      RETURNING claim`

  const read = (ref: KeyRef) =>
    sql<Row>`
      SELECT claim, request_hash AS "requestHash", state, status, content_type AS "contentType",
        location, body_sealed AS "bodySealed"
      FROM trellis.idempotency_keys
      WHERE organization_id = ${ref.organizationId} AND principal_id = ${ref.principalId} AND key = ${ref.key}`

  const claimOnce = (ref: KeyRef, requestHash: string) =>
    Effect.gen(function*() {
      const claim = crypto.randomUUID()
      const claimed = yield* tryClaim(ref, requestHash, claim)
      if (claimed.length > 0) return { _tag: "Claimed", claim } satisfies ClaimResult
      const [row] = yield* read(ref)
      if (row === undefined) return undefined // released between the two statements: try again
      if (row.state !== "done" || row.status === null) {
        return { _tag: "InProgress", requestHash: row.requestHash } satisfies ClaimResult
      }
      const opened = row.bodySealed === null
        ? Result.succeed("")
        : yield* Effect.result(box.open(row.bodySealed, sealContext(ref)))
      if (Result.isFailure(opened)) {
        return { _tag: "Unreadable", requestHash: row.requestHash, detail: opened.failure.detail ?? "The stored answer cannot be opened." } satisfies ClaimResult
      }
      return {
        _tag: "Done",
        requestHash: row.requestHash,
        response: {
          status: Number(row.status),
          contentType: row.contentType,
          location: row.location,
          body: fromBase64(opened.success)
        }
      } satisfies ClaimResult
    })

  const claim = (ref: KeyRef, requestHash: string): Effect.Effect<ClaimResult, SqlError> =>
    Effect.gen(function*() {
      yield* sweep
      for (let attempt = 0; ; attempt++) {
        const result = yield* claimOnce(ref, requestHash)
        if (result !== undefined) return result
        if (attempt >= 2) return { _tag: "InProgress", requestHash } satisfies ClaimResult
      }
    })

  const release = (ref: KeyRef, claimToken: string) =>
    sql`
      DELETE FROM trellis.idempotency_keys
      WHERE organization_id = ${ref.organizationId} AND principal_id = ${ref.principalId}
        AND key = ${ref.key} AND claim = ${claimToken}`.pipe(Effect.asVoid)

  return IdempotencyStore.of({
    options,
    claim,
    complete: (ref, claimToken, response) =>
      Effect.gen(function*() {
        const sealed = yield* Effect.result(box.seal(Base64.encode(response.body), sealContext(ref)))
        if (Result.isFailure(sealed)) {
          yield* Effect.logWarning(`an idempotent answer is not kept: ${sealed.failure.detail}`)
          return yield* release(ref, claimToken)
        }
        yield* sql`
          UPDATE trellis.idempotency_keys SET state = 'done', status = ${response.status},
            content_type = ${response.contentType}, location = ${response.location},
            body_sealed = ${sealed.success}
          WHERE organization_id = ${ref.organizationId} AND principal_id = ${ref.principalId}
            AND key = ${ref.key} AND claim = ${claimToken}`
      }),
    release
  })
})
