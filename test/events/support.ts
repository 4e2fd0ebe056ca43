/**
 * Databases for the event-log tests: embedded PGlite in a fresh temporary directory, and (when
 * `TRELLIS_TEST_DATABASE_URL` is set) a fresh database on that PostgreSQL server, created per
 * test file and dropped after. Both go through `Database.layer` and the real migration runner,
 * as the server does.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { Duration, Effect, Layer, Queue, Redacted, Stream } from "effect"
import type * as SqlClient from "effect/sql/SqlClient"
import type { Fiber, Scope } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { TrellisConfig } from "../../src/config/TrellisConfig.ts"
import * as Database from "../../src/database/Database.ts"
import * as Migrations from "../../src/database/Migrations.ts"
import { EventLog } from "../../src/events/EventLog.ts"
import type { StoredEvent } from "../../src/events/EventLog.ts"
import { migrations } from "../../src/events/migrations.ts"

export const postgresUrl: string | undefined = process.env.TRELLIS_TEST_DATABASE_URL || undefined

const migrated = Layer.effectDiscard(Migrations.run([{ pluginId: "trellis", schema: "trellis", migrations }]))

/** A configuration from variables (`{}`: the defaults), for the event log's retention settings. */
export const configFrom = (env: Readonly<Record<string, string>>) =>
  Layer.unwrap(Effect.map(Effect.orDie(TrellisConfig.fromRecord(env)), TrellisConfig.layer))

/**
 * The event log over a database layer, with the database's services exposed too. Its
 * configuration (retention) comes from `env`, default values when not given.
 */
export const withEventLog = <E>(
  database: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient | Database.DatabaseInfo, E>,
  env: Readonly<Record<string, string>> = {}
) =>
  EventLog.layer.pipe(Layer.provide(configFrom(env)), Layer.provideMerge(migrated), Layer.provideMerge(database))

/** Embedded PGlite in a temporary directory, removed afterwards. */
export const embeddedDatabase = Layer.unwrap(
  Effect.gen(function*() {
    const dataDir = yield* Effect.acquireRelease(
      Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "trellis-events-"))),
      (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
    )
    return Database.layer({ databaseUrl: undefined, dataDir })
  })
)

const withDatabaseName = (url: string, name: string): string => {
  const parsed = new URL(url)
  parsed.pathname = `/${name}`
  return parsed.toString()
}

const admin = (url: string, statement: string) =>
  Effect.gen(function*() {
    const pg = yield* PgClient.PgClient
    yield* pg.unsafe(statement)
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url) })), Effect.orDie)

/** A fresh database on the server at `url`, dropped (with FORCE) when the scope closes. Returns its URL. */
export const freshPostgresDatabase = (url: string): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const name = `trellis_events_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`
      yield* admin(url, `CREATE DATABASE "${name}"`)
      return name
    }),
    (name) => admin(url, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
  ).pipe(Effect.map((name) => withDatabaseName(url, name)))

/** `Database.layer` on PostgreSQL at `url` (one "process"). */
export const postgresDatabase = (url: string) => Database.layer({ databaseUrl: Redacted.make(url), dataDir: "" })

/** A fresh PostgreSQL database for this file, through `Database.layer`. */
export const freshPostgres = (url: string) =>
  Layer.unwrap(Effect.map(freshPostgresDatabase(url), postgresDatabase))

/** Runs a subscription into a queue in the background, so a test can take events one by one. */
export const follow = (
  stream: Stream.Stream<StoredEvent, unknown>
): Effect.Effect<{ readonly queue: Queue.Queue<StoredEvent>; readonly fiber: Fiber.Fiber<void, unknown> }, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<StoredEvent>()
    const fiber = yield* Stream.runForEach(stream, (event) => Queue.offer(queue, event)).pipe(Effect.forkScoped)
    return { queue, fiber }
  })

/** Takes exactly `n` events, failing the test if they do not arrive within `timeout`. */
export const takeN = (queue: Queue.Queue<StoredEvent>, n: number, timeout: Duration.Input = "10 seconds") =>
  Effect.suspend(() => {
    const out: Array<StoredEvent> = []
    return Effect.whileLoop({
      while: () => out.length < n,
      body: () => Queue.take(queue),
      step: (event) => {
        out.push(event)
      }
    }).pipe(
      Effect.as(out),
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () =>
          Effect.die(
            new Error(`Did not receive ${n} events within ${Duration.format(Duration.fromInputUnsafe(timeout))} (got ${out.length})`)
          )
      })
    )
  })

/** The events still waiting in the queue after `wait` (should be none when a test is done). */
export const leftover = (queue: Queue.Queue<StoredEvent>, wait: Duration.Input = "300 millis") =>
  Effect.andThen(Effect.sleep(wait), Queue.clear(queue))

export const seqs = (events: ReadonlyArray<StoredEvent>): ReadonlyArray<number> => events.map((e) => e.seq)

export const range = (from: number, to: number): ReadonlyArray<number> =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i)

let counter = 0
/** A stream name unique within the test run. */
export const uniqueStream = (label: string): string => `test/${label}/${Date.now()}-${counter++}`
