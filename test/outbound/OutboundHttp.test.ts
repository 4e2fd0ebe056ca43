/**
 * The platform's outbound client against a real listener on 127.0.0.1: every internal
 * spelling is refused before a connection is made, a DNS answer that turns internal between
 * the check and the connection (DNS rebinding) is refused at connect time, and an operator's
 * `allowPrivate` policy reaches the listener. The listener counts connections, so "refused"
 * means nothing reached it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll } from "vitest"
import * as OutboundHttp from "../../src/outbound/OutboundHttp.ts"

let connections = 0
const listener = createServer((request, response) => {
  request.resume()
  request.on("end", () => response.writeHead(200, { "content-type": "text/plain" }).end("internal secret"))
})
listener.on("connection", () => connections++)
let port = 0
beforeAll(() => new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", () => {
  port = (listener.address() as AddressInfo).port
  resolve()
})))
afterAll(() => new Promise<void>((resolve) => listener.close(() => resolve())))

const strict: OutboundHttp.Policy = { allowPrivate: false }
const post = (url: string, policy: OutboundHttp.Policy) =>
  OutboundHttp.send({ url, method: "POST", headers: { "content-type": "application/json" }, body: "{}", timeoutMs: 10_000 }, policy)

describe("OutboundHttp", () => {
  it.effect("refuses every internal spelling of the listener's address without connecting", () =>
    Effect.gen(function*() {
      const hosts = [
        "127.0.0.1", "127.1", "0x7f.1", "2130706433", "0.0.0.0", "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
        "[0:0:0:0:0:ffff:7f00:0001]", "[::127.0.0.1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::]", "localhost", "[fec0::1]"
      ]
      for (const host of hosts) {
        const error = yield* Effect.flip(post(`http://${host}:${port}/v1/chat/completions`, strict))
        assert.strictEqual(error._tag, "OutboundRefused", host)
      }
      assert.strictEqual(connections, 0)
    }))

  it.effect("refuses a name that resolves to an internal address, checked before and at connect time", () =>
    Effect.gen(function*() {
      const internal = yield* Effect.flip(post(`http://models.example:${port}/`, {
        allowPrivate: false,
        resolve: () => Promise.resolve([{ address: "::ffff:127.0.0.1", family: 6 }])
      }))
      assert.strictEqual(internal._tag, "OutboundRefused")
      // DNS rebinding: public for the check, loopback for the connection.
      let answers = 0
      const rebinding = yield* Effect.flip(post(`http://rebind.example:${port}/`, {
        allowPrivate: false,
        resolve: () => Promise.resolve([{ address: answers++ === 0 ? "93.184.215.14" : "127.0.0.1", family: 4 }])
      }))
      assert.strictEqual(rebinding._tag, "OutboundRefused")
      if (rebinding._tag === "OutboundRefused") {
        assert.include(rebinding.reason, "loopback")
        assert.notInclude(rebinding.reason, "127.0.0.1", "the internal address itself is not told")
      }
      assert.strictEqual(answers, 2, "resolved for the check and again for the connection")
      assert.strictEqual(connections, 0)
    }))

  it.effect("reaches the listener when the caller's policy allows internal addresses", () =>
    Effect.gen(function*() {
      const response = yield* post(`http://127.0.0.1:${port}/`, { allowPrivate: true })
      assert.strictEqual(response.status, 200)
      assert.strictEqual(yield* Effect.promise(() => response.text()), "internal secret")
      const mapped = yield* post(`http://[::ffff:127.0.0.1]:${port}/`, { allowPrivate: true })
      assert.strictEqual(mapped.status, 200)
      yield* Effect.promise(() => mapped.text())
      assert.strictEqual(connections, 2)
    }))

  it.effect("refuses schemes other than http(s)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(post("file:///etc/passwd", { allowPrivate: true }))
      assert.strictEqual(error._tag, "OutboundRefused")
      const bad = yield* Effect.flip(post("not a url", strict))
      assert.strictEqual(bad._tag, "OutboundFailed")
    }))
})
