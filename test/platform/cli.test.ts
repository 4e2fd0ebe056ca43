/**
 * The `trellis` command as a user runs it, as real processes: `npm start` and `npx trellis serve`
 * stop (and release the data directory) when a supervisor signals the npm process it started,
 * and the subcommands take the flags they use, with their types.
 */
import { afterAll, afterEach, assert, describe, it } from "vitest"
import { spawn, spawnSync } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { adminToken, freePort, freshDataDir, killAll, waitReady } from "./serverProcess.ts"
import type { RunningServer } from "./serverProcess.ts"

const dirs: Array<string> = []
const started = new Set<ChildProcess>()
afterEach(() => {
  killAll()
  for (const child of started) child.kill("SIGKILL")
  started.clear()
})
afterAll(() => {
  for (const dir of dirs) NodeFs.rmSync(dir, { recursive: true, force: true })
})

const dataDir = () => {
  const dir = freshDataDir()
  dirs.push(dir)
  return dir
}

/** Starts `npm <args>` (npm itself, as a supervisor would), serving on a free port. */
const startNpm = async (args: ReadonlyArray<string>, dir: string): Promise<RunningServer> => {
  const port = await freePort()
  let output = ""
  const child = spawn("npm", args, {
    cwd: process.cwd(),
    env: {
      ...process.env,
      TRELLIS_DATA_DIR: dir,
      TRELLIS_PORT: String(port),
      TRELLIS_HOST: "127.0.0.1",
      TRELLIS_ADMIN_TOKEN: adminToken,
      TRELLIS_LOG_FORMAT: "json"
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  started.add(child)
  child.stdout?.on("data", (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on("data", (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal }))
  )
  return { child, port, url: `http://127.0.0.1:${port}`, output: () => output, exited }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Waits (up to 30 s) until `condition` holds; the answer is whether it did. */
const eventually = async (condition: () => boolean): Promise<boolean> => {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (condition()) return true
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return condition()
}

/** SIGTERM to npm's own pid must stop the server process it started and free the data directory. */
const signalNpm = async (args: ReadonlyArray<string>) => {
  const dir = dataDir()
  const npm = await startNpm(args, dir)
  await waitReady(npm)
  const lock = NodePath.join(dir, "trellis.lock")
  // The lock's first line is the server's pid: a process other than npm.
  const serverPid = Number.parseInt(NodeFs.readFileSync(lock, "utf8"), 10)
  assert.notStrictEqual(serverPid, npm.child.pid)
  assert.isTrue(alive(serverPid))

  npm.child.kill("SIGTERM")
  await npm.exited
  const gone = await eventually(() => !alive(serverPid))
  if (!gone) process.kill(serverPid, "SIGKILL")
  assert.isTrue(gone, `the server (pid ${serverPid}) outlived npm:\n${npm.output()}`)
  // It shut down in order (not killed): the lock is released and the database closed.
  assert.isFalse(NodeFs.existsSync(lock), npm.output())
  assert.include(npm.output(), "Embedded database closed")
}

describe("signals to npm reach the server", () => {
  it("npm start: SIGTERM to npm stops the server and releases the data directory", () => signalNpm(["start"]), 180_000)

  it("npx trellis serve: SIGTERM to npx stops the server and releases the data directory", () =>
    signalNpm(["exec", "--", "trellis", "serve"]), 180_000)
})

const cli = (args: ReadonlyArray<string>) =>
  // The OpenAPI document is over spawnSync's default 1 MiB output buffer.
  spawnSync(process.execPath, ["src/main.ts", ...args], { encoding: "utf8", timeout: 120_000, maxBuffer: 64 * 1024 * 1024 })

const flagsIn = (help: string): Array<string> => {
  const section = help.slice(help.indexOf("FLAGS"), help.indexOf("GLOBAL FLAGS"))
  return [...section.matchAll(/^\s+(--[a-z-]+)/gm)].map((m) => m[1])
}

describe("the trellis command", () => {
  it("serve lists every configuration flag with its type; the database tools only theirs", () => {
    const serve = cli(["serve", "--help"])
    assert.strictEqual(serve.status, 0, serve.stderr)
    assert.match(serve.stdout, /--port integer /)
    assert.match(serve.stdout, /--max-body-bytes integer /)
    assert.match(serve.stdout, /--host string /)
    assert.match(serve.stdout, /--http-fast-path choice .*choices: true, false/)
    assert.match(serve.stdout, /--signup choice .*choices: closed, open, invite/)
    assert.match(serve.stdout, /--log-format choice .*choices: json, pretty/)
    // First-party plugins' declared variables are flags too, typed from their declarations.
    assert.match(serve.stdout, /--tickets-lease-seconds integer /)
    assert.match(serve.stdout, /--providers-allow-private choice .*choices: true, false/)
    assert.match(serve.stdout, /--openai-model string /)
    const database = ["--data-dir", "--database-url", "--log-level", "--log-format", "--plugins"]
    for (const command of [["migrate"], ["users", "create"], ["keys", "create"]]) {
      const help = cli([...command, "--help"])
      assert.strictEqual(help.status, 0, help.stderr)
      const flags = flagsIn(help.stdout)
      for (const flag of database) assert.include(flags, flag, command.join(" "))
      for (const flag of ["--port", "--host", "--admin-token", "--smtp-url", "--max-connections"]) {
        assert.notInclude(flags, flag, `${command.join(" ")} lists ${flag}`)
      }
    }
  }, 180_000)

  it("refuses a non-numeric value for a numeric flag and an unknown word for a choice", () => {
    const run = cli(["serve", "--port", "eighty", "--data-dir", dataDir()])
    assert.notStrictEqual(run.status, 0)
    assert.include(run.stdout + run.stderr, "--port")
    const level = cli(["migrate", "--log-level", "verbose", "--data-dir", dataDir()])
    assert.notStrictEqual(level.status, 0)
    assert.include(level.stdout + level.stderr, "--log-level")
    // A plugin's variable out of its declared range stops the start, naming the variable.
    const lease = cli(["serve", "--port", "0", "--tickets-lease-seconds", "99999999999", "--data-dir", dataDir()])
    assert.strictEqual(lease.status, 1, lease.stdout + lease.stderr)
    assert.include(lease.stderr, "TRELLIS_TICKETS_LEASE_SECONDS=\"99999999999\"")
    assert.notInclude(lease.stdout + lease.stderr, "Trellis is listening")
  }, 180_000)

  it("openapi --plugins includes the plugin's paths", () => {
    const without = cli(["openapi"])
    assert.strictEqual(without.status, 0, without.stderr)
    assert.notProperty((JSON.parse(without.stdout) as { paths: object }).paths, "/api/hello/greetings")
    const withPlugin = cli(["openapi", "--plugins", "./examples/hello-plugin/mod.ts"])
    assert.strictEqual(withPlugin.status, 0, withPlugin.stderr)
    assert.property((JSON.parse(withPlugin.stdout) as { paths: object }).paths, "/api/hello/greetings")
  }, 180_000)

  it("users create needs no --admin (a viewer by default), takes --role, and refuses --admin with another role", () => {
    const dir = dataDir()
    const viewer = cli(["users", "create", "--username", "vera", "--data-dir", dir])
    assert.strictEqual(viewer.status, 0, viewer.stderr)
    assert.match(viewer.stdout, /created user vera \(\S+\) with role viewer/)
    const editor = cli(["users", "create", "--username", "eddie", "--role", "editor", "--data-dir", dir])
    assert.strictEqual(editor.status, 0, editor.stderr)
    assert.match(editor.stdout, /with role editor/)
    const conflict = cli(["users", "create", "--username", "otto", "--admin", "--role", "owner", "--data-dir", dir])
    assert.strictEqual(conflict.status, 1)
    assert.include(conflict.stderr, "--admin and --role owner disagree")
    const migrated = cli(["migrate", "--data-dir", dir])
    assert.strictEqual(migrated.status, 0, migrated.stderr)
    assert.include(migrated.stdout, "identity: up to date")
  }, 180_000)
})
