/**
 * The port opens before the application's handler is attached: a request that arrives in
 * between is answered 503 with `Retry-After` (Node would drop it and leave the client waiting),
 * and once the handler is attached it gets every request.
 */
import { assert, describe, it } from "@effect/vitest"
import type * as Net from "node:net"
import { NodeServer } from "../../src/http/FastPathServer.ts"

describe("a request while the server starts", () => {
  it("is answered 503 problem+json with Retry-After until the handler is attached", async () => {
    const server = new NodeServer()
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    try {
      const port = (server.address() as Net.AddressInfo).port
      const early = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(10_000) })
      assert.strictEqual(early.status, 503)
      assert.strictEqual(early.headers.get("content-type"), "application/problem+json")
      assert.strictEqual(early.headers.get("retry-after"), "1")
      const problem = await early.json() as { code: string; status: number }
      assert.deepStrictEqual([problem.code, problem.status], ["SERVICE_UNAVAILABLE", 503])
      server.on("request", (_request, response) => response.end("ready"))
      const later = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(10_000) })
      assert.deepStrictEqual([later.status, await later.text()], [200, "ready"])
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
