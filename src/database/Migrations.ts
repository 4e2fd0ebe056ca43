/**
 * Per-plugin migrations. Each plugin owns a PostgreSQL schema named after it
 * and keeps its own `trellis_migrations` table inside that schema, so plugins
 * version their tables independently and one plugin's history never blocks
 * another's.
 *
 * Why not effect/sql's `Migrator`: it keeps one table, runs every pending
 * migration in one transaction and only looks at the highest applied id. Here
 * each migration runs in its own transaction together with its bookkeeping
 * row, and a failure names the plugin and migration.
 *
 * Concurrency: each of those transactions first takes
 * `pg_advisory_xact_lock(MIGRATION_LOCK)` and re-checks whether the migration
 * is already recorded, so replicas starting together apply every migration
 * exactly once, in id order. A transaction-scoped lock needs no reserved
 * connection, so it also works on the one-connection embedded database.
 */
import { Effect, Schema } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"

export interface Migration {
  /** Positive integer, unique within the plugin; migrations apply in id order. */
  readonly id: number
  /** Short snake_case description, e.g. "create_prompts". */
  readonly name: string
  /**
   * Runs inside a transaction with `search_path` set to the plugin's schema
   * (then `public`), so unqualified `CREATE TABLE x` lands in the schema.
   * Runtime queries do not get that search_path: qualify names there.
   * Statements that refuse transactions (CREATE INDEX CONCURRENTLY) cannot be used.
   */
  readonly up: Effect.Effect<void, unknown, SqlClient.SqlClient>
}

export interface PluginMigrations {
  readonly pluginId: string
  /** PostgreSQL schema owned by the plugin: /^[a-z][a-z0-9_]{0,62}$/. */
  readonly schema: string
  readonly migrations: ReadonlyArray<Migration>
}

export interface PluginApplied {
  readonly pluginId: string
  /** `<id>_<name>` of each migration this run applied, in order. */
  readonly applied: ReadonlyArray<string>
}

export interface PluginPending {
  readonly pluginId: string
  /** `<id>_<name>` of each migration not yet applied, in order. */
  readonly pending: ReadonlyArray<string>
}

/** A plan that cannot run, or a migration that failed (its own step was rolled back). */
export class MigrationError extends Schema.TaggedError<MigrationError>()("MigrationError", {
  pluginId: Schema.String,
  /** `<id>_<name>` of the failing migration; null when the failure is not in one migration. */
  migration: Schema.NullOr(Schema.String),
  message: Schema.String,
  cause: Schema.Defect()
}) {}

/** The advisory lock key that serializes migration steps across processes ("trellis" in ASCII). */
export const MIGRATION_LOCK = "32776877234743667"

/** The bookkeeping table's name inside each plugin schema. */
export const migrationsTable = "trellis_migrations"

const schemaPattern = /^[a-z][a-z0-9_]{0,62}$/

/** Display name of a migration: `<id>_<name>`. */
export const migrationName = (migration: Migration): string => `${migration.id}_${migration.name}`

const messageOf = (value: unknown): string | undefined =>
  typeof value === "object" && value !== null && "message" in value && typeof value.message === "string" && value.message !== ""
    ? value.message
    : undefined

/** The most useful message: for a SqlError the server's own ("column x does not exist"), not "Query failed". */
const describe = (cause: unknown): string => {
  if (typeof cause === "object" && cause !== null && "reason" in cause && typeof cause.reason === "object" && cause.reason !== null) {
    const server = "cause" in cause.reason ? messageOf(cause.reason.cause) : undefined
    if (server !== undefined) return server
  }
  return messageOf(cause) ?? String(cause)
}

/**
 * Another process created the schema while we waited for the lock. The
 * advisory lock does not refresh the catalog cache, so IF NOT EXISTS can miss
 * it; a fresh transaction sees it.
 */
const isUniqueViolation = (error: SqlError): boolean => error.reason._tag === "UniqueViolation"

const planError = (pluginId: string, message: string) =>
  new MigrationError({ pluginId, migration: null, message, cause: undefined })

/** Checks a plan: valid schema names, no duplicate plugins or schemas, unique positive ids. Returns migrations sorted by id. */
const validate = (plan: ReadonlyArray<PluginMigrations>) =>
  Effect.gen(function*() {
    const ids = new Set<string>()
    const schemas = new Map<string, string>()
    const sorted: Array<PluginMigrations> = []
    for (const plugin of plan) {
      if (ids.has(plugin.pluginId)) {
        return yield* planError(plugin.pluginId, `Plugin ${plugin.pluginId} appears twice in the migration plan`)
      }
      ids.add(plugin.pluginId)
      if (!schemaPattern.test(plugin.schema)) {
        return yield* planError(
          plugin.pluginId,
          `Plugin ${plugin.pluginId}: schema name ${JSON.stringify(plugin.schema)} must match ${schemaPattern.source}`
        )
      }
      const other = schemas.get(plugin.schema)
      if (other !== undefined) {
        return yield* planError(plugin.pluginId, `Plugins ${other} and ${plugin.pluginId} both claim schema ${plugin.schema}`)
      }
      schemas.set(plugin.schema, plugin.pluginId)
      const seen = new Set<number>()
      for (const migration of plugin.migrations) {
        if (!Number.isSafeInteger(migration.id) || migration.id <= 0 || migration.id > 2147483647) {
          return yield* planError(plugin.pluginId, `Plugin ${plugin.pluginId}: migration id ${migration.id} must be a positive 32-bit integer`)
        }
        if (seen.has(migration.id)) {
          return yield* planError(plugin.pluginId, `Plugin ${plugin.pluginId}: migration id ${migration.id} is used twice`)
        }
        if (migration.name.trim() === "") {
          return yield* planError(plugin.pluginId, `Plugin ${plugin.pluginId}: migration ${migration.id} has no name`)
        }
        seen.add(migration.id)
      }
      sorted.push({ ...plugin, migrations: [...plugin.migrations].sort((a, b) => a.id - b.id) })
    }
    return sorted
  })

const lockStep = (sql: SqlClient.SqlClient) => sql.unsafe(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`)

/** Ids recorded in the plugin's table, or undefined when the table does not exist yet. */
const appliedIds = (sql: SqlClient.SqlClient, schema: string): Effect.Effect<ReadonlySet<number> | undefined, SqlError> =>
  Effect.gen(function*() {
    const [found] = yield* sql<{ readonly exists: boolean }>`SELECT to_regclass(${`"${schema}".${migrationsTable}`}) IS NOT NULL AS exists`
    if (found === undefined || !found.exists) return undefined
    const rows = yield* sql<{ readonly id: number }>`SELECT id FROM ${sql(schema)}.${sql(migrationsTable)}`
    return new Set(rows.map((row) => Number(row.id)))
  })

const ensureSchema = (sql: SqlClient.SqlClient, plugin: PluginMigrations) =>
  sql.withTransaction(
    Effect.gen(function*() {
      yield* lockStep(sql)
      yield* sql.unsafe(`CREATE SCHEMA IF NOT EXISTS "${plugin.schema}"`)
      yield* sql.unsafe(
        `CREATE TABLE IF NOT EXISTS "${plugin.schema}".${migrationsTable} (` +
          `id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`
      )
    })
  ).pipe(
    Effect.retry({ times: 3, while: isUniqueViolation }),
    Effect.mapError((cause) =>
      new MigrationError({
        pluginId: plugin.pluginId,
        migration: null,
        message: `Plugin ${plugin.pluginId}: cannot create schema ${plugin.schema}: ${describe(cause)}`,
        cause
      })
    )
  )

/** Marks a failure inside `up`, so it is told apart from bookkeeping failures. */
class StepFailed {
  readonly cause: unknown
  constructor(cause: unknown) {
    this.cause = cause
  }
}

/** Applies one migration in its own transaction; false if another process applied it first. */
const applyOne = (sql: SqlClient.SqlClient, plugin: PluginMigrations, migration: Migration) => {
  const name = migrationName(migration)
  const fail = (cause: unknown) =>
    new MigrationError({
      pluginId: plugin.pluginId,
      migration: name,
      message: `Migration ${plugin.pluginId}/${name} failed and was rolled back: ${describe(cause)}`,
      cause
    })
  return sql.withTransaction(
    Effect.gen(function*() {
      yield* lockStep(sql)
      const existing = yield* sql`SELECT 1 FROM ${sql(plugin.schema)}.${sql(migrationsTable)} WHERE id = ${migration.id}`
      if (existing.length > 0) return false
      yield* sql.unsafe(`SET LOCAL search_path TO "${plugin.schema}", public`)
      yield* migration.up.pipe(
        Effect.mapError((cause) => new StepFailed(cause)),
        Effect.catchDefect((defect) => Effect.fail(new StepFailed(defect)))
      )
      yield* sql`INSERT INTO ${sql(plugin.schema)}.${sql(migrationsTable)} (id, name) VALUES (${migration.id}, ${migration.name})`
      return true
    })
  ).pipe(
    Effect.mapError((error) => fail(error instanceof StepFailed ? error.cause : error)),
    Effect.catchDefect((defect) => Effect.fail(fail(defect)))
  )
}

/**
 * Applies every missing migration of every plugin, plugin by plugin in plan
 * order and migration by migration in id order. Stops at the first failure
 * (earlier migrations stay applied). Safe to run on every start and from
 * several processes at once.
 */
export const run = (
  plan: ReadonlyArray<PluginMigrations>
): Effect.Effect<ReadonlyArray<PluginApplied>, MigrationError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const plugins = yield* validate(plan)
    const result: Array<PluginApplied> = []
    for (const plugin of plugins) {
      const wrap = (cause: unknown) =>
        new MigrationError({
          pluginId: plugin.pluginId,
          migration: null,
          message: `Plugin ${plugin.pluginId}: cannot read applied migrations: ${describe(cause)}`,
          cause
        })
      let applied = yield* appliedIds(sql, plugin.schema).pipe(Effect.mapError(wrap))
      if (applied === undefined) {
        yield* ensureSchema(sql, plugin)
        applied = new Set()
      }
      const done: Array<string> = []
      for (const migration of plugin.migrations) {
        if (applied.has(migration.id)) continue
        const started = Date.now()
        const ran = yield* applyOne(sql, plugin, migration)
        if (ran) {
          done.push(migrationName(migration))
          yield* Effect.logInfo(`Applied migration ${plugin.pluginId}/${migrationName(migration)} in ${Date.now() - started} ms`).pipe(
            Effect.annotateLogs({ plugin: plugin.pluginId, migration: migrationName(migration) })
          )
        }
      }
      result.push({ pluginId: plugin.pluginId, applied: done })
    }
    return result
  })

/** Migrations not yet applied, per plugin (all of them when the plugin's schema is missing). For `/ready`. */
export const pending = (
  plan: ReadonlyArray<PluginMigrations>
): Effect.Effect<ReadonlyArray<PluginPending>, MigrationError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const plugins = yield* validate(plan)
    const result: Array<PluginPending> = []
    for (const plugin of plugins) {
      const applied = yield* appliedIds(sql, plugin.schema).pipe(
        Effect.mapError((cause) =>
          new MigrationError({
            pluginId: plugin.pluginId,
            migration: null,
            message: `Plugin ${plugin.pluginId}: cannot read applied migrations: ${describe(cause)}`,
            cause
          })
        )
      )
      result.push({
        pluginId: plugin.pluginId,
        pending: plugin.migrations.filter((m) => applied === undefined || !applied.has(m.id)).map(migrationName)
      })
    }
    return result
  })
