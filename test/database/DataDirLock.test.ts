import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Url from "node:url"
import * as DataDirLock from "../../src/database/DataDirLock.ts"
import { tempDir } from "./backends.ts"

const lockModule = Url.pathToFileURL(Path.resolve(import.meta.dirname, "../../src/database/DataDirLock.ts")).href

/**
 * A separate OS process that takes the lock on `dir`: it prints the outcome
 * as JSON and exits 0 (acquired, released), 3 (DataDirLocked) or, with
 * `hold`, keeps the lock until killed.
 */
const probeScript = (dir: string, hold: boolean): string => `
import { Effect, Exit } from "effect"
const DataDirLock = await import(${JSON.stringify(lockModule)})
const exit = await Effect.runPromiseExit(Effect.scoped(Effect.gen(function*() {
  const lock = yield* DataDirLock.acquire(${JSON.stringify(dir)})
  process.stdout.write(JSON.stringify({ acquired: true, pid: lock.owner.pid }) + "\\n")
  if (${hold}) yield* Effect.never
})))
if (Exit.isFailure(exit)) {
  const error = exit.cause.reasons[0]?.error
  process.stdout.write(JSON.stringify({ acquired: false, tag: error?._tag, pid: error?.pid, message: error?.message }) + "\\n")
  process.exit(3)
}
`

const writeProbe = (dir: string, hold: boolean): string => {
  // Inside the repo so that the bare "effect" import resolves.
  const file = Path.join(import.meta.dirname, `.probe-${process.pid}-${Math.random().toString(36).slice(2)}.mjs`)
  Fs.writeFileSync(file, probeScript(dir, hold))
  return file
}

const runProbe = (dir: string) =>
  Effect.promise(() =>
    new Promise<{ readonly code: number | null; readonly result: { acquired: boolean; tag?: string; pid?: number; message?: string } }>((resolve, reject) => {
      const file = writeProbe(dir, false)
      ChildProcess.execFile(process.execPath, [file], (error, stdout) => {
        Fs.rmSync(file, { force: true })
        try {
          resolve({ code: error === null ? 0 : (typeof error.code === "number" ? error.code : null), result: JSON.parse(stdout.trim()) })
        } catch (cause) {
          reject(cause)
        }
      })
    })
  )

/** Starts a process that holds the lock until the scope closes (or it is killed). */
const holdInChild = (dir: string) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<ChildProcess.ChildProcess>((resolve, reject) => {
        const file = writeProbe(dir, true)
        const child = ChildProcess.spawn(process.execPath, [file], { stdio: ["ignore", "pipe", "inherit"] })
        child.stdout.once("data", () => {
          Fs.rmSync(file, { force: true })
          resolve(child)
        })
        child.once("exit", (code) => {
          Fs.rmSync(file, { force: true })
          reject(new Error(`lock holder exited early (${code})`))
        })
      })
    ),
    (child) => Effect.sync(() => child.kill("SIGKILL"))
  )

const waitForExit = (child: ChildProcess.ChildProcess) =>
  Effect.promise(() => new Promise<void>((resolve) => child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())))

const acquireExit = (dir: string) => Effect.scoped(DataDirLock.acquire(dir)).pipe(Effect.exit)

const lockedError = (exit: Exit.Exit<unknown, DataDirLock.DataDirLocked | DataDirLock.DataDirLockError>): DataDirLock.DataDirLocked => {
  assert.isTrue(Exit.isFailure(exit))
  if (Exit.isSuccess(exit)) throw new Error("expected failure")
  const error = exit.cause.reasons[0]
  if (error?._tag !== "Fail" || error.error._tag !== "DataDirLocked") throw new Error(`unexpected ${String(exit)}`)
  return error.error
}

describe("DataDirLock", () => {
  it.effect("creates the directory, writes the PID and removes the file on release", () =>
    Effect.gen(function*() {
      const dir = Path.join(tempDir("lock"), "nested", "data")
      const file = Path.join(dir, DataDirLock.lockFileName)
      yield* Effect.scoped(Effect.gen(function*() {
        const lock = yield* DataDirLock.acquire(dir)
        assert.strictEqual(lock.owner.pid, process.pid)
        assert.strictEqual(Fs.readFileSync(file, "utf8").split("\n")[0], String(process.pid))
      }))
      assert.isFalse(Fs.existsSync(file))
      assert.deepStrictEqual(Fs.readdirSync(dir), [])
    }))

  it.effect("refuses a second lock in the same process while the first is held", () =>
    Effect.gen(function*() {
      const dir = tempDir("lock")
      const scope = yield* Scope.make()
      yield* Scope.provide(DataDirLock.acquire(dir), scope)
      const error = lockedError(yield* acquireExit(dir))
      assert.strictEqual(error.pid, process.pid)
      assert.strictEqual(
        error.message,
        `Data directory ${dir} is in use by another Trellis process (pid ${process.pid}). Stop it first, or set TRELLIS_DATA_DIR to another directory.`
      )
      yield* Scope.close(scope, Exit.void)
      assert.isTrue(Exit.isSuccess(yield* acquireExit(dir)))
    }))

  it.effect("refuses another OS process while this one holds the lock", () =>
    Effect.gen(function*() {
      const dir = tempDir("lock")
      const { code, result } = yield* Effect.scoped(Effect.andThen(DataDirLock.acquire(dir), runProbe(dir)))
      assert.strictEqual(code, 3)
      assert.strictEqual(result.tag, "DataDirLocked")
      assert.strictEqual(result.pid, process.pid)
      assert.include(result.message, `pid ${process.pid}`)
      // Released: the other process gets it now.
      const after = yield* runProbe(dir)
      assert.strictEqual(after.code, 0)
      assert.isTrue(after.result.acquired)
    }))

  it.effect("is refused while another OS process holds it, and taken over after that process is killed -9", () =>
    Effect.gen(function*() {
      const dir = tempDir("lock")
      const child = yield* Effect.scoped(Effect.gen(function*() {
        const child = yield* holdInChild(dir)
        const error = lockedError(yield* acquireExit(dir))
        assert.strictEqual(error.pid, child.pid)
        assert.include(error.message, `(pid ${child.pid})`)
        return child
      }))
      yield* waitForExit(child)
      assert.isTrue(Fs.existsSync(Path.join(dir, DataDirLock.lockFileName)), "kill -9 leaves the lock file behind")
      assert.isTrue(Exit.isSuccess(yield* acquireExit(dir)))
    }))

  it.effect("takes over a stale lock naming a dead PID", () =>
    Effect.gen(function*() {
      const dir = tempDir("lock")
      const dead = ChildProcess.spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString()
      Fs.writeFileSync(Path.join(dir, DataDirLock.lockFileName), `${dead}\n`)
      const pid = yield* Effect.scoped(Effect.map(DataDirLock.acquire(dir), (lock) => lock.owner.pid))
      assert.strictEqual(pid, process.pid)
      assert.deepStrictEqual(Fs.readdirSync(dir), [])
    }))

  it.effect("refuses a lock held on another host, naming it", () =>
    Effect.gen(function*() {
      const dir = tempDir("lock")
      Fs.writeFileSync(
        Path.join(dir, DataDirLock.lockFileName),
        `4242\n${JSON.stringify({ pid: 4242, hostname: "elsewhere", nonce: "x", startedAt: "2026-01-01T00:00:00Z" })}\n`
      )
      const error = lockedError(yield* acquireExit(dir))
      assert.strictEqual(error.pid, 4242)
      assert.strictEqual(error.hostname, "elsewhere")
      assert.include(error.message, "on host elsewhere (pid 4242)")
    }))
})
