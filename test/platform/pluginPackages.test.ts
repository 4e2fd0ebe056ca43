/**
 * Plugins as packages, through the real `trellis` process: a plugin folder that installed its
 * own `effect` and `trellis` (here: stand-ins that throw when evaluated) still gets the host's
 * modules and answers its route; a plugin that would load a second copy of `effect` some other
 * way is refused at the start, with a message naming the plugin and both folders.
 */
import { spawnSync } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { afterAll, afterEach, assert, describe, it } from "vitest"
import { authorized, freshDataDir, killAll, start, stop, waitReady } from "./serverProcess.ts"

const root = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "trellis-plugin-pkg-"))
afterAll(() => NodeFs.rmSync(root, { recursive: true, force: true }))
afterEach(killAll)

const write = (path: string, text: string) => {
  const file = NodePath.join(root, path)
  NodeFs.mkdirSync(NodePath.dirname(file), { recursive: true })
  NodeFs.writeFileSync(file, text)
}

/** A package folder named `name` whose evaluation throws: a copy the process must never load. */
const standIn = (folder: string, name: string, exports: Record<string, string>) => {
  write(`${folder}/node_modules/${name}/package.json`, JSON.stringify({ name, type: "module", exports }))
  write(`${folder}/node_modules/${name}/index.js`, `throw new Error("the plugin's own copy of ${name} was loaded")\n`)
}

// The plugin: plain JavaScript, the way a built plugin package ships.
write("twin/package.json", JSON.stringify({ name: "twin", type: "module", peerDependencies: { effect: "*", trellis: "*" } }))
write(
  "twin/index.js",
  `import { Effect, Layer, Redacted, Schema } from "effect"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { Authentication, Requirement, Requires } from "trellis/contract"
import { Plugin } from "trellis/plugin"

class TwinGroup extends HttpApiGroup.make("twin").add(
  HttpApiEndpoint.get("ping", "/api/twin/ping", { success: Schema.Struct({ pong: Schema.String }) })
    .annotate(Requires, Requirement.read("twin"))
).middleware(Authentication) {}
class TwinApi extends HttpApi.make("twin").add(TwinGroup) {}
const secret = Redacted.make("pong")
const TwinHttp = HttpApiBuilder.group(TwinApi, "twin", (handlers) =>
  handlers.handle("ping", () => Effect.succeed({ pong: Redacted.value(secret) })))

export default Plugin.make({
  id: "twin", version: "1.0.0", description: "own copies installed", groups: [TwinGroup], migrations: [],
  scopes: ["twin:read"], layer: TwinHttp
})
`
)
standIn("twin", "effect", { ".": "./index.js", "./http-api": "./index.js" })
standIn("twin", "trellis", { "./plugin": "./index.js", "./contract": "./index.js" })

// A plugin whose helper, outside its folder, has its own `effect`.
write("vendor/package.json", JSON.stringify({ name: "vendor", type: "module" }))
write("vendor/helper.js", `export { Layer } from "effect"\n`)
standIn("vendor", "effect", { ".": "./index.js" })
write("stray/package.json", JSON.stringify({ name: "stray", type: "module" }))
write("stray/index.js", `import "../vendor/helper.js"\nexport { default } from "../twin/index.js"\n`)

describe("plugins as packages", () => {
  it("gives a plugin with its own effect and trellis the host's copies: its route answers", async () => {
    const server = await start({ TRELLIS_DATA_DIR: freshDataDir(), TRELLIS_PLUGINS: NodePath.join(root, "twin/index.js") })
    await waitReady(server)
    const response = await fetch(`${server.url}/api/twin/ping`, { headers: authorized })
    assert.strictEqual(response.status, 200, server.output())
    assert.deepStrictEqual(await response.json(), { pong: "pong" })
    const plugins = await fetch(`${server.url}/api/plugins`, { headers: authorized }).then((r) => r.json()) as {
      plugins: ReadonlyArray<{ id: string }>
    }
    assert.isTrue(plugins.plugins.some((p) => p.id === "twin"))
    await stop(server)
  }, 120_000)

  it("refuses a plugin that would load a second copy of effect, naming it and both folders", () => {
    const plugin = NodePath.join(root, "stray/index.js")
    const result = spawnSync(process.execPath, ["src/main.ts", "openapi"], {
      env: { ...process.env, TRELLIS_PLUGINS: plugin },
      encoding: "utf8"
    })
    assert.notStrictEqual(result.status, 0)
    const output = result.stdout + result.stderr
    assert.include(output, `plugin ${JSON.stringify(plugin)} would load a second copy of \`effect\``)
    assert.include(output, NodeFs.realpathSync(NodePath.join(root, "vendor/node_modules/effect")))
    assert.include(output, NodeFs.realpathSync(NodePath.resolve("node_modules/effect")))
    assert.notInclude(output, "was loaded")
  }, 60_000)
})
