/**
 * `GET /api/plugins` lists each plugin's migrations in the order they apply (by id), whatever
 * order the plugin declares them in: the platform's own list is assembled from two modules
 * (event log and idempotency) whose ids interleave.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { PlatformApi } from "../../src/client/Client.ts"
import * as Plugin from "../../src/plugin/Plugin.ts"
import * as TestKit from "../../src/testing/TestKit.ts"

const shuffled = Plugin.make({
  id: "shuffled",
  version: "1.0.0",
  description: "migrations declared out of order",
  groups: [],
  migrations: [
    { id: 3, name: "third", up: Effect.void },
    { id: 1, name: "first", up: Effect.void },
    { id: 2, name: "second", up: Effect.void }
  ],
  layer: Layer.empty
})

describe("GET /api/plugins", () => {
  layer(TestKit.layer({ plugins: [shuffled] }), { timeout: 120_000 })((it) => {
    it.effect("lists every plugin's migrations sorted by id", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const trellis = yield* kit.client(PlatformApi)
        const { plugins } = yield* trellis.plugins.list()
        const byId = new Map(plugins.map((p) => [p.id, p.migrations]))
        assert.deepStrictEqual(byId.get("shuffled"), ["1_first", "2_second", "3_third"])
        for (const plugin of plugins) {
          const ids = plugin.migrations.map((name) => Number.parseInt(name, 10))
          assert.deepStrictEqual(ids, [...ids].sort((a, b) => a - b), `${plugin.id}: ${plugin.migrations.join(", ")}`)
        }
        // The platform's own list interleaves two modules: it must still come out in order.
        assert.isAbove(byId.get("trellis")?.length ?? 0, 2)
      }))
  })
})
