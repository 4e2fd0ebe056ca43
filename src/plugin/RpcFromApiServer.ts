/**
 * Serves derived RPCs (`RpcFromApi.make`) from the HTTP handlers of the same endpoints: the
 * handler registered with `HttpApiBuilder.group` is called with the RPC payload
 * (`{ params, query, headers, payload }`), so an operation is handled once. The host adds this
 * layer for every plugin's RPC group; RPCs that are not derived keep their own handlers.
 *
 * A handler that answers with a raw `HttpServerResponse` (a JSON body it serialized itself, for
 * speed) is decoded back into the endpoint's success type; any other raw response has no RPC form
 * and dies, naming the RPC.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import type { Rpc } from "effect/rpc"
import type { AnyRpcGroup } from "./Plugin.ts"
import { DerivedFrom } from "./RpcFromApi.ts"

/** What `HttpApiBuilder.group` puts in the context under the group's key (not exported by Effect). */
interface GroupService {
  readonly handlers: ReadonlyMap<string, {
    readonly endpoint: unknown
    readonly handler: (request: unknown) => Effect.Effect<unknown, unknown, unknown>
    readonly isRaw: boolean
  }>
}

const isGroupService = (u: unknown): u is GroupService =>
  typeof u === "object" && u !== null && "handlers" in u && u.handlers instanceof Map

const decoder = new TextDecoder()

/** The handler's answer as the RPC's success value. */
const successOf = (rpc: Rpc.AnyWithProps, value: unknown): Effect.Effect<unknown> => {
  if (!HttpServerResponse.isHttpServerResponse(value)) return Effect.succeed(value)
  const body = value.body
  if (value.status >= 200 && value.status < 300 && body._tag === "Uint8Array" && body.contentType.includes("json")) {
    const text = body.text ?? decoder.decode(body.body)
    // The body is the success in its encoded (wire) form: decode it with the codec.
    const success = rpc.successSchema as Schema.Codec<unknown, unknown>
    return Effect.orDie(Schema.decodeUnknownEffect(Schema.fromJsonString(success))(text))
  }
  return Effect.die(new Error(`RPC "${rpc._tag}": the HTTP handler answered ${value.status} with a ${body._tag} body, which has no RPC form.`))
}

/**
 * The handlers of the derived RPCs of `group`, built from the HTTP group handlers in the
 * context. Fails the start, naming the RPC, when a group's handlers are missing.
 */
export const layer = (group: AnyRpcGroup): Layer.Layer<never> =>
  Layer.effectContext(Effect.gen(function*() {
    const services = yield* Effect.context<never>()
    const entries = new Map<string, unknown>()
    for (const rpc of group.requests.values() as Iterable<Rpc.AnyWithProps>) {
      const source = Context.get(rpc.annotations, DerivedFrom)
      if (source === undefined) continue
      const service = services.mapUnsafe.get(source.groupKey)
      const item = isGroupService(service) ? service.handlers.get(source.endpoint) : undefined
      if (item === undefined || item.isRaw) {
        return yield* Effect.die(
          new Error(
            `RPC "${rpc._tag}" has no handler: endpoint "${source.endpoint}" of HttpApi group "${source.groupIdentifier}" is not implemented by the plugin's layer (HttpApiBuilder.group)${
              item?.isRaw === true ? " or is raw" : ""
            }.`
          )
        )
      }
      const handler = item.handler
      entries.set(rpc.key, {
        tag: rpc._tag,
        handler: (payload: Record<string, unknown> | undefined, options: { readonly headers: Record<string, string> }) =>
          Effect.flatMap(
            handler({
              // A left-out query or headers part (all optional) is `{}`, as HTTP decodes it.
              query: {},
              headers: {},
              ...(payload ?? {}),
              endpoint: item.endpoint,
              request: HttpServerRequest.fromWeb(new Request("http://rpc.invalid/rpc", { method: "POST", headers: options.headers }))
            }),
            (value) => successOf(rpc, value)
          ),
        context: services
      })
    }
    return Context.makeUnsafe(entries)
  })) as Layer.Layer<never>
