/**
 * The server's master key for {@link SecretBox}: where it comes from and how it is read. Kept
 * apart from the box so the configuration (`src/config/TrellisConfig.ts`) can validate
 * `TRELLIS_SECRET_KEY` at start with the same rule the box uses, without importing the box.
 *
 * The master key is, in order:
 * - `TRELLIS_SECRET_KEY`: 32 bytes as 64 hex characters or base64 (`openssl rand -hex 32`).
 *   Every process sharing one PostgreSQL database must have the same value, or one cannot
 *   open what another sealed.
 * - the key file `trellis-secret.key` in the data directory, created (mode 0600) on the first
 *   start: zero setup for the embedded database, and for one process on PostgreSQL.
 *
 * The key file is never seen half-written: it is written and flushed under a temporary name,
 * then hard-linked into place, which fails when the name exists. Two processes starting at once
 * on one data directory (possible on PostgreSQL; the embedded database's lock, taken before
 * the platform services are built, already rules it out there) both end up with the winner's.
 */
import { Effect, Redacted, Schema } from "effect"
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"

/** The key file's name in the data directory. */
export const keyFileName = "trellis-secret.key"

/** What `TRELLIS_SECRET_KEY` accepts, for messages. */
export const keyFormat = "32 bytes written as 64 hex characters or base64 (for example the output of `openssl rand -hex 32`)"

/** `TRELLIS_SECRET_KEY` or the key file holds something that is not a 32-byte key: the server does not start. */
export class SecretKeyInvalid extends Schema.TaggedError<SecretKeyInvalid>()("SecretKeyInvalid", {
  message: Schema.String
}) {}

/** A 32-byte key from 64 hex characters or base64 / base64url; `undefined` for anything else. */
export const parseKey = (text: string): Uint8Array | undefined => {
  const trimmed = text.trim()
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, "hex")
  if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(trimmed)) {
    const bytes = Buffer.from(trimmed.replace(/-/g, "+").replace(/_/g, "/"), "base64")
    return bytes.length === 32 ? bytes : undefined
  }
  return undefined
}

/** Where the master key came from; `None` when the key file could not be created or read. */
export type KeySource =
  | { readonly _tag: "Environment"; readonly key: Uint8Array }
  | { readonly _tag: "File"; readonly key: Uint8Array; readonly path: string; readonly created: boolean; readonly loose: boolean }
  | { readonly _tag: "None"; readonly reason: string }

type Found = KeySource | { readonly _tag: "Invalid"; readonly message: string }

const errorCode = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string" ? cause.code : undefined

/**
 * The master key: `secretKey` when given, else the data directory's key file, created when
 * missing. A key file that exists but holds no key fails: making a new one would lose every
 * secret sealed with the old one.
 */
export const loadMasterKey = (options: {
  readonly secretKey: Redacted.Redacted<string> | undefined
  readonly dataDir: string
}): Effect.Effect<KeySource, SecretKeyInvalid> =>
  Effect.suspend(() => {
    const found = findMasterKey(options)
    return found._tag === "Invalid" ? Effect.fail(new SecretKeyInvalid({ message: found.message })) : Effect.succeed(found)
  })

const findMasterKey = (options: { readonly secretKey: Redacted.Redacted<string> | undefined; readonly dataDir: string }): Found => {
  if (options.secretKey !== undefined && Redacted.value(options.secretKey).trim() !== "") {
    const key = parseKey(Redacted.value(options.secretKey))
    return key === undefined
      ? { _tag: "Invalid", message: `TRELLIS_SECRET_KEY must be ${keyFormat}.` }
      : { _tag: "Environment", key }
  }
  const path = Path.join(options.dataDir, keyFileName)
  try {
    if (Fs.existsSync(path)) return readKeyFile(path, false)
    Fs.mkdirSync(options.dataDir, { recursive: true })
    return readKeyFile(path, createKeyFile(path))
  } catch (cause) {
    return { _tag: "None", reason: `cannot use ${path}: ${cause instanceof Error ? cause.message : String(cause)}` }
  }
}

const readKeyFile = (path: string, created: boolean): Found => {
  const key = parseKey(Fs.readFileSync(path, "utf8"))
  if (key === undefined) {
    return {
      _tag: "Invalid",
      message: `The key file ${path} does not hold a 32-byte key (64 hex characters). Restore it from a backup: ` +
        "the secrets saved with it (such as provider API keys) cannot be opened without it."
    }
  }
  const loose = process.platform !== "win32" && (Fs.statSync(path).mode & 0o077) !== 0
  return { _tag: "File", key, path, created, loose }
}

/**
 * Writes a new key under a temporary name (mode 0600, flushed to disk), then links it to
 * `path`; `false` when another process linked its own first (its key is the one to use).
 */
const createKeyFile = (path: string): boolean => {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`
  try {
    const fd = Fs.openSync(temporary, "wx", 0o600)
    try {
      Fs.writeSync(fd, `${randomBytes(32).toString("hex")}\n`)
      Fs.fsyncSync(fd)
    } finally {
      Fs.closeSync(fd)
    }
    try {
      Fs.linkSync(temporary, path)
    } catch (cause) {
      if (errorCode(cause) === "EEXIST") return false
      throw cause
    }
    syncDirectory(Path.dirname(path))
    return true
  } finally {
    Fs.rmSync(temporary, { force: true })
  }
}

/** Makes the new directory entry durable, where the file system allows it (best effort). */
const syncDirectory = (dir: string) => {
  if (process.platform === "win32") return
  try {
    const fd = Fs.openSync(dir, "r")
    try {
      Fs.fsyncSync(fd)
    } finally {
      Fs.closeSync(fd)
    }
  } catch {
    // Some file systems refuse to sync a directory; the key file itself is already on disk.
  }
}
