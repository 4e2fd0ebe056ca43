/**
 * The test kit for plugin authors (and Trellis's own tests): boots the real platform with the
 * given plugins on a fresh database, listening on a free loopback port, and gives raw HTTP
 * access, typed clients and the server's `SqlClient`.
 *
 * The database is embedded PGlite in a fresh temporary directory, or, when
 * `TRELLIS_TEST_DATABASE_URL` is set, a fresh database created on that PostgreSQL server (and
 * dropped afterwards), so the same tests run on both.
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
import { Clock, Context, Effect, Layer, Redacted } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpServer } from "effect/http"
import type { HttpClientResponse } from "effect/http"
import { Reactivity } from "effect/reactivity"
import type { SqlClient } from "effect/sql"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { TrellisConfig } from "../config/TrellisConfig.ts"
import type { TrellisConfigShape } from "../config/TrellisConfig.ts"
import type * as Plugin from "../plugin/Plugin.ts"
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

/** A fresh database on the PostgreSQL server of `TRELLIS_TEST_DATABASE_URL`, dropped on close. */
const freshPostgres = (baseUrl: string) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const name = `trellis_test_${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`
      yield* Effect.scoped(Effect.gen(function*() {
        const admin = yield* PgClient.make({ url: Redacted.make(baseUrl), maxConnections: 1 })
        yield* admin.unsafe(`CREATE DATABASE ${name}`)
      }))
      const url = new URL(baseUrl)
      url.pathname = `/${name}`
      return { name, url: url.toString() }
    }),
    ({ name }) =>
      Effect.scoped(Effect.gen(function*() {
        const admin = yield* PgClient.make({ url: Redacted.make(baseUrl), maxConnections: 1 })
        yield* admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      })).pipe(Effect.ignore, Effect.provide(Reactivity.layer))
  ).pipe(Effect.provide(Reactivity.layer))

/**
 * A fresh temporary data directory, removed on close. When `TRELLIS_TEST_PGLITE_TEMPLATE`
 * names a freshly created embedded database (the test run's global setup makes one), it is
 * copied: that is much faster than creating a database each time.
 */
const freshDataDir = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "trellis-test-"))
    const template = process.env.TRELLIS_TEST_PGLITE_TEMPLATE
    if (template !== undefined && template !== "" && NodeFs.existsSync(template)) {
      NodeFs.cpSync(template, dir, { recursive: true, filter: (source) => !source.endsWith("trellis.lock") })
    }
    return dir
  }),
  (dir) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
)

/**
 * The platform with `plugins`, on a fresh database, on a free port. Provides `TrellisTest`,
 * the server's `SqlClient`, its `Lifecycle` and an `HttpClient`.
 */
export const layer = (options: KitOptions): Layer.Layer<TrellisTest | SqlClient.SqlClient | HttpClient.HttpClient | Lifecycle, unknown> =>
  Layer.unwrap(Effect.gen(function*() {
    const pgBase = process.env.TRELLIS_TEST_DATABASE_URL
    const database = pgBase !== undefined && pgBase !== "" ? yield* freshPostgres(pgBase) : undefined
    const dataDir = yield* freshDataDir
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
        return TrellisTest.of({
          baseUrl,
          adminToken,
          config,
          databaseKind: database === undefined ? "embedded" : "postgres",
          request
        })
      })
    )
    return kit.pipe(
      Layer.provideMerge(FetchHttpClient.layer),
      Layer.provideMerge(server)
    ) as unknown as Layer.Layer<TrellisTest | SqlClient.SqlClient | HttpClient.HttpClient | Lifecycle, unknown>
  }))
