/**
 * `npm run build:binary`: builds `dist/trellis`, one executable holding the server, its
 * dependencies and the embedded database (a Node single executable application).
 *
 *   1. esbuild bundles `src/main.ts` into one CommonJS file (a SEA's main script must be CJS on
 *      Node 24); `import.meta.url`, undefined in CJS, becomes the executable's file URL.
 *   2. `node --experimental-sea-config` makes the preparation blob, with PGlite's `pglite.wasm`,
 *      `initdb.wasm` and `pglite.data` as assets (src/database/Embedded.ts reads them back).
 *   3. postject injects the blob into a copy of the Node binary running this script (the npm
 *      `node` package's Node 24, when run through npm).
 *   4. The distribution archive beside it: `dist/trellis-<platform>-<arch>.tar.xz` (tar and xz
 *      from PATH), or `dist/trellis.br` (Node's own brotli) when either is missing; `--no-archive`
 *      skips it (it takes a minute or two).
 *
 * What keeps it small: esbuild minifies the bundle (names kept: errors and logs print them);
 * the docs page's Scalar bundle (3.2 MB of JavaScript) is an asset compressed with brotli,
 * inflated on the first `GET /docs`; Effect's Swagger UI bundle (1.9 MB, never served) is left
 * out; Node's symbols are stripped when `strip` is on PATH.
 *
 * Prints the executable's size, its gzip-compressed size and the archive's size. Run with node
 * (Node 24.21+).
 */
import * as esbuild from "esbuild"
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"
import { pipeline } from "node:stream/promises"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as Zlib from "node:zlib"
import { serverNodeArgs } from "../bench/server-node-args.ts"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const dist = Path.join(root, "dist")
const work = Path.join(dist, "sea")
const output = Path.join(dist, "trellis")
const require = createRequire(import.meta.url)

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`
const step = (text: string) => process.stdout.write(`build-binary: ${text}\n`)
const started = Date.now()

Fs.rmSync(work, { recursive: true, force: true })
Fs.mkdirSync(work, { recursive: true })

// 1. One CommonJS file. Effect's `HttpApiScalar` imports the Scalar bundle (one exported
// string) when `/docs` is first built; in the binary that module reads it from an asset.
const scalarSource = Path.join(Path.dirname(require.resolve("effect/package.json")), "dist/http-api/internal/httpApiScalar.js")
const scalarModule: unknown = await import(pathToFileURL(scalarSource).href)
const scalarJavascript = typeof scalarModule === "object" && scalarModule !== null && "javascript" in scalarModule ? scalarModule.javascript : undefined
if (typeof scalarJavascript !== "string") throw new Error(`no \`javascript\` string exported by ${scalarSource}`)
const scalarAssetFile = Path.join(work, "scalar.js.br")
Fs.writeFileSync(scalarAssetFile, Zlib.brotliCompressSync(Buffer.from(scalarJavascript, "utf8"), {
  params: { [Zlib.constants.BROTLI_PARAM_QUALITY]: 11, [Zlib.constants.BROTLI_PARAM_MODE]: Zlib.constants.BROTLI_MODE_TEXT }
}))
const scalarAsset: esbuild.Plugin = {
  name: "trellis-scalar-asset",
  setup: (build) => {
    build.onLoad({ filter: /[\\/]http-api[\\/]internal[\\/]httpApiScalar\.js$/ }, () => ({
      loader: "js",
      contents: [
        "import { getRawAsset } from \"node:sea\"",
        "import { brotliDecompressSync } from \"node:zlib\"",
        "export const javascript = brotliDecompressSync(new Uint8Array(getRawAsset(\"scalar.js.br\"))).toString(\"utf8\")"
      ].join("\n")
    }))
    // Effect's Swagger UI page (1.9 MB, the same kind of string) is never served by Trellis: left out.
    build.onLoad({ filter: /[\\/]http-api[\\/]internal[\\/]httpApiSwagger\.js$/ }, () => ({
      loader: "js",
      contents: "throw new Error(\"Swagger UI is not part of the Trellis binary: /docs serves the API reference\")"
    }))
  }
}
step(`Scalar bundle ${mb(Buffer.byteLength(scalarJavascript))} -> ${mb(Fs.statSync(scalarAssetFile).size)} brotli`)

const main = Path.join(work, "main.cjs")
await esbuild.build({
  entryPoints: [Path.join(root, "src/main.ts")],
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node24",
  outfile: main,
  minify: true,
  keepNames: true,
  legalComments: "none",
  logLevel: "warning",
  plugins: [scalarAsset],
  define: { "import.meta.url": "__trellis_import_meta_url" },
  banner: { js: "var __trellis_import_meta_url = require(\"node:url\").pathToFileURL(__filename).href;" }
})
step(`bundled src/main.ts (${mb(Fs.statSync(main).size)})`)

// 2. The preparation blob, with PGlite's files as assets.
const pgliteDist = Path.dirname(require.resolve("@electric-sql/pglite"))
const assets = {
  ...Object.fromEntries(
    ["pglite.wasm", "initdb.wasm", "pglite.data"].map((name) => {
      const file = Path.join(pgliteDist, name)
      if (!Fs.existsSync(file)) throw new Error(`PGlite asset not found: ${file}`)
      return [name, file]
    })
  ),
  "scalar.js.br": scalarAssetFile
}
const blob = Path.join(work, "sea-prep.blob")
const seaConfig = Path.join(work, "sea-config.json")
Fs.writeFileSync(
  seaConfig,
  // `npm start`'s node flags, baked in (NODE_OPTIONS can still add to them).
  JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, execArgv: serverNodeArgs, assets }, null, 2)
)
execFileSync(process.execPath, ["--experimental-sea-config", seaConfig], { stdio: "inherit" })
step(`SEA blob ${mb(Fs.statSync(blob).size)} (node ${process.version})`)

// 3. Inject into a copy of this Node binary.
Fs.rmSync(output, { force: true })
Fs.copyFileSync(process.execPath, output)
Fs.chmodSync(output, 0o755)
// Node's debug symbols are a sixth of the binary (126 -> 108 MB); strip them when binutils are here.
try {
  execFileSync("strip", [output], { stdio: "ignore" })
  step("stripped the Node binary's symbols")
} catch {
  step("no `strip` on PATH: the Node binary keeps its symbols")
}
const postject = Path.join(Path.dirname(require.resolve("postject/package.json")), "dist/cli.js")
execFileSync(process.execPath, [
  postject,
  output,
  "NODE_SEA_BLOB",
  blob,
  "--sentinel-fuse",
  "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2"
], { stdio: ["ignore", "ignore", "pipe"] })

const size = Fs.statSync(output).size
let gzipped = 0
await pipeline(
  Fs.createReadStream(output),
  Zlib.createGzip({ level: 6 }),
  async function*(chunks: AsyncIterable<Buffer>) {
    for await (const chunk of chunks) gzipped += chunk.length
  }
)
Fs.rmSync(work, { recursive: true, force: true })
step(`wrote ${Path.relative(root, output)} in ${((Date.now() - started) / 1000).toFixed(1)}s`)
step(`size ${mb(size)}, gzip ${mb(gzipped)}`)

// 4. The distribution archive.
const onPath = (command: string): boolean => {
  try {
    execFileSync(command, ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}
if (process.argv.includes("--no-archive")) {
  step("no distribution archive (--no-archive)")
} else {
  const archiveStarted = Date.now()
  let archive: string
  for (const stale of Fs.readdirSync(dist).filter((name) => /^trellis(-[\w-]+\.tar\.xz|\.br)$/.test(name))) {
    Fs.rmSync(Path.join(dist, stale), { force: true })
  }
  if (onPath("tar") && onPath("xz")) {
    const tar = Path.join(dist, `trellis-${process.platform}-${process.arch}.tar`)
    execFileSync("tar", ["-C", dist, "-cf", tar, "trellis"], { stdio: "inherit" })
    execFileSync("xz", ["-6", "-T0", "-f", tar], { stdio: "inherit" })
    archive = `${tar}.xz`
  } else {
    archive = `${output}.br`
    await pipeline(
      Fs.createReadStream(output),
      Zlib.createBrotliCompress({
        params: { [Zlib.constants.BROTLI_PARAM_QUALITY]: 9, [Zlib.constants.BROTLI_PARAM_LGWIN]: 24, [Zlib.constants.BROTLI_PARAM_SIZE_HINT]: size }
      }),
      Fs.createWriteStream(archive)
    )
  }
  step(`archive ${Path.relative(root, archive)} ${mb(Fs.statSync(archive).size)} (${((Date.now() - archiveStarted) / 1000).toFixed(1)}s)`)
}
