/**
 * The HTTP listener against slow and numerous clients, over raw TCP sockets: a client that
 * dribbles headers or a body is cut at the configured timeout (with 408), an idle connection
 * that never sends a request is cut too, while a live stream or a WebSocket that outlives the
 * request timeout is not; past the connection cap a new connection is closed at once while the
 * open ones keep being served.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { HelloPlugin } from "../../examples/hello-plugin/Plugin.ts"
import { PromptsPlugin } from "../../plugins/prompts/Plugin.ts"
import * as TestKit from "../../src/testing/TestKit.ts"
import { connectRaw, sleep } from "./rawSocket.ts"
import type { RawClient } from "./rawSocket.ts"

const portOf = (baseUrl: string) => Number(new URL(baseUrl).port)

/** `n` header lines, each sent on its own. */
const slowHeaders = (n: number) => Array.from({ length: n }, (_, i) => `X-Slow-${i}: ${i}\r\n`)

const timeouts = {
  headersTimeoutSeconds: 1,
  requestTimeoutSeconds: 2,
  keepAliveTimeoutSeconds: 5,
  maxConnections: 0
}

describe("HTTP listener limits", () => {
  layer(
    TestKit.layer({ plugins: [HelloPlugin, PromptsPlugin], config: { listener: timeouts, sseHeartbeatSeconds: 1 } }),
    { timeout: 120_000 }
  )((it) => {
    it.effect("cuts a client that dribbles its headers past the headers timeout, with 408", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const client = yield* Effect.promise(() => connectRaw(portOf(kit.baseUrl)))
        // 40 header lines a quarter second apart: 10 s, far past the 1 s timeout.
        const outcome = yield* Effect.promise(() =>
          client.dribble(["GET /health HTTP/1.1\r\n", "Host: localhost\r\n", ...slowHeaders(40)], 250)
        )
        assert.strictEqual(outcome, "closed")
        assert.match(client.received(), /^HTTP\/1\.1 408 /)
      }), { timeout: 30_000 })

    it.effect("cuts a client that dribbles its body past the request timeout, with 408", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const client = yield* Effect.promise(() => connectRaw(portOf(kit.baseUrl)))
        client.write(
          "POST /api/hello/greetings HTTP/1.1\r\nHost: localhost\r\n" +
            `Authorization: Bearer ${kit.adminToken}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"name":"`
        )
        const outcome = yield* Effect.promise(() => client.dribble(Array.from({ length: 40 }, () => "a"), 250))
        assert.strictEqual(outcome, "closed")
        assert.match(client.received(), /^HTTP\/1\.1 408 /)
        // Nothing was created from the half-sent body.
        const listed = yield* kit.request("GET", "/api/hello/greetings")
        assert.notInclude(yield* listed.text, `"aaaa`)
      }), { timeout: 30_000 })

    it.effect("cuts a connection that never sends a request", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const client = yield* Effect.promise(() => connectRaw(portOf(kit.baseUrl)))
        const outcome = yield* Effect.promise(() => Promise.race([client.closed.then(() => "closed"), sleep(15_000).then(() => "open")]))
        client.socket.destroy()
        assert.strictEqual(outcome, "closed")
      }), { timeout: 30_000 })

    it.effect("keeps a live stream and a WebSocket open past the request timeout", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const port = portOf(kit.baseUrl)
        const sse = yield* Effect.promise(() => connectRaw(port))
        sse.write(`GET /api/hello/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${kit.adminToken}\r\nAccept: text/event-stream\r\n\r\n`)
        yield* Effect.promise(() => sse.until((r) => r.startsWith("HTTP/1.1 200 ") && r.includes("\r\n\r\n")))
        const ws = yield* Effect.promise(() => connectRaw(port))
        ws.write(
          `GET /ws?token=${kit.adminToken}&client=raw HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        yield* Effect.promise(() => ws.until((r) => r.startsWith("HTTP/1.1 101 ")))
        const before = sse.received().length
        // Three times the request timeout (2 s), plus Node's checking interval.
        yield* Effect.promise(() => sleep(7_000))
        assert.isFalse(sse.isClosed(), "the live stream was cut")
        assert.isFalse(ws.isClosed(), "the WebSocket was cut")
        // The stream kept flowing (heartbeats every second).
        assert.isAbove(sse.received().length, before)
        sse.socket.destroy()
        ws.socket.destroy()
      }), { timeout: 30_000 })
  })

  layer(
    TestKit.layer({ plugins: [], config: { listener: { ...timeouts, headersTimeoutSeconds: 10, requestTimeoutSeconds: 30, maxConnections: 3 } } }),
    { timeout: 120_000 }
  )((it) => {
    it.effect("closes connections past the cap at once and keeps serving the open ones", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const port = portOf(kit.baseUrl)
        const health = "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n"
        const open: Array<RawClient> = []
        for (let i = 0; i < 3; i++) {
          const client = yield* Effect.promise(() => connectRaw(port))
          client.write(health)
          yield* Effect.promise(() => client.until((r) => r.startsWith("HTTP/1.1 200 ") && r.endsWith("}")))
          open.push(client)
        }
        // The fourth is accepted by the kernel, then closed by the server without an answer.
        const refused = yield* Effect.promise(() => connectRaw(port))
        refused.write(health)
        yield* Effect.promise(() => refused.closed)
        assert.strictEqual(refused.received(), "")
        // The open keep-alive connections are still served.
        for (const client of open) {
          const before = client.received().length
          client.write(health)
          yield* Effect.promise(() => client.until((r) => r.length > before && r.slice(before).startsWith("HTTP/1.1 200 ")))
        }
        // Once one closes, a new connection is served again.
        open[0]!.socket.destroy()
        yield* Effect.promise(() => open[0]!.closed)
        yield* Effect.promise(() => sleep(100))
        const next = yield* Effect.promise(() => connectRaw(port))
        next.write(health)
        yield* Effect.promise(() => next.until((r) => r.startsWith("HTTP/1.1 200 ")))
        for (const client of [...open, next]) client.socket.destroy()
      }), { timeout: 30_000 })
  })
})
