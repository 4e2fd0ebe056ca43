/**
 * Server parameters a plugin declares (`Plugin.params`): they join the platform's at
 * `/api/settings/server-params` with their defaults and checks, and a key declared twice stops
 * the start.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import * as TestKit from "trellis/testing"
import { Plugin } from "trellis/plugin"
import type { ServerParam } from "trellis/plugin"

const paramsPlugin = (id: string, params: ReadonlyArray<ServerParam.Declaration>) =>
  Plugin.make({ id, version: "1.0.0", description: id, groups: [], migrations: [], params, layer: Layer.empty })

const limit: ServerParam.Declaration = {
  key: "paramtest.maxItems",
  type: "integer",
  default: 5,
  min: 1,
  max: 10,
  description: "How many items a run may make."
}

interface View {
  readonly data: Record<string, unknown>
  readonly meta: { readonly params: ReadonlyArray<{ readonly key: string; readonly default: unknown; readonly min: number | null }> }
}

describe("server parameters declared by a plugin", () => {
  layer(TestKit.layer({ plugins: [paramsPlugin("paramtest", [limit])] }), { timeout: 120_000 })((it) => {
    it.effect("served with the platform's, defaulted and checked", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const read = yield* kit.request("GET", "/api/settings/server-params")
        assert.strictEqual(read.status, 200)
        const view = (yield* read.json) as unknown as View
        assert.strictEqual(view.data["paramtest.maxItems"], 5)
        assert.strictEqual(view.data["safety.autoGitPush"], false)
        assert.strictEqual(view.meta.params.find((p) => p.key === "paramtest.maxItems")?.min, 1)
        const tooMany = yield* kit.request("PUT", "/api/settings/server-params", { body: { "paramtest.maxItems": 11 } })
        assert.strictEqual(tooMany.status, 422)
        const fraction = yield* kit.request("PUT", "/api/settings/server-params", { body: { "paramtest.maxItems": 2.5 } })
        assert.strictEqual(fraction.status, 422)
        const set = yield* kit.request("PUT", "/api/settings/server-params", { body: { "paramtest.maxItems": 7 } })
        assert.strictEqual(set.status, 200)
        assert.strictEqual(((yield* set.json) as unknown as View).data["paramtest.maxItems"], 7)
      }))
  })

  it.effect("a key declared twice stops the start, naming it", () =>
    Effect.gen(function*() {
      const twice = paramsPlugin("paramtwice", [{ ...limit, key: "safety.autoGitPush", type: "boolean", default: true }])
      const exit = yield* Effect.exit(Effect.scoped(Layer.build(TestKit.layer({ plugins: [twice] }))))
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "safety.autoGitPush")
    }), 120_000)
})
