/**
 * The audit log on the platform database (`audit.entries`, `audit.chain_heads`).
 *
 * Why it is built this way:
 * - `append` runs in `sql.withTransaction`: inside a caller's transaction that is a savepoint
 *   on the caller's connection, so the entry commits or rolls back with the audited write, and
 *   a rolled back entry gives its number back. Nothing in it waits on another fiber's database
 *   work, so it is safe on the embedded database's single connection.
 * - Numbers come from the organization's head row: `SELECT ... FOR UPDATE` locks it until the
 *   transaction ends (created first with `INSERT ... ON CONFLICT DO NOTHING` for the
 *   organization's first entry), so concurrent appends in one organization take turns (on
 *   PostgreSQL the waiter then reads the committed head) and organizations never wait for
 *   each other.
 * - `verify` walks the chain in pages of {@link verifyBatchSize} entries, so a long chain is
 *   never loaded at once, and reads the head after the walk: the head and its entry commit
 *   together, so a head read later can only be at or past what the walk saw unless rows were
 *   cut off (truncation) or added around the log (entries beyond the head).
 */
import { Clock, Effect, Layer } from "effect"
import { Digest } from "effect/crypto"
import { SqlClient } from "effect/sql"
import * as Row from "../database/Row.ts"
import type { SqlError } from "effect/sql/SqlError"
import { CurrentPrincipal } from "../auth/Principal.ts"
import { CurrentRequestId } from "../http/RequestId.ts"
import { entryHash, genesisHash, normalizeDetails, toWire } from "./AuditHash.ts"
import type { HashedFields } from "./AuditHash.ts"
import { actorOf, AuditEntry, AuditLog } from "./AuditLog.ts"
import type { AuditFailureReason, AuditInput, AuditTarget, AuditVerification } from "./AuditLog.ts"

/** Entries read per query while verifying. */
export const verifyBatchSize = 1000

interface EntryRow {
  readonly organizationId: string
  readonly seq: bigint | number | string
  readonly actorId: string
  readonly actorKind: string
  readonly action: string
  readonly targetType: string | null
  readonly targetId: string | null
  readonly details: unknown
  readonly requestId: string | null
  readonly createdAt: Date | string
  readonly prevHash: string
  readonly hash: string
}

/** How far a verification got: entries checked, the last good hash, the first hash. */
interface Progress {
  count: number
  prevHash: string
  firstHash: string | null
}

interface Failure {
  readonly seq: number
  readonly reason: AuditFailureReason
}

interface HeadRow {
  readonly lastSeq: bigint | number | string
  readonly lastHash: string
}

const entryColumns = `organization_id AS "organizationId", seq, actor_id AS "actorId", actor_kind AS "actorKind",
  action, target_type AS "targetType", target_id AS "targetId", details, request_id AS "requestId",
  created_at AS "createdAt", prev_hash AS "prevHash", hash`


const detailsOf = (value: unknown): Record<string, unknown> => {
  const parsed: unknown = typeof value === "string" ? JSON.parse(value) : value
  return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? parsed as Record<string, unknown> : {}
}

/** The hashed fields of a stored row, exactly as they were hashed when it was appended. */
const fieldsOf = (row: EntryRow): HashedFields => ({
  seq: Number(row.seq),
  organizationId: row.organizationId,
  actorId: row.actorId,
  actorKind: row.actorKind,
  action: row.action,
  targetType: row.targetType,
  targetId: row.targetId,
  details: detailsOf(row.details),
  requestId: row.requestId,
  createdAt: Row.iso(row.createdAt),
  prevHash: row.prevHash
})

const toEntry = (fields: HashedFields, hash: string): AuditEntry =>
  new AuditEntry({
    seq: fields.seq,
    organizationId: fields.organizationId,
    actorId: fields.actorId,
    actorKind: fields.actorKind,
    action: fields.action,
    targetType: fields.targetType,
    targetId: fields.targetId,
    details: fields.details,
    requestId: fields.requestId,
    createdAt: fields.createdAt,
    prevHash: toWire(fields.prevHash),
    hash: toWire(hash)
  })

const checkInput = (input: AuditInput): string | undefined => {
  if (input.organizationId === "") return "organizationId is empty"
  if (input.actor.id === "" || input.actor.kind === "") return "actor id and kind must not be empty"
  if (input.action === "") return "action is empty"
  return undefined
}

export const layer: Layer.Layer<AuditLog, never, SqlClient.SqlClient> = Layer.effect(
  AuditLog,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const digest = yield* Digest.Digest
    const hashOf = (fields: HashedFields) => entryHash(fields).pipe(Effect.provideService(Digest.Digest, digest))

    const append = Effect.fn("AuditLog.append")(function*(input: AuditInput) {
      const bad = checkInput(input)
      if (bad !== undefined) return yield* Effect.die(new Error(`AuditLog.append: ${bad}`))
      const organizationId = input.organizationId
      const details = normalizeDetails(input.details)
      const requestId = input.requestId ?? (yield* CurrentRequestId) ?? null
      return yield* sql.withTransaction(Effect.gen(function*() {
        const lockHead = sql<HeadRow>`
          SELECT last_seq AS "lastSeq", last_hash AS "lastHash" FROM audit.chain_heads
          WHERE organization_id = ${organizationId} FOR UPDATE`
        let head = (yield* lockHead)[0]
        if (head === undefined) {
          // The organization's first entry: create its head (a concurrent first append waits
          // here for ours to commit, then finds the row), then lock it.
          yield* sql`
            INSERT INTO audit.chain_heads (organization_id, last_seq, last_hash)
            VALUES (${organizationId}, 0, ${genesisHash})
            ON CONFLICT (organization_id) DO NOTHING`
          head = (yield* lockHead)[0]
        }
        if (head === undefined) return yield* Effect.die(new Error("AuditLog.append: the chain head is missing"))
        const fields: HashedFields = {
          seq: Number(head.lastSeq) + 1,
          organizationId,
          actorId: input.actor.id,
          actorKind: input.actor.kind,
          action: input.action,
          targetType: input.target?.type ?? null,
          targetId: input.target?.id ?? null,
          details,
          requestId,
          createdAt: new Date(yield* Clock.currentTimeMillis).toISOString(),
          prevHash: head.lastHash
        }
        const hash = yield* hashOf(fields)
        // One statement: the entry and the new head (a data-modifying WITH always runs).
        yield* sql`
          WITH inserted AS (
            INSERT INTO audit.entries (organization_id, seq, actor_id, actor_kind, action, target_type,
              target_id, details, request_id, created_at, prev_hash, hash)
            VALUES (${organizationId}, ${fields.seq}, ${fields.actorId}, ${fields.actorKind}, ${fields.action},
              ${fields.targetType}, ${fields.targetId}, ${JSON.stringify(details)}::jsonb, ${fields.requestId},
              ${fields.createdAt}::timestamptz, ${fields.prevHash}, ${hash})
            RETURNING seq
          )
          UPDATE audit.chain_heads SET last_seq = (SELECT seq FROM inserted), last_hash = ${hash}
          WHERE organization_id = ${organizationId}`
        return toEntry(fields, hash)
      })).pipe(Effect.orDie)
    })

    const record = Effect.fn("AuditLog.record")(function*(
      action: string,
      target: AuditTarget | null,
      details?: Record<string, unknown>
    ) {
      const principal = yield* CurrentPrincipal
      return yield* append({ organizationId: principal.organizationId, actor: actorOf(principal), action, target, details })
    })

    const list = Effect.fn("AuditLog.list")(function*(
      organizationId: string,
      page: { readonly limit: number; readonly offset: number }
    ) {
      const limit = Math.max(0, Math.floor(page.limit))
      const offset = Math.max(0, Math.floor(page.offset))
      const rows = yield* sql<EntryRow>`
        SELECT ${sql.literal(entryColumns)} FROM audit.entries
        WHERE organization_id = ${organizationId}
        ORDER BY seq DESC LIMIT ${limit} OFFSET ${offset}`
      const counted = yield* sql<{ readonly total: bigint | number | string }>`
        SELECT count(*) AS total FROM audit.entries WHERE organization_id = ${organizationId}`
      return {
        items: rows.map((row) => toEntry(fieldsOf(row), row.hash)),
        total: Number(counted[0]?.total ?? 0)
      }
    }, Effect.orDie)

    const readPage = (organizationId: string, afterSeq: number, upTo: number) =>
      sql<EntryRow>`
        SELECT ${sql.literal(entryColumns)} FROM audit.entries
        WHERE organization_id = ${organizationId} AND seq > ${afterSeq} AND seq <= ${upTo}
        ORDER BY seq LIMIT ${verifyBatchSize}`

    /**
     * Checks the entries after `progress.count` (up to `upTo`), page by page, advancing
     * `progress`; stops at the first bad one.
     */
    const walk = (organizationId: string, progress: Progress, upTo: number) =>
      Effect.gen(function*(): Effect.fn.Return<Failure | null, SqlError> {
        while (true) {
          const rows = yield* readPage(organizationId, progress.count, upTo)
          for (const row of rows) {
            const expected = progress.count + 1
            const fields = fieldsOf(row)
            if (fields.seq !== expected) return { seq: expected, reason: "missing_entry" }
            if (fields.prevHash !== progress.prevHash) return { seq: expected, reason: "prev_hash_mismatch" }
            const hash = yield* hashOf(fields)
            if (hash !== row.hash) return { seq: expected, reason: "hash_mismatch" }
            progress.count = expected
            progress.prevHash = hash
            progress.firstHash ??= hash
          }
          if (rows.length < verifyBatchSize) return null
        }
      })

    /** The head as read now (an organization without one has an empty chain). */
    const readHead = (organizationId: string) =>
      Effect.map(
        sql<HeadRow>`
          SELECT last_seq AS "lastSeq", last_hash AS "lastHash" FROM audit.chain_heads
          WHERE organization_id = ${organizationId}`,
        (rows) => rows[0] === undefined ? { seq: 0, hash: genesisHash } : { seq: Number(rows[0].lastSeq), hash: rows[0].lastHash }
      )

    const check = (organizationId: string, progress: Progress) =>
      Effect.gen(function*(): Effect.fn.Return<Failure | null, SqlError> {
        const failure = yield* walk(organizationId, progress, Number.MAX_SAFE_INTEGER)
        if (failure !== null) return failure
        const head = yield* readHead(organizationId)
        if (head.seq > progress.count) {
          // Appends that committed during the walk: their entries are all readable now.
          const late = yield* walk(organizationId, progress, head.seq)
          if (late !== null) return late
          if (head.seq > progress.count) return { seq: progress.count + 1, reason: "truncated" }
        }
        if (head.seq < progress.count) return { seq: head.seq + 1, reason: "head_mismatch" }
        if (head.hash !== progress.prevHash) return { seq: Math.max(progress.count, 1), reason: "head_mismatch" }
        return null
      })

    const verify = Effect.fn("AuditLog.verify")(function*(organizationId: string) {
      const progress: Progress = { count: 0, prevHash: genesisHash, firstHash: null }
      const failure = yield* check(organizationId, progress)
      const verification: AuditVerification = {
        status: failure === null ? "valid" : "invalid",
        chainLength: progress.count,
        firstHash: progress.firstHash === null ? null : toWire(progress.firstHash),
        lastHash: progress.count === 0 ? null : toWire(progress.prevHash),
        verifiedAt: new Date(yield* Clock.currentTimeMillis).toISOString(),
        firstBadSeq: failure?.seq ?? null,
        reason: failure?.reason ?? null
      }
      return verification
    }, Effect.orDie)

    return AuditLog.of({ append, record, list, verify })
  })
).pipe(Layer.provide(Digest.layerWebCrypto))
