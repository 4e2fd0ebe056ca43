/**
 * The whole server as one Layer: configuration, database, migrations, platform services, the
 * composed plugins and the HTTP listener, in the order that keeps it safe.
 *
 * - The port opens only after the database is ready and migrated (requests that arrive during
 *   PGlite's start would otherwise hang).
 * - On shutdown the first thing that happens is `Lifecycle.beginShutdown`: `/ready` answers
 *   503 and live streams end cleanly; then the HTTP server stops accepting and lets in-flight
 *   requests finish; then the database checkpoints and closes (and releases its lock).
 * - At the end of the grace period every connection still open is cut, upgraded ones
 *   (WebSockets) included (`Listener`): no client can hold the process past it.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Context, Effect, Layer, Scope } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { ActingOrganization } from "../auth/ActingOrganization.ts"
import { AuthenticationLive, RpcAuthenticationLive } from "../auth/AuthenticationLive.ts"
import { DeclaredScopes } from "../auth/DeclaredScopes.ts"
import { AuditPlugin } from "../audit/AuditPlugin.ts"
import * as Bootstrap from "../identity/Bootstrap.ts"
import { IdempotencyStore } from "../idempotency/IdempotencyStore.ts"
import { RateLimiter } from "../ratelimit/RateLimiter.ts"
import * as IdentityServices from "../identity/IdentityServices.ts"
import { IdentityPlugin } from "../identity/IdentityPlugin.ts"
import * as JobQueueLive from "../jobs/JobQueueLive.ts"
import { AiPlugin } from "../ai/AiPlugin.ts"
import * as ModelsLive from "../ai/ModelsLive.ts"
import { JobsPlugin } from "../jobs/JobsPlugin.ts"
import { TrellisConfig } from "../config/TrellisConfig.ts"
import type { TrellisConfigShape } from "../config/TrellisConfig.ts"
import * as Database from "../database/Database.ts"
import * as Migrations from "../database/Migrations.ts"
import { EventLog } from "../events/EventLog.ts"
import * as TrellisLogger from "../logging/TrellisLogger.ts"
import { FastPath } from "../http/FastPath.ts"
import type * as Plugin from "../plugin/Plugin.ts"
import * as PluginHost from "../plugin/PluginHost.ts"
import { platformProblems } from "../problem/Problems.ts"
import { SecretBox } from "../secrets/SecretBox.ts"
import * as ServerParam from "../settings/ServerParam.ts"
import { ServerParams } from "../settings/ServerParams.ts"
import * as App from "./App.ts"
import { CorePlugin, coreId, coreVersion } from "./CorePlugin.ts"
import { Lifecycle } from "../runtime/Lifecycle.ts"
import * as Listener from "./Listener.ts"
import { PluginRegistry } from "./PluginRegistry.ts"

/**
 * The platform's own plugins, always loaded first: the core (health, plugin list, event log),
 * the audit log (its layer outputs `AuditLog` for every later plugin), identity, jobs and `ai`
 * (model providers' usage and settings).
 */
export const platformPlugins: ReadonlyArray<Plugin.Any> = [CorePlugin, AuditPlugin, IdentityPlugin, JobsPlugin, AiPlugin]

export interface ServerOptions {
  readonly config: TrellisConfigShape
  /**
   * Plugins to serve besides the platform's own (first-party and third-party). The server knows
   * none by name: the entry point (`src/main.ts`) passes the first-party list of
   * `plugins/index.ts`, the CLI adds those of `TRELLIS_PLUGINS`.
   */
  readonly plugins: ReadonlyArray<Plugin.Any>
  /** Which of `plugins` are first-party (shown in `/api/plugins`); none unless given. */
  readonly firstPartyIds?: ReadonlySet<string> | undefined
}

/** Composes the core and the given plugins; fails with `PluginConflict` on a collision. */
export const compose = (plugins: ReadonlyArray<Plugin.Any>) =>
  PluginHost.compose([...platformPlugins, ...plugins], {
    platformProblems: platformProblems.map((p) => p.problem),
    platformOwner: coreId,
    version: coreVersion
  })

export const migrationPlan = (composition: PluginHost.Composition): ReadonlyArray<Migrations.PluginMigrations> =>
  composition.plugins.map((p) => ({ pluginId: p.id, schema: p.id, migrations: p.migrations }))

/**
 * Logging as configured: JSON lines or pretty, at the configured minimum level, written to
 * stdout in batches and flushed when the layer closes (see `src/logging/`).
 */
export const loggingLayer = (config: Pick<TrellisConfigShape, "logFormat" | "logLevel">) =>
  TrellisLogger.layer({ format: config.logFormat, level: config.logLevel })

/** Database, configuration and the platform services plugins may require. */
export const platformLayer = (config: TrellisConfigShape, composition: PluginHost.Composition, firstPartyIds: ReadonlySet<string>) => {
  const registry = Layer.succeed(PluginRegistry, {
    composition,
    migrationPlan: migrationPlan(composition),
    plugins: composition.plugins.map((p) => ({
      id: p.id,
      version: p.version,
      description: p.description,
      firstParty: platformPlugins.some((core) => core.id === p.id) || firstPartyIds.has(p.id),
      groups: p.groups.map((g) => g.identifier),
      rpcs: [...(p.rpc?.requests.keys() ?? [])],
      // In the order they apply (by id), whatever order the plugin declares them in.
      migrations: [...p.migrations].sort((a, b) => a.id - b.id).map((m) => `${m.id}_${m.name}`)
    }))
  })
  const base = Layer.mergeAll(
    Database.layer({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }),
    TrellisConfig.layer(config),
    Lifecycle.layer,
    FastPath.layer,
    ActingOrganization.layer,
    DeclaredScopes.layer(composition.plugins.flatMap((p) => p.scopes ?? [])),
    registry
  )
  const migrated = Layer.effectDiscard(Migrations.run(migrationPlan(composition))).pipe(Layer.provideMerge(base))
  // SecretBox may create the key file in the data directory: after `Database.layer` holds its lock.
  const services = Layer.mergeAll(IdentityServices.layer, RateLimiter.layer, Layer.provideMerge(Layer.mergeAll(IdempotencyStore.layer, ServerParams.layer([...ServerParam.platform, ...composition.plugins.flatMap((p) => p.params ?? [])])), SecretBox.layer), JobQueueLive.layer, ModelsLive.layer).pipe(
    Layer.provideMerge(EventLog.layer),
    Layer.provideMerge(migrated)
  )
  const bootstrapped = Layer.effectDiscard(Bootstrap.run).pipe(Layer.provideMerge(services))
  return Layer.mergeAll(AuthenticationLive, RpcAuthenticationLive).pipe(Layer.provideMerge(bootstrapped))
}

/**
 * Begins shutdown before anything else closes (its finalizer is registered last), and arms the
 * deadline: whatever connection is still open when the grace period ends is cut.
 */
const shutdownHook = (listener: Listener.Listener, graceSeconds: number) =>
  Layer.effectDiscard(Effect.gen(function*() {
    const lifecycle = yield* Lifecycle
    yield* Effect.addFinalizer(() =>
      Effect.logInfo("shutting down").pipe(
        Effect.andThen(Effect.sync(() => listener.destroyAllAfter(graceSeconds * 1000))),
        Effect.andThen(lifecycle.beginShutdown)
      )
    )
  }))

/**
 * Serves the app with request fibers that start from `runtime`, the context the server was
 * started in (loggers, configuration provider, the CLI's services), instead of the context of
 * every platform service, which each request would otherwise copy. `HttpRouter.serve` forks
 * request fibers from the context it is built in; every HttpApi handler then merges its own
 * context (the services its group was built with) into the request's, and Effect copies both
 * maps whole to do it: with the platform's ~35 services in the request's context that copy
 * was most of the merge's cost (issue 11, section 10). Handlers lose nothing: their group's
 * context holds the platform services; a host route that needs a service takes it when it is
 * built (`App.ts`).
 */
const serveFrom = (runtime: ReadonlySet<string>, app: Layer.Layer<never, unknown, unknown>) =>
  Layer.effectDiscard(Effect.gen(function*() {
    const handler = yield* HttpRouter.toHttpEffect(app)
    const server = yield* HttpServer.HttpServer
    yield* Effect.updateContext(server.serve(handler), (built: Context.Context<never>) =>
      Context.makeUnsafe(new Map([...built.mapUnsafe].filter(([key]) => runtime.has(key) || key === Scope.Scope.key))))
  }))

/**
 * The server layer. Its output includes `HttpServer`, whose `address` tells the bound port
 * (use port 0 to pick a free one).
 */
export const layer = (options: ServerOptions) =>
  Layer.unwrap(Effect.gen(function*() {
    const { config } = options
    const runtime = new Set((yield* Effect.context<never>()).mapUnsafe.keys())
    const composition = yield* compose(options.plugins)
    // Every plugin's declared variables, read (from the ConfigProvider: the CLI's is the
    // environment with the flags over it) and checked before anything opens or listens.
    const pluginConfigs = yield* Effect.forEach(composition.plugins, (p) => p.config?.load ?? Effect.succeed(Context.empty()))
    const configs = Layer.succeedContext(pluginConfigs.reduce((all, one) => Context.merge(all, one), Context.empty()))
    const platform = platformLayer(config, composition, options.firstPartyIds ?? new Set()).pipe(Layer.provideMerge(configs))
    const listener = Listener.make(config.listener)
    const server = listener.server
    const http = serveFrom(runtime, App.layer(composition, config, server)).pipe(
      Layer.provideMerge(NodeHttpServer.layer(() => server, {
        port: config.port,
        host: config.host,
        gracefulShutdownTimeout: `${config.shutdownGraceSeconds} seconds`
      }))
    )
    const listening = Layer.effectDiscard(Effect.gen(function*() {
      if (config.adminToken === undefined) {
        yield* Effect.logWarning(
          "TRELLIS_ADMIN_TOKEN is not set: no credential can call the authenticated endpoints yet. Set it (16+ characters) and restart."
        )
      }
      yield* Effect.logInfo("Trellis is listening").pipe(Effect.annotateLogs({
        host: config.host,
        port: config.port,
        database: config.databaseUrl === undefined ? `embedded (${config.dataDir})` : "postgres",
        plugins: composition.plugins.map((p) => `${p.id}@${p.version}`).join(", ")
      }))
    }))
    // The platform's remaining requirements are what plugins declare; a plugin that needs a
    // service nobody provides fails here at start with Effect's "Service not found" error.
    return Layer.mergeAll(shutdownHook(listener, config.shutdownGraceSeconds), listening).pipe(
      Layer.provideMerge(http),
      Layer.provideMerge(platform)
    ) as unknown as Layer.Layer<HttpServer.HttpServer, unknown, never>
  })).pipe(Layer.provide(loggingLayer(options.config)))

