/**
 * `/ws` counts against the platform's per-principal live-stream limit, like SSE streams (and
 * together with them): with the limit at 2, two open connections work, a third is refused
 * before the upgrade with the 429 problem and headers an SSE stream gets, and closing one
 * frees its slot. The static admin token is never limited.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"
import { HelloPlugin } from "../../../examples/hello-plugin/Plugin.ts"
import { PromptsPlugin } from "../Plugin.ts"
import { call } from "./support.ts"
import { connect } from "./wsClient.ts"
import type { WsClient } from "./wsClient.ts"

const streams = 2

const rateLimits = {
  perMinute: 1000,
  runPerMinute: 6,
  settingsPerMinute: 20,
  streams,
  loginPerAccount: 10,
  loginPerAddress: 30
}

/** Real time (the test runs with a TestClock, under which `Effect.sleep` never ends). */
const pause = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

const wsUrl = (baseUrl: string, token: string) => `${baseUrl.replace(/^http/, "ws")}/ws?token=${encodeURIComponent(token)}&client=browser&hello=1`

/** Opens a socket and waits for its `hello`; "refused" when the handshake fails. */
const open = (baseUrl: string, token: string) =>
  Effect.promise(() =>
    connect(wsUrl(baseUrl, token)).then(
      async (client): Promise<WsClient> => {
        await client.until((f) => f.type === "hello")
        return client
      },
      () => "refused" as const
    )
  )

const closeAll = (clients: ReadonlyArray<WsClient>) =>
  Effect.promise(() =>
    Promise.all(clients.map((c) => {
      c.close()
      return c.closed
    }))
  )

const serviceKey = (scopes: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const created = yield* call<{ key: string }>("POST", "/api/v1/orgs/org_default/service-keys", {
      body: { name: `stream limit ${scopes.join(" ")}`, scopes }
    })
    assert.strictEqual(created.status, 201, JSON.stringify(created.body))
    return created.body.key
  })

/** A refusal as the client sees it: status, problem code and the rate-limit headers. */
const refusal = (response: { status: number; headers: Readonly<Record<string, string>>; body: unknown }) => ({
  status: response.status,
  contentType: response.headers["content-type"],
  code: (response.body as { code?: string } | undefined)?.code,
  retryAfter: response.headers["retry-after"],
  policy: response.headers["ratelimit-policy"],
  remaining: response.headers["ratelimit"]
})

describe("prompts plugin: /ws and the live-stream limit", () => {
  layer(TestKit.layer({ plugins: [PromptsPlugin, HelloPlugin], config: { rateLimits } }), { timeout: 120_000 })((it) => {
    it.effect("holds a slot per open connection, refuses one more with SSE's 429, and frees it on close", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const key = yield* serviceKey(["prompts:read", "hello:read"])
        const first = yield* open(kit.baseUrl, key)
        const second = yield* open(kit.baseUrl, key)
        assert.notStrictEqual(first, "refused")
        assert.notStrictEqual(second, "refused")
        if (first === "refused" || second === "refused") return

        // A third connection is refused before the upgrade: a plain 429 problem response...
        const overWs = yield* call("GET", `/ws?token=${encodeURIComponent(key)}`, { token: null })
        const expected = {
          status: 429,
          contentType: "application/problem+json",
          code: "RATE_LIMITED",
          retryAfter: "5",
          policy: `"streams";q=${streams};qu="concurrent-requests"`,
          remaining: `"streams";r=0`
        }
        assert.deepStrictEqual(refusal(overWs), expected)
        // ... the same one an SSE stream of the same principal gets: the slots are shared.
        const overSse = yield* call("GET", "/api/hello/events", { token: key })
        assert.deepStrictEqual(refusal(overSse), expected)
        // And a real WebSocket handshake fails.
        assert.strictEqual(yield* open(kit.baseUrl, key), "refused")

        // Closing one frees its slot (released when the server notices the close).
        first.close()
        yield* Effect.promise(() => first.closed)
        let third: WsClient | "refused" = "refused"
        for (let i = 0; i < 50 && third === "refused"; i++) {
          third = yield* open(kit.baseUrl, key)
          if (third === "refused") yield* pause(100)
        }
        assert.notStrictEqual(third, "refused", "a slot was freed by closing a connection")
        if (third === "refused") return
        // Full again.
        assert.strictEqual(refusal(yield* call("GET", `/ws?token=${encodeURIComponent(key)}`, { token: null })).status, 429)
        yield* closeAll([second, third])
      }))

    it.effect("does not limit the static admin token", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const clients: Array<WsClient> = []
        for (let i = 0; i < streams + 2; i++) {
          const client = yield* open(kit.baseUrl, kit.adminToken)
          assert.notStrictEqual(client, "refused", `admin connection ${i + 1}`)
          if (client !== "refused") clients.push(client)
        }
        yield* closeAll(clients)
      }))
  })
})
