/**
 * The audit log as a plugin: it owns the `audit` schema, serves `GET /api/audit` and
 * `GET /v1/audit/verify`, and its layer outputs `AuditLog`, so every plugin listed after it
 * can record its writes (`yield* AuditLog` then `audit.record(...)` inside the write's
 * transaction).
 */
import { Layer } from "effect"
import * as Plugin from "../plugin/Plugin.ts"
import { AuditGroup, AuditVerifyGroup } from "./AuditApi.ts"
import { AuditListHttp, AuditVerifyHttp } from "./AuditHttp.ts"
import * as AuditLogLive from "./AuditLogLive.ts"
import { migrations } from "./migrations.ts"

export const auditPluginId = "audit"

export const AuditPlugin = Plugin.make({
  id: auditPluginId,
  version: "1.0.0",
  description: "Hash-chained, per-organization audit log and its verification",
  groups: [AuditGroup, AuditVerifyGroup],
  migrations,
  scopes: ["audit:read"],
  problems: [],
  layer: Layer.mergeAll(AuditListHttp, AuditVerifyHttp).pipe(Layer.provideMerge(AuditLogLive.layer))
})
