/**
 * The database entry point for the rest of Trellis: one layer that gives
 * `PgClient`/`SqlClient` over embedded PGlite (the default, in the data
 * directory) or over PostgreSQL when a DATABASE_URL is set, plus a small
 * `DatabaseInfo` service for logs, `/ready` and `/metrics`.
 *
 * The layer is only built once the database answers, so the HTTP server
 * (which depends on it) never listens before the database is ready.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { Context, Duration, Effect, Layer, Redacted, Schedule, Schema } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import * as Path from "node:path"
import { DataDirLocked, DataDirLockError } from "./DataDirLock.ts"
import * as Embedded from "./Embedded.ts"
import { EmbeddedDatabaseError } from "./Embedded.ts"
import * as Postgres from "./Postgres.ts"

export { DataDirLocked, DataDirLockError, EmbeddedDatabaseError }

export interface DatabaseOptions {
  /** PostgreSQL URL; `undefined` selects the embedded database. */
  readonly databaseUrl: Redacted.Redacted | undefined
  /** Data directory of the embedded database (ignored with a databaseUrl). */
  readonly dataDir: string
}

/** Which database is in use, and a cheap liveness probe. */
export class DatabaseInfo extends Context.Service<DatabaseInfo, {
  readonly kind: "embedded" | "postgres"
  /** e.g. "embedded PGlite at /srv/trellis/.trellis" or "postgresql://db:5432/trellis"; never a password. */
  readonly description: string
  /** `SELECT 1` within 2 s; false on any failure. */
  readonly ping: Effect.Effect<boolean>
}>()("trellis/database/DatabaseInfo") {}

/** PostgreSQL did not answer at start-up (after retrying for `startupTimeout`), or rejected the login. */
export class DatabaseUnavailable extends Schema.TaggedError<DatabaseUnavailable>()("DatabaseUnavailable", {
  description: Schema.String,
  message: Schema.String,
  cause: Schema.Defect()
}) {}

export type DatabaseError = DataDirLocked | DataDirLockError | EmbeddedDatabaseError | DatabaseUnavailable

/** How long start-up waits for PostgreSQL to accept connections (e.g. a container still starting). */
export const startupTimeout = Duration.seconds(30)

const pingTimeout = Duration.seconds(2)

const makePing = (sql: SqlClient.SqlClient): Effect.Effect<boolean> =>
  sql`SELECT 1`.pipe(
    Effect.as(true),
    Effect.timeoutOrElse({ duration: pingTimeout, orElse: () => Effect.succeed(false) }),
    Effect.catchCause(() => Effect.succeed(false))
  )

const infoLayer = (kind: "embedded" | "postgres", description: string) =>
  Layer.effect(
    DatabaseInfo,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      return DatabaseInfo.of({ kind, description, ping: makePing(sql) })
    })
  )

/** The underlying reason ("connect ECONNREFUSED ...", "password authentication failed ...") rather than sql-pg's summary. */
const detail = (error: SqlError): string => {
  const cause = error.reason.cause
  return cause instanceof Error && cause.message !== "" ? cause.message : error.message
}

/** Waits until PostgreSQL answers; retries connection failures only (not bad passwords or missing databases). */
const awaitPostgres = (description: string) =>
  Layer.effectDiscard(
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      let last = "no answer"
      yield* sql`SELECT 1`.pipe(
        Effect.tapError((error) =>
          Effect.suspend(() => {
            last = detail(error)
            return error.isRetryable ? Effect.logWarning(`Waiting for PostgreSQL at ${description}: ${last}`) : Effect.void
          })
        ),
        Effect.retry({
          schedule: Schedule.min([Schedule.exponential("200 millis", 1.5), Schedule.spaced("3 seconds")]),
          while: (error: SqlError) => error.isRetryable
        }),
        Effect.timeoutOrElse({
          duration: startupTimeout,
          orElse: () =>
            Effect.suspend(() =>
              Effect.fail(
                new DatabaseUnavailable({
                  description,
                  message: `PostgreSQL at ${description} did not answer within ${Duration.format(startupTimeout)}: ${last}`,
                  cause: undefined
                })
              )
            )
        }),
        Effect.mapError((error) =>
          error._tag === "DatabaseUnavailable" ? error : new DatabaseUnavailable({
            description,
            message: `Cannot use PostgreSQL at ${description}: ${detail(error)}`,
            cause: error
          })
        )
      )
      yield* Effect.logInfo(`Connected to PostgreSQL at ${description}`)
    })
  )

/**
 * `PgClient` + `SqlClient` + `DatabaseInfo`, embedded or PostgreSQL. Fails
 * with `DataDirLocked` when another process holds the data directory.
 */
export const layer = (
  options: DatabaseOptions
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient | DatabaseInfo, DatabaseError> => {
  if (options.databaseUrl === undefined) {
    const description = `embedded PGlite at ${Path.resolve(options.dataDir)}`
    return Layer.provideMerge(infoLayer("embedded", description), Embedded.layer({ dataDir: options.dataDir }))
  }
  const description = Postgres.describeUrl(Redacted.value(options.databaseUrl))
  const client = PgClient.layerFrom(
    Postgres.make(options.databaseUrl).pipe(
      Effect.mapError((error) =>
        new DatabaseUnavailable({ description, message: `Cannot use PostgreSQL at ${description}: ${detail(error)}`, cause: error })
      )
    )
  )
  return Layer.provideMerge(
    Layer.merge(infoLayer("postgres", description), awaitPostgres(description)),
    client
  )
}
