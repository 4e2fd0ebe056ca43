/**
 * The log of the real `trellis serve` process: one JSON access-log line per request carrying
 * the request id, every line valid JSON, and the lines of the shutdown written before the
 * process exits (the logger buffers lines and must flush them).
 */
import { afterAll, assert, describe, it } from "vitest"
import * as NodeFs from "node:fs"
import { freshDataDir, start, stop, waitReady } from "../platform/serverProcess.ts"

const dataDir = freshDataDir()
afterAll(() => NodeFs.rmSync(dataDir, { recursive: true, force: true }))

describe("the server's log", () => {
  it("writes one access-log line per request with its request id, and flushes at shutdown", async () => {
    const server = await start({ TRELLIS_DATA_DIR: dataDir, TRELLIS_LOG_FORMAT: "json", TRELLIS_LOG_LEVEL: "info" })
    await waitReady(server)
    const ok = await fetch(`${server.url}/health`, { headers: { "x-request-id": "access-log-ok" } })
    assert.strictEqual(ok.status, 200)
    const missing = await fetch(`${server.url}/api/no/such/thing?x=1`, { headers: { "x-request-id": "access-log-404" } })
    assert.strictEqual(missing.status, 404)
    const stopped = await stop(server)
    assert.strictEqual(stopped.code, 0, server.output())

    const lines = server.output().split("\n").filter((line) => line.trim() !== "")
    const records = lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>
      } catch {
        return assert.fail(`not a JSON line: ${line}`)
      }
    })
    const access = (requestId: string) => records.filter((r) => r.message === "http" && r.requestId === requestId)

    const [health] = access("access-log-ok")
    assert.strictEqual(access("access-log-ok").length, 1)
    assert.strictEqual(health.level, "INFO")
    assert.strictEqual(health.method, "GET")
    assert.strictEqual(health.path, "/health")
    assert.strictEqual(health.route, "/health")
    assert.strictEqual(health.status, 200)
    assert.isNumber(health.durationMs)

    const [notFound] = access("access-log-404")
    assert.strictEqual(notFound.path, "/api/no/such/thing")
    assert.strictEqual(notFound.route, "unmatched")
    assert.strictEqual(notFound.status, 404)

    // The readiness polls of `waitReady` were logged too, each with a generated id.
    const polls = records.filter((r) => r.message === "http" && r.path === "/ready")
    assert.isAbove(polls.length, 0)
    for (const poll of polls) assert.match(String(poll.requestId), /^[0-9a-f-]{36}$/)

    // The last lines, written while the process stopped, were not lost in the buffer.
    const messages = records.map((r) => String(r.message))
    assert.include(messages, "shutting down")
    assert.isTrue(messages.some((m) => m.includes("Embedded database closed")), messages.slice(-5).join(" | "))
  }, 120_000)
})
