/**
 * HTTP throughput benchmark: Trellis against a bare `node:http` baseline (`npm run bench`).
 *
 * Each server runs in its own child process (its CPU and RSS apart from the load generator);
 * autocannon in this process loads one server at a time, never two at once. Prints figures
 * only: it fails (exit 1) when something is broken (a server does not start, a probe or a run
 * sees non-2xx answers or socket errors), never on speed.
 *
 * Environment:
 *   BENCH_SECONDS           seconds per measured run (default 10; e.g. 3 for a quick run)
 *   BENCH_WARMUP_SECONDS    warm-up before each measured run, not counted (default 2)
 *   BENCH_CONNECTIONS       comma-separated connection counts (default 1,50)
 *   BENCH_REPEAT            measure each server this many times, alternating the servers'
 *                           order (default 1); the table and the ratios use each figure's
 *                           median. On a shared 2-core machine one run's CPU per request moves
 *                           by ±10%: use 5 or more to compare figures a few percent apart
 *   BENCH_ONLY              run only scenarios whose name contains this text
 *   BENCH_LOG_LEVELS        Trellis log levels to run, one server start each (default info,warn;
 *                           at info every request writes an access-log line)
 *   BENCH_TRELLIS_NODE_ARGS extra node flags for the Trellis child (after `npm start`'s own,
 *                           bench/server-node-args.ts), e.g.
 *                           "--cpu-prof --cpu-prof-dir=tmp/prof" (written when it stops)
 *   BENCH_REFERENCE_NODE_ARGS node flags for the bare and floor servers (default: `npm start`'s
 *                           own, so that every server runs under the same V8 settings; "" for
 *                           V8's defaults), e.g. "--cpu-prof --cpu-prof-dir=tmp/prof"
 *   BENCH_PIPELINE          set to 1 to add a round with the HTTP fast path off: the full
 *                           Effect pipeline on the same requests (see src/http/FastPath.ts)
 *   BENCH_KEEP_LOGS         set to 1 to keep the temp dir (server logs) and print its path
 *   BENCH_FLOOR             set to 1 to also load the framework floor (bench/floor-server.ts:
 *                           the smallest Effect HttpApi server with the same authenticated GET)
 *                           and print its ratio to bare: what Effect itself costs. Two floors
 *                           run: `floor` answers `Schema.Unknown`, `floor-typed` declares
 *                           Trellis's own `PluginList` (Effect encodes the answer, as for Trellis);
 *                           Trellis's CPU per request is printed against both (target 1.5 ×)
 * Other TRELLIS_* variables (e.g. TRELLIS_LOG_FORMAT=json) pass through to the Trellis child.
 *
 * To add a scenario (e.g. a prompts SDK fetch), append to `scenarios` below: `prepare` creates
 * its fixtures through the API once per server start and returns the request to load.
 */
import autocannon from "autocannon"
import { spawn, type ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { cpus, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { serverNodeArgs } from "./server-node-args.ts"

// ---------------------------------------------------------------------------------------------
// Settings

const intFromEnv = (name: string, fallback: number, min: number): number => {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === "") return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got "${raw}"`)
  return value
}

const listFromEnv = (name: string, fallback: string): Array<string> =>
  (process.env[name] ?? fallback).split(",").map((s) => s.trim()).filter((s) => s !== "")

const root = join(import.meta.dirname, "..")
const seconds = intFromEnv("BENCH_SECONDS", 10, 1)
const warmupSeconds = intFromEnv("BENCH_WARMUP_SECONDS", 2, 0)
const connectionCounts = listFromEnv("BENCH_CONNECTIONS", "1,50").map((s) => {
  const n = Number(s)
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_CONNECTIONS: bad count "${s}"`)
  return n
})
const only = process.env.BENCH_ONLY ?? ""
const repeat = intFromEnv("BENCH_REPEAT", 1, 1)
const logLevels = listFromEnv("BENCH_LOG_LEVELS", "info,warn")
const withPipeline = process.env.BENCH_PIPELINE === "1"
/**
 * One round per Trellis start: one per log level, and with `BENCH_PIPELINE=1` one more at
 * info with the fast path off (`TRELLIS_HTTP_FAST_PATH=false`), which shows what the full
 * Effect pipeline costs on the same requests.
 */
const rounds: ReadonlyArray<{ readonly label: string; readonly logLevel: string; readonly fastPath: boolean }> = [
  ...logLevels.map((logLevel) => ({ label: logLevel, logLevel, fastPath: true })),
  ...(withPipeline ? [{ label: "info,nofast", logLevel: "info", fastPath: false }] : [])
]
/** `npm start`'s node flags, then BENCH_TRELLIS_NODE_ARGS. */
const trellisNodeArgs = [...serverNodeArgs, ...(process.env.BENCH_TRELLIS_NODE_ARGS ?? "").split(/\s+/).filter((s) => s !== "")]
/** The bare and floor servers run under `npm start`'s flags too (its young-generation size changes GC cost). */
const referenceNodeArgs = process.env.BENCH_REFERENCE_NODE_ARGS === undefined
  ? serverNodeArgs
  : process.env.BENCH_REFERENCE_NODE_ARGS.split(/\s+/).filter((s) => s !== "")
const keepLogs = process.env.BENCH_KEEP_LOGS === "1"
const withFloor = process.env.BENCH_FLOOR === "1"
const readyTimeoutMs = 180_000
const token = `bench-${randomBytes(24).toString("base64url")}`
const ratioTarget = 0.6

// ---------------------------------------------------------------------------------------------
// Scenarios: the hook for later issues

type ServerKind = "trellis" | "bare" | "floor" | "floor-typed"

interface Target {
  readonly kind: ServerKind
  /** e.g. `trellis(log=info)`, `bare`, `floor` or `floor-typed` */
  readonly label: string
  readonly baseUrl: string
  readonly token: string
  readonly pid: number
}

interface RequestSpec {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string
}

interface Scenario {
  readonly name: string
  readonly runsOn: ReadonlyArray<ServerKind>
  /** The Trellis/bare req/s ratio this scenario must reach at 50 connections (default 0.6). */
  readonly ratioTarget?: number
  /** Runs once per server start, before its runs: create fixtures, return the request to load. */
  readonly prepare: (target: Target) => Promise<RequestSpec>
}

const bearer = (target: Target): Record<string, string> => ({ authorization: `Bearer ${target.token}` })

/** Creates a prompt (a new key per call: the rounds share one database) and returns its id. */
const createPrompt = async (target: Target): Promise<string> => {
  const key = `bench-row-${randomBytes(4).toString("hex")}`
  const response = await fetch(`${target.baseUrl}/api/prompts`, {
    method: "POST",
    headers: { ...bearer(target), "content-type": "application/json" },
    body: JSON.stringify({ key, name: "Bench row", env: "prod", content: "Hello {{name}}" })
  })
  const text = await response.text()
  if (response.status >= 300) throw new Error(`creating a prompt answered ${response.status}: ${text}`)
  const parsed: unknown = JSON.parse(text)
  const data = typeof parsed === "object" && parsed !== null && "data" in parsed ? parsed.data : parsed
  const id = typeof data === "object" && data !== null && "id" in data ? data.id : undefined
  if (typeof id !== "string" && typeof id !== "number") throw new Error(`creating a prompt returned no id: ${text}`)
  return String(id)
}

const scenarios: ReadonlyArray<Scenario> = [
  {
    name: "GET /api/plugins",
    runsOn: ["bare", "floor", "floor-typed", "trellis"], // the Trellis/bare (and floor) ratios are printed
    prepare: async (target) => ({ method: "GET", path: "/api/plugins", headers: bearer(target) })
  },
  {
    name: "GET /api/hello/greetings/:id",
    runsOn: ["trellis"],
    prepare: async (target) => {
      const response = await fetch(`${target.baseUrl}/api/hello/greetings`, {
        method: "POST",
        headers: { ...bearer(target), "content-type": "application/json" },
        body: JSON.stringify({ name: "bench" })
      })
      const text = await response.text()
      if (response.status !== 201) throw new Error(`creating a greeting answered ${response.status}: ${text}`)
      const created: unknown = JSON.parse(text)
      const id = typeof created === "object" && created !== null && "id" in created ? created.id : undefined
      if (typeof id !== "string") throw new Error(`creating a greeting returned no id: ${text}`)
      return { method: "GET", path: `/api/hello/greetings/${encodeURIComponent(id)}`, headers: bearer(target) }
    }
  },
  {
    // A database read through the full pipeline (no fast route serves it): one prompt by id.
    name: "GET /api/prompts/:id (DB read)",
    runsOn: ["trellis"],
    prepare: async (target) => {
      const id = await createPrompt(target)
      return { method: "GET", path: `/api/prompts/${encodeURIComponent(id)}`, headers: bearer(target) }
    }
  },
  {
    // A database write through the full pipeline: a PUT renaming one prompt (an UPDATE and its
    // audit entry in one transaction).
    name: "PUT /api/prompts/:id (DB write)",
    runsOn: ["trellis"],
    prepare: async (target) => {
      const id = await createPrompt(target)
      return {
        method: "PUT",
        path: `/api/prompts/${encodeURIComponent(id)}`,
        headers: { ...bearer(target), "content-type": "application/json" },
        body: JSON.stringify({ name: "Bench write" })
      }
    }
  },
  {
    // Issue 4's target: the prompts SDK fetch, authenticated, with a 20/80 rollout on, served
    // from the in-process cache; the bare server answers the same path with its small JSON.
    // Trellis is called with what an SDK holds: a service key with `prompts:read`, which is
    // rate limited (the child's budget is raised so the run is not refused) and resolved
    // through the credential cache, unlike the admin token.
    name: "GET /api/sdk/prompts/:key (rollout on)",
    runsOn: ["bare", "trellis"],
    ratioTarget: 0.5,
    prepare: async (target) => {
      // One key per server start: the rounds share one database.
      const key = `bench-greeting-${randomBytes(4).toString("hex")}`
      const path = `/api/sdk/prompts/${key}?env=prod&user_id=u1`
      if (target.kind !== "trellis") return { method: "GET", path, headers: bearer(target) }
      const call = async (method: string, url: string, body: unknown): Promise<Record<string, unknown>> => {
        const response = await fetch(`${target.baseUrl}${url}`, {
          method,
          headers: { ...bearer(target), "content-type": "application/json" },
          body: JSON.stringify(body)
        })
        const text = await response.text()
        if (response.status >= 300) throw new Error(`${method} ${url} answered ${response.status}: ${text}`)
        const parsed: unknown = JSON.parse(text)
        const data = typeof parsed === "object" && parsed !== null && "data" in parsed ? parsed.data : parsed
        return typeof data === "object" && data !== null ? data as Record<string, unknown> : {}
      }
      const created = await call("POST", "/api/prompts", { key, name: "Bench", env: "prod", content: "Hello {{name}}, v1" })
      const id = String(created.id)
      await call("POST", "/api/prompts/publish", { id })
      await call("PUT", `/api/prompts/${id}`, { content: "Hello {{name}}, v2" })
      await call("POST", "/api/prompts/publish", { id })
      await call("PUT", `/api/prompts/${id}/rollout`, { enabled: true, variant_a: "v1", variant_b: "v2", weight_a: 20 })
      const serviceKey = await call("POST", "/api/v1/orgs/org_default/service-keys", { name: "bench-sdk", scopes: ["prompts:read"] })
      if (typeof serviceKey.key !== "string") throw new Error("creating the SDK's service key returned no key")
      return { method: "GET", path, headers: { authorization: `Bearer ${serviceKey.key}` } }
    }
  }
]

// ---------------------------------------------------------------------------------------------
// Child processes

interface Child {
  readonly label: string
  readonly proc: ChildProcess
  readonly logFile: string
  readonly exited: Promise<void>
}

const children = new Set<Child>()
let tempDir: string | undefined
let running: autocannon.Instance | undefined
let interrupted = false

const isAlive = (child: Child): boolean => child.proc.exitCode === null && child.proc.signalCode === null

const tail = (file: string, lines = 40): string => {
  if (!existsSync(file)) return "(no output)"
  const text = readFileSync(file, "utf8").trimEnd()
  return text === "" ? "(no output)" : text.split("\n").slice(-lines).join("\n")
}

/** Spawns with stdout and stderr going to a log file: nothing can block on a full pipe. */
const startChild = (label: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, logFile: string, pipeStdout: boolean): Child => {
  const fd = openSync(logFile, "a")
  const proc = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", pipeStdout ? "pipe" : fd, fd] })
  closeSync(fd)
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve()
    else proc.once("exit", () => resolve())
  })
  proc.once("error", (error) => process.stderr.write(`${label}: ${error.message}\n`))
  const child: Child = { label, proc, logFile, exited }
  children.add(child)
  return child
}

const stopChild = async (child: Child): Promise<void> => {
  if (isAlive(child)) {
    child.proc.kill("SIGTERM")
    const timer = setTimeout(() => {
      if (isAlive(child)) child.proc.kill("SIGKILL")
    }, 20_000)
    await child.exited
    clearTimeout(timer)
  }
  children.delete(child)
}

const cleanup = async (): Promise<void> => {
  running?.stop()
  await Promise.all([...children].map(stopChild))
  if (tempDir !== undefined) {
    if (keepLogs) console.log(`kept logs and data in ${tempDir}`)
    else rmSync(tempDir, { recursive: true, force: true })
    tempDir = undefined
  }
}

process.on("exit", () => {
  for (const child of children) if (isAlive(child)) child.proc.kill("SIGKILL")
  if (tempDir !== undefined && !keepLogs) rmSync(tempDir, { recursive: true, force: true })
})
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    interrupted = true
    console.error(`\n${signal}: stopping servers and removing the temp dir`)
    void cleanup().finally(() => process.exit(130))
  })
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      if (address === null || typeof address === "string") return reject(new Error("no TCP address"))
      server.close(() => resolve(address.port))
    })
  })

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const startTrellis = async (round: (typeof rounds)[number], dataDir: string): Promise<Server> => {
  if (tempDir === undefined) throw new Error("no temp dir")
  const { logLevel } = round
  const port = await freePort()
  const label = `trellis(log=${round.label})`
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TRELLIS_PORT: String(port),
    TRELLIS_HOST: "127.0.0.1",
    TRELLIS_DATA_DIR: dataDir,
    TRELLIS_ADMIN_TOKEN: token,
    TRELLIS_LOG_LEVEL: logLevel,
    TRELLIS_HTTP_FAST_PATH: String(round.fastPath),
    TRELLIS_PLUGINS: "./examples/hello-plugin/mod.ts",
    TRELLIS_SHUTDOWN_GRACE_SECONDS: "2",
    // The SDK scenario's service key spends its rate-limit budget on every call: a minute of
    // load must fit in it.
    TRELLIS_RATE_LIMIT_PER_MINUTE: "1000000"
  }
  const logFile = join(tempDir, `trellis-${round.label}.log`)
  const started = Date.now()
  const child = startChild(label, [...trellisNodeArgs, "src/main.ts", "serve"], env, logFile, false)
  const baseUrl = `http://127.0.0.1:${port}`
  for (;;) {
    if (interrupted) throw new Error("interrupted")
    if (!isAlive(child)) throw new Error(`${label} exited (code ${child.proc.exitCode}, signal ${child.proc.signalCode}) before ready:\n${tail(logFile)}`)
    if (Date.now() - started > readyTimeoutMs) throw new Error(`${label} not ready after ${readyTimeoutMs / 1000} s:\n${tail(logFile)}`)
    try {
      const response = await fetch(`${baseUrl}/ready`, { signal: AbortSignal.timeout(2_000) })
      await response.arrayBuffer()
      if (response.status === 200) break
    } catch {
      // not listening yet: the port opens once the database is ready
    }
    await sleep(200)
  }
  console.log(`${label}: ready in ${((Date.now() - started) / 1000).toFixed(1)} s, pid ${child.proc.pid}, RSS ${fmtMb(procStats(child).rssMb)}`)
  return { child, target: { kind: "trellis", label, baseUrl, token, pid: child.proc.pid ?? -1 } }
}

const startBare = (reference: { body: string; contentType: string; headers: Record<string, string> }): Promise<Server> =>
  startReference("bare", "bare-server.ts", reference)

const startFloor = (reference: { body: string; contentType: string; headers: Record<string, string> }, typed: boolean): Promise<Server> =>
  startReference(typed ? "floor-typed" : "floor", "floor-server.ts", reference)

/** Starts a reference server (`bench/<script>`) that prints `{"port":n}` once listening. */
const startReference = async (
  kind: "bare" | "floor" | "floor-typed",
  script: string,
  reference: { body: string; contentType: string; headers: Record<string, string> }
): Promise<Server> => {
  if (tempDir === undefined) throw new Error("no temp dir")
  const logFile = join(tempDir, `${kind}.log`)
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BENCH_BARE_TOKEN: token,
    BENCH_BARE_BODY: reference.body,
    BENCH_BARE_CONTENT_TYPE: reference.contentType,
    BENCH_BARE_HEADERS: JSON.stringify(reference.headers),
    BENCH_FLOOR_TYPED: kind === "floor-typed" ? "1" : "0"
  }
  const child = startChild(kind, [...referenceNodeArgs, join("bench", script)], env, logFile, true)
  const stdout = child.proc.stdout
  if (stdout === null) throw new Error(`${kind}: no stdout`)
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = ""
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString("utf8")
      const line = buffered.split("\n", 1)[0]
      if (buffered.includes("\n") && line !== undefined) {
        stdout.off("data", onData)
        stdout.resume() // keep draining whatever else it writes
        const parsed: unknown = JSON.parse(line)
        const p = typeof parsed === "object" && parsed !== null && "port" in parsed ? parsed.port : undefined
        if (typeof p === "number") resolve(p)
        else reject(new Error(`${kind}: unexpected first line ${line}`))
      }
    }
    stdout.on("data", onData)
    child.proc.once("exit", () => reject(new Error(`${kind} server exited before listening:\n${tail(logFile)}`)))
  })
  console.log(`${kind}: listening, pid ${child.proc.pid}, RSS ${fmtMb(procStats(child).rssMb)}`)
  return { child, target: { kind, label: kind, baseUrl: `http://127.0.0.1:${port}`, token, pid: child.proc.pid ?? -1 } }
}

// ---------------------------------------------------------------------------------------------
// Measuring

/** RSS (MB) and CPU seconds (user + system) of a child, from /proc; undefined off Linux. */
const procStats = (child: Child): { rssMb: number | undefined; cpuSeconds: number | undefined } => {
  const pid = child.proc.pid
  if (pid === undefined || process.platform !== "linux") return { rssMb: undefined, cpuSeconds: undefined }
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15, in USER_HZ (100/s)
    const ticks = Number(fields[11]) + Number(fields[12])
    return { rssMb: rss?.[1] !== undefined ? Number(rss[1]) / 1024 : undefined, cpuSeconds: Number.isFinite(ticks) ? ticks / 100 : undefined }
  } catch {
    return { rssMb: undefined, cpuSeconds: undefined }
  }
}

interface Row {
  /** The Trellis start (log level) this run belongs to. */
  readonly round: string
  readonly server: string
  readonly kind: ServerKind
  readonly scenario: string
  readonly connections: number
  readonly reqPerSec: number
  readonly p99Ms: number
  readonly non2xx: number
  readonly errors: number
  readonly cpuPercent: number | undefined
  /** CPU time (user + system) the server spent per answered request, in microseconds. */
  readonly cpuUsPerRequest: number | undefined
  readonly rssMb: number | undefined
}

const rows: Array<Row> = []
const problems: Array<string> = []

const load = async (target: Target, spec: RequestSpec, connections: number, duration: number): Promise<autocannon.Result> => {
  const instance = autocannon({
    url: `${target.baseUrl}${spec.path}`,
    connections,
    duration,
    timeout: 10,
    method: spec.method,
    headers: spec.body === undefined ? spec.headers : { "content-type": "application/json", ...spec.headers },
    ...(spec.body === undefined ? {} : { body: spec.body })
  })
  running = instance
  try {
    return await instance
  } finally {
    running = undefined
  }
}

const probe = async (target: Target, scenario: Scenario, spec: RequestSpec): Promise<void> => {
  const response = await fetch(`${target.baseUrl}${spec.path}`, {
    method: spec.method,
    headers: spec.headers,
    ...(spec.body === undefined ? {} : { body: spec.body })
  })
  const text = await response.text()
  if (response.status < 200 || response.status > 299) throw new Error(`${target.label} ${scenario.name}: probe answered ${response.status}: ${text.slice(0, 300)}`)
}

interface Server {
  readonly target: Target
  readonly child: Child
}

const measure = async (server: Server, scenario: Scenario, spec: RequestSpec, connections: number, round: string): Promise<void> => {
  const { target, child } = server
  const what = `${target.label} ${scenario.name} c=${connections}`
  if (warmupSeconds > 0) {
    const warm = await load(target, spec, connections, warmupSeconds)
    if (warm.non2xx + warm.errors > 0) problems.push(`${what}: warm-up saw ${warm.non2xx} non-2xx, ${warm.errors} errors`)
  }
  const before = procStats(child)
  const started = performance.now()
  const result = await load(target, spec, connections, seconds)
  const elapsed = (performance.now() - started) / 1000
  const after = procStats(child)
  const cpuSeconds = before.cpuSeconds !== undefined && after.cpuSeconds !== undefined ? after.cpuSeconds - before.cpuSeconds : undefined
  const cpuPercent = cpuSeconds !== undefined ? (cpuSeconds / elapsed) * 100 : undefined
  const cpuUsPerRequest = cpuSeconds !== undefined && result.requests.total > 0 ? (cpuSeconds * 1e6) / result.requests.total : undefined
  const row: Row = {
    round,
    server: target.label,
    kind: target.kind,
    scenario: scenario.name,
    connections,
    reqPerSec: result.requests.average,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    cpuPercent,
    cpuUsPerRequest,
    rssMb: after.rssMb
  }
  rows.push(row)
  if (row.non2xx + row.errors > 0) {
    const codes = Object.entries(result.statusCodeStats).map(([code, { count }]) => `${code}x${count}`).join(" ")
    problems.push(`${what}: ${row.non2xx} non-2xx (${codes}), ${row.errors} errors (${result.timeouts} timeouts)`)
  }
  console.log(
    `  ${what.padEnd(58)} ${fmtInt(row.reqPerSec).padStart(7)} req/s  p99 ${fmtMs(row.p99Ms).padStart(6)} ms  non-2xx ${row.non2xx}  errors ${row.errors}  cpu ${fmtPct(row.cpuPercent)} ${fmtUs(row.cpuUsPerRequest)}/req  RSS ${fmtMb(row.rssMb)}`
  )
}

/**
 * One round per Trellis start. A scenario that also runs on the bare server (and the floor) is
 * measured there right before Trellis at each connection count (one server loaded at a time),
 * so each ratio compares runs taken close together on a machine whose background load drifts.
 */
const runRound = async (round: string, servers: ReadonlyArray<Server>): Promise<void> => {
  for (const scenario of scenarios) {
    if (!scenario.name.includes(only)) continue
    const prepared: Array<{ server: Server; spec: RequestSpec }> = []
    for (const server of servers) {
      if (!scenario.runsOn.includes(server.target.kind)) continue
      const spec = await scenario.prepare(server.target)
      await probe(server.target, scenario, spec)
      prepared.push({ server, spec })
    }
    for (const connections of connectionCounts) {
      for (let run = 0; run < repeat; run++) {
        // Alternate the order, so no server always runs right after the same one.
        for (const { server, spec } of run % 2 === 0 ? prepared : prepared.toReversed()) {
          if (interrupted) return
          await measure(server, scenario, spec, connections, round)
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Printing

const fmtLoad = (): string => loadavg().map((n) => n.toFixed(2)).join(" ")
const fmtInt = (n: number): string => Math.round(n).toLocaleString("en-US")
/** autocannon records latencies in whole milliseconds. */
const fmtMs = (n: number): string => (n < 1 ? "<1" : String(Math.round(n)))
const fmtMb = (n: number | undefined): string => (n === undefined ? "n/a" : `${Math.round(n)} MB`)
const fmtPct = (n: number | undefined): string => (n === undefined ? "n/a" : `${Math.round(n)}%`)
const fmtUs = (n: number | undefined): string => (n === undefined ? "n/a" : `${Math.round(n)} µs`)

const kindOrder: ReadonlyArray<ServerKind> = ["bare", "floor", "floor-typed", "trellis"]

const roundIndex = (label: string): number => rounds.findIndex((r) => r.label === label)

const median = (values: ReadonlyArray<number>): number => {
  const sorted = values.toSorted((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

/** With `BENCH_REPEAT`, one row per measurement: each figure the median of its runs, counts summed. */
const mediansOf = (all: ReadonlyArray<Row>): ReadonlyArray<Row> => {
  const groups = new Map<string, Array<Row>>()
  for (const row of all) {
    const key = `${row.round}\u0000${row.server}\u0000${row.scenario}\u0000${row.connections}`
    const group = groups.get(key)
    if (group === undefined) groups.set(key, [row])
    else group.push(row)
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as Row
    const defined = (pick: (r: Row) => number | undefined): number | undefined => {
      const values = group.map(pick).filter((v): v is number => v !== undefined)
      return values.length === 0 ? undefined : median(values)
    }
    return {
      ...first,
      reqPerSec: median(group.map((r) => r.reqPerSec)),
      p99Ms: median(group.map((r) => r.p99Ms)),
      non2xx: group.reduce((n, r) => n + r.non2xx, 0),
      errors: group.reduce((n, r) => n + r.errors, 0),
      cpuPercent: defined((r) => r.cpuPercent),
      cpuUsPerRequest: defined((r) => r.cpuUsPerRequest),
      rssMb: group.at(-1)?.rssMb
    }
  })
}

const printTable = (): void => {
  const header = ["round", "server", "scenario", "conns", "req/s", "p99 ms", "non-2xx", "errors", "cpu", "cpu/req", "RSS"]
  const scenarioIndex = (r: Row): number => scenarios.findIndex((s) => s.name === r.scenario)
  const sorted = mediansOf(rows).toSorted((a, b) =>
    roundIndex(a.round) - roundIndex(b.round) ||
    scenarioIndex(a) - scenarioIndex(b) ||
    a.connections - b.connections ||
    kindOrder.indexOf(a.kind) - kindOrder.indexOf(b.kind)
  )
  const body = sorted.map((r) => [
    `log=${r.round}`,
    r.kind,
    r.scenario,
    String(r.connections),
    fmtInt(r.reqPerSec),
    fmtMs(r.p99Ms),
    String(r.non2xx),
    String(r.errors),
    fmtPct(r.cpuPercent),
    fmtUs(r.cpuUsPerRequest),
    fmtMb(r.rssMb)
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]?.length ?? 0)))
  const line = (cells: ReadonlyArray<string>): string =>
    cells.map((c, i) => (i < 3 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ")
  if (repeat > 1) console.log(`\nmedians of ${repeat} runs each (RSS: the last run's)`)
  console.log(`\n${line(header)}\n${widths.map((w) => "-".repeat(w)).join("  ")}`)
  for (const cells of body) console.log(line(cells))
}

const printRatios = (): void => {
  const collapsed = mediansOf(rows)
  for (const scenario of scenarios) {
    if (!(scenario.runsOn.includes("bare") && scenario.runsOn.includes("trellis"))) continue
    const find = (round: string, kind: ServerKind, c: number): Row | undefined =>
      collapsed.find((r) => r.round === round && r.kind === kind && r.scenario === scenario.name && r.connections === c)
    /** `kind` against bare at each connection count: req/s over bare's, or bare's CPU per request over its own. */
    const ratios = (round: string, kind: ServerKind, measure: "req/s" | "cpu", target: boolean): string =>
      connectionCounts.map((c) => {
        const k = find(round, kind, c)
        const b = find(round, "bare", c)
        const kv = measure === "req/s" ? k?.reqPerSec : k?.cpuUsPerRequest
        const bv = measure === "req/s" ? b?.reqPerSec : b?.cpuUsPerRequest
        if (kv === undefined || bv === undefined || bv === 0 || kv === 0) return `c=${c} n/a`
        const ratio = measure === "req/s" ? kv / bv : bv / kv
        const goal = scenario.ratioTarget ?? ratioTarget
        const verdict = target && c === 50 ? (ratio >= goal ? " (meets target)" : " (BELOW target)") : ""
        return `c=${c} ${ratio.toFixed(2)}${verdict}`
      }).join("   ")
    console.log(`\nTrellis/bare req/s, ${scenario.name} (target >= ${(scenario.ratioTarget ?? ratioTarget).toFixed(2)} at 50 connections):`)
    for (const { fastPath, label: round } of rounds) {
      // The round without the fast path is for reference: the target is the server as it runs.
      const note = fastPath ? "" : "  (fast path off: the full pipeline, for reference)"
      console.log(`  log=${round.padEnd(6)} ${ratios(round, "trellis", "req/s", fastPath)}${note}`)
      if (withFloor) console.log(`    floor/bare (Effect HttpApi alone) ${ratios(round, "floor", "req/s", false)}`)
    }
    // The same comparison in CPU time per request (bare ÷ Trellis): it moves less than req/s
    // when other processes take CPU from the servers, so it tells a slower server from a
    // starved one.
    console.log(`CPU time per request, bare/Trellis (cross-check, less sensitive to other load):`)
    for (const { label: round } of rounds) {
      console.log(`  log=${round.padEnd(6)} ${ratios(round, "trellis", "cpu", false)}`)
      if (withFloor) console.log(`    bare/floor (Effect HttpApi alone) ${ratios(round, "floor", "cpu", false)}`)
    }
    if (withFloor && scenario.runsOn.includes("floor")) {
      // Issue 11's goal for the full pipeline: at most 1.5 × the floor's CPU per request.
      const overFloor = (round: string, kind: ServerKind): string =>
        connectionCounts.map((c) => {
          const t = find(round, "trellis", c)?.cpuUsPerRequest
          const f = find(round, kind, c)?.cpuUsPerRequest
          return t === undefined || f === undefined || f === 0 ? `c=${c} n/a` : `c=${c} ${(t / f).toFixed(2)}`
        }).join("   ")
      // Only the rounds without the fast path: a fast route answers without the pipeline.
      const pipelineRounds = rounds.filter((r) => !r.fastPath)
      console.log(`CPU time per request, Trellis/floor (goal <= 1.50 with the fast path off${pipelineRounds.length === 0 ? ": set BENCH_PIPELINE=1" : ""}):`)
      for (const { label: round } of pipelineRounds) {
        console.log(`  log=${round.padEnd(6)} floor ${overFloor(round, "floor")}   floor-typed ${overFloor(round, "floor-typed")}`)
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Main

const main = async (): Promise<void> => {
  console.log(`Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), ${process.platform}/${process.arch}`)
  console.log(`runs: ${seconds} s each after ${warmupSeconds} s warm-up, connections ${connectionCounts.join(",")}, Trellis rounds ${rounds.map((r) => r.label).join(" / ")}`)
  console.log(`node flags: Trellis ${trellisNodeArgs.join(" ") || "(none)"}, bare and floor ${referenceNodeArgs.join(" ") || "(none)"}`)
  console.log(`load generator (autocannon) shares the machine with the server under test; load average ${fmtLoad()}\n`)

  tempDir = mkdtempSync(join(tmpdir(), "bench-http-"))
  const dataDir = join(tempDir, "data")

  // One database for all Trellis starts: created by the first, reopened (fast) by the others.
  let bare: Server | undefined
  let floors: ReadonlyArray<Server> = []
  for (const round of rounds) {
    const trellis = await startTrellis(round, dataDir)
    if (bare === undefined) {
      // The baseline answers with exactly what Trellis answers for GET /api/plugins.
      const response = await fetch(`${trellis.target.baseUrl}/api/plugins`, { headers: bearer(trellis.target) })
      const body = await response.text()
      if (response.status !== 200) throw new Error(`GET /api/plugins answered ${response.status}: ${body}`)
      const skip = new Set(["date", "connection", "keep-alive", "content-length", "transfer-encoding", "content-type", "x-request-id"])
      const headers: Record<string, string> = {}
      response.headers.forEach((value, key) => {
        if (!skip.has(key)) headers[key] = value
      })
      const contentType = response.headers.get("content-type") ?? "application/json"
      console.log(`reference: GET /api/plugins -> ${response.status} ${contentType}, ${Buffer.byteLength(body)} bytes`)
      bare = await startBare({ body, contentType, headers })
      if (withFloor) floors = [await startFloor({ body, contentType, headers }, false), await startFloor({ body, contentType, headers }, true)]
    }
    await runRound(round.label, [bare, ...floors, trellis])
    await stopChild(trellis.child)
    if (trellis.child.proc.exitCode !== 0) problems.push(`${trellis.target.label} exited with code ${trellis.child.proc.exitCode} signal ${trellis.child.proc.signalCode}`)
    if (interrupted) return
  }
  if (bare !== undefined) await stopChild(bare.child)
  for (const floor of floors) await stopChild(floor.child)

  printTable()
  printRatios()
  console.log(`\nload average at the end ${fmtLoad()} (other processes on the machine skew the figures)`)
}

try {
  await main()
} catch (error) {
  problems.push(error instanceof Error ? error.message : String(error))
} finally {
  await cleanup()
}
if (problems.length > 0) {
  console.error(`\nBROKEN (${problems.length}):`)
  for (const p of problems) console.error(`  - ${p}`)
  process.exitCode = 1
}
