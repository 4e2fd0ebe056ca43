/**
 * The platform's audit log: append-only, hash-chained per organization.
 *
 * Every plugin records its writes here (`AuditLog.record` inside the write's transaction, so
 * the entry commits with the change or not at all). Entries carry actor, action, target and
 * request id; each entry's hash is SHA-256 over a canonical encoding of the entry and the
 * previous entry's hash; sequence numbers are allocated per organization in the same
 * transaction, with no gaps. `verify` recomputes the chain and names the first bad sequence.
 * The canonical encoding is in `AuditHash.ts`; the implementation is `AuditLogLive.ts`.
 *
 * Client-safe: imports only `effect`.
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { CurrentPrincipal } from "../auth/Principal.ts"

export const AuditTarget = Schema.Struct({ type: Schema.String, id: Schema.String })
export type AuditTarget = typeof AuditTarget.Type

/** The audit actor of a principal. */
export const actorOf = (principal: { readonly id: string; readonly kind: string }): AuditInput["actor"] => ({
  id: principal.id,
  kind: principal.kind
})

export interface AuditInput {
  readonly organizationId: string
  readonly actor: { readonly id: string; readonly kind: string }
  /** Dotted verb, `<domain>.<noun>.<verb>`: `identity.key.create`, `prompts.prompt.publish`. */
  readonly action: string
  readonly target: AuditTarget | null
  /** Extra facts (never secrets). */
  readonly details?: Record<string, unknown> | undefined
  /** Defaults to the current request's id (`CurrentRequestId`). */
  readonly requestId?: string | undefined
}

export class AuditEntry extends Schema.Class<AuditEntry>("AuditEntry")({
  seq: Schema.Number,
  organizationId: Schema.String,
  actorId: Schema.String,
  actorKind: Schema.String,
  action: Schema.String,
  targetType: Schema.NullOr(Schema.String),
  targetId: Schema.NullOr(Schema.String),
  details: Schema.Record(Schema.String, Schema.Unknown),
  requestId: Schema.NullOr(Schema.String),
  /** ISO 8601, UTC, milliseconds. */
  createdAt: Schema.String,
  /** `sha256:<hex>` of the previous entry (64 zeros for seq 1). */
  prevHash: Schema.String,
  /** `sha256:<hex>` over the canonical encoding of this entry (see `AuditHash.ts`). */
  hash: Schema.String
}) {}

/**
 * Why a chain does not verify, at `firstBadSeq`:
 * - `hash_mismatch`: the entry's content no longer matches its hash (modified).
 * - `missing_entry`: no entry with this number (deleted).
 * - `prev_hash_mismatch`: the entry does not link to the one before it (reordered, or an
 *   entry before it was removed or rewritten).
 * - `truncated`: the chain head records entries up to a number the table no longer has.
 * - `head_mismatch`: entries beyond the number the chain head records, or a last hash that is
 *   not the head's.
 */
export const AuditFailureReason = Schema.Literals([
  "hash_mismatch",
  "missing_entry",
  "prev_hash_mismatch",
  "truncated",
  "head_mismatch"
])
export type AuditFailureReason = typeof AuditFailureReason.Type

export interface AuditVerification {
  readonly status: "valid" | "invalid"
  /** Entries verified (all of them when valid). */
  readonly chainLength: number
  /** `sha256:<hex>` of entry 1; null for an empty chain. */
  readonly firstHash: string | null
  /** `sha256:<hex>` of the last entry verified; null for an empty chain. */
  readonly lastHash: string | null
  /** ISO 8601. */
  readonly verifiedAt: string
  /** The first sequence number whose entry does not verify (modified, deleted, reordered, truncated). */
  readonly firstBadSeq: number | null
  readonly reason: AuditFailureReason | null
}

export class AuditLog extends Context.Service<AuditLog, {
  /**
   * Appends one entry in the named organization (for writes that land outside the caller's
   * organization, or have no principal); joins the caller's transaction when there is one.
   */
  readonly append: (input: AuditInput) => Effect.Effect<AuditEntry>
  /**
   * Appends an entry for the current principal and request: the usual call from a handler or
   * service (`yield* audit.record("prompts.prompt.create", { type: "prompt", id })`).
   */
  readonly record: (
    action: string,
    target: AuditTarget | null,
    details?: Record<string, unknown>
  ) => Effect.Effect<AuditEntry, never, CurrentPrincipal>
  /** Newest first. */
  readonly list: (
    organizationId: string,
    page: { readonly limit: number; readonly offset: number }
  ) => Effect.Effect<{ readonly items: ReadonlyArray<AuditEntry>; readonly total: number }>
  readonly verify: (organizationId: string) => Effect.Effect<AuditVerification>
}>()("trellis/audit/AuditLog") {}
