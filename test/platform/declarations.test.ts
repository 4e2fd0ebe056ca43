/**
 * One declaration per operation: the RPC form of an endpoint is derived from it (`RpcFromApi`),
 * a plugin's scopes and problems are derived from its routes at compose time (a hand list only
 * adds), and a route that declares no access requirement fails the start, naming the route.
 * Serving derived RPCs through the HTTP handlers is tested with the plugins that use it
 * (`plugins.test.ts`, `plugins/*\/test/`).
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { Rpc, RpcGroup } from "effect/rpc"
import { HelloGroup, HelloRpcs } from "../../examples/hello-plugin/Api.ts"
import { GreetingNotFound } from "../../examples/hello-plugin/Errors.ts"
import { Authentication } from "../../src/auth/Authentication.ts"
import { Forbidden } from "../../src/problem/Problems.ts"
import * as Requirement from "../../src/auth/Requirement.ts"
import { Public, Requires } from "../../src/auth/Requirement.ts"
import { RpcAuthentication } from "../../src/auth/RpcAuthentication.ts"
import * as Plugin from "../../src/plugin/Plugin.ts"
import * as RpcFromApi from "../../src/plugin/RpcFromApi.ts"
import * as Server from "../../src/server/Server.ts"
import * as WebRoute from "../../src/web/WebRoute.ts"

const pluginOf = (id: string, parts: Partial<Pick<Plugin.Any, "groups" | "rpc" | "web" | "scopes" | "problems">>) =>
  Plugin.make({ id, version: "1.0.0", description: id, groups: [], migrations: [], layer: Layer.empty, ...parts })

const startFailure = (plugin: Plugin.Any) => Effect.flip(Server.compose([plugin])).pipe(Effect.map((e) => e.message))

describe("RpcFromApi.make", () => {
  it("derives one RPC per endpoint: tag <plugin>.<Name>, the endpoint's requirement, errors and request", () => {
    assert.deepStrictEqual([...HelloRpcs.requests.keys()], ["hello.List", "hello.Create", "hello.Get"])
    const get = HelloRpcs.requests.get("hello.Get")!
    assert.deepStrictEqual(Context.get(get.annotations, Requires), Requirement.read("hello"))
    assert.deepStrictEqual(Context.get(HelloRpcs.requests.get("hello.Create")!.annotations, Requires), Requirement.write("hello"))
    assert.isTrue(get.middlewares.has(RpcAuthentication))
    // The payload is the typed HTTP client's request: `{ params }` here.
    const decode = Schema.decodeUnknownSync(get.payloadSchema as Schema.Codec<unknown, unknown>)
    assert.deepStrictEqual(decode({ params: { id: "g1" } }), { params: { id: "g1" } })
    assert.throws(() => decode({ id: "g1" }))
    // The endpoint's error, decoded by the RPC's error schema.
    const error = Schema.decodeUnknownSync(get.errorSchema as Schema.Codec<unknown, unknown>)(
      Schema.encodeSync(GreetingNotFound)(new GreetingNotFound({ greetingId: "g1", detail: "none" }))
    )
    assert.instanceOf(error, GreetingNotFound)
  })

  it("leaves out the endpoints named in omit (streams have no RPC form)", () => {
    assert.isFalse(HelloRpcs.requests.has("hello.Events"))
    assert.isTrue(RpcFromApi.make("hello", [HelloGroup]).requests.has("hello.Events"))
  })

  it("refuses two endpoints of a plugin that would share a tag, naming both groups", () => {
    const a = HttpApiGroup.make("first").add(HttpApiEndpoint.get("list", "/a", { success: Schema.String }))
    const b = HttpApiGroup.make("second").add(HttpApiEndpoint.get("list", "/b", { success: Schema.String }))
    assert.throws(() => RpcFromApi.make("twice", [a, b]), /RPC tag "twice\.List".*"first" and "second"/)
  })
})

describe("scopes and problems are derived from the routes at compose time", () => {
  it.effect("the example plugin declares neither list: both come from its endpoints", () =>
    Effect.gen(function*() {
      const { HelloPlugin } = yield* Effect.promise(() => import("../../examples/hello-plugin/Plugin.ts"))
      assert.isUndefined(HelloPlugin.scopes)
      assert.isUndefined(HelloPlugin.problems)
      const composition = yield* Server.compose([HelloPlugin])
      const hello = composition.plugins.find((p) => p.id === "hello")!
      assert.deepStrictEqual([...hello.scopes ?? []].sort(), ["hello:read", "hello:write"])
      assert.deepStrictEqual(composition.problems.filter((p) => p.owner === "hello").map((p) => p.code), ["GREETING_NOT_FOUND"])
    }))

  it.effect("a hand list only adds", () =>
    Effect.gen(function*() {
      const group = HttpApiGroup.make("extra")
        .add(HttpApiEndpoint.get("get", "/api/extra", { success: Schema.String, error: GreetingNotFound }).annotate(Requires, Requirement.read("extra")))
        .middleware(Authentication)
      const composition = yield* Server.compose([pluginOf("extra", { groups: [group], scopes: ["extra:admin"] })])
      const extra = composition.plugins.find((p) => p.id === "extra")!
      assert.deepStrictEqual(extra.scopes, ["extra:read", "extra:admin"])
      assert.deepStrictEqual(composition.problems.filter((p) => p.owner === "extra").map((p) => p.code), ["GREETING_NOT_FOUND"])
    }))
})

describe("a route with no access requirement fails the start, naming the route", () => {
  it.effect("an endpoint behind Authentication without Requires", () =>
    Effect.gen(function*() {
      const group = HttpApiGroup.make("open")
        .add(HttpApiEndpoint.get("peek", "/api/open/peek", { success: Schema.String }))
        .middleware(Authentication)
      const message = yield* startFailure(pluginOf("open", { groups: [group] }))
      assert.include(message, "Plugin \"open\"")
      assert.include(message, "GET /api/open/peek (open.peek)")
      assert.include(message, "no Requires annotation")
    }))

  it.effect("an endpoint with neither Authentication nor Public", () =>
    Effect.gen(function*() {
      const group = HttpApiGroup.make("bare").add(HttpApiEndpoint.post("poke", "/api/bare/poke", { success: Schema.String }))
      const message = yield* startFailure(pluginOf("bare", { groups: [group] }))
      assert.include(message, "POST /api/bare/poke (bare.poke)")
      assert.include(message, "Public")
      // Declared public, with its reason, it starts.
      const declared = HttpApiGroup.make("bare").annotate(Public, "a probe").add(HttpApiEndpoint.post("poke", "/api/bare/poke", { success: Schema.String }))
      const composition = yield* Server.compose([pluginOf("bare", { groups: [declared] })])
      assert.isTrue(composition.routes.some((r) => r.path === "/api/bare/poke"))
    }))

  it.effect("an RPC without Requires, or without RpcAuthentication", () =>
    Effect.gen(function*() {
      const undeclared = RpcGroup.make(Rpc.make("loose.Do", { success: Schema.String })).middleware(RpcAuthentication)
      const message = yield* startFailure(pluginOf("loose", { rpc: undeclared }))
      assert.include(message, "RPC loose.Do")
      assert.include(message, "no Requires annotation")
      const unauthenticated = RpcGroup.make(Rpc.make("loose.Do", { success: Schema.String }).annotate(Requires, Requirement.read("loose")))
      const second = yield* startFailure(pluginOf("loose", { rpc: unauthenticated }))
      assert.include(second, "RPC loose.Do")
      assert.include(second, "RpcAuthentication")
    }))

  it.effect("an authenticated web route that names no requirement (a plugin written without types)", () =>
    Effect.gen(function*() {
      const route = WebRoute.get("/loose/page", Effect.fail(new Forbidden({ detail: "never" })), {
        auth: "cookie",
        requires: Requirement.read("loose")
      })
      const untyped = { ...route, auth: { _tag: "cookie" } } as unknown as WebRoute.Any
      const message = yield* startFailure(pluginOf("loose", { web: { routes: [untyped] } }))
      assert.include(message, "web GET /loose/page")
    }))
})
