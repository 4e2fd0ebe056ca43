/**
 * Live streams over real HTTP: a client that disconnects and comes back with `Last-Event-ID`
 * receives exactly the events it missed, then follows live; heartbeats keep idle streams open.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "../../src/testing/TestKit.ts"
import { HelloPlugin } from "../../examples/hello-plugin/Plugin.ts"
import { connect, eventIds } from "./sseClient.ts"

describe("live streams (SSE)", () => {
  layer(TestKit.layer({ plugins: [HelloPlugin], config: { sseHeartbeatSeconds: 1 } }), { timeout: 120_000 })((it) => {
    it.effect("resuming with Last-Event-ID yields exactly the missed events, then live ones", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const auth = { authorization: `Bearer ${kit.adminToken}` }
        const greet = (name: string) =>
          kit.request("POST", "/api/hello/greetings", { body: { name } }).pipe(
            Effect.tap((r) => Effect.sync(() => assert.strictEqual(r.status, 201)))
          )

        const first = yield* Effect.promise(() => connect(`${kit.baseUrl}/api/hello/events`, auth))
        assert.strictEqual(first.status, 200)
        assert.include(first.contentType ?? "", "text/event-stream")
        for (const name of ["a", "b", "c"]) yield* greet(name)
        yield* Effect.promise(() => first.until((frames) => eventIds(frames).includes(3)))
        first.close()
        assert.deepStrictEqual(eventIds(first.frames()), [1, 2, 3])

        // Missed while disconnected.
        yield* greet("d")
        yield* greet("e")

        const second = yield* Effect.promise(() =>
          connect(`${kit.baseUrl}/api/hello/events`, { ...auth, "last-event-id": "3" })
        )
        yield* Effect.promise(() => second.until((frames) => eventIds(frames).includes(5)))
        yield* greet("f")
        const frames = yield* Effect.promise(() => second.until((f) => eventIds(f).includes(6)))
        assert.deepStrictEqual(eventIds(frames), [4, 5, 6])
        const data = frames.filter((f) => f.id !== undefined).map((f) => JSON.parse(f.data ?? "null") as { name: string })
        assert.deepStrictEqual(data.map((d) => d.name), ["d", "e", "f"])
        assert.strictEqual(frames.find((f) => f.id === "4")?.event, "greeting.created")

        // An idle stream gets heartbeat comments at the configured interval.
        const withPing = yield* Effect.promise(() => second.until((f) => f.some((x) => x.comment === "ping"), 5_000))
        assert.isTrue(withPing.some((x) => x.comment === "ping"))
        second.close()
      }))

    it.effect("needs a token", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const response = yield* kit.request("GET", "/api/hello/events", { token: null })
        assert.strictEqual(response.status, 401)
      }))
  })
})
