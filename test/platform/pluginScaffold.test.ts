/**
 * `trellis plugin new` as a user runs it (a real process): the package it writes, and the
 * names and folders it refuses without writing anything. That the package installs, tests
 * green, builds and serves is test/smoke/plugin-package-smoke.sh (CI), which needs the packed
 * trellis.
 */
import { spawnSync } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { afterAll, assert, describe, it } from "vitest"
import { ranges } from "../../src/cli/PluginTemplate.ts"

const root = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "trellis-scaffold-"))
afterAll(() => NodeFs.rmSync(root, { recursive: true, force: true }))

const trellis = (...args: ReadonlyArray<string>) => {
  const result = spawnSync(process.execPath, ["src/main.ts", ...args], { encoding: "utf8" })
  return { status: result.status, output: result.stdout + result.stderr }
}

const listFiles = (dir: string): ReadonlyArray<string> =>
  NodeFs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => NodePath.relative(dir, NodePath.join(e.parentPath, e.name)))
    .sort()

interface Manifest {
  readonly name: string
  readonly version: string
  readonly exports: Record<string, { readonly types: string; readonly default: string }>
  readonly scripts: Record<string, string>
  readonly peerDependencies: Record<string, string>
  readonly devDependencies: Record<string, string>
}

describe("trellis plugin new", () => {
  it("writes a plugin package: contract, service, handlers, migration, test, README, peer dependencies", () => {
    const result = trellis("plugin", "new", "@acme/trellis-plugin-crm-notes", "--directory", root)
    assert.strictEqual(result.status, 0, result.output)
    const folder = NodePath.join(root, "trellis-plugin-crm-notes")
    assert.deepStrictEqual(listFiles(folder), [
      ".gitignore",
      "README.md",
      "package.json",
      "src/Api.ts",
      "src/Domain.ts",
      "src/Errors.ts",
      "src/Http.ts",
      "src/Items.ts",
      "src/Plugin.ts",
      "src/migrations/0001_create_items.ts",
      "src/mod.ts",
      "test/globalSetup.ts",
      "test/plugin.test.ts",
      "tsconfig.build.json",
      "tsconfig.json",
      "vitest.config.ts"
    ])
    const manifest = JSON.parse(NodeFs.readFileSync(NodePath.join(folder, "package.json"), "utf8")) as Manifest
    assert.strictEqual(manifest.name, "@acme/trellis-plugin-crm-notes")
    assert.deepStrictEqual(Object.keys(manifest.peerDependencies).sort(), ["effect", "trellis"])
    assert.deepStrictEqual(manifest.exports["."], { types: "./dist/mod.d.ts", default: "./dist/mod.js" })
    assert.deepStrictEqual(Object.keys(manifest.scripts).sort(), ["build", "check", "test"])
    // the id comes from the name: its routes, scopes and schema
    const api = NodeFs.readFileSync(NodePath.join(folder, "src/Api.ts"), "utf8")
    assert.include(api, `"/api/crm_notes/items/:id"`)
    const plugin = NodeFs.readFileSync(NodePath.join(folder, "src/Plugin.ts"), "utf8")
    assert.include(plugin, `id: "crm_notes"`)
    assert.include(plugin, `export const CrmNotesPlugin = Plugin.make(`)
    for (const file of listFiles(folder)) {
      assert.notMatch(NodeFs.readFileSync(NodePath.join(folder, file), "utf8"), /__[A-Z_]+__/, `a placeholder is left in ${file}`)
    }
  })

  it("refuses a folder that is there, a name npm refuses and an id the host refuses, writing nothing", () => {
    const again = trellis("plugin", "new", "@acme/trellis-plugin-crm-notes", "--directory", root)
    assert.strictEqual(again.status, 1)
    assert.include(again.output, "already exists and is not empty")

    const badName = trellis("plugin", "new", "Not A Name", "--directory", root)
    assert.strictEqual(badName.status, 1)
    assert.include(badName.output, "is not an npm package name")

    const badId = trellis("plugin", "new", "my-audit", "--id", "audit", "--directory", root)
    assert.strictEqual(badId.status, 1)
    assert.include(badId.output, `the plugin id "audit" is not allowed`)

    assert.deepStrictEqual(NodeFs.readdirSync(root), ["trellis-plugin-crm-notes"])
  })

  it("pins a new plugin's dependencies to the ranges this repository builds and tests with", () => {
    const manifest = JSON.parse(NodeFs.readFileSync("package.json", "utf8")) as Manifest & {
      readonly dependencies: Record<string, string>
    }
    const all = { ...manifest.dependencies, ...manifest.devDependencies }
    assert.deepStrictEqual(ranges, {
      __TRELLIS_RANGE__: `^${manifest.version}`,
      __EFFECT_RANGE__: all["effect"],
      __EFFECT_VITEST_RANGE__: all["@effect/vitest"],
      __TYPES_NODE_RANGE__: all["@types/node"],
      __TYPESCRIPT_RANGE__: all["typescript"],
      __VITEST_RANGE__: all["vitest"]
    })
  })
})
