/**
 * The platform as a plugin: it owns the `trellis` schema (platform tables such as the event
 * log), serves `/health`, `/ready` and `/api/plugins`, and takes part in collision checks like
 * any other plugin, so no plugin can claim its paths.
 */
import { Effect, Layer, Schema } from "effect"
import { HttpApi, HttpApiBuilder } from "effect/http-api"
import { DatabaseInfo } from "../database/Database.ts"
import * as Migrations from "../database/Migrations.ts"
import * as EventLogMigrations from "../events/migrations.ts"
import { idempotencyProblems } from "../idempotency/IdempotencyProblems.ts"
import * as IdempotencyMigrations from "../idempotency/migrations.ts"
import { FastPath } from "../http/FastPath.ts"
import { PluginList, PluginsGroup, SystemGroup } from "../http/SystemApi.ts"
import * as Plugin from "../plugin/Plugin.ts"
import { platformProblems } from "../problem/Problems.ts"
import { ServiceUnavailable } from "../problem/Problems.ts"
import { Lifecycle } from "../runtime/Lifecycle.ts"
import { PluginRegistry } from "./PluginRegistry.ts"

export const coreId = "trellis"
export const coreVersion = "0.1.0"

export class CoreApi extends HttpApi.make("trellis-core").add(SystemGroup).add(PluginsGroup) {}

const SystemHandlers = HttpApiBuilder.group(
  CoreApi,
  "system",
  Effect.fn(function*(handlers) {
    const database = yield* DatabaseInfo
    const lifecycle = yield* Lifecycle
    const registry = yield* PluginRegistry
    return handlers
      .handle("health", () => Effect.succeed({ status: "ok" as const, ok: true as const }))
      .handle("ready", () =>
        Effect.gen(function*() {
          const shuttingDown = yield* lifecycle.isShuttingDown
          const reachable = yield* database.ping
          const pending = reachable
            ? yield* Migrations.pending(registry.migrationPlan).pipe(
              Effect.map((list) => list.flatMap((p) => p.pending.map((name) => `${p.pluginId}/${name}`))),
              Effect.orElseSucceed(() => ["(unknown: the migration table could not be read)"]),
              // A readiness probe must answer: a database that does not answer in time is "not ready".
              Effect.timeoutOrElse({
                duration: "3 seconds",
                orElse: () => Effect.succeed(["(unknown: the migration table did not answer within 3 s)"])
              })
            )
            : []
          if (shuttingDown || !reachable || pending.length > 0) {
            const detail = shuttingDown
              ? "The server is shutting down."
              : !reachable
              ? "The database is not reachable."
              : `Migrations are pending: ${pending.join(", ")}.`
            return yield* new ServiceUnavailable({ detail })
          }
          return {
            status: "ready" as const,
            database: { kind: database.kind, reachable },
            migrations: { pending },
            shuttingDown
          }
        }))
  })
)

const PluginsHandlers = HttpApiBuilder.group(
  CoreApi,
  "plugins",
  Effect.fn(function*(handlers) {
    const registry = yield* PluginRegistry
    return handlers.handle("list", () => Effect.succeed({ plugins: registry.plugins }))
  })
)

/** The plugin list never changes while the server runs: its JSON is computed once. */
const PluginsFastRoute = FastPath.route(Effect.gen(function*() {
  const registry = yield* PluginRegistry
  const body = JSON.stringify(yield* Effect.orDie(Schema.encodeEffect(PluginList)({ plugins: registry.plugins })))
  const answer = FastPath.json(200, body)
  return { path: "/api/plugins", handle: () => answer }
}))

export const CorePlugin = Plugin.make({
  id: coreId,
  version: coreVersion,
  description: "The Trellis platform: health, readiness, plugin list, event log",
  groups: [SystemGroup, PluginsGroup],
  migrations: [...EventLogMigrations.migrations, ...IdempotencyMigrations.migrations],
  problems: [...platformProblems, ...idempotencyProblems],
  layer: Layer.mergeAll(SystemHandlers, PluginsHandlers, PluginsFastRoute)
})
