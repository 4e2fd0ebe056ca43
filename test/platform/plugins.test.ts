/**
 * Third-party plugins: the example plugin loads through `TRELLIS_PLUGINS` (the loader), shows
 * up in `/api/plugins`, `/openapi.json` and `/rpc`, and migrates its own schema; colliding
 * plugins are refused at start with both names in the message.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { HttpApiBuilder, HttpApiEndpoint, HttpApiGroup, HttpApi } from "effect/http-api"
import { Rpc, RpcGroup } from "effect/rpc"
import { SqlClient } from "effect/sql"
import { Schema } from "effect"
import * as Client from "trellis/client"
import * as Plugin from "../../src/plugin/Plugin.ts"
import * as PluginLoader from "../../src/plugin/PluginLoader.ts"
import * as Server from "../../src/server/Server.ts"
import * as TestKit from "../../src/testing/TestKit.ts"
import { HelloRpcs } from "../../examples/hello-plugin/Api.ts"

const hello = await Effect.runPromise(PluginLoader.load("./examples/hello-plugin/mod.ts"))

describe("the example plugin loaded through TRELLIS_PLUGINS", () => {
  layer(TestKit.layer({ plugins: [hello] }), { timeout: 120_000 })((it) => {
    it.effect("is listed in /api/plugins with its version, groups, RPCs and migrations", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const trellis = yield* Client.make(Client.FirstPartyApi, { baseUrl: kit.baseUrl, token: kit.adminToken })
        const { plugins } = yield* trellis.plugins.list()
        const entry = plugins.find((p) => p.id === "hello")
        assert.isDefined(entry)
        assert.strictEqual(entry?.version, "1.0.0")
        assert.strictEqual(entry?.firstParty, false)
        assert.deepStrictEqual(entry?.groups, ["hello"])
        assert.deepStrictEqual(entry?.rpcs, ["hello.List", "hello.Create", "hello.Get"])
        assert.deepStrictEqual(entry?.migrations, ["1_create_greetings", "2_greetings_per_organization"])
        assert.strictEqual(plugins[0].id, "trellis")
      }))

    it.effect("is in /openapi.json", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const response = yield* kit.request("GET", "/openapi.json", { token: null })
        const doc = (yield* response.json) as { paths: Record<string, unknown> }
        assert.property(doc.paths, "/api/hello/greetings")
        assert.property(doc.paths, "/api/hello/greetings/{id}")
        assert.property(doc.paths, "/api/plugins")
      }))

    it.effect("serves its RPCs at /rpc to a typed client with a token, and refuses one without", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const rpc = yield* Client.makeRpc(HelloRpcs, { baseUrl: kit.baseUrl, token: kit.adminToken })
        const greeting = yield* rpc["hello.Create"]({ payload: { name: "rpc" } })
        assert.strictEqual(greeting.message, "Hello, rpc!")
        const again = yield* rpc["hello.Get"]({ params: { id: greeting.id } })
        assert.strictEqual(again.id, greeting.id)
        const { items } = yield* rpc["hello.List"]()
        assert.isTrue(items.some((g) => g.id === greeting.id))
        const missing = yield* Effect.flip(rpc["hello.Get"]({ params: { id: "nope" } }))
        assert.strictEqual(missing._tag, "GreetingNotFound")
        const anonymous = yield* Client.makeRpc(HelloRpcs, { baseUrl: kit.baseUrl })
        const refused = yield* Effect.flip(anonymous["hello.Create"]({ payload: { name: "x" } }))
        assert.strictEqual(refused._tag, "Unauthorized")
      }).pipe(Effect.scoped))

    it.effect("stores its data in its own schema, with its own migration table", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const created = yield* kit.request("POST", "/api/hello/greetings", { body: { name: "schema" } })
        assert.strictEqual(created.status, 201)
        const sql = yield* SqlClient.SqlClient
        const tables = yield* sql<{ table_schema: string; table_name: string }>`
          SELECT table_schema, table_name FROM information_schema.tables
          WHERE table_schema = 'hello' ORDER BY table_name`
        assert.deepStrictEqual(tables.map((t) => t.table_name), ["greetings", "trellis_migrations"])
        const rows = yield* sql<{ name: string }>`SELECT name FROM hello.greetings WHERE name = 'schema'`
        assert.strictEqual(rows.length, 1)
      }))
  })
})

// Two plugins that each claim something another already has.
const groupNamed = (id: string, path: `/${string}`) =>
  HttpApiGroup.make(id).add(HttpApiEndpoint.get("get", path, { success: Schema.String }))

const pluginWith = (id: string, group: HttpApiGroup.Constraint, rpc?: Plugin.AnyRpcGroup) =>
  Plugin.make({ id, version: "1.0.0", description: id, groups: [group], rpc, migrations: [], layer: Layer.empty })

const conflictOf = (plugins: ReadonlyArray<Plugin.Any>) =>
  Effect.flip(Server.compose(plugins)).pipe(Effect.map((e) => e.message))

describe("collisions are refused at start, naming both plugins", () => {
  it.effect("duplicate plugin id", () =>
    Effect.gen(function*() {
      const message = yield* conflictOf([hello, hello])
      assert.include(message, "plugin id \"hello\"")
    }))

  it.effect("duplicate group identifier", () =>
    Effect.gen(function*() {
      const message = yield* conflictOf([hello, pluginWith("copycat", groupNamed("hello", "/api/copycat"))])
      assert.include(message, "group identifier \"hello\"")
      assert.include(message, "\"hello\"")
      assert.include(message, "\"copycat\"")
    }))

  it.effect("duplicate method and path (also against the core's own routes)", () =>
    Effect.gen(function*() {
      const message = yield* conflictOf([hello, pluginWith("copycat", groupNamed("copycat", "/api/hello/greetings/:greetingId"))])
      assert.include(message, "route \"GET /api/hello/greetings/:greetingId\"")
      assert.include(message, "\"hello\" and \"copycat\"")
      const core = yield* conflictOf([pluginWith("sneaky", groupNamed("sneaky", "/health"))])
      assert.include(core, "\"trellis\" and \"sneaky\"")
      const host = yield* conflictOf([pluginWith("sneaky", groupNamed("sneaky", "/metrics"))])
      assert.include(host, "\"trellis\" and \"sneaky\"")
    }))

  it.effect("duplicate RPC tag", () =>
    Effect.gen(function*() {
      const rpcs = RpcGroup.make(Rpc.make("hello.Get", { payload: { name: Schema.String } }))
      const message = yield* conflictOf([hello, pluginWith("copycat", groupNamed("copycat", "/api/copycat"), rpcs)])
      assert.include(message, "RPC tag \"hello.Get\"")
      assert.include(message, "\"hello\" and \"copycat\"")
    }))

  it.effect("an invalid plugin id", () =>
    Effect.gen(function*() {
      const message = yield* conflictOf([pluginWith("Bad-Id", groupNamed("bad", "/api/bad"))])
      assert.include(message, "\"Bad-Id\"")
    }))

  it.effect("a module that is not a plugin", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(PluginLoader.load("./examples/hello-plugin/Domain.ts"))
      assert.isTrue(Exit.isFailure(exit))
      const missing = yield* Effect.flip(PluginLoader.load("./examples/no-such-plugin.ts"))
      assert.include(missing.message, "no-such-plugin")
    }))
})

// Keep the imports honest: a plugin's own API can be built alone (what its tests do).
const _typecheck = [HttpApi, HttpApiBuilder, FetchHttpClient]
void _typecheck
