/**
 * `npm run build:package`: builds the npm package of Trellis in `build/package/` (and, with
 * `--pack`, the tarball `build/trellis-<version>.tgz`).
 *
 * Node refuses to strip types from `.ts` files under `node_modules`, so the package ships
 * JavaScript with `.d.ts` declarations: tsc compiles `src/` and `plugins/` with
 * `tsconfig.build.json` (imports' `.ts` extensions become `.js`), and this script writes the
 * package's own `package.json` (its `exports` point at the JavaScript), its `bin/trellis.js`
 * and README. The repository keeps running on the `.ts` sources (`npm start`, `npm test`).
 * Migrations and web assets are TypeScript modules, so nothing else needs copying.
 *
 * Run with node (Node 24.21+).
 */
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const out = Path.join(root, "build", "package")
const require = createRequire(import.meta.url)
const step = (text: string) => process.stdout.write(`build-package: ${text}\n`)
const started = Date.now()

interface Manifest {
  readonly name: string
  readonly version: string
  readonly description: string
  readonly license: string
  readonly dependencies: Readonly<Record<string, string>>
}
const manifest = JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8")) as Manifest

Fs.rmSync(out, { recursive: true, force: true })

// 1. JavaScript and declarations.
const tsc = Path.join(Path.dirname(require.resolve("typescript/package.json")), "bin", "tsc")
execFileSync(process.execPath, [tsc, "-p", Path.join(root, "tsconfig.build.json")], { stdio: "inherit", cwd: root })
step("compiled src/ and plugins/ to JavaScript with declarations")

// 2. The `trellis` command, importing the compiled entry point.
const bin = Fs.readFileSync(Path.join(root, "bin", "trellis.js"), "utf8")
if (!bin.includes(`"../src/main.ts"`)) throw new Error("bin/trellis.js no longer imports ../src/main.ts: update build-package.ts")
Fs.mkdirSync(Path.join(out, "bin"), { recursive: true })
Fs.writeFileSync(Path.join(out, "bin", "trellis.js"), bin.replace(`"../src/main.ts"`, `"../src/main.js"`), { mode: 0o755 })

// 3. The package manifest: the same public entry points as the repository's, as JavaScript.
const entry = (file: string) => ({ types: `./${file}.d.ts`, default: `./${file}.js` })
const pkg = {
  name: manifest.name,
  version: manifest.version,
  description: manifest.description,
  license: manifest.license,
  type: "module",
  engines: { node: ">=24" },
  bin: { trellis: "bin/trellis.js" },
  exports: {
    "./plugin": entry("src/plugin/index"),
    "./contract": entry("src/plugin/contract"),
    "./testing": entry("src/testing/index"),
    "./client": entry("plugins/client"),
    "./package.json": "./package.json"
  },
  dependencies: manifest.dependencies
}
Fs.writeFileSync(Path.join(out, "package.json"), JSON.stringify(pkg, null, 2) + "\n")
Fs.copyFileSync(Path.join(root, "README.md"), Path.join(out, "README.md"))
step(`wrote ${Path.relative(root, out)} (${manifest.name}@${manifest.version}) in ${((Date.now() - started) / 1000).toFixed(1)}s`)

// 4. Optionally the tarball, next to the folder.
if (process.argv.includes("--pack")) {
  const name = execFileSync("npm", ["pack", "--silent", "--pack-destination", Path.dirname(out), out], {
    cwd: root,
    encoding: "utf8"
  }).trim().split("\n").pop()
  step(`packed build/${name}`)
}
