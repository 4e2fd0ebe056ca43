/**
 * The framework floor for `bench/http.ts` (`BENCH_FLOOR=1`): the smallest Effect HttpApi server
 * answering the same authenticated GET, with nothing of Trellis in it: one endpoint behind an
 * `HttpApiSecurity.bearer` middleware that checks the token the way the bare server does
 * (fixed-length digests, constant-time compare), no global middleware, no logging, no
 * database. Trellis cannot be faster than this; the gap between this and the bare server is
 * what Effect's HttpApi costs, the gap between Trellis and this is what Trellis adds.
 *
 * With `BENCH_FLOOR_TYPED=1` the endpoint declares Trellis's own success schema (`PluginList`,
 * from the client-safe contract) instead of `Schema.Unknown`, so Effect encodes the answer as
 * it does for Trellis: the same endpoint's work, without Trellis's pipeline. Untyped, Effect
 * only walks the answer to check it is JSON-like (cheaper than the typed encoding, which no
 * typed endpoint of Trellis can skip).
 *
 * Input (environment): BENCH_BARE_TOKEN, BENCH_BARE_BODY (the JSON to answer with),
 * BENCH_FLOOR_TYPED.
 * Output: one line `{"port":<n>}` on stdout once listening on 127.0.0.1.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Context, Effect, Layer, Redacted, Schema } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiError, HttpApiGroup, HttpApiMiddleware, HttpApiSecurity } from "effect/http-api"
import { createHash, timingSafeEqual } from "node:crypto"
import { createServer } from "node:http"
import { PluginList } from "../src/http/SystemApi.ts"

const required = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === "") {
    process.stderr.write(`floor-server: ${name} is not set\n`)
    process.exit(2)
  }
  return value
}

const digest = (value: string): Buffer => createHash("sha256").update(value).digest()
const expected = digest(required("BENCH_BARE_TOKEN"))
const typed = process.env.BENCH_FLOOR_TYPED === "1"
const parsed: unknown = JSON.parse(required("BENCH_BARE_BODY"))

class Caller extends Context.Service<Caller, { readonly id: string }>()("bench/Caller") {}

class Auth extends HttpApiMiddleware.Service<Auth, { provides: Caller; requires: never }>()("bench/Auth", {
  security: { bearer: HttpApiSecurity.bearer },
  error: HttpApiError.Unauthorized
}) {}

/** The success schema; the answer is decoded with it once, as Trellis's handler holds typed values. */
const Success: Schema.Codec<unknown, unknown> = typed ? PluginList : Schema.Unknown
const body: unknown = Schema.decodeUnknownSync(Success)(parsed)

class Group extends HttpApiGroup.make("plugins")
  .add(HttpApiEndpoint.get("list", "/api/plugins", { success: Success }))
  .middleware(Auth)
{}

class Api extends HttpApi.make("floor").add(Group) {}

const AuthLive = Layer.succeed(Auth, {
  bearer: (httpEffect, { credential }) =>
    timingSafeEqual(digest(Redacted.value(credential)), expected)
      ? Effect.provideService(httpEffect, Caller, { id: "bench" })
      : Effect.fail(new HttpApiError.Unauthorized({}))
})

const GroupLive = HttpApiBuilder.group(Api, "plugins", (handlers) => handlers.handle("list", () => Effect.succeed(body)))

const App = HttpApiBuilder.layer(Api).pipe(Layer.provide(GroupLive), Layer.provide(AuthLive))

const announce = Layer.effectDiscard(Effect.gen(function*() {
  const server = yield* HttpServer.HttpServer
  const address = server.address
  if (address._tag === "UnixPathAddress") return yield* Effect.die(new Error("floor-server: no TCP address"))
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`)
}))

const main = announce.pipe(
  Layer.provideMerge(HttpRouter.serve(App, { disableLogger: true, disableListenLog: true })),
  Layer.provide(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.launch
)

// Exit on SIGTERM (the bench stops it so) through `process.exit`, so that `--cpu-prof` writes its profile.
process.once("SIGTERM", () => process.exit(0))
Effect.runFork(main)
