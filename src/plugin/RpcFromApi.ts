/**
 * One declaration per operation: a plugin's RPC contract derived from its HttpApi groups, so an
 * operation is declared once (path, payload, success, errors, `Requires`) and served on both
 * HTTP and `/rpc` by the same handler (the host serves derived RPCs from the HTTP handlers, see
 * `RpcFromApiServer.ts`).
 *
 * Each endpoint becomes one RPC:
 * - tag `<plugin>.<Name>`: the endpoint's name, capitalized (`list` -> `tickets.List`), so endpoint
 *   names must be unique within a plugin (a duplicate throws here, naming both groups);
 * - payload: the request the typed HTTP client sends, `{ params, query, headers, payload }`
 *   (each part only when the endpoint declares it; `query` and `headers` may be left out when
 *   all their fields are optional), so one request shape serves both clients;
 * - success and error: the endpoint's (a union when it declares several);
 * - annotations: the group's and the endpoint's, so `Requires` and rate groups carry over;
 * - middleware: `RpcAuthentication`.
 *
 * Streams, WebSocket upgrades and raw bodies have no RPC form: leave such endpoints out with
 * `omit`.
 *
 * ```ts
 * export const TicketsRpcs = RpcFromApi.make("tickets", [ProjectsGroup, TicketsGroup])
 * ```
 *
 * Client-safe: imports only `effect`.
 */
import { Context, Schema } from "effect"
import type { HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { Rpc, RpcGroup } from "effect/rpc"
import { RpcAuthentication } from "../auth/RpcAuthentication.ts"

/** Where a derived RPC comes from: the group (by its context key) and the endpoint name. */
export interface Source {
  readonly groupKey: string
  readonly groupIdentifier: string
  readonly endpoint: string
}

/** Set on every derived RPC; the host serves RPCs that carry it from the HTTP handlers. */
export const DerivedFrom = Context.Reference<Source | undefined>("trellis/plugin/RpcFromApi/DerivedFrom", {
  defaultValue: () => undefined
})

type Present<S, K extends string> = [S] extends [never] ? {} : S extends Schema.Top ? { readonly [_ in K]: S["Type"] } : {}

/** A query or headers part whose fields are all optional may be left out (it is `{}` then). */
type Optional<S, K extends string> = [S] extends [never] ? {}
  : S extends Schema.Top ? ({} extends S["Type"] ? { readonly [_ in K]?: S["Type"] } : { readonly [_ in K]: S["Type"] })
  : {}

/** The request of an endpoint, as both typed clients send it. */
export type RequestOf<E> = E extends HttpApiEndpoint.HttpApiEndpoint<
  infer _Name,
  infer _Method,
  infer _Path,
  infer Params,
  infer Query,
  infer Payload,
  infer Headers,
  infer _Success,
  infer _Error,
  infer _Middleware,
  infer _Services
> ? (Present<Params, "params"> & Optional<Query, "query"> & Optional<Headers, "headers"> & Present<Payload, "payload">) extends
  infer R ? keyof R extends never ? void : { readonly [K in keyof R]: R[K] } : never
  : never

/** The payload schema of a derived RPC, as its clients and handlers see it. */
export interface RequestSchema<T> extends Schema.Codec<T, unknown> {
  readonly "~type.make.in": T
  readonly "~type.make": T
}

/** The RPC tag of an endpoint of plugin `P`. */
export type TagOf<P extends string, E> = E extends { readonly identifier: infer N extends string } ? `${P}.${Capitalize<N>}` : never

/** The RPC derived from endpoint `E` of plugin `P`. */
export type FromEndpoint<P extends string, E> = E extends HttpApiEndpoint.HttpApiEndpoint<
  infer _Name,
  infer _Method,
  infer _Path,
  infer _Params,
  infer _Query,
  infer _Payload,
  infer _Headers,
  infer Success,
  infer Error,
  infer _Middleware,
  infer _Services
> ? Rpc.Rpc<TagOf<P, E>, RequestSchema<RequestOf<E>>, Success, Error, typeof RpcAuthentication>
  : never

/** The RPCs derived from groups `G` of plugin `P`, without the endpoints named in `O`. */
export type FromGroups<P extends string, G, O extends string = never> = FromEndpoint<
  P,
  Exclude<HttpApiGroup.Endpoints<G>, { readonly identifier: O }>
>

const unionOf = (schemas: ReadonlyArray<Schema.Top>, empty: Schema.Top): Schema.Top =>
  schemas.length === 0 ? empty : schemas.length === 1 ? schemas[0] : Schema.Union(schemas)

/** A part that accepts `{}` may be left out; the server passes `{}` for it (see `RpcFromApiServer.ts`). */
const optionalWhenEmpty = (schema: Schema.Top): Schema.Top =>
  Schema.decodeUnknownOption(schema as Schema.Codec<unknown, unknown>)({})._tag === "Some" ? Schema.optionalKey(schema) : schema

/** The runtime shape of an endpoint, as the widened group type hides it. */
interface EndpointShape {
  readonly name: string
  readonly params: Schema.Top | undefined
  readonly query: Schema.Top | undefined
  readonly headers: Schema.Top | undefined
  readonly payload: HttpApiEndpoint.PayloadMap
  readonly success: ReadonlySet<Schema.Top>
  readonly error: ReadonlySet<Schema.Top>
  readonly annotations: Context.Context<never>
}

const endpointsOf = (group: HttpApiGroup.Constraint): ReadonlyArray<EndpointShape> =>
  Object.entries(group.endpoints as unknown as Record<string, Omit<EndpointShape, "name">>).map(([name, endpoint]) => ({ ...endpoint, name }))

/** The RPC form of one endpoint. */
const rpcOf = (plugin: string, group: HttpApiGroup.Constraint, endpoint: EndpointShape): Rpc.Any => {
  const fields: Record<string, Schema.Top> = {}
  if (endpoint.params !== undefined) fields.params = endpoint.params
  if (endpoint.query !== undefined) fields.query = optionalWhenEmpty(endpoint.query)
  if (endpoint.headers !== undefined) fields.headers = optionalWhenEmpty(endpoint.headers)
  const payloads = [...endpoint.payload.values()].flatMap((p) => p.schemas as ReadonlyArray<Schema.Top>)
  if (payloads.length > 0) fields.payload = unionOf(payloads, Schema.Void)
  const tag = `${plugin}.${endpoint.name.charAt(0).toUpperCase()}${endpoint.name.slice(1)}`
  return Rpc.make(tag, {
    payload: Object.keys(fields).length === 0 ? Schema.Void : Schema.Struct(fields),
    success: unionOf([...endpoint.success], Schema.Void),
    error: unionOf([...endpoint.error], Schema.Never)
  })
    .annotateMerge(Context.merge((group as unknown as { readonly annotations: Context.Context<never> }).annotations, endpoint.annotations))
    .annotate(DerivedFrom, { groupKey: group.key, groupIdentifier: group.identifier, endpoint: endpoint.name })
}

/**
 * The RpcGroup of plugin `plugin` derived from its HttpApi groups: one RPC per endpoint, except
 * those named in `options.omit` (streams, upgrades). Throws on two endpoints that would share a tag.
 */
export const make = <const P extends string, const G extends HttpApiGroup.Constraint, const O extends string = never>(
  plugin: P,
  groups: ReadonlyArray<G>,
  options?: { readonly omit?: ReadonlyArray<O> | undefined }
): RpcGroup.RpcGroup<FromGroups<P, G, O>> => {
  const omit = new Set<string>(options?.omit ?? [])
  const owners = new Map<string, string>()
  const rpcs: Array<Rpc.Any> = []
  for (const group of groups) {
    for (const endpoint of endpointsOf(group)) {
      if (omit.has(endpoint.name)) continue
      const rpc = rpcOf(plugin, group, endpoint)
      const owner = owners.get(rpc._tag)
      if (owner !== undefined) {
        throw new Error(
          `RPC tag "${rpc._tag}" is derived from endpoint "${endpoint.name}" of both groups "${owner}" and "${group.identifier}" of plugin "${plugin}": endpoint names must be unique within a plugin. Rename one of them.`
        )
      }
      owners.set(rpc._tag, group.identifier)
      rpcs.push(rpc)
    }
  }
  return RpcGroup.make(...rpcs).middleware(RpcAuthentication) as unknown as RpcGroup.RpcGroup<FromGroups<P, G, O>>
}
