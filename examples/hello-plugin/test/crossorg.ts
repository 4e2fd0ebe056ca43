/**
 * The example plugin's entries of the cross-organization matrix (`test/identity/crossorg.test.ts`
 * runs them): what a third-party plugin adds so that the platform's matrix covers its routes
 * and RPCs.
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"
import {
  asA,
  call,
  leaksIn,
  ok,
  openSse,
  ownCreate,
  ownList,
  plainId,
  registerA,
  rpc,
  rpcClean,
  rpcOfRoute,
  rpcOwnList,
  view,
  World
} from "../../../test/identity/crossorgMatrix.ts"
import type { PluginMatrix } from "../../../test/identity/crossorgMatrix.ts"

const aGreeting = Effect.gen(function*() {
  const world = yield* World
  const created = yield* asA<{ id: string }>("POST", "/api/hello/greetings", { name: world.unique("greeting") }, 201)
  yield* registerA(created.id)
  return created
})

const routes: PluginMatrix["routes"] = {
    // The example plugin's web routes (`examples/hello-plugin/Web.ts`).
    "GET /hello": ownList("/hello", Effect.map(aGreeting, (g) => [g.id]), "the caller organization's greetings as an HTML page"),
    "GET /hello/assets/viewer.css": { kind: "public", reason: "the greetings page's stylesheet: a static asset, nothing of an organization's" },
    "GET /api/hello/greetings": {
      ...ownList("/api/hello/greetings", Effect.map(aGreeting, (g) => [g.id]), "the caller organization's greetings"),
    },
    "POST /api/hello/greetings": ownCreate({
      reason: "creates a greeting of the caller's organization",
      body: () => ({ name: `orgb-${crypto.randomUUID().slice(0, 8)}` }),
      status: 201,
      idOf: plainId,
      aList: "/api/hello/greetings",
    }),
    "GET /api/hello/events": {
      kind: "own",
      reason: "the caller organization's greeting events (SSE, replayed from the beginning)",
      check: ({ world, callers }) =>
        Effect.gen(function*() {
          const kit = yield* TestKit.TrellisTest
          yield* aGreeting
          for (const caller of callers) {
            const stream = yield* Effect.promise(() =>
              openSse(`${kit.baseUrl}/api/hello/events`, { authorization: `Bearer ${caller.token}` })
            )
            const text = yield* Effect.gen(function*() {
              assert.strictEqual(stream.status, 200)
              yield* aGreeting
              const name = `orgb-${crypto.randomUUID().slice(0, 8)}`
              ok(yield* call("POST", "/api/hello/greetings", { token: world.b.owner.token, body: { name } }), "B greets", 201)
              return yield* Effect.promise(() => stream.until((t) => t.includes(name)))
            }).pipe(Effect.ensuring(Effect.sync(() => stream.close())))
            assert.deepStrictEqual(leaksIn(world, text), [], `${caller.name}: B's event stream shows A's greetings: ${text.slice(0, 600)}`)
          }
        })
    },
    "GET /api/hello/greetings/{id}": {
      kind: "byId",
      setup: () => Effect.map(aGreeting, (g) => ({ probes: [{ params: { id: g.id } }], view: view(`/api/hello/greetings/${g.id}`) }))
    }
  }

export const helloMatrix: PluginMatrix = {
  plugin: "hello",
  routes,
  // Derived from the routes (`RpcFromApi`) and served by their handlers.
  rpcs: {
    "hello.List": rpcOwnList(undefined, Effect.map(aGreeting, (g) => [g.id])),
    "hello.Create": {
      kind: "own",
      reason: "creates a greeting of the caller's organization",
      check: ({ world, tag, callers }) =>
        Effect.gen(function*() {
          for (const caller of callers) {
            const created = rpcClean(world, yield* rpc(caller.token, tag, { payload: { name: `orgb-${crypto.randomUUID().slice(0, 8)}` } }), `${caller.name}: ${tag}`)
            const theirs = JSON.stringify(yield* asA<unknown>("GET", "/api/hello/greetings"))
            assert.notInclude(theirs, (created as { id: string }).id, `what ${caller.name} made shows up in A's greetings`)
          }
        })
    },
    "hello.Get": rpcOfRoute(routes["GET /api/hello/greetings/{id}"])
  }
}
