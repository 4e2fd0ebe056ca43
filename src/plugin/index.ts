/**
 * Everything a plugin author imports from Trellis (`import { Plugin, Problem } from "trellis/plugin"`):
 * the plugin contract, the client-safe contract pieces (also available alone as
 * `trellis/contract`, which contract files should use), and the platform services a plugin
 * layer may require.
 */
export * from "./contract.ts"
export * as Plugin from "./Plugin.ts"
export * as RpcFromApiServer from "./RpcFromApiServer.ts"
export type { AnyRpcGroup, Migration } from "./Plugin.ts"
export { AuditLog } from "../audit/AuditLog.ts"
export type { AuditTarget } from "../audit/AuditLog.ts"
export { CurrentRequestId } from "../http/RequestId.ts"
export { TrellisConfig } from "../config/TrellisConfig.ts"
export * as Setting from "../config/Setting.ts"
export * as Row from "../database/Row.ts"
export { ConfigInvalid } from "../config/Setting.ts"
export { SecretBox, type SecretBoxShape } from "../secrets/SecretBox.ts"
export { ServerParams } from "../settings/ServerParams.ts"
export * as ServerParam from "../settings/ServerParam.ts"
export { Lifecycle } from "../runtime/Lifecycle.ts"
export { EventLog, InvalidEvent } from "../events/EventLog.ts"
export { Credentials } from "../auth/Credentials.ts"
export type { CredentialFailure, Resolved } from "../auth/Credentials.ts"
export { authorize } from "../auth/Authorization.ts"
export { storedWorkspaceId } from "../identity/WorkspaceSlug.ts"
export type { Denial } from "../auth/Authorization.ts"
export type { StoredEvent } from "../events/EventLog.ts"
export * as Sse from "../events/Sse.ts"
export * as EventStream from "../events/EventStream.ts"
export * as WebRoute from "../web/WebRoute.ts"
export * as Html from "../web/Html.ts"
export * as Asset from "../web/Asset.ts"
export * as Signature from "../web/Signature.ts"
export { FastPath } from "../http/FastPath.ts"
export { ActingOrganization } from "../auth/ActingOrganization.ts"
export type { Resolver as ActingOrganizationResolver } from "../auth/ActingOrganization.ts"
export { RateLimiter } from "../ratelimit/RateLimiter.ts"
export type { PrincipalKey, RateLimiterShape } from "../ratelimit/RateLimiter.ts"
export type { FastRequest, FastResponse, FastRoute } from "../http/FastPath.ts"
export * as OutboundHttp from "../outbound/OutboundHttp.ts"
export {
  estimateTokens,
  type GenerateRequest,
  type GenerateResult,
  MockScript,
  MockTurn,
  ModelCallFailed,
  type ModelMessage,
  Models,
  ProviderNotConfigured,
  type ProviderInfo,
  type ToolCall,
  type ToolSpec,
  type UsageLabel
} from "../ai/Models.ts"
export { ModelsConfig } from "../ai/ModelsConfig.ts"
export { Directory } from "../identity/Directory.ts"
export { Mailer, MailError, type Message as MailMessage } from "../identity/Mailer.ts"
export { JobQueue, JobError, systemPrincipal, type EnqueueOptions, type JobInfo, type WorkerOptions } from "../jobs/JobQueue.ts"
