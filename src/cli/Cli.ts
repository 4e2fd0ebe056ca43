/**
 * The `trellis` command: `serve`, `migrate`, `openapi`. Flags override the matching
 * environment variables (see the README's configuration table).
 */
import { Console, Effect, Layer, Option, Predicate } from "effect"
import { Command, Flag } from "effect/cli"
import { OpenApi } from "effect/http-api"
import { TrellisConfig, variables } from "../config/TrellisConfig.ts"
import * as Database from "../database/Database.ts"
import * as Migrations from "../database/Migrations.ts"
import * as PluginLoader from "../plugin/PluginLoader.ts"
import * as Server from "../server/Server.ts"

/** One optional string flag per configuration variable, named as in the README table. */
const configFlags = Object.fromEntries(
  variables.map((v) => [
    v.name,
    Flag.String(v.flag.slice(2)).pipe(Flag.withDescription(`${v.description} (env ${v.name})`), Flag.optional)
  ])
)

const resolveConfig = (flags: Record<string, Option.Option<string>>) => {
  const env: Record<string, string | undefined> = { ...process.env }
  for (const [name, value] of Object.entries(flags)) {
    if (Option.isSome(value)) env[name] = value.value
  }
  return TrellisConfig.fromRecord(env)
}

/**
 * Start-up failures a person can fix (a bad variable, a locked data directory, a plugin that
 * collides, an unreachable database) print one clear line and exit 1, without a stack trace.
 */
const reportFailure = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.catch(effect, (error) =>
    Console.error(`trellis: ${Predicate.hasProperty(error, "message") ? String(error.message) : String(error)}`).pipe(
      Effect.andThen(Effect.sync(() => {
        process.exitCode = 1
      }))
    ))

const loadPlugins = (config: { readonly plugins: ReadonlyArray<string> }) =>
  Effect.map(PluginLoader.loadAll(config.plugins), (third) => [...Server.firstParty, ...third])

const serve = Command.make("serve", configFlags, (flags) =>
  Effect.gen(function*() {
    const config = yield* resolveConfig(flags)
    const plugins = yield* loadPlugins(config)
    return yield* Layer.launch(Server.layer({ config, plugins }))
  }).pipe(reportFailure)).pipe(Command.withDescription("Start the server (embedded database unless DATABASE_URL is set)"))

const migrate = Command.make("migrate", configFlags, (flags) =>
  Effect.gen(function*() {
    const config = yield* resolveConfig(flags)
    const plugins = yield* loadPlugins(config)
    const composition = yield* Server.compose(plugins)
    const applied = yield* Migrations.run(Server.migrationPlan(composition)).pipe(
      Effect.provide(Database.layer({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }))
    )
    for (const entry of applied) {
      yield* Console.log(`${entry.pluginId}: ${entry.applied.length === 0 ? "up to date" : `applied ${entry.applied.join(", ")}`}`)
    }
  }).pipe(Effect.provide(Server.loggingLayer({ logFormat: "pretty", logLevel: "warn" })), reportFailure)).pipe(
    Command.withDescription("Apply pending migrations of the core and every configured plugin, then exit")
  )

const openapi = Command.make("openapi", { plugins: configFlags.TRELLIS_PLUGINS }, (flags) =>
  Effect.gen(function*() {
    const config = yield* resolveConfig(flags)
    const plugins = yield* loadPlugins(config)
    const composition = yield* Server.compose(plugins)
    yield* Console.log(JSON.stringify(OpenApi.fromApi(composition.api), null, 2))
  }).pipe(reportFailure)).pipe(Command.withDescription("Print the OpenAPI document of the core and the configured plugins"))

export const trellis = Command.make("trellis").pipe(
  Command.withDescription("Trellis: a self-hosted, plugin-driven server for running AI work in production"),
  Command.withSubcommands([serve, migrate, openapi])
)

export const run = trellis.pipe(Command.run({ version: "0.1.0" }))

