/**
 * `?token=` never reaches the log: the real server process, with the example plugin, serves
 * its SSE endpoint (which accepts `?token=`) and its page (which refuses it), and no line of
 * its log carries the token, while the access-log lines name the web route's template.
 */
import { afterAll, afterEach, assert, describe, it } from "vitest"
import * as NodeFs from "node:fs"
import { adminToken, freshDataDir, killAll, start, stop, waitReady } from "../platform/serverProcess.ts"

const dataDir = freshDataDir()
afterEach(killAll)
afterAll(() => NodeFs.rmSync(dataDir, { recursive: true, force: true }))

describe("the access log and ?token=", () => {
  it("logs web routes by template and never writes the query token", async () => {
    const server = await start({
      TRELLIS_DATA_DIR: dataDir,
      TRELLIS_LOG_LEVEL: "info",
      TRELLIS_PLUGINS: "./examples/hello-plugin/mod.ts"
    })
    await waitReady(server)
    const controller = new AbortController()
    const sse = await fetch(`${server.url}/api/hello/events?token=${adminToken}`, {
      signal: controller.signal,
      headers: { "x-request-id": "token-query-sse" }
    })
    assert.strictEqual(sse.status, 200)
    controller.abort()
    const page = await fetch(`${server.url}/hello?token=${adminToken}`, { headers: { "x-request-id": "token-query-page" } })
    assert.strictEqual(page.status, 401)
    const css = await fetch(`${server.url}/hello/assets/viewer.css?v=1`, { headers: { "x-request-id": "asset" } })
    assert.strictEqual(css.status, 200)
    const stopped = await stop(server)
    assert.strictEqual(stopped.code, 0, server.output())

    const output = server.output()
    assert.notInclude(output, adminToken)
    const records = output.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Record<string, unknown>)
    const access = (id: string) => records.find((r) => r.message === "http" && r.requestId === id)
    assert.strictEqual(access("token-query-page")?.path, "/hello")
    assert.strictEqual(access("token-query-page")?.route, "/hello")
    assert.strictEqual(access("asset")?.route, "/hello/assets/viewer.css")
  }, 120_000)
})
