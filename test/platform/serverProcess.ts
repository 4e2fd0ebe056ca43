/**
 * Helpers to run the real `trellis serve` as an OS process in tests: free ports, a data
 * directory copied from the test run's template database, waiting for readiness, stopping
 * with a signal, JSON requests with the admin token, and statements on the test run's
 * PostgreSQL (creating and dropping the database several processes share).
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect, Redacted } from "effect"
import { Reactivity } from "effect/reactivity"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeNet from "node:net"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"

export const adminToken = "process-test-admin-token"

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = NodeNet.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** A data directory holding a fresh embedded database (copied from the run's template). */
export const freshDataDir = (): string => {
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "trellis-proc-"))
  const template = process.env.TRELLIS_TEST_PGLITE_TEMPLATE
  if (template !== undefined && NodeFs.existsSync(template)) {
    NodeFs.cpSync(template, dir, { recursive: true, filter: (source) => !source.endsWith("trellis.lock") })
  }
  return dir
}

export interface RunningServer {
  readonly child: ChildProcess
  readonly port: number
  readonly url: string
  readonly output: () => string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Every child started here and not yet exited, so a failed test can stop what it left running. */
const running = new Set<ChildProcess>()

/** Kills (SIGKILL) every server process still running; use in `afterEach`. */
export const killAll = (): void => {
  for (const child of running) child.kill("SIGKILL")
  running.clear()
}

export const start = async (env: Record<string, string>, port?: number): Promise<RunningServer> => {
  const chosen = port ?? await freePort()
  let output = ""
  const child = spawn(process.execPath, ["src/main.ts", "serve"], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      TRELLIS_PORT: String(chosen),
      TRELLIS_HOST: "127.0.0.1",
      TRELLIS_ADMIN_TOKEN: adminToken,
      TRELLIS_LOG_FORMAT: "json",
      ...env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  running.add(child)
  child.once("exit", () => running.delete(child))
  child.stdout?.on("data", (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on("data", (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal }))
  )
  return { child, port: chosen, url: `http://127.0.0.1:${chosen}`, output: () => output, exited }
}

export const waitReady = async (server: RunningServer, timeoutMs = 90_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  let exited = false
  void server.exited.then(() => { exited = true })
  while (Date.now() < deadline) {
    if (exited) throw new Error(`server exited before it was ready:\n${server.output()}`)
    try {
      // Each probe gives up after 5 s: one lost answer must not hang the wait.
      const response = await fetch(`${server.url}/ready`, { signal: AbortSignal.timeout(5000) })
      if (response.status === 200) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`server not ready after ${timeoutMs} ms:\n${server.output()}`)
}

/** Sends `signal` and resolves with the exit and how long it took. */
export const stop = async (server: RunningServer, signal: NodeJS.Signals = "SIGTERM") => {
  const started = Date.now()
  server.child.kill(signal)
  const result = await server.exited
  return { ...result, ms: Date.now() - started }
}

export const authorized = { authorization: `Bearer ${adminToken}` }

/** A JSON request with the admin token: the status, the parsed body (`undefined` when empty) and its text. */
export const requestJson = async <A>(
  server: RunningServer,
  method: string,
  path: string,
  body?: unknown
): Promise<{ status: number; body: A; text: string }> => {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...authorized, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  return { status: response.status, body: (text === "" ? undefined : JSON.parse(text)) as A, text }
}

/** Runs one statement on the test run's PostgreSQL (`TRELLIS_TEST_DATABASE_URL`), e.g. `CREATE DATABASE`. */
export const pgAdmin = (statement: string): Promise<void> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const client = yield* PgClient.make({ url: Redacted.make(process.env.TRELLIS_TEST_DATABASE_URL ?? ""), maxConnections: 1 })
    yield* client.unsafe(statement)
  })).pipe(Effect.provide(Reactivity.layer)))
