/**
 * The audit log's HTTP contract, in the two seeds' shapes and casing:
 *
 * - `GET /api/audit?limit=&offset=` (PromptOps): `{ data, total, limit, offset }`, newest
 *   first. PromptOps answers `{ data, total }` with items `{ id, action, resource,
 *   resource_id, key, summary, created_at }`; those fields are all here with PromptOps's
 *   values (`action` is its verb: `create`, `update`, `delete`, `publish`, `rollback`,
 *   `rollout`), plus Trellis's dotted event name in `event` and the chain's own fields (`seq`,
 *   `actor_id`, `actor_kind`, `details`, `request_id`, `prev_hash`, `hash`).
 *   Like PromptOps, `limit` defaults to 50 and is capped at 200, `offset` defaults to 0, and
 *   every signed-in member may read it (viewer and up; service keys with `audit:read`).
 * - `GET /v1/audit/verify` (Surflet): `{ status, chain_length, first_hash, last_hash,
 *   verified_at }`, plus `first_bad_seq` and `reason` when the chain does not verify. Admins
 *   only.
 *
 * Both act on the caller's organization. Client-safe: imports only `effect`.
 */
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { WireDialect } from "../http/WireDialect.ts"
import { Authentication } from "../auth/Authentication.ts"
import * as Requirement from "../auth/Requirement.ts"
import { Requires } from "../auth/Requirement.ts"
import { AuditFailureReason } from "./AuditLog.ts"

/** Default and largest page size of `GET /api/audit` (PromptOps's). */
export const defaultLimit = 50
export const maxLimit = 200

/** One entry on the wire (PromptOps's fields first). */
export const AuditLogItem = Schema.Struct({
  /** `aud_<seq>`: unique within the organization. */
  id: Schema.String,
  /**
   * PromptOps's verb: `create`, `update`, `delete`, `publish`, `rollback`, or `rollout` (a
   * gray release set or removed). Other events give the last part of their name (`login`,
   * `start`, ...).
   */
  action: Schema.String,
  /** The target's type as PromptOps names it (`prompt`, `workspace`, `user`...), `""` when the action has no target. */
  resource: Schema.String,
  /** The target's id, `""` when the action has no target. */
  resource_id: Schema.String,
  /** `details.key` (a prompt key), else `details.slug` (a workspace's), else `""`. */
  key: Schema.String,
  /**
   * `details.summary` when it is a string; else PromptOps's: `version v3` for a publish, `to v2`
   * for a rollback, `gray release updated` / `gray release removed` for a rollout, the name
   * (`details.name`) otherwise, or `""`.
   */
  summary: Schema.String,
  created_at: Schema.String,
  /** Trellis's event name (`prompts.prompt.create`, `prompts.rollout.set`...). */
  event: Schema.String,
  seq: Schema.Int,
  actor_id: Schema.String,
  actor_kind: Schema.String,
  details: Schema.Record(Schema.String, Schema.Unknown),
  request_id: Schema.NullOr(Schema.String),
  /** `sha256:<hex>`. */
  prev_hash: Schema.String,
  /** `sha256:<hex>`. */
  hash: Schema.String
})
export type AuditLogItem = typeof AuditLogItem.Type

export const AuditLogPage = Schema.Struct({
  data: Schema.Array(AuditLogItem),
  total: Schema.Int,
  limit: Schema.Int,
  offset: Schema.Int
})
export type AuditLogPage = typeof AuditLogPage.Type

/** Surflet's verification result. */
export const AuditVerifyResult = Schema.Struct({
  status: Schema.Literals(["valid", "invalid"]),
  chain_length: Schema.Int,
  first_hash: Schema.NullOr(Schema.String),
  last_hash: Schema.NullOr(Schema.String),
  verified_at: Schema.String,
  first_bad_seq: Schema.optionalKey(Schema.Int),
  reason: Schema.optionalKey(AuditFailureReason)
})
export type AuditVerifyResult = typeof AuditVerifyResult.Type

/** PromptOps's audit list. */
export class AuditGroup extends HttpApiGroup.make("audit")
  .annotate(WireDialect, WireDialect.promptOps)
  .add(
    HttpApiEndpoint.get("list", "/api/audit", {
      query: {
        limit: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
        offset: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))
      },
      success: AuditLogPage
    }).annotate(Requires, Requirement.read("audit"))
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({
    title: "Audit log",
    description: "The organization's audit log, newest first (PromptOps)"
  }))
{}

/** Surflet's chain verification. */
export class AuditVerifyGroup extends HttpApiGroup.make("auditVerify")
  .annotate(WireDialect, WireDialect.surflet)
  .add(
    HttpApiEndpoint.get("verify", "/v1/audit/verify", { success: AuditVerifyResult })
      .annotate(Requires, Requirement.admin())
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({
    title: "Audit verification",
    description: "Recomputes the organization's hash chain and names the first bad entry (Surflet)"
  }))
{}

/** The audit plugin's own API value, for its handlers and typed clients. */
export class AuditApi extends HttpApi.make("audit").add(AuditGroup).add(AuditVerifyGroup) {}
