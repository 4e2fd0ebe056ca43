/**
 * `/ws` hot reload and `GET /api/clients`: token in the query, one frame per committed change
 * with PromptOps's `{type, key, env, version}` (plus `seq`), environment filtering, SDK
 * connections seeing only what changes what they are served, catch-up after a reconnect, and a
 * `gap` frame when what a reconnecting client missed is older than the event log keeps.
 *
 * When PROMPTOPS_NODE_SDK names a checkout of the PromptOps Node SDK (`sdk/node` of the
 * PromptOps repository, with its `ws` dependency installed), its published source runs
 * unchanged against Trellis: fetch, render, hot reload. Without it that test is skipped.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import * as NodePath from "node:path"
import { pathToFileURL } from "node:url"
import * as TestKit from "trellis/testing"
import { PromptsPlugin } from "../Plugin.ts"
import { changesStream } from "../Streams.ts"
import { call, createPrompt, publish, uniqueKey } from "./support.ts"
import { connect } from "./wsClient.ts"

/** Real time (the test runs with a TestClock, under which `Effect.sleep` never ends). */
const pause = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

const wsUrl = (baseUrl: string, query: string) => `${baseUrl.replace(/^http/, "ws")}/ws?hello=1&${query}`

const sdkDir = process.env.PROMPTOPS_NODE_SDK

interface SdkClient {
  getPrompt(key: string, options?: { refresh?: boolean }): Promise<{ content: string; version: string }>
  render(key: string, vars?: Record<string, unknown>): Promise<string>
  on(event: string, cb: (payload: { key: string; event: string; prompt: { version: string } }) => void): () => void
  watch(): unknown
  close(): void
}
type SdkModule = { PromptOpsClient: new (options: { server: string; namespace: string; token: string; appName?: string }) => SdkClient }

describe("prompts plugin: hot reload", () => {
  // Prune every second, so that the retention test need not wait (retention stays 7 days).
  layer(TestKit.layer({ plugins: [PromptsPlugin], config: { eventPruneIntervalSeconds: 1 } }), { timeout: 120_000 })((it) => {
    it.effect("pushes committed changes with key, env, version and seq to a connected client", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const client = yield* Effect.promise(() => connect(wsUrl(kit.baseUrl, `token=${kit.adminToken}&client=browser`)))
        const hello = yield* Effect.promise(() => client.until((f) => f.type === "hello"))
        const key = uniqueKey("ws.push")
        const id = yield* createPrompt({ key, content: "x", env: "prod" })
        yield* publish(id)
        const created = yield* Effect.promise(() => client.until((f) => f.type === "prompt.created" && f.key === key))
        const published = yield* Effect.promise(() => client.until((f) => f.type === "prompt.published" && f.key === key))
        assert.strictEqual(published.env, "prod")
        assert.strictEqual(published.version, "v1")
        assert.isTrue(published.served)
        assert.isAbove(created.seq, hello.seq)
        assert.strictEqual(published.seq, created.seq + 1)

        const listed = yield* call<{ data: ReadonlyArray<{ id: string; client_type: string; namespace: string }> }>("GET", "/api/clients")
        assert.strictEqual(listed.status, 200)
        const me = listed.body.data.find((c) => c.id === hello.client_id)
        assert.strictEqual(me?.client_type, "browser")
        client.close()
        yield* Effect.promise(() => client.closed)
        // Gone from the list once closed.
        let stillListed = true
        for (let i = 0; i < 50 && stillListed; i++) {
          const again = yield* call<{ data: ReadonlyArray<{ id: string }> }>("GET", "/api/clients")
          stillListed = again.body.data.some((c) => c.id === hello.client_id)
          if (stillListed) yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
        }
        assert.isFalse(stillListed)
      }))

    it.effect("filters by namespace, and spares SDKs the edits that change nothing they are served", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const dev = yield* Effect.promise(() => connect(wsUrl(kit.baseUrl, `token=${kit.adminToken}&client=node-sdk&namespace=dev&app=svc`)))
        yield* Effect.promise(() => dev.until((f) => f.type === "hello"))
        // A published-only workspace: saves change nothing SDKs are served, so SDKs miss them.
        const workspace = uniqueKey("ws.gated")
        assert.strictEqual((yield* call("PUT", `/api/prompts/settings?workspace=${workspace}`, { body: { serving: "published" } })).status, 200)
        const key = uniqueKey("ws.filter")
        const prodId = yield* createPrompt({ key, content: "p", env: "prod", workspace_id: workspace })
        yield* publish(prodId)
        const devId = yield* createPrompt({ key, content: "d", env: "dev", workspace_id: workspace })
        yield* call("PUT", `/api/prompts/${devId}`, { body: { content: "d2" } })
        yield* publish(devId)
        const devPublished = yield* Effect.promise(() => dev.until((f) => f.type === "prompt.published" && f.key === key))
        assert.strictEqual(devPublished.env, "dev")
        const forKey = dev.frames().filter((f) => f.key === key)
        assert.deepStrictEqual(forKey.map((f) => [f.type, f.env]), [["prompt.published", "dev"]])

        // The default workspace serves the working copy: every save reaches SDKs.
        const liveKey = uniqueKey("ws.live")
        const liveId = yield* createPrompt({ key: liveKey, content: "d", env: "dev" })
        yield* call("PUT", `/api/prompts/${liveId}`, { body: { content: "d2" } })
        yield* Effect.promise(() => dev.until((f) => f.type === "prompt.updated" && f.key === liveKey))
        assert.deepStrictEqual(
          dev.frames().filter((f) => f.key === liveKey).map((f) => [f.type, f.env, f.served]),
          [["prompt.created", "dev", true], ["prompt.updated", "dev", true]]
        )

        const listed = yield* call<{ data: ReadonlyArray<{ client_type: string; namespace: string; app: string }> }>("GET", "/api/clients")
        assert.isTrue(listed.body.data.some((c) => c.client_type === "node-sdk" && c.namespace === "dev" && c.app === "svc"))
        dev.close()
      }))

    it.effect("replays what a reconnecting client missed after ?since=<seq>", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const first = yield* Effect.promise(() => connect(wsUrl(kit.baseUrl, `token=${kit.adminToken}`)))
        const hello = yield* Effect.promise(() => first.until((f) => f.type === "hello"))
        first.close()
        yield* Effect.promise(() => first.closed)
        const key = uniqueKey("ws.missed")
        const id = yield* createPrompt({ key, content: "m", env: "prod" })
        yield* publish(id)
        const second = yield* Effect.promise(() => connect(wsUrl(kit.baseUrl, `token=${kit.adminToken}&since=${hello.seq}`)))
        const missed = yield* Effect.promise(() => second.until((f) => f.type === "prompt.published" && f.key === key))
        assert.strictEqual(missed.version, "v1")
        assert.isTrue(second.frames().some((f) => f.type === "prompt.created" && f.key === key))
        second.close()
      }))

    it.effect("sends a gap frame first when what a reconnecting client missed was pruned", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const sql = yield* SqlClient.SqlClient
        const stream = changesStream("org_default")
        const first = yield* Effect.promise(() => connect(wsUrl(kit.baseUrl, `token=${kit.adminToken}`)))
        const hello = yield* Effect.promise(() => first.until((f) => f.type === "hello"))
        first.close()
        yield* Effect.promise(() => first.closed)
        // Missed while away: prompt.created (hello.seq + 1), then prompt.published (+ 2).
        const key = uniqueKey("ws.pruned")
        yield* publish(yield* createPrompt({ key, content: "p", env: "prod" }))
        // Age the organization's change events past retention; the background job deletes all
        // but the newest.
        yield* sql`UPDATE trellis.events SET created_at = now() - interval '30 days' WHERE stream = ${stream}`
        for (let i = 0; i < 150; i++) {
          const [oldest] = yield* sql<{ readonly seq: number | string | bigint }>`
            SELECT min(seq) AS seq FROM trellis.events WHERE stream = ${stream}`
          if (Number(oldest?.seq) === hello.seq + 2) break
          yield* pause(100)
        }

        const second = yield* Effect.promise(() => connect(wsUrl(kit.baseUrl, `token=${kit.adminToken}&since=${hello.seq}`)))
        const published = yield* Effect.promise(() => second.until((f) => f.type === "prompt.published" && f.key === key))
        const frames = second.frames().map((f) => f as typeof f & { readonly from?: number; readonly to?: number })
        assert.deepStrictEqual(
          frames.slice(0, 3).map((f) => [f.type, f.seq, f.from, f.to]),
          [
            ["hello", hello.seq + 2, undefined, undefined],
            ["gap", hello.seq + 1, hello.seq + 1, hello.seq + 1],
            ["prompt.published", hello.seq + 2, undefined, undefined]
          ]
        )
        assert.strictEqual(published.version, "v1")
        // Without `since`, or from the oldest kept change on, there is no gap.
        second.close()
        const third = yield* Effect.promise(() => connect(wsUrl(kit.baseUrl, `token=${kit.adminToken}&since=${hello.seq + 1}`)))
        yield* Effect.promise(() => third.until((f) => f.type === "prompt.published" && f.key === key))
        assert.isFalse(third.frames().some((f) => f.type === "gap"))
        third.close()
      }))

    it.effect("refuses a handshake without a valid token", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const refused = yield* Effect.promise(() =>
          connect(wsUrl(kit.baseUrl, "token=not-a-valid-token")).then(() => "open", (error: Error) => error.message)
        )
        assert.include(refused, "failed")
        const plain = yield* call<{ code: string }>("GET", "/ws", { token: null })
        assert.strictEqual(plain.status, 401)
        assert.strictEqual(plain.body.code, "UNAUTHORIZED")
      }))

    it.effect.skipIf(sdkDir === undefined || sdkDir === "")(
      "runs the PromptOps Node SDK unchanged: fetch, render, hot reload",
      () =>
        Effect.gen(function*() {
          const kit = yield* TestKit.TrellisTest
          const entry = pathToFileURL(NodePath.resolve(sdkDir ?? "", "src/index.js")).href
          const sdk = yield* Effect.promise(() => import(entry) as Promise<SdkModule>)
          const key = uniqueKey("sdk.demo")
          const id = yield* createPrompt({ key, name: "SDK Demo", content: "Hello {{name}}, v1", env: "prod", model: "gpt-4o" })
          yield* publish(id)
          const client = new sdk.PromptOpsClient({ server: kit.baseUrl, namespace: "prod", token: kit.adminToken, appName: "trellis-test" })
          const rendered = yield* Effect.promise(() => client.render(key, { name: "Ada" }))
          assert.strictEqual(rendered, "Hello Ada, v1")
          const updated = new Promise<{ key: string; event: string; prompt: { version: string } }>((resolve) =>
            client.on("update", resolve)
          )
          const connected = new Promise<void>((resolve) => client.on("connect", () => resolve()))
          client.watch()
          yield* Effect.promise(() => connected)
          yield* call("PUT", `/api/prompts/${id}`, { body: { content: "Hello {{name}}, v2" } })
          yield* publish(id)
          const event = yield* Effect.promise(() => updated)
          assert.strictEqual(event.key, key)
          assert.strictEqual(event.event, "prompt.published")
          assert.strictEqual(event.prompt.version, "v2")
          assert.strictEqual(yield* Effect.promise(() => client.render(key, { name: "Ada" })), "Hello Ada, v2")
          const listed = yield* call<{ data: ReadonlyArray<{ client_type: string; app: string }> }>("GET", "/api/clients")
          assert.isTrue(listed.body.data.some((c) => c.client_type === "node-sdk" && c.app === "trellis-test"))
          client.close()
        })
    )
  })
})
