/** The audit log's HTTP handlers: the caller's organization, in each seed's wire shape. */
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { CurrentPrincipal } from "../auth/Principal.ts"
import { AuditApi, defaultLimit, maxLimit } from "./AuditApi.ts"
import type { AuditLogItem, AuditVerifyResult } from "./AuditApi.ts"
import { AuditLog } from "./AuditLog.ts"
import type { AuditEntry, AuditVerification } from "./AuditLog.ts"

const stringDetail = (details: Readonly<Record<string, unknown>>, key: string): string => {
  const value = details[key]
  return typeof value === "string" ? value : ""
}

/** An entry in PromptOps's shape (and casing), with the chain's fields. */
export const toItem = (entry: AuditEntry): AuditLogItem => ({
  id: `aud_${entry.seq}`,
  action: entry.action,
  resource: entry.targetType ?? "",
  resource_id: entry.targetId ?? "",
  key: stringDetail(entry.details, "key"),
  summary: stringDetail(entry.details, "summary"),
  created_at: entry.createdAt,
  seq: entry.seq,
  actor_id: entry.actorId,
  actor_kind: entry.actorKind,
  details: entry.details,
  request_id: entry.requestId,
  prev_hash: entry.prevHash,
  hash: entry.hash
})

/** A verification in Surflet's shape: `first_bad_seq` and `reason` only when invalid. */
export const toVerifyResult = (verification: AuditVerification): AuditVerifyResult => ({
  status: verification.status,
  chain_length: verification.chainLength,
  first_hash: verification.firstHash,
  last_hash: verification.lastHash,
  verified_at: verification.verifiedAt,
  ...(verification.firstBadSeq === null ? {} : { first_bad_seq: verification.firstBadSeq }),
  ...(verification.reason === null ? {} : { reason: verification.reason })
})

export const AuditListHttp = HttpApiBuilder.group(
  AuditApi,
  "audit",
  Effect.fn(function*(handlers) {
    const audit = yield* AuditLog
    return handlers.handle("list", ({ query }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const limit = Math.min(query.limit ?? defaultLimit, maxLimit)
        const offset = query.offset ?? 0
        const page = yield* audit.list(principal.organizationId, { limit, offset })
        return { data: page.items.map(toItem), total: page.total, limit, offset }
      }))
  })
)

export const AuditVerifyHttp = HttpApiBuilder.group(
  AuditApi,
  "auditVerify",
  Effect.fn(function*(handlers) {
    const audit = yield* AuditLog
    return handlers.handle("verify", () =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        return toVerifyResult(yield* audit.verify(principal.organizationId))
      }))
  })
)
