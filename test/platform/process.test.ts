/**
 * The real `trellis serve` process: a second server on the same data directory refuses to
 * start, SIGTERM stops it cleanly and quickly (exit 0) and ends open live streams with a
 * final event instead of cutting them, and a restart keeps the data.
 */
import { afterAll, afterEach, assert, describe, it } from "vitest"
import * as NodeFs from "node:fs"
import { authorized, freshDataDir, killAll, start, stop, waitReady } from "./serverProcess.ts"
import { connect, eventIds } from "./sseClient.ts"

const dataDir = freshDataDir()
afterEach(killAll)
afterAll(() => NodeFs.rmSync(dataDir, { recursive: true, force: true }))

const env = { TRELLIS_DATA_DIR: dataDir, TRELLIS_PLUGINS: "./examples/hello-plugin/mod.ts" }

describe("trellis serve on the embedded database", () => {
  it("locks its data directory, stops cleanly on SIGTERM and keeps data across a restart", async () => {
    const first = await start(env)
    await waitReady(first)

    const created = await fetch(`${first.url}/api/hello/greetings`, {
      method: "POST",
      headers: { ...authorized, "content-type": "application/json" },
      body: JSON.stringify({ name: "persisted" })
    })
    assert.strictEqual(created.status, 201)
    const greeting = await created.json() as { id: string }

    // An open live stream, to check that shutdown ends it cleanly rather than cutting it.
    const stream = await connect(`${first.url}/api/hello/events`, authorized)
    await stream.until((frames) => eventIds(frames).includes(1))

    // A second process on the same directory refuses, naming the directory and the holder.
    const second = await start(env)
    const refused = await second.exited
    assert.strictEqual(refused.code, 1)
    assert.include(second.output(), "is in use by another Trellis process")
    assert.include(second.output(), `pid ${first.child.pid}`)
    // ... and the first one is still serving.
    assert.strictEqual((await fetch(`${first.url}/health`)).status, 200)

    const stopped = await stop(first)
    assert.strictEqual(stopped.code, 0, first.output())
    // Well within the grace period (10 s): the open stream did not hold the process.
    assert.isBelow(stopped.ms, 5_000)
    assert.strictEqual(await stream.ended, "end")
    assert.strictEqual(stream.frames().at(-1)?.event, "shutdown")
    assert.include(first.output(), "shutting down")
    assert.include(first.output(), "Embedded database closed")
    assert.isFalse(NodeFs.existsSync(`${dataDir}/trellis.lock`))

    const restarted = await start(env)
    await waitReady(restarted)
    const read = await fetch(`${restarted.url}/api/hello/greetings/${greeting.id}`, { headers: authorized })
    assert.strictEqual(read.status, 200)
    assert.strictEqual((await read.json() as { name: string }).name, "persisted")
    assert.strictEqual((await stop(restarted, "SIGINT")).code, 0)
  }, 180_000)

  it("refuses a bad configuration value with a message naming the variable", async () => {
    const server = await start({ TRELLIS_DATA_DIR: dataDir, TRELLIS_MAX_BODY_BYTES: "lots" })
    const result = await server.exited
    assert.strictEqual(result.code, 1)
    assert.include(server.output(), "TRELLIS_MAX_BODY_BYTES=\"lots\"")
    assert.include(server.output(), "expected an integer")
  }, 60_000)
})
