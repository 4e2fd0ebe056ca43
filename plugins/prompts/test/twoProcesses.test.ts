/**
 * Two real `trellis serve` processes on one PostgreSQL database: a publish on one is served by
 * SDK fetch on the other within one second (its cache is dropped by the LISTEN/NOTIFY event,
 * not by polling the database), the other process's `/ws` clients get the change (and are
 * listed by both), and a sticky caller gets the same version from both processes.
 *
 * Runs only when TRELLIS_TEST_DATABASE_URL names a PostgreSQL server.
 */
import { afterAll, assert, describe, it } from "vitest"
import { firstParty } from "../../index.ts"
import { authorized, pgAdmin as admin, requestJson as json, start, stop, waitReady } from "../../../test/platform/serverProcess.ts"
import type { RunningServer } from "../../../test/platform/serverProcess.ts"
import { connect } from "./wsClient.ts"

const pgBase = process.env.TRELLIS_TEST_DATABASE_URL

describe.skipIf(pgBase === undefined || pgBase === "")("prompts plugin: two processes on one PostgreSQL", () => {
  const name = `trellis_prompts_${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`
  const servers: Array<RunningServer> = []
  afterAll(async () => {
    await Promise.all(servers.map((s) => stop(s)))
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  })

  it("serves a publish made on one process from the other within one second", async () => {
    await admin(`CREATE DATABASE ${name}`)
    const url = new URL(pgBase ?? "")
    url.pathname = `/${name}`
    const env: Record<string, string> = {
      DATABASE_URL: url.toString(),
      TRELLIS_LOG_LEVEL: "warn",
      ...(firstParty.some((p) => p.id === "prompts") ? {} : { TRELLIS_PLUGINS: "./plugins/prompts/mod.ts" })
    }
    const a = await start(env)
    servers.push(a)
    await waitReady(a)
    const b = await start(env)
    servers.push(b)
    await waitReady(b)

    const created = await json<{ data: { id: string } }>(a, "POST", "/api/prompts", { key: "two.proc", content: "one", env: "prod" })
    assert.strictEqual(created.status, 200, JSON.stringify(created.body))
    const id = created.body.data.id
    await json(a, "POST", "/api/prompts/publish", { id })
    // B answers (and caches) v1.
    const first = await json<{ version: string }>(b, "GET", "/api/sdk/prompts/two.proc?env=prod")
    assert.strictEqual(first.body.version, "v1")
    assert.strictEqual((await json<{ version: string }>(b, "GET", "/api/sdk/prompts/two.proc?env=prod")).body.version, "v1")
    const watcher = await connect(`${b.url.replace(/^http/, "ws")}/ws?token=${authorized.authorization.slice(7)}&client=node-sdk&namespace=prod&hello=1`)
    const hello = await watcher.until((f) => f.type === "hello")
    // A lists the connection held by B.
    const listed = await json<{ data: ReadonlyArray<{ id: string; client_type: string; namespace: string }> }>(a, "GET", "/api/clients")
    assert.deepStrictEqual(
      listed.body.data.filter((c) => c.id === hello.client_id).map((c) => [c.client_type, c.namespace]),
      [["node-sdk", "prod"]]
    )

    await json(a, "PUT", `/api/prompts/${id}`, { content: "two" })
    const published = await json<{ data: { version: string } }>(a, "POST", "/api/prompts/publish", { id })
    assert.strictEqual(published.body.data.version, "v2")
    const committed = Date.now()
    let seen = ""
    while (Date.now() - committed < 1_000) {
      seen = (await json<{ version: string }>(b, "GET", "/api/sdk/prompts/two.proc?env=prod")).body.version
      if (seen === "v2") break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.strictEqual(seen, "v2", "process B still served the old version one second after the publish on A")
    const pushed = await watcher.until((f) => f.type === "prompt.published" && f.version === "v2", 1_000)
    assert.strictEqual(pushed.key, "two.proc")
    watcher.close()

    // A sticky caller gets the same version from both processes.
    await json(a, "PUT", `/api/prompts/${id}/rollout`, { variant_a: "v1", variant_b: "v2", weight_a: 50 })
    await new Promise((resolve) => setTimeout(resolve, 300))
    for (let i = 0; i < 40; i++) {
      const path = `/api/sdk/prompts/two.proc?env=prod&user_id=user-${i}`
      const [fromA, fromB] = await Promise.all([json<{ version: string; sticky: boolean }>(a, "GET", path), json<{ version: string }>(b, "GET", path)])
      assert.isTrue(fromA.body.sticky)
      assert.strictEqual(fromA.body.version, fromB.body.version, `user-${i}`)
    }
  }, 180_000)
})
