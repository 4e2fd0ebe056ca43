/**
 * The typed TypeScript client of a Trellis server, built from the same contract the server
 * serves: the platform's API and the generic constructors. Its import graph holds only
 * contract modules (no server code), so browser and Node apps can use it. It knows no plugin:
 * `trellis/client` (`plugins/client.ts`) adds the first-party groups as `FirstPartyApi`.
 */
import { Effect, Layer } from "effect"
import { HttpClientRequest } from "effect/http"
import { HttpApi, HttpApiClient, HttpApiMiddleware } from "effect/http-api"
import type { HttpApiGroup } from "effect/http-api"
import { RpcClient, RpcMiddleware, RpcSerialization } from "effect/rpc"
import type { Rpc, RpcGroup } from "effect/rpc"
import { Authentication } from "../auth/Authentication.ts"
import { RpcAuthentication } from "../auth/RpcAuthentication.ts"
import { AuditGroup, AuditVerifyGroup } from "../audit/AuditApi.ts"
import { PluginsGroup, SystemGroup } from "../http/SystemApi.ts"
import { LoginGroup, SessionGroup, SessionFsAuthGroup, SignupGroup, SurfletAuthGroup } from "../identity/AuthApi.ts"
import {
  TenancyAgentGroup,
  TenancyOrgGroup,
  TenancyTenantGroup,
  TenancyUsersGroup,
  TenancyWorkspacesGroup
} from "../identity/TenancyApi.ts"

/** The platform's API (no plugin's groups): add a plugin's groups with `PlatformApi.add(...)`. */
export class PlatformApi extends HttpApi.make("trellis")
  .add(SystemGroup)
  .add(PluginsGroup)
  .add(AuditGroup)
  .add(AuditVerifyGroup)
  .add(LoginGroup)
  .add(SessionGroup)
  .add(SurfletAuthGroup)
  .add(SignupGroup)
  .add(SessionFsAuthGroup)
  .add(TenancyWorkspacesGroup)
  .add(TenancyUsersGroup)
  .add(TenancyOrgGroup)
  .add(TenancyTenantGroup)
  .add(TenancyAgentGroup)
{}

export interface ClientOptions {
  readonly baseUrl: string
  /** Bearer token (admin token, user key, service key...). */
  readonly token?: string | undefined
}

/** The client side of `Authentication`: adds the bearer token to every request. */
export const authenticationLayer = (token: string | undefined) =>
  HttpApiMiddleware.layerClient(
    Authentication,
    ({ next, request }) => next(token === undefined ? request : HttpClientRequest.bearerToken(request, token))
  )

/** A typed client for `api` (the first-party API, or a plugin's own `HttpApi`). */
export const make = <Id extends string, Groups extends HttpApiGroup.Constraint>(
  api: HttpApi.HttpApi<Id, Groups>,
  options: ClientOptions
) =>
  HttpApiClient.make(api, { baseUrl: options.baseUrl }).pipe(
    Effect.provide(authenticationLayer(options.token))
  )

/** The client side of `RpcAuthentication`. */
export const rpcAuthenticationLayer = (token: string | undefined) =>
  RpcMiddleware.layerClient(RpcAuthentication, ({ next, request }) =>
    next(token === undefined ? request : { ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } }))

/** The RPC protocol over HTTP at `<baseUrl>/rpc`, as the server speaks it (NDJSON). */
export const rpcProtocolLayer = (baseUrl: string) =>
  RpcClient.layerProtocolHttp({ url: `${baseUrl.replace(/\/$/, "")}/rpc` }).pipe(
    Layer.provide(RpcSerialization.layerNdjson)
  )

/** A typed RPC client for a plugin's RpcGroup. Needs `HttpClient` and a `Scope`. */
export const makeRpc = <Rpcs extends Rpc.Any>(group: RpcGroup.RpcGroup<Rpcs>, options: ClientOptions) =>
  RpcClient.make(group).pipe(
    Effect.provide(Layer.mergeAll(rpcProtocolLayer(options.baseUrl), rpcAuthenticationLayer(options.token)))
  )

