/**
 * Memory under sustained load (`node bench/memory-load.ts`): starts `trellis serve` (embedded, or
 * PostgreSQL with DATABASE_URL) with the memory probe (`bench/memory-probe.mjs`, a collection
 * before every fifth sample), loads a mix of requests for MEMORY_SECONDS (default 60), then
 * stays idle MEMORY_IDLE_SECONDS (default 15), and prints RSS and its parts at start, end of
 * load and end of idle. The server gets `npm start`'s node flags (bench/server-node-args.ts),
 * then MEMORY_NODE_ARGS (e.g. `--max-semi-space-size=64` to see V8's default young generation
 * again: the last flag wins). Figures only; see the README (Databases
 * and operations).
 */
import autocannon from "autocannon"
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { serverNodeArgs } from "./server-node-args.ts"

const root = join(import.meta.dirname, "..")
const seconds = Number(process.env.MEMORY_SECONDS ?? "60")
const idleSeconds = Number(process.env.MEMORY_IDLE_SECONDS ?? "15")
const dir = mkdtempSync(join(tmpdir(), "trellis-memory-"))
const file = join(dir, "memory.jsonl")
const token = "memory-bench-admin-token-0123456789"
const port = 18000 + Math.floor(Math.random() * 2000)
const base = `http://127.0.0.1:${port}`
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// MEMORY_SNAPSHOTS=<dir>: heap snapshots there at ready and after the load (compare them in Chrome DevTools).
const snapshots = process.env.MEMORY_SNAPSHOTS
const snapshotArgs = snapshots === undefined ? [] : [`--heapsnapshot-signal=SIGUSR2`, `--diagnostic-dir=${snapshots}`]
const snapshot = async () => {
  if (snapshots === undefined) return
  child.kill("SIGUSR2")
  await sleep(15_000)
}
const nodeArgs = [...serverNodeArgs, ...(process.env.MEMORY_NODE_ARGS ?? "").split(/\s+/).filter((a) => a !== "")]
const child = spawn(process.execPath, ["--expose-gc", ...nodeArgs, ...snapshotArgs, "--import", "./bench/memory-probe.mjs", "src/main.ts", "serve"], {
  cwd: root,
  stdio: ["ignore", "ignore", "inherit"],
  env: {
    ...process.env,
    BENCH_MEMORY_FILE: file,
    BENCH_MEMORY_GC: "1",
    TRELLIS_PORT: String(port),
    TRELLIS_DATA_DIR: join(dir, "data"),
    TRELLIS_ADMIN_TOKEN: token,
    TRELLIS_LOG_LEVEL: "warn",
    TRELLIS_RATE_LIMIT_PER_MINUTE: "0",
    TRELLIS_PLUGINS: "./examples/hello-plugin/mod.ts"
  }
})

type Sample = { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number; wasmCreated: number; wasm: number; gc: boolean }
const lastCollected = (): Sample => {
  const lines = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Sample)
  return lines.filter((s) => s.gc).at(-1) ?? lines.at(-1)!
}
const show = (label: string) => {
  const s = lastCollected()
  console.log(`${label.padEnd(14)} RSS ${s.rss} MB | JS heap ${s.heapUsed}/${s.heapTotal} MB | external ${s.external} MB (PGlite WASM ${s.wasmCreated}, other WASM ${s.wasm}, buffers ${s.arrayBuffers})`)
}

try {
  for (let i = 0; ; i++) {
    if (i > 600) throw new Error("not ready")
    try {
      if ((await fetch(`${base}/ready`)).status === 200) break
    } catch {}
    await sleep(200)
  }
  const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" }
  const created = await (await fetch(`${base}/api/hello/greetings`, { method: "POST", headers: auth, body: JSON.stringify({ name: "m" }) })).json() as { id: string }
  await sleep(6000)
  show("ready")
  await snapshot()
  const result = await autocannon({
    url: base,
    connections: 20,
    duration: seconds,
    requests: [
      { method: "GET", path: "/api/plugins", headers: auth },
      { method: "GET", path: `/api/hello/greetings/${created.id}`, headers: auth },
      { method: "POST", path: "/api/hello/greetings", headers: auth, body: JSON.stringify({ name: "load" }) },
      { method: "GET", path: `/api/hello/greetings/${crypto.randomUUID()}`, headers: auth }
    ]
  })
  await sleep(6000)
  show("after load")
  await snapshot()
  console.log(`  ${result.requests.total} requests, ${Math.round(result.requests.average)} req/s, non-2xx ${result.non2xx}`)
  await sleep(idleSeconds * 1000)
  show("after idle")
  const series = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Sample).filter((s) => s.gc)
  console.log(`  JS heap after each collection (MB): ${series.map((s) => s.heapUsed).join(" ")}`)
  console.log(`  RSS at each collection (MB): ${series.map((s) => s.rss).join(" ")}`)
} finally {
  child.kill("SIGTERM")
  await new Promise((resolve) => child.once("exit", resolve))
  rmSync(dir, { recursive: true, force: true })
}
