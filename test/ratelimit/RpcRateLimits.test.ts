/**
 * RPC calls at `/rpc` spend the same per-principal budget as HTTP calls (`RpcAuthenticationLive`):
 * past the limit an RPC fails with the typed `RateLimited` problem, and the HTTP budget of the
 * same principal is the one that was spent.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Client from "../../src/client/Client.ts"
import * as TestKit from "../../src/testing/TestKit.ts"
import { HelloPlugin } from "../../examples/hello-plugin/Plugin.ts"
import { HelloRpcs } from "../../examples/hello-plugin/Api.ts"

const rateLimits = { perMinute: 3, runPerMinute: 6, settingsPerMinute: 20, streams: 4, loginPerAccount: 10, loginPerAddress: 30 }

describe("rate limits on RPC", () => {
  layer(TestKit.layer({ plugins: [HelloPlugin], config: { rateLimits } }), { timeout: 120_000 })((it) => {
    it.effect("refuses the call past the budget with RateLimited, shared with HTTP", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const created = yield* kit.request("POST", "/api/v1/orgs/org_default/service-keys", {
          body: { name: "rpc limits", scopes: ["hello:read", "hello:write"] }
        })
        assert.strictEqual(created.status, 201)
        const { key } = (yield* created.json) as { key: string }
        const rpc = yield* Client.makeRpc(HelloRpcs, { baseUrl: kit.baseUrl, token: key })

        // One HTTP call and two RPCs spend the three requests of the minute.
        assert.strictEqual((yield* kit.request("GET", "/api/hello/greetings", { token: key })).status, 200)
        const greeting = yield* rpc["hello.Create"]({ payload: { name: "one" } })
        assert.strictEqual((yield* rpc["hello.Get"]({ params: { id: greeting.id } })).id, greeting.id)

        const refused = yield* Effect.flip(rpc["hello.Get"]({ params: { id: greeting.id } }))
        assert.strictEqual(refused._tag, "RateLimited")
        const http = yield* kit.request("GET", "/api/hello/greetings", { token: key })
        assert.strictEqual(http.status, 429)

        // Another principal is not affected, and the admin token never is.
        const admin = yield* Client.makeRpc(HelloRpcs, { baseUrl: kit.baseUrl, token: kit.adminToken })
        for (let i = 0; i < 5; i++) assert.strictEqual((yield* admin["hello.Get"]({ params: { id: greeting.id } })).id, greeting.id)
      }).pipe(Effect.scoped))
  })
})
