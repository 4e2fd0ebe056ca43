/**
 * An exclusive lock on the data directory, held for the life of the process.
 *
 * PGlite has no lock of its own and runs with fsync off: two processes on one
 * directory silently lose acknowledged writes. This lock makes a second
 * process on the same directory refuse to start instead. It is a plain file
 * (`<dataDir>/trellis.lock`) created atomically, so it works on Node and Deno
 * without a native addon. A lock left behind by a process that died (kill -9,
 * power loss) is taken over once its PID is gone.
 */
import { Effect, Layer, Context, Schema, Scope } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

/** The lock file's name inside the data directory. */
export const lockFileName = "trellis.lock"

/** Another live process holds the data directory. */
export class DataDirLocked extends Schema.TaggedError<DataDirLocked>()("DataDirLocked", {
  dataDir: Schema.String,
  pid: Schema.Number,
  hostname: Schema.String,
  message: Schema.String
}) {}

/** The lock could not be taken or checked for a reason other than another holder (permissions, I/O). */
export class DataDirLockError extends Schema.TaggedError<DataDirLockError>()("DataDirLockError", {
  dataDir: Schema.String,
  message: Schema.String,
  cause: Schema.Defect()
}) {}

/** What the lock file holds: enough to name the holder and tell a stale lock from a live one. */
export interface LockOwner {
  readonly pid: number
  readonly hostname: string
  readonly nonce: string
  readonly startedAt: string
}

/** The lock held by this process; release happens when the scope that took it closes. */
export interface HeldLock {
  readonly dataDir: string
  readonly path: string
  readonly owner: LockOwner
}

/** A service form of the held lock, for code that wants to show which directory it owns. */
export class DataDirLock extends Context.Service<DataDirLock, HeldLock>()("trellis/database/DataDirLock") {
  static readonly layer = (dataDir: string): Layer.Layer<DataDirLock, DataDirLocked | DataDirLockError> =>
    Layer.effect(DataDirLock, acquire(dataDir))
}

// Locks held by this process, by absolute lock path. A PID check cannot tell
// "this process holds it" from "a previous container whose process also had
// this PID holds it" (PID 1 in Docker), so in-process holders are tracked here.
const heldHere = new Set<string>()

const lockedMessage = (dataDir: string, owner: LockOwner, sameHost: boolean): string =>
  sameHost
    ? `Data directory ${dataDir} is in use by another Trellis process (pid ${owner.pid === 0 ? "unknown" : owner.pid}). ` +
      `Stop it first, or set TRELLIS_DATA_DIR to another directory.`
    : `Data directory ${dataDir} is in use by a Trellis process on host ${owner.hostname} (pid ${owner.pid}). ` +
      `Stop it first, or set TRELLIS_DATA_DIR to another directory. If that process is certainly gone, ` +
      `delete ${Path.join(dataDir, lockFileName)}.`

const errnoCode = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : undefined

const encodeOwner = (owner: LockOwner): string => `${owner.pid}\n${JSON.stringify(owner)}\n`

/** Reads a lock file; the first line is the PID so a human can `cat` it. `undefined` if it vanished. */
const readOwner = (path: string): LockOwner | "unreadable" | undefined => {
  let text: string
  try {
    text = Fs.readFileSync(path, "utf8")
  } catch (cause) {
    if (errnoCode(cause) === "ENOENT") return undefined
    throw cause
  }
  const [firstLine, json] = text.split("\n")
  try {
    const parsed: unknown = JSON.parse(json ?? "")
    if (
      typeof parsed === "object" && parsed !== null &&
      "pid" in parsed && typeof parsed.pid === "number" &&
      "hostname" in parsed && typeof parsed.hostname === "string" &&
      "nonce" in parsed && typeof parsed.nonce === "string" &&
      "startedAt" in parsed && typeof parsed.startedAt === "string"
    ) {
      return { pid: parsed.pid, hostname: parsed.hostname, nonce: parsed.nonce, startedAt: parsed.startedAt }
    }
  } catch {
    // fall through: a bare PID (written by hand or an older format)
  }
  const pid = Number(firstLine?.trim())
  return Number.isSafeInteger(pid) && pid > 0
    ? { pid, hostname: Os.hostname(), nonce: "", startedAt: "" }
    : "unreadable"
}

/** `process.kill(pid, 0)` probes without signalling: ESRCH means gone, EPERM means alive but not ours. */
const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (cause) {
    return errnoCode(cause) === "EPERM"
  }
}

/** Creates the lock file with its full content in one atomic step. Returns false if it already exists. */
const tryCreate = (path: string, owner: LockOwner): boolean => {
  const content = encodeOwner(owner)
  // Write a private file, then hard-link it into place: the link is atomic and
  // fails if the lock exists, and the lock never appears half-written.
  const temp = `${path}.${owner.pid}.${owner.nonce}.tmp`
  try {
    Fs.writeFileSync(temp, content, { flag: "wx" })
    try {
      Fs.linkSync(temp, path)
      return true
    } catch (cause) {
      if (errnoCode(cause) === "EEXIST") return false
      // File systems without hard links: fall back to an exclusive create.
    } finally {
      Fs.rmSync(temp, { force: true })
    }
  } catch (cause) {
    if (errnoCode(cause) === "EEXIST") return false
    throw cause
  }
  let fd: number
  try {
    fd = Fs.openSync(path, "wx")
  } catch (cause) {
    if (errnoCode(cause) === "EEXIST") return false
    throw cause
  }
  try {
    Fs.writeSync(fd, content)
    Fs.fsyncSync(fd)
  } finally {
    Fs.closeSync(fd)
  }
  return true
}

/**
 * Moves a stale lock aside, making sure it is the stale one that moved and not
 * a fresh lock another process created in the meantime.
 */
const removeStale = (path: string, stale: LockOwner | "unreadable", me: LockOwner): boolean => {
  const aside = `${path}.stale.${me.pid}.${me.nonce}`
  try {
    Fs.renameSync(path, aside)
  } catch (cause) {
    if (errnoCode(cause) === "ENOENT") return true // someone else removed it
    throw cause
  }
  const moved = readOwner(aside)
  const same = stale === "unreadable" ? moved === "unreadable" : typeof moved === "object" && moved.nonce === stale.nonce && moved.pid === stale.pid
  if (same) {
    Fs.rmSync(aside, { force: true })
    return true
  }
  // We moved a live lock that appeared after we looked: put it back.
  try {
    Fs.linkSync(aside, path)
  } catch {
    // A third process took the path; leave it be.
  }
  Fs.rmSync(aside, { force: true })
  return false
}

const newOwner = (): LockOwner => ({
  pid: process.pid,
  hostname: Os.hostname(),
  nonce: Math.random().toString(36).slice(2, 12),
  startedAt: new Date().toISOString()
})

type Attempt =
  | { readonly _tag: "Acquired"; readonly lock: HeldLock }
  | { readonly _tag: "Locked"; readonly owner: LockOwner; readonly sameHost: boolean }

const attempt = (dataDir: string, path: string): Attempt => {
  const me = newOwner()
  Fs.mkdirSync(dataDir, { recursive: true })
  for (let round = 0; round < 2; round++) {
    if (heldHere.has(path)) {
      const owner = readOwner(path)
      return { _tag: "Locked", owner: typeof owner === "object" ? owner : me, sameHost: true }
    }
    if (tryCreate(path, me)) {
      heldHere.add(path)
      return { _tag: "Acquired", lock: { dataDir, path, owner: me } }
    }
    const owner = readOwner(path)
    if (owner === undefined) continue // released between our attempt and the read
    if (owner !== "unreadable") {
      const sameHost = owner.hostname === me.hostname
      // Another host (a shared volume, a recreated container) cannot be probed.
      if (!sameHost) return { _tag: "Locked", owner, sameHost }
      // Our own PID in a lock we do not hold is a previous life of this
      // container (same PID after restart), so it is stale.
      if (owner.pid !== process.pid && isAlive(owner.pid)) return { _tag: "Locked", owner, sameHost }
    } else {
      // A lock file without a PID: only a crash between create and write leaves
      // one (the link path never does), so give a live writer a moment.
      const age = Date.now() - Fs.statSync(path).mtimeMs
      if (age < 2000) return { _tag: "Locked", owner: { pid: 0, hostname: me.hostname, nonce: "", startedAt: "" }, sameHost: true }
    }
    removeStale(path, owner, me)
  }
  const owner = readOwner(path)
  return { _tag: "Locked", owner: typeof owner === "object" ? owner : me, sameHost: true }
}

const release = (lock: HeldLock): void => {
  heldHere.delete(lock.path)
  const owner = readOwner(lock.path)
  // Only delete the file if it is still ours.
  if (typeof owner === "object" && owner.nonce === lock.owner.nonce) Fs.rmSync(lock.path, { force: true })
}

/**
 * Takes the lock on `dataDir` (creating the directory if missing) until the
 * scope closes. Fails with `DataDirLocked` if a live process holds it.
 */
export const acquire = (dataDir: string): Effect.Effect<HeldLock, DataDirLocked | DataDirLockError, Scope.Scope> => {
  const absolute = Path.resolve(dataDir)
  const path = Path.join(absolute, lockFileName)
  return Effect.acquireRelease(
    Effect.try({
      try: () => attempt(absolute, path),
      catch: (cause) =>
        new DataDirLockError({
          dataDir,
          message: `Cannot lock data directory ${dataDir}: ${cause instanceof Error ? cause.message : String(cause)}`,
          cause
        })
    }).pipe(
      Effect.flatMap((result) =>
        result._tag === "Acquired"
          ? Effect.as(
            Effect.logDebug("Locked data directory").pipe(Effect.annotateLogs({ dataDir: absolute, lock: path })),
            result.lock
          )
          : Effect.fail(
            new DataDirLocked({
              dataDir,
              pid: result.owner.pid,
              hostname: result.owner.hostname,
              message: lockedMessage(dataDir, result.owner, result.sameHost)
            })
          )
      )
    ),
    (lock) =>
      Effect.sync(() => release(lock)).pipe(
        Effect.catchDefect((cause) => Effect.logWarning("Could not remove the data directory lock", cause))
      )
  )
}
