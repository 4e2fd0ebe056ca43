/**
 * Provider base URLs cannot reach the server's own network (SSRF), whatever the spelling: a
 * real listener on 127.0.0.1 stands in for an internal service, and every literal form of its
 * address (IPv4 shorthands, IPv4-mapped, -compatible, NAT64 and 6to4 IPv6, `localhost`, the
 * machine's own name) is refused when saved as a workspace setting
 * (`PUT /api/playground/providers/openai`) and when sent per request (`base_url` in
 * `POST /api/playground/run` and `/run/stream`); the listener sees no connection. With
 * `TRELLIS_PROVIDERS_ALLOW_PRIVATE=true` (an operator running a local model server) the same
 * URLs are saved and called.
 */
import { assert, describe, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { lookup } from "node:dns/promises"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { hostname } from "node:os"
import { afterAll, beforeAll } from "vitest"
import * as TestKit from "trellis/testing"
import { isInternalAddress } from "../Providers.ts"
import { PromptsPlugin } from "../Plugin.ts"
import { call, uniqueKey } from "./support.ts"

let connections = 0
const internal = createServer((request, response) => {
  let text = ""
  request.on("data", (chunk: Buffer) => { text += chunk.toString() })
  request.on("end", () => {
    const body = JSON.parse(text === "" ? "{}" : text) as { model?: string }
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({
      model: body.model ?? "local",
      choices: [{ index: 0, message: { role: "assistant", content: "from the internal service" } }]
    }))
  })
})
internal.on("connection", () => connections++)
let port = 0
beforeAll(() => new Promise<void>((resolve) => internal.listen(0, "127.0.0.1", () => {
  port = (internal.address() as AddressInfo).port
  resolve()
})))
afterAll(() => new Promise<void>((resolve) => internal.close(() => resolve())))

/** Every spelling of the listener's address (loopback), as a base URL. */
const forms = [
  "127.0.0.1", "127.1", "0x7f.1", "0x7f000001", "2130706433", "0177.0.0.1", "0.0.0.0", "localhost", "LOCALHOST.",
  "[::1]", "[::]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[0:0:0:0:0:ffff:7f00:0001]", "[::127.0.0.1]",
  "[::ffff:0:7f00:1]", "[64:ff9b::7f00:1]", "[64:ff9b::127.0.0.1]", "[2002:7f00:1::]"
]
/** Other internal targets (nothing listens there; they must be refused before any attempt). */
const others = ["[::ffff:169.254.169.254]", "[::ffff:10.0.0.1]", "[fec0::1]", "[fd00::1]", "[fe80::1]", "169.254.169.254", "100.64.0.1"]
const baseUrls = () => [...forms.map((h) => `http://${h}:${port}/v1`), ...others.map((h) => `http://${h}/v1`)]

/** The machine's own host name, when it resolves to an internal address here. */
const ownName = Effect.promise(async () => {
  const name = hostname()
  try {
    const addresses = await lookup(name, { all: true })
    return addresses.length > 0 && addresses.every((a) => isInternalAddress(a.address)) ? name : undefined
  } catch {
    return undefined
  }
})

const configPath = (workspace: string) => `/api/playground/providers/openai?workspace=${encodeURIComponent(workspace)}`

describe("prompts plugin: provider base URLs cannot reach internal addresses", () => {
  layer(TestKit.layer({ plugins: [PromptsPlugin] }), { timeout: 180_000 })((it) => {
    it.effect("refuses every spelling on save and per request, and connects to nothing", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const name = yield* ownName
        assert.notStrictEqual(port, 0)
        const urls = name === undefined ? baseUrls() : [...baseUrls(), `http://${name}:${port}/v1`]
        const workspace = uniqueKey("ssrf")
        for (const base_url of urls) {
          const saved = yield* call<{ code: string; detail: string }>("PUT", configPath(workspace), {
            body: { base_url, api_key: "sk-ssrf-test-key-0001", model: "m" }
          })
          assert.strictEqual(saved.status, 400, `${base_url}: ${JSON.stringify(saved.body)}`)
          assert.strictEqual(saved.body.code, "PROVIDER_ADDRESS_REFUSED", base_url)

          const run = yield* call<{ code: string }>("POST", "/api/playground/run", {
            body: { content: "hi", provider: "openai", base_url, api_key: "k" }
          })
          assert.strictEqual(run.status, 400, base_url)
          assert.strictEqual(run.body.code, "PROVIDER_ADDRESS_REFUSED", base_url)

          const streamed = yield* kit.request("POST", "/api/playground/run/stream", {
            body: { content: "hi", provider: "openai", base_url, api_key: "k" }
          })
          assert.strictEqual(streamed.status, 400, base_url)
          yield* streamed.text
        }
        assert.isNull((yield* call<{ data: unknown }>("GET", configPath(workspace))).body.data, "nothing was saved")
        assert.strictEqual(connections, 0, "the internal service was never reached")
      }))
  })
})

const allowingKit = TestKit.layer({ plugins: [PromptsPlugin] }).pipe(
  Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({ ...process.env, TRELLIS_PROVIDERS_ALLOW_PRIVATE: "true" })))
)

describe("prompts plugin: an operator may allow internal provider addresses", () => {
  layer(allowingKit, { timeout: 180_000 })((it) => {
    it.effect("saves and calls the same URLs with TRELLIS_PROVIDERS_ALLOW_PRIVATE=true", () =>
      Effect.gen(function*() {
        const before = connections
        const workspace = uniqueKey("local")
        for (const host of ["127.0.0.1", "[::ffff:127.0.0.1]", "localhost"]) {
          const base_url = `http://${host}:${port}/v1`
          const saved = yield* call("PUT", configPath(workspace), { body: { base_url, api_key: null, model: "local-model" } })
          assert.strictEqual(saved.status, 200, `${base_url}: ${JSON.stringify(saved.body)}`)
          const run = yield* call<{ result: { output: string } }>("POST", "/api/playground/run", {
            body: { content: "hi", provider: "openai", base_url }
          })
          assert.strictEqual(run.status, 200, base_url)
          assert.strictEqual(run.body.result.output, "from the internal service")
        }
        assert.isAtLeast(connections - before, 3)
      }))
  })
})
