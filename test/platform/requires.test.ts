/**
 * `requires`: a plugin names the plugins whose services its layer uses. The host refuses a
 * missing one by name at compose time (not Effect's "Service not found" at start), composes
 * every plugin after those it requires whatever the given order, and refuses a cycle.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { PlatformApi } from "trellis/client"
import * as TestKit from "trellis/testing"
import { Greetings } from "../../examples/hello-plugin/Greetings.ts"
import { HelloPlugin } from "../../examples/hello-plugin/Plugin.ts"
import * as Plugin from "../../src/plugin/Plugin.ts"
import * as Server from "../../src/server/Server.ts"

/** A plugin whose layer uses hello's `Greetings` at start: it fails unless hello is composed first. */
const greeter = Plugin.make({
  id: "greeter",
  version: "1.0.0",
  description: "uses hello's Greetings",
  groups: [],
  migrations: [],
  requires: ["hello"],
  layer: Layer.effectDiscard(Effect.gen(function*() {
    yield* Greetings
  }))
})

const bare = (id: string, requires: ReadonlyArray<string>) =>
  Plugin.make({ id, version: "1.0.0", description: id, groups: [], migrations: [], requires, layer: Layer.empty })

const idsOf = (plugins: ReadonlyArray<Plugin.Any>) =>
  Effect.map(Server.compose(plugins), (composition) => composition.plugins.map((p) => p.id))

describe("requires", () => {
  it.effect("a missing required plugin is refused by name", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Server.compose([greeter]))
      assert.strictEqual(error._tag, "PluginDependencyError")
      assert.include(error.message, "Plugin \"greeter\" requires plugin \"hello\", which is not loaded")
    }))

  it.effect("plugins are composed after those they require; the given order is kept otherwise", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(
        yield* idsOf([bare("c", ["b"]), bare("a", []), bare("b", ["a"]), bare("d", [])]),
        ["trellis", "audit", "identity", "jobs", "ai", "a", "b", "c", "d"]
      )
      assert.deepStrictEqual(yield* idsOf([bare("a", []), bare("b", [])]), ["trellis", "audit", "identity", "jobs", "ai", "a", "b"])
      // The platform's own plugins can be required too (they always come first).
      assert.deepStrictEqual(yield* idsOf([bare("a", ["audit", "identity"])]), ["trellis", "audit", "identity", "jobs", "ai", "a"])
    }))

  it.effect("a cycle is refused, naming its plugins", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Server.compose([bare("x", ["z"]), bare("y", ["x"]), bare("z", ["y"])]))
      assert.strictEqual(error._tag, "PluginDependencyError")
      assert.include(error.message, "cycle")
      for (const id of ["x", "y", "z"]) assert.include(error.message, `"${id}"`)
      const self = yield* Effect.flip(Server.compose([bare("s", ["s"])]))
      assert.include(self.message, "\"s\" -> \"s\"")
    }))

  it("a loaded module whose requires is not a list of ids is not taken for a plugin", () => {
    assert.isTrue(Plugin.isPlugin(greeter))
    assert.isFalse(Plugin.isPlugin({ ...greeter, requires: "hello" }))
    assert.isFalse(Plugin.isPlugin({ ...greeter, requires: [1] }))
  })

  it.effect("a duplicate id is still refused as a conflict", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Server.compose([bare("a", []), bare("a", [])]))
      assert.include(error.message, "plugin id \"a\"")
    }))
})

// Listed before the plugin it needs, the dependent plugin still starts: the host reorders.
describe("a server with a plugin listed before the one it requires", () => {
  layer(TestKit.layer({ plugins: [greeter, HelloPlugin] }), { timeout: 120_000 })((it) => {
    it.effect("starts, and /api/plugins lists them in dependency order", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const { plugins } = yield* (yield* kit.client(PlatformApi)).plugins.list()
        const ids = plugins.map((p) => p.id)
        assert.isBelow(ids.indexOf("hello"), ids.indexOf("greeter"))
        assert.isAbove(ids.indexOf("hello"), -1)
      }))
  })
})
