/**
 * The platform's layering, read from the sources: `src/` knows no plugin (only the entry point
 * `src/main.ts` imports `plugins/`, to hand the first-party list to the CLI), and only the
 * modules above the server (the CLI, the test kit, the entry point) import `src/server/`: the
 * HTTP pipeline, events, identity and the plugin contract use lower modules (`src/runtime/`).
 */
import { assert, describe, it } from "@effect/vitest"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"

const sourcesUnder = (dir: string): Array<string> =>
  NodeFs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = NodePath.join(dir, entry.name)
    return entry.isDirectory() ? sourcesUnder(path) : path.endsWith(".ts") ? [path] : []
  })

/** Every relative module a file imports (type imports included), resolved from the repository root. */
const importsOf = (file: string): Array<string> => {
  const source = NodeFs.readFileSync(file, "utf8")
  const found: Array<string> = []
  for (const match of source.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/gms)) {
    found.push(NodePath.normalize(NodePath.join(NodePath.dirname(file), match[1])))
  }
  for (const match of source.matchAll(/import\(\s*"(\.[^"]+)"\s*\)/g)) {
    found.push(NodePath.normalize(NodePath.join(NodePath.dirname(file), match[1])))
  }
  return found
}

const aboveServer = new Set(["src/main.ts", "src/cli/Cli.ts", "src/testing/TestKit.ts"])

describe("layering", () => {
  const files = sourcesUnder("src")

  it("reads the sources", () => {
    assert.isAbove(files.length, 50)
    assert.include(importsOf("src/main.ts"), NodePath.normalize("plugins/index.ts"))
  })

  it("src/ imports no plugin (the entry point passes the first-party list in)", () => {
    const slips = files.filter((f) => f !== "src/main.ts").flatMap((f) =>
      importsOf(f).filter((target) => target.startsWith(`plugins${NodePath.sep}`)).map((target) => `${f} imports ${target}`)
    )
    assert.deepStrictEqual(slips, [])
  })

  it("only the server itself and the modules above it import src/server/", () => {
    const server = `src${NodePath.sep}server${NodePath.sep}`
    const slips = files.filter((f) => !f.startsWith(server) && !aboveServer.has(f)).flatMap((f) =>
      importsOf(f).filter((target) => target.startsWith(server)).map((target) => `${f} imports ${target}`)
    )
    assert.deepStrictEqual(slips, [])
  })
})
