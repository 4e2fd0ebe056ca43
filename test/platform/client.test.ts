/**
 * The typed client carries no server code: walking the static imports from `trellis/client`
 * (`plugins/client.ts`, which adds the first-party groups of `plugins/contract.ts` to
 * `src/client/Client.ts`) and from `trellis/contract` must reach only contract modules, which
 * import `effect` and each other, never the database drivers, Node built-ins or server modules.
 */
import { assert, describe, it } from "@effect/vitest"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"

const forbidden = [/^node:/, /^@effect\/sql-pg/, /^@electric-sql\//, /^@effect\/platform-node/, /^effect\/sql/, /^hash-wasm/, /^nodemailer/]

const selfExports: Record<string, string> = {
  "trellis/contract": "src/plugin/contract.ts",
  "trellis/client": "plugins/client.ts"
}

const importsOf = (file: string): Array<string> => {
  const source = NodeFs.readFileSync(file, "utf8")
  const specifiers: Array<string> = []
  for (const match of source.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+"([^"]+)"/gms)) specifiers.push(match[1])
  return specifiers
}

const walk = (entry: string) => {
  const seen = new Set<string>()
  const bad: Array<string> = []
  const queue = [entry]
  while (queue.length > 0) {
    const file = queue.pop()!
    if (seen.has(file)) continue
    seen.add(file)
    for (const specifier of importsOf(file)) {
      if (specifier.startsWith(".")) queue.push(NodePath.normalize(NodePath.join(NodePath.dirname(file), specifier)))
      else if (specifier in selfExports) queue.push(selfExports[specifier])
      else if (specifier.startsWith("trellis/")) bad.push(`${file} imports ${specifier} (use trellis/contract)`)
      else if (forbidden.some((pattern) => pattern.test(specifier))) bad.push(`${file} imports ${specifier}`)
    }
  }
  return { seen, bad }
}

describe("typed client", () => {
  it("has no server code in its import graph", () => {
    const { bad, seen } = walk("plugins/client.ts")
    assert.isAbove(seen.size, 10)
    assert.isTrue(seen.has("src/client/Client.ts") && seen.has(NodePath.normalize("plugins/prompts/Api.ts")), "walks the platform and plugin contracts")
    assert.deepStrictEqual(bad, [])
    for (const file of seen) {
      assert.notMatch(file, /(Live|Http|Server|Database|Migrations|EventLog)\.ts$/, `${file} is server code`)
    }
  })

  it("trellis/contract is client-safe too", () => {
    assert.deepStrictEqual(walk("src/plugin/contract.ts").bad, [])
  })
})
