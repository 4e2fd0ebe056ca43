/**
 * The node flags `npm start` gives the server (package.json's `start` script, the one place
 * they are written): the benchmarks start their Trellis child with them, and the binary build
 * bakes them in (its SEA `execArgv`), so every measured or shipped server runs as `npm start`
 * does. Today that is `--max-semi-space-size=16`: see README "Memory".
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"

const start = (JSON.parse(readFileSync(join(import.meta.dirname, "..", "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts.start
const match = /\bnode((?:\s+--\S+)*)\s+src\/main\.ts\b/.exec(start)
if (match === null) throw new Error(`package.json's start script does not run "node [flags] src/main.ts": ${start}`)

export const serverNodeArgs: ReadonlyArray<string> = match[1].split(/\s+/).filter((s) => s !== "")
