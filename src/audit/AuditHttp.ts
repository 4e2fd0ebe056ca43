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

/**
 * PromptOps's verb for a Trellis event name: its last part (`prompts.prompt.publish` is
 * `publish`), except that `prompts.rollout.set` and `prompts.rollout.delete` are `rollout`
 * (PromptOps records one verb for gray-release changes).
 */
export const promptOpsAction = (event: string): string => {
  const parts = event.split(".")
  if (parts.length >= 2 && parts[parts.length - 2] === "rollout") return "rollout"
  const last = parts[parts.length - 1] ?? event
  return last
}

/** PromptOps's summary for an entry (see `AuditLogItem.summary`). */
const summaryOf = (action: string, event: string, details: Readonly<Record<string, unknown>>): string => {
  const given = stringDetail(details, "summary")
  if (given !== "") return given
  if (action === "publish" && stringDetail(details, "version") !== "") return `version ${stringDetail(details, "version")}`
  if (action === "rollback" && stringDetail(details, "to") !== "") return `to ${stringDetail(details, "to")}`
  if (action === "rollout") return event.endsWith(".delete") ? "gray release removed" : "gray release updated"
  return stringDetail(details, "name")
}

/** An entry in PromptOps's shape (and casing), with Trellis's event name and the chain's fields. */
export const toItem = (entry: AuditEntry): AuditLogItem => {
  const action = promptOpsAction(entry.action)
  return {
    id: `aud_${entry.seq}`,
    action,
    resource: entry.targetType ?? "",
    resource_id: entry.targetId ?? "",
    key: stringDetail(entry.details, "key") || stringDetail(entry.details, "slug"),
    summary: summaryOf(action, entry.action, entry.details),
    created_at: entry.createdAt,
    event: entry.action,
    seq: entry.seq,
    actor_id: entry.actorId,
    actor_kind: entry.actorKind,
    details: entry.details,
    request_id: entry.requestId,
    prev_hash: entry.prevHash,
    hash: entry.hash
  }
}

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
