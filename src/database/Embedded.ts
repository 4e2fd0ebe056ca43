/**
 * The embedded database: PGlite (PostgreSQL compiled to WASM) in a data
 * directory, reached by `@effect/sql-pg` through an in-process Duplex.
 *
 * Why a Duplex and not a PGlite driver: the app then has one driver and one
 * SQL dialect for both PGlite and PostgreSQL. The Duplex frames the client's
 * wire-protocol bytes into whole request batches and runs them with PGlite's
 * `execProtocolRaw`, answering SSLRequest and CancelRequest itself.
 *
 * PGlite is ONE PostgreSQL session, so the pool has one connection. Because of
 * that, `PgClient.listen` is replaced here: sql-pg's own listener pins its
 * connection for as long as it listens, which would block every other query.
 * This bridge runs `LISTEN` once and picks the NotificationResponse messages
 * out of whatever PGlite answers, delivering them to every listener queue.
 *
 * Holding the data-directory lock is part of opening it (see DataDirLock);
 * on close the layer runs `CHECKPOINT` and closes PGlite.
 */
import { PGlite, type PGliteOptions } from "@electric-sql/pglite"
import * as PgClient from "@effect/sql-pg/PgClient"
import type * as PgConnection from "@effect/sql-pg/PgConnection"
import { Cause, Effect, Layer, Queue, Schema, type Scope } from "effect"
import type * as Reactivity from "effect/reactivity/Reactivity"
import type * as SqlClient from "effect/sql/SqlClient"
import { SqlError, UnknownError } from "effect/sql/SqlError"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { Duplex } from "node:stream"
import * as DataDirLock from "./DataDirLock.ts"

/** PGlite could not be opened or failed while starting. */
export class EmbeddedDatabaseError extends Schema.TaggedError<EmbeddedDatabaseError>()("EmbeddedDatabaseError", {
  dataDir: Schema.String,
  message: Schema.String,
  cause: Schema.Defect()
}) {}

export interface EmbeddedOptions {
  /** Directory holding the database; created if missing. */
  readonly dataDir: string
}

// Startup-phase request codes (no type byte, int32 length + int32 code).
const PROTOCOL_3 = 196608
const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104
const CANCEL_REQUEST = 80877102

const byte = (c: string): number => c.charCodeAt(0)
// Frontend messages after which the backend answers without waiting for more.
const BOUNDARY = new Set([byte("S"), byte("Q"), byte("H"), byte("c"), byte("f")])
const TERMINATE = byte("X")
const NOTIFICATION = byte("A")

const readInt32 = (b: Uint8Array, at: number): number =>
  ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3])

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  if (a.length === 0) return b
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

const simpleQuery = (sql: string): Uint8Array => {
  const text = new TextEncoder().encode(sql + "\0")
  const out = new Uint8Array(5 + text.length)
  out[0] = byte("Q")
  new DataView(out.buffer).setInt32(1, 4 + text.length)
  out.set(text, 5)
  return out
}

// Run when a connection goes away, so the next one starts from a clean
// session. UNLISTEN is left out on purpose: the listen registry below is
// shared by all connections and outlives any one of them.
const SESSION_RESET = [
  "ROLLBACK",
  "CLOSE ALL",
  "RESET ALL",
  "DEALLOCATE ALL",
  "SELECT pg_advisory_unlock_all()",
  "DISCARD PLANS",
  "DISCARD SEQUENCES",
  "DISCARD TEMP"
].map(simpleQuery).reduce(concat, new Uint8Array(0))

const decoder = new TextDecoder()

const readCString = (b: Uint8Array, at: number): readonly [string, number] => {
  let end = at
  while (end < b.length && b[end] !== 0) end++
  return [decoder.decode(b.subarray(at, end)), end + 1]
}

/**
 * Owns the PGlite instance's protocol traffic: serializes every exchange,
 * and fans notifications out.
 */
class Bridge {
  readonly pg: PGlite
  readonly listeners = new Map<string, Set<Queue.Queue<PgConnection.Notification, SqlError>>>()
  #tail: Promise<unknown> = Promise.resolve()
  closed = false

  constructor(pg: PGlite) {
    this.pg = pg
  }

  /** Runs one protocol exchange after every earlier one, under PGlite's own query lock. */
  exchange(message: Uint8Array): Promise<Uint8Array> {
    const run = this.#tail.then(() => {
      if (this.closed) throw new Error("The embedded database is closed")
      // Not `execProtocolRaw`: PGlite parses every answer into a message list that only
      // `execProtocol` resets, so after raw exchanges the list grew by ~700 bytes per request,
      // forever (a leak of the whole JS heap's size within hours under load).
      return this.pg.runExclusive(async () => (await this.pg.execProtocol(message, { throwOnError: false })).data)
    })
    this.#tail = run.catch(() => undefined)
    return run.then((out) => {
      this.inspect(out)
      return out
    })
  }

  /** Delivers the NotificationResponse messages in a backend answer to the listener queues. */
  inspect(out: Uint8Array): void {
    let at = 0
    while (at + 5 <= out.length) {
      const type = out[at]
      const length = readInt32(out, at + 1)
      if (length < 4) return
      if (type === NOTIFICATION) {
        const processId = readInt32(out, at + 5)
        const [channel, next] = readCString(out, at + 9)
        const [payload] = readCString(out, next)
        const queues = this.listeners.get(channel)
        if (queues !== undefined) {
          for (const queue of queues) Queue.offerUnsafe(queue, { processId, channel, payload })
        }
      }
      at += 1 + length
    }
  }

  /** Returns the session to a clean state after a connection ends. */
  reset(): Promise<void> {
    return this.exchange(SESSION_RESET).then(() => undefined, () => undefined)
  }

  connect = (): Duplex => new PGliteSocket(this)
}

/**
 * One client connection. Incoming bytes are buffered until they end with a
 * message the backend answers (Sync, Query, Flush), so PGlite never sees half
 * a request; its answer is pushed back as one chunk.
 */
class PGliteSocket extends Duplex {
  readonly #bridge: Bridge
  #pending: Uint8Array = new Uint8Array(0)
  #started = false
  #ended = false

  constructor(bridge: Bridge) {
    super()
    this.#bridge = bridge
  }

  override _read(): void {}

  override _write(chunk: Uint8Array, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#pending = concat(this.#pending, chunk)
    this.#drain().then(() => callback(), (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))))
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#finish().then(() => callback(), () => callback())
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#finish().then(() => callback(error), () => callback(error))
  }

  #send(bytes: Uint8Array): void {
    if (!this.#ended && bytes.length > 0) this.push(bytes)
  }

  #finish(): Promise<void> {
    if (this.#ended) return Promise.resolve()
    this.#ended = true
    this.push(null)
    return this.#started && !this.#bridge.closed ? this.#bridge.reset() : Promise.resolve()
  }

  async #drain(): Promise<void> {
    while (!this.#ended) {
      if (!this.#started) {
        if (this.#pending.length < 8) return
        const length = readInt32(this.#pending, 0)
        if (length < 8 || length > 10_000) throw new Error(`Malformed startup packet (length ${length})`)
        if (this.#pending.length < length) return
        const packet = this.#pending.subarray(0, length)
        this.#pending = this.#pending.slice(length)
        const code = readInt32(packet, 4)
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          this.#send(Uint8Array.of(byte("N")))
        } else if (code === CANCEL_REQUEST) {
          // Statements run synchronously inside PGlite: nothing to cancel.
          await this.#finish()
        } else if (code >> 16 === PROTOCOL_3 >> 16) {
          this.#send(await this.#bridge.exchange(packet))
          this.#started = true
        } else {
          throw new Error(`Unsupported startup request ${code}`)
        }
        continue
      }
      // Find the end of the last complete message that asks for an answer.
      let at = 0
      let cut = 0
      let terminate = false
      while (at + 5 <= this.#pending.length) {
        const type = this.#pending[at]
        const end = at + 1 + readInt32(this.#pending, at + 1)
        if (end > this.#pending.length) break
        if (type === TERMINATE) {
          terminate = true
          break
        }
        at = end
        if (BOUNDARY.has(type)) cut = end
      }
      if (terminate) cut = at
      if (cut > 0) {
        const batch = this.#pending.subarray(0, cut)
        this.#pending = this.#pending.slice(cut)
        this.#send(await this.#bridge.exchange(batch))
      }
      if (terminate) {
        await this.#finish()
        return
      }
      if (cut === 0) return
    }
  }
}

/** Delimited identifier, for LISTEN/UNLISTEN. */
const quoteIdentifier = (name: string): string => `"${name.replaceAll("\"", "\"\"")}"`

const listenError = (message: string): SqlError =>
  new SqlError({
    reason: new UnknownError({ cause: new Error(message), message, operation: "listen" })
  })

/**
 * `PgClient.listen` for the one-session database: registers a queue with the
 * bridge and runs `LISTEN` only for a channel's first listener (and `UNLISTEN`
 * after its last), without holding the connection in between.
 */
const makeListen = (bridge: Bridge, client: PgClient.PgClient) =>
(channel: string): Effect.Effect<Queue.Dequeue<PgConnection.Notification, SqlError>, SqlError, Scope.Scope> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      if (channel.length === 0 || channel.includes("\0")) {
        return yield* listenError(`Invalid channel name ${JSON.stringify(channel)}`)
      }
      const queue = yield* Queue.unbounded<PgConnection.Notification, SqlError>()
      let queues = bridge.listeners.get(channel)
      const first = queues === undefined
      if (queues === undefined) {
        queues = new Set()
        bridge.listeners.set(channel, queues)
      }
      queues.add(queue)
      const registered = queues
      const unregister = Effect.suspend(() => {
        registered.delete(queue)
        if (registered.size > 0 || bridge.listeners.get(channel) !== registered) return Queue.shutdown(queue)
        bridge.listeners.delete(channel)
        return Effect.andThen(
          Effect.ignore(client.unsafe(`UNLISTEN ${quoteIdentifier(channel)}`)),
          Queue.shutdown(queue)
        )
      })
      yield* Effect.addFinalizer(() => unregister)
      if (first) {
        yield* restore(client.unsafe(`LISTEN ${quoteIdentifier(channel)}`)).pipe(
          Effect.onError(() =>
            Effect.sync(() => {
              registered.delete(queue)
              if (registered.size === 0) bridge.listeners.delete(channel)
            })
          )
        )
      }
      return queue
    })
  )

const openError = (dataDir: string, cause: unknown): EmbeddedDatabaseError =>
  new EmbeddedDatabaseError({
    dataDir,
    message: `Cannot open the embedded database in ${dataDir}: ${cause instanceof Error ? cause.message : String(cause)}`,
    cause
  })

/**
 * PostgreSQL's memory settings inside PGlite. Its WASM memory never shrinks, and PostgreSQL's
 * defaults size it for a dedicated machine: 128 MB of shared buffers grew the heap from 128 to
 * 189 MB at start, all of it resident once the buffers fill. PGlite is one session whose reads
 * go through the OS page cache anyway, so small buffers cost little: 16 MB keeps the heap at
 * its 128 MB minimum (the module declares it) and bounds what queries can take.
 */
const memorySettings = [
  "-c", "shared_buffers=16MB",
  "-c", "temp_buffers=2MB",
  "-c", "work_mem=4MB",
  "-c", "maintenance_work_mem=16MB"
]

/**
 * PGlite's WASM modules and file-system bundle when running as a single executable
 * (`npm run build:binary`): there are no files beside the code, so they come from the
 * executable's assets. Elsewhere (Node, Deno: `node:sea` may not even exist) PGlite finds its
 * files next to its own module, as usual.
 */
const seaAssets = async (): Promise<Partial<PGliteOptions>> => {
  let sea: typeof import("node:sea")
  try {
    sea = await import("node:sea")
  } catch {
    return {}
  }
  if (typeof sea.isSea !== "function" || !sea.isSea()) return {}
  const [pgliteWasmModule, initdbWasmModule] = await Promise.all([
    WebAssembly.compile(sea.getRawAsset("pglite.wasm")),
    WebAssembly.compile(sea.getRawAsset("initdb.wasm"))
  ])
  return { pgliteWasmModule, initdbWasmModule, fsBundle: sea.getAssetAsBlob("pglite.data") }
}

/** True when `dir` already holds a PostgreSQL cluster (PGlite then reopens instead of running initdb). */
const isInitialized = (dir: string): boolean => Fs.existsSync(Path.join(dir, "PG_VERSION"))

/**
 * Opens PGlite in `dataDir` for the life of the scope. Does not take the
 * data-directory lock: `layer` does, and anything else calling this must too.
 * On close: `CHECKPOINT`, then close PGlite.
 */
export const openPGlite = (dataDir: string): Effect.Effect<PGlite, EmbeddedDatabaseError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const absolute = Path.resolve(dataDir)
      const fresh = !isInitialized(absolute)
      const started = Date.now()
      yield* Effect.try({
        try: () => Fs.mkdirSync(absolute, { recursive: true }),
        catch: (cause) => openError(dataDir, cause)
      })
      if (fresh) yield* Effect.logInfo(`Creating embedded database in ${absolute} (takes a few seconds)`)
      const pg = yield* Effect.tryPromise({
        try: async () =>
          PGlite.create(absolute, {
            ...(await seaAssets()),
            startParams: [...PGlite.defaultStartParams, ...memorySettings]
          }),
        catch: (cause) => openError(dataDir, cause)
      })
      yield* Effect.logInfo(`Embedded database ${fresh ? "created" : "opened"} in ${Date.now() - started} ms`).pipe(
        Effect.annotateLogs({ dataDir: absolute })
      )
      return pg
    }),
    (pg) =>
      Effect.promise(async () => {
        if (pg.closed) return
        try {
          await pg.exec("CHECKPOINT")
        } finally {
          await pg.close()
        }
      }).pipe(
        Effect.andThen(Effect.logInfo("Embedded database closed")),
        Effect.catchDefect((cause) => Effect.logError("Closing the embedded database failed", cause))
      )
  )

/**
 * A `PgClient` (one connection) over an open PGlite, with the bridged
 * `listen`. The caller owns PGlite and the lock; close this scope first.
 */
export const makeClient = (pg: PGlite): Effect.Effect<PgClient.PgClient, SqlError, Scope.Scope | Reactivity.Reactivity> =>
  Effect.gen(function*() {
    const bridge = new Bridge(pg)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        bridge.closed = true
        const queues = Array.from(bridge.listeners.values()).flatMap((set) => Array.from(set))
        bridge.listeners.clear()
        for (const queue of queues) Queue.failCauseUnsafe(queue, Cause.interrupt())
      })
    )
    const client = yield* PgClient.make({
      stream: bridge.connect,
      ssl: false,
      username: "postgres",
      database: "postgres",
      applicationName: "trellis",
      maxConnections: 1,
      minConnections: 1,
      idleTimeout: "1 hour"
    })
    return Object.assign(client, { listen: makeListen(bridge, client) })
  })

/**
 * The embedded database as a layer: takes the data-directory lock, opens
 * PGlite (creating the directory and database if missing) and provides
 * `PgClient` and `SqlClient` over one connection. Closing the layer closes the
 * client, checkpoints and closes PGlite, then releases the lock.
 */
export const layer = (
  options: EmbeddedOptions
): Layer.Layer<
  PgClient.PgClient | SqlClient.SqlClient,
  EmbeddedDatabaseError | DataDirLock.DataDirLocked | DataDirLock.DataDirLockError
> =>
  PgClient.layerFrom(
    Effect.gen(function*() {
      // Finalizers run in reverse: the client closes, then PGlite, then the lock.
      yield* DataDirLock.acquire(options.dataDir)
      const pg = yield* openPGlite(options.dataDir)
      return yield* makeClient(pg).pipe(
        Effect.mapError((error) =>
          new EmbeddedDatabaseError({
            dataDir: options.dataDir,
            message: `Cannot connect to the embedded database in ${options.dataDir}: ${error.message}`,
            cause: error
          })
        )
      )
    })
  )
