/**
 * The test kit for plugin authors (and Trellis's own tests): boots the real platform with the
 * given plugins on a fresh database, listening on a free loopback port, and gives raw HTTP
 * access, typed clients and the server's `SqlClient`.
 *
 * The database is embedded PGlite in a fresh temporary directory, or, when
 * `TRELLIS_TEST_DATABASE_URL` is set, a fresh database created on that PostgreSQL server (and
 * dropped afterwards), so the same tests run on both.
 *
 * Why templates: creating a PGlite database takes seconds and migrating it about as long again,
 * once per server. With `globalSetup` (below) in the test run's vitest configuration, the run
 * creates one empty database; the first server of each set of plugins migrates a copy of it into
 * a template for that set (a directory on PGlite, a `TEMPLATE` database on PostgreSQL), and
 * every server after that starts from a copy of the template, with nothing left to migrate.
 *
 * ```ts
 * layer(TestKit.layer({ plugins: [MyPlugin] }), { timeout: 60_000 })("my plugin", (it) => {
 *   it.effect("creates", () => Effect.gen(function*() {
 *     const kit = yield* TestKit.TrellisTest
 *     const response = yield* kit.request("POST", "/api/things", { body: { name: "x" } })
 *     assert.strictEqual(response.status, 201)
 *   }))
 * })
 * ```
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { Clock, Context, Effect, Layer, Redacted, References, Schedule } from "effect"
import type { Scope } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpServer } from "effect/http"
import type { HttpClientResponse } from "effect/http"
import type { HttpApi, HttpApiGroup } from "effect/http-api"
import { Reactivity } from "effect/reactivity"
import { SqlClient } from "effect/sql"
import * as NodeCrypto from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { TrellisConfig } from "../config/TrellisConfig.ts"
import type { TrellisConfigShape } from "../config/TrellisConfig.ts"
import * as Client from "../client/Client.ts"
import * as Embedded from "../database/Embedded.ts"
import * as Migrations from "../database/Migrations.ts"
import * as Plugin from "../plugin/Plugin.ts"
import type { Lifecycle } from "../runtime/Lifecycle.ts"
import * as Server from "../server/Server.ts"

export const adminToken = "test-admin-token-0123456789"

/** The password of the first admin user, `admin` (owner of the default organization). */
export const adminPassword = "test-admin-password-0123"

export interface RequestOptions {
  readonly body?: unknown
  readonly token?: string | null | undefined
  readonly headers?: Record<string, string> | undefined
}

/**
 * A typed client (`trellis/client`) of `api` on the test server, sending the admin token unless
 * `token` is given (`null` sends none). Failing statuses fail the call with the endpoint's
 * declared error, so tests assert on decoded values instead of casting JSON bodies.
 */
export type TestClient = <Id extends string, Groups extends HttpApiGroup.Constraint>(
  api: HttpApi.HttpApi<Id, Groups>,
  options?: { readonly token?: string | null | undefined }
) => Effect.Effect<Effect.Success<ReturnType<typeof Client.make<Id, Groups>>>>

export interface TestServer {
  readonly baseUrl: string
  readonly adminToken: string
  readonly config: TrellisConfigShape
  /** The database the server uses: `embedded` (a temp dir) or `postgres`. */
  readonly databaseKind: "embedded" | "postgres"
  /**
   * A request to the server. JSON bodies are encoded; the admin token is sent unless
   * `token` is given (`null` sends none). Never fails on a status: assert on it.
   */
  readonly request: (
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS",
    path: string,
    options?: RequestOptions
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, unknown>
  /** A typed client of `api` (for instance `trellis/client`'s `FirstPartyApi`) on this server. */
  readonly client: TestClient
}

export class TrellisTest extends Context.Service<TrellisTest, TestServer>()("trellis/testing/TrellisTest") {}

export interface KitOptions {
  /** The plugins to serve besides the platform's own (Trellis's tests pass `plugins/index.ts`'s `firstParty`). */
  readonly plugins: ReadonlyArray<Plugin.Any>
  /** Which of `plugins` `/api/plugins` marks first-party (none unless given). */
  readonly firstPartyIds?: ReadonlySet<string> | undefined
  /** Configuration overrides (port, host, data dir and database are chosen by the kit). */
  readonly config?: Partial<TrellisConfigShape> | undefined
}

/** Names the environment variables the kit reads its run's templates from (set by `globalSetup`). */
const templateEnv = {
  /** An empty, freshly created embedded database directory (its parent holds the migrated ones). */
  pglite: "TRELLIS_TEST_PGLITE_TEMPLATE",
  /** Identifies the run on PostgreSQL: its template databases are `trellis_tpl_<run>_<plan>`. */
  run: "TRELLIS_TEST_RUN_ID"
} as const

const envValue = (name: string): string | undefined => {
  const value = process.env[name]
  return value === undefined || value === "" ? undefined : value
}

/**
 * What a template is a template of: every plugin's schema and migration names, in order. Within
 * one run a migration's name stands for its code (the templates live only as long as the run).
 */
const planKey = (plan: ReadonlyArray<Migrations.PluginMigrations>): string =>
  NodeCrypto.createHash("sha256")
    .update(JSON.stringify(plan.map((p) => [p.pluginId, p.schema, p.migrations.map(Migrations.migrationName)])))
    .digest("hex")
    .slice(0, 16)

const withPostgres = <A, E>(url: string, use: (sql: SqlClient.SqlClient) => Effect.Effect<A, E, SqlClient.SqlClient>) =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* PgClient.make({ url: Redacted.make(url), maxConnections: 1 })
    return yield* Effect.provideService(use(client), SqlClient.SqlClient, client)
  })).pipe(Effect.provide(Reactivity.layer))

const databaseUrl = (baseUrl: string, name: string): string => {
  const url = new URL(baseUrl)
  url.pathname = `/${name}`
  return url.toString()
}

// "source database is being accessed by other users": a template's migrating connection may
// still be closing, or another worker is cloning it (PostgreSQL lets one clone at a time).
const cloneRetry = { schedule: Schedule.spaced("100 millis"), times: 100 } as const

/**
 * The run's template database for `plan` on the server of `baseUrl`, created and migrated by
 * the first caller. An advisory lock makes concurrent test workers wait for that one.
 */
const postgresTemplate = (baseUrl: string, run: string, plan: ReadonlyArray<Migrations.PluginMigrations>) => {
  const name = `trellis_tpl_${run}_${planKey(plan)}`
  return withPostgres(baseUrl, (sql) =>
    Effect.acquireUseRelease(
      sql.unsafe(`SELECT pg_advisory_lock(hashtext('${name}'))`),
      () =>
        Effect.gen(function*() {
          const exists = yield* sql.unsafe(`SELECT 1 FROM pg_database WHERE datname = '${name}'`)
          if (exists.length > 0) return
          yield* sql.unsafe(`CREATE DATABASE ${name}`)
          yield* withPostgres(databaseUrl(baseUrl, name), () => Migrations.run(plan)).pipe(
            Effect.provideService(References.MinimumLogLevel, "Warn"),
            Effect.tapError(() => Effect.ignore(sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)))
          )
        }),
      () => Effect.ignore(sql.unsafe(`SELECT pg_advisory_unlock(hashtext('${name}'))`))
    )).pipe(Effect.as(name))
}

/**
 * A fresh database on the PostgreSQL server of `TRELLIS_TEST_DATABASE_URL`, dropped on close:
 * a copy of the run's template for `plan` when the run has one (see `globalSetup`).
 */
const freshPostgres = (baseUrl: string, plan: ReadonlyArray<Migrations.PluginMigrations>) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const name = `trellis_test_${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`
      const run = envValue(templateEnv.run)
      const template = run === undefined ? undefined : yield* postgresTemplate(baseUrl, run, plan)
      yield* withPostgres(baseUrl, (sql) =>
        template === undefined
          ? sql.unsafe(`CREATE DATABASE ${name}`)
          : sql.unsafe(`CREATE DATABASE ${name} TEMPLATE ${template}`).pipe(Effect.retry(cloneRetry)))
      return { name, url: databaseUrl(baseUrl, name) }
    }),
    ({ name }) =>
      withPostgres(baseUrl, (sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).pipe(Effect.ignore)
  )

const copyDataDir = (from: string, to: string): void =>
  NodeFs.cpSync(from, to, { recursive: true, filter: (source) => !source.endsWith("trellis.lock") })

/** Templates migrated by this process, so that two servers booting at once migrate one. */
const pgliteTemplates = new Map<string, Promise<string>>()

/**
 * The run's embedded template for `plan`: the empty template migrated, in a directory next to
 * it. Test workers share it through the file system; one that loses the race to publish its
 * copy uses the winner's.
 */
const pgliteTemplate = (empty: string, plan: ReadonlyArray<Migrations.PluginMigrations>) => {
  const target = NodePath.join(NodePath.dirname(empty), `migrated-${planKey(plan)}`)
  return Effect.gen(function*() {
    if (NodeFs.existsSync(target)) return target
    const building = NodeFs.mkdtempSync(NodePath.join(NodePath.dirname(empty), "building-"))
    copyDataDir(empty, building)
    yield* Effect.scoped(Effect.gen(function*() {
      const pg = yield* Embedded.openPGlite(building)
      const client = yield* Embedded.makeClient(pg)
      yield* Effect.provideService(Migrations.run(plan), SqlClient.SqlClient, client)
    })).pipe(
      Effect.provide(Reactivity.layer),
      Effect.provideService(References.MinimumLogLevel, "Warn"),
      Effect.onExit(() => Effect.sync(() => NodeFs.existsSync(target) && NodeFs.rmSync(building, { recursive: true, force: true })))
    )
    if (!NodeFs.existsSync(target)) {
      try {
        NodeFs.renameSync(building, target)
      } catch (error) {
        // Another worker published the same template first.
        if (!NodeFs.existsSync(target)) throw error
        NodeFs.rmSync(building, { recursive: true, force: true })
      }
    }
    return target
  })
}

const cachedPgliteTemplate = (empty: string, plan: ReadonlyArray<Migrations.PluginMigrations>) =>
  Effect.suspend(() => {
    const key = planKey(plan)
    const known = pgliteTemplates.get(key)
    if (known !== undefined) return Effect.promise(() => known)
    const building = Effect.runPromise(pgliteTemplate(empty, plan))
    pgliteTemplates.set(key, building)
    building.catch(() => pgliteTemplates.delete(key))
    return Effect.tryPromise(() => building)
  })

/**
 * A fresh temporary data directory, removed on close. On PGlite (`embedded`) with a run
 * template, it holds a copy of the template for `plan`; otherwise the server creates the
 * database in it.
 */
const freshDataDir = (plan: ReadonlyArray<Migrations.PluginMigrations>, embedded: boolean) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const empty = envValue(templateEnv.pglite)
      const template = embedded && empty !== undefined && NodeFs.existsSync(empty)
        ? yield* cachedPgliteTemplate(empty, plan)
        : undefined
      const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "trellis-test-"))
      if (template !== undefined) copyDataDir(template, dir)
      return dir
    }),
    (dir) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
  )

/**
 * Vitest's `globalSetup` for tests that use the kit (`globalSetup: ["test/globalSetup.ts"]` with
 * `export { globalSetup as default } from "trellis/testing"` in that file): creates the run's
 * empty embedded database and names the run, and removes the run's templates at the end.
 */
export const globalSetup = async (): Promise<() => Promise<void>> => {
  const root = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "trellis-templates-"))
  const empty = NodePath.join(root, "empty")
  NodeFs.mkdirSync(empty)
  await Effect.runPromise(Effect.scoped(Effect.asVoid(Embedded.openPGlite(empty))).pipe(
    Effect.provideService(References.MinimumLogLevel, "Warn")
  ))
  const run = crypto.randomUUID().replace(/-/g, "").slice(0, 12)
  process.env[templateEnv.pglite] = empty
  process.env[templateEnv.run] = run
  return async () => {
    NodeFs.rmSync(root, { recursive: true, force: true })
    const pgBase = envValue("TRELLIS_TEST_DATABASE_URL")
    if (pgBase === undefined) return
    await Effect.runPromise(withPostgres(pgBase, (sql) =>
      Effect.gen(function*() {
        const rows = yield* sql.unsafe<{ readonly datname: string }>(
          `SELECT datname FROM pg_database WHERE datname LIKE 'trellis_tpl_${run}_%'`
        )
        for (const row of rows) yield* sql.unsafe(`DROP DATABASE IF EXISTS ${row.datname} WITH (FORCE)`)
      })).pipe(Effect.ignore))
  }
}

/**
 * The platform with `plugins`, on a fresh database, on a free port. Provides `TrellisTest`,
 * the server's `SqlClient`, its `Lifecycle` and an `HttpClient`.
 */
export const layer = (options: KitOptions): Layer.Layer<TrellisTest | SqlClient.SqlClient | HttpClient.HttpClient | Lifecycle, unknown> =>
  Layer.unwrap(Effect.gen(function*() {
    const pgBase = envValue("TRELLIS_TEST_DATABASE_URL")
    const plan = Server.migrationPlan(yield* Server.compose(options.plugins))
    const database = pgBase !== undefined ? yield* freshPostgres(pgBase, plan) : undefined
    const dataDir = yield* freshDataDir(plan, database === undefined)
    const base = yield* TrellisConfig.fromRecord({ TRELLIS_LOG_LEVEL: "warn" })
    const config: TrellisConfigShape = {
      ...base,
      adminToken: Redacted.make(adminToken),
      adminPassword: Redacted.make(adminPassword),
      ...options.config,
      port: 0,
      host: "127.0.0.1",
      dataDir,
      databaseUrl: database === undefined ? undefined : Redacted.make(database.url)
    }
    // @effect/vitest's `layer` runs with a TestClock that only moves when a test adjusts it;
    // a real server (timeouts, heartbeats, leases) needs the real clock.
    const server = Server.layer({ config, plugins: options.plugins, firstPartyIds: options.firstPartyIds }).pipe(
      Layer.provide(Layer.succeed(Clock.Clock, Clock.Clock.defaultValue()))
    )
    const kit = Layer.effect(
      TrellisTest,
      Effect.gen(function*() {
        const http = yield* HttpServer.HttpServer
        const client = yield* HttpClient.HttpClient
        const address = http.address
        const port = address._tag === "UnixPathAddress" ? 0 : address.port
        const baseUrl = `http://127.0.0.1:${port}`
        const request: TestServer["request"] = (method, path, requestOptions) => {
          let req = HttpClientRequest.make(method)(baseUrl + path)
          const token = requestOptions?.token === undefined ? adminToken : requestOptions.token
          if (token !== null) req = HttpClientRequest.bearerToken(req, token)
          if (requestOptions?.headers !== undefined) req = HttpClientRequest.setHeaders(req, requestOptions.headers)
          if (requestOptions?.body !== undefined) req = HttpClientRequest.bodyJsonUnsafe(req, requestOptions.body)
          return client.execute(req)
        }
        // Trellis's APIs declare one client middleware, `Authentication`, which `Client.make`
        // provides; TypeScript cannot see that for any `Groups`, hence the cast.
        const typedClient = (<Id extends string, Groups extends HttpApiGroup.Constraint>(
          api: HttpApi.HttpApi<Id, Groups>,
          clientOptions?: { readonly token?: string | null | undefined }
        ) => {
          const token = clientOptions?.token === undefined ? adminToken : clientOptions.token
          return Client.make(api, { baseUrl, token: token ?? undefined }).pipe(
            Effect.provideService(HttpClient.HttpClient, client)
          )
        }) as unknown as TestClient
        return TrellisTest.of({
          baseUrl,
          adminToken,
          config,
          databaseKind: database === undefined ? "embedded" : "postgres",
          request,
          client: typedClient
        })
      })
    )
    return kit.pipe(
      Layer.provideMerge(FetchHttpClient.layer),
      Layer.provideMerge(server)
    ) as unknown as Layer.Layer<TrellisTest | SqlClient.SqlClient | HttpClient.HttpClient | Lifecycle, unknown>
  }))

export interface RestartableOptions {
  /**
   * The plugins whose migrations the database starts with (a copy of the run's template for
   * them, as `layer` does): the widest set any boot serves. Each boot names its own plugins.
   */
  readonly plugins?: ReadonlyArray<Plugin.Any> | undefined
  /**
   * Configuration variables every boot reads, over the defaults for restart tests
   * (`TRELLIS_LOG_LEVEL=error`, jobs polled and monitored every second, one second of shutdown
   * grace); `undefined` drops a default (the platform's own applies).
   */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /**
   * The PostgreSQL server to create the fresh database on, or `false` for the embedded
   * database; `TRELLIS_TEST_DATABASE_URL` unless given.
   */
  readonly postgres?: string | false | undefined
}

export interface Restartable {
  /** The configuration every boot runs with (one data directory, one database). */
  readonly config: TrellisConfigShape
  readonly databaseKind: "embedded" | "postgres"
  /**
   * Boots a server with `plugins` on the database, in the current scope: closing the scope
   * stops it (one "process"). Boots may overlap (two processes on one PostgreSQL database);
   * on the embedded database one boot at a time holds the directory. Returns its base URL.
   */
  readonly boot: (plugins: ReadonlyArray<Plugin.Any>) => Effect.Effect<{ readonly baseUrl: string }, unknown, Scope.Scope>
}

const restartDefaults: Readonly<Record<string, string>> = {
  TRELLIS_LOG_LEVEL: "error",
  TRELLIS_JOBS_POLL_SECONDS: "1",
  TRELLIS_JOBS_MONITOR_SECONDS: "1",
  TRELLIS_SHUTDOWN_GRACE_SECONDS: "1"
}

/**
 * One fresh database (removed when the scope closes) and servers booted on it one after
 * another, for crash, restart and resume tests: what the first boot stored, the next one finds.
 * Tests get the services a boot built through a probe plugin of their own.
 *
 * ```ts
 * const server = yield* TestKit.restartable({ plugins: [MyPlugin] })
 * yield* Effect.scoped(server.boot([MyPlugin, probe]))   // first process
 * yield* Effect.scoped(server.boot([MyPlugin, probe2]))  // the next one, same database
 * ```
 */
export const restartable = (options: RestartableOptions = {}): Effect.Effect<Restartable, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const pgBase = options.postgres === false ? undefined : options.postgres ?? envValue("TRELLIS_TEST_DATABASE_URL")
    const plan = Server.migrationPlan(yield* Server.compose(options.plugins ?? []))
    const database = pgBase !== undefined ? yield* freshPostgres(pgBase, plan) : undefined
    const dataDir = yield* freshDataDir(plan, database === undefined)
    const base = yield* TrellisConfig.fromRecord({ ...restartDefaults, ...options.env })
    const config: TrellisConfigShape = {
      ...base,
      adminToken: Redacted.make(adminToken),
      adminPassword: Redacted.make(adminPassword),
      port: 0,
      host: "127.0.0.1",
      dataDir,
      databaseUrl: database === undefined ? undefined : Redacted.make(database.url)
    }
    const boot = (plugins: ReadonlyArray<Plugin.Any>) =>
      Effect.gen(function*() {
        const context = yield* Layer.build(Server.layer({ config, plugins }).pipe(
          Layer.provide(Layer.succeed(Clock.Clock, Clock.Clock.defaultValue()))
        ))
        const address = Context.get(context, HttpServer.HttpServer).address
        return { baseUrl: `http://127.0.0.1:${address._tag === "UnixPathAddress" ? 0 : address.port}` }
      })
    return { config, databaseKind: database === undefined ? "embedded" : "postgres", boot } satisfies Restartable
  })

/**
 * A plugin for tests that requires `requires` and runs `effect` when it starts: hands the test
 * the services the server built (through a `Deferred`), registers test-only step types, and
 * the like. No routes, no migrations.
 */
export const probe = <E, R>(
  options: { readonly id: string; readonly requires: ReadonlyArray<string>; readonly description?: string | undefined },
  effect: Effect.Effect<void, E, R>
) =>
  Plugin.make({
    id: options.id,
    version: "0.0.0",
    description: options.description ?? "test probe",
    groups: [],
    migrations: [],
    requires: options.requires,
    layer: Layer.effectDiscard(effect)
  })
