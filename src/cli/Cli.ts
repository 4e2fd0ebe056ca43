/**
 * The `trellis` command: `serve`, `migrate`, `openapi`, `users create`, `keys create`, `plugin new`. Flags override the matching
 * environment variables (see the README's configuration table).
 */
import { ConfigProvider, Console, Context, Effect, Layer, Option, Predicate } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { OpenApi } from "effect/http-api"
import { TrellisConfig, variables } from "../config/TrellisConfig.ts"
import type { Variable } from "../config/TrellisConfig.ts"
import * as Database from "../database/Database.ts"
import * as Migrations from "../database/Migrations.ts"
import type * as Plugin from "../plugin/Plugin.ts"
import * as PluginLoader from "../plugin/PluginLoader.ts"
import * as PluginScaffold from "./PluginScaffold.ts"
import * as Server from "../server/Server.ts"
import { AuditLog } from "../audit/AuditLog.ts"
import * as AuditLogLive from "../audit/AuditLogLive.ts"
import { defaultOrganizationId } from "../auth/Credentials.ts"
import type { TrellisConfigShape } from "../config/TrellisConfig.ts"
import { EventLog } from "../events/EventLog.ts"
import { ApiKeys } from "../identity/ApiKeys.ts"
import type { ApiKeyRecord } from "../identity/ApiKeys.ts"
import * as IdentityServices from "../identity/IdentityServices.ts"
import { Passwords } from "../identity/Passwords.ts"
import { Users } from "../identity/Users.ts"
import { randomBytes } from "node:crypto"

/**
 * One optional flag per configuration variable, named as in the README table. Its declaration
 * says its kind: a whole number takes an integer flag, a choice one of its words, so help shows
 * the right type and a typo is refused before start; the value is handed to the configuration
 * as text, like its environment variable.
 */
const configFlag = (v: Variable): Flag.Flag<Option.Option<string>> => {
  const name = v.flag.slice(2)
  const typed = v.flagKind._tag === "choice"
    ? Flag.Literals(name, v.flagKind.choices)
    : v.flagKind._tag === "integer"
    ? Flag.Int(name).pipe(Flag.map(String))
    : Flag.String(name)
  return typed.pipe(Flag.withDescription(`${v.description} (env ${v.name})`), Flag.optional)
}

/** Every configuration variable's flag, keyed by the variable's name: what `serve` takes. */
const flagsOf = (declared: ReadonlyArray<Variable>): Record<string, Flag.Flag<Option.Option<string>>> =>
  Object.fromEntries(declared.map((v) => [v.name, configFlag(v)]))

/** The platform's variables (its own plugins' too) and those the first-party plugins declare (third-party ones: environment only). */
const allVariables = (firstParty: ReadonlyArray<Plugin.Any>): ReadonlyArray<Variable> => [
  ...variables,
  ...[...Server.platformPlugins, ...firstParty].flatMap((p) => p.config?.variables ?? [])
]

/**
 * The flags of the commands that only open the database (`migrate`, `users create`,
 * `keys create`): where the database is, which plugins (their migrations and scopes), and the
 * log output. Listening, limits, mail and the rest are the server's alone.
 */
const databaseFlagNames = ["DATABASE_URL", "TRELLIS_DATA_DIR", "TRELLIS_PLUGINS", "TRELLIS_LOG_LEVEL", "TRELLIS_LOG_FORMAT"]
const databaseFlags: Record<string, Flag.Flag<Option.Option<string>>> = flagsOf(
  variables.filter((v) => databaseFlagNames.includes(v.name))
)

/** The environment with the given flags merged over it: what the configuration is read from. */
const recordOf = (flags: Record<string, Option.Option<string>>): Record<string, string | undefined> => {
  const env: Record<string, string | undefined> = { ...process.env }
  for (const [name, value] of Object.entries(flags)) {
    if (Option.isSome(value)) env[name] = value.value
  }
  return env
}

const resolveConfig = (flags: Record<string, Option.Option<string>>) => TrellisConfig.fromRecord(recordOf(flags))

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

/**
 * The first-party plugins, given by the entry point (`src/main.ts` passes `plugins/index.ts`'s
 * list): the platform imports no plugin. Empty unless provided.
 */
export const FirstPartyPlugins = Context.Reference<ReadonlyArray<Plugin.Any>>("trellis/cli/FirstPartyPlugins", {
  defaultValue: () => []
})

const loadPlugins = (config: { readonly plugins: ReadonlyArray<string> }) =>
  Effect.gen(function*() {
    const firstParty = yield* FirstPartyPlugins
    const third = yield* PluginLoader.loadAll(config.plugins)
    return [...firstParty, ...third]
  })

/**
 * Started through npm (`npm start`, `npx trellis serve`: npm sets `npm_lifecycle_event`), the
 * server stops when the process that started it is gone. npm forwards SIGTERM to the script's
 * shell, and a shell running `trellis` as a child (npx's `sh -c`) dies without passing it on:
 * the server would stay up orphaned, holding the data directory's lock. The parent is checked
 * every second; once it changed, the process sends itself SIGTERM, which shuts down in order like
 * any SIGTERM. Outside npm nothing is watched, so `nohup trellis serve &` outlives its shell.
 */
const stopWhenOrphaned = Layer.effectDiscard(Effect.gen(function*() {
  if (process.env.npm_lifecycle_event === undefined) return
  const parent = process.ppid
  yield* Effect.acquireRelease(
    Effect.sync(() => {
      const timer = setInterval(() => {
        if (process.ppid !== parent) {
          clearInterval(timer)
          process.kill(process.pid, "SIGTERM")
        }
      }, 1000)
      timer.unref()
      return timer
    }),
    (timer) => Effect.sync(() => clearInterval(timer))
  )
}))

/**
 * `serve`: the flags of every declared variable. Plugins read theirs through Effect's
 * `ConfigProvider`, here the environment with the flags merged over it; the server checks them
 * all before it listens.
 */
const serveCommand = (firstParty: ReadonlyArray<Plugin.Any>) =>
  Command.make("serve", flagsOf(allVariables(firstParty)), (flags) =>
    Effect.gen(function*() {
      const record = recordOf(flags)
      const config = yield* TrellisConfig.fromRecord(record)
      const plugins = yield* loadPlugins(config)
      const firstPartyIds = new Set(firstParty.map((p) => p.id))
      return yield* Layer.launch(Layer.merge(Server.layer({ config, plugins, firstPartyIds }), stopWhenOrphaned)).pipe(
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(record)))
      )
    }).pipe(reportFailure)).pipe(Command.withDescription("Start the server (embedded database unless DATABASE_URL is set)"))

/**
 * The database tools log warnings and errors only (their stdout is their answer, e.g. a key's
 * secret for `KEY=$(trellis keys create ...)`), unless `--log-level` asks for more; the format
 * follows `--log-format` / `TRELLIS_LOG_FORMAT`.
 */
const toolLogging = (flags: Record<string, unknown>, config: TrellisConfigShape) =>
  Server.loggingLayer({
    logFormat: config.logFormat,
    logLevel: Option.isOption(flags.TRELLIS_LOG_LEVEL) && Option.isSome(flags.TRELLIS_LOG_LEVEL) ? config.logLevel : "warn"
  })

const migrate = Command.make("migrate", databaseFlags, (flags) =>
  Effect.gen(function*() {
    const config = yield* resolveConfig(flags)
    return yield* Effect.gen(function*() {
      const plugins = yield* loadPlugins(config)
      const composition = yield* Server.compose(plugins)
      const applied = yield* Migrations.run(Server.migrationPlan(composition)).pipe(
        Effect.provide(Database.layer({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }))
      )
      for (const entry of applied) {
        yield* Console.log(`${entry.pluginId}: ${entry.applied.length === 0 ? "up to date" : `applied ${entry.applied.join(", ")}`}`)
      }
    }).pipe(Effect.provide(toolLogging(flags, config)))
  }).pipe(reportFailure)).pipe(
    Command.withDescription("Apply pending migrations of the core and every configured plugin, then exit")
  )

const openapi = Command.make("openapi", { TRELLIS_PLUGINS: databaseFlags.TRELLIS_PLUGINS }, (flags) =>
  Effect.gen(function*() {
    const config = yield* resolveConfig(flags)
    const plugins = yield* loadPlugins(config)
    const composition = yield* Server.compose(plugins)
    yield* Console.log(JSON.stringify(OpenApi.fromApi(composition.api), null, 2))
  }).pipe(reportFailure)).pipe(Command.withDescription("Print the OpenAPI document of the core and the configured plugins"))

/**
 * Runs an identity task against the configured database (migrated first) with the identity
 * services and the audit log. On the embedded database the server must be stopped (the data
 * directory lock refuses a second process); on PostgreSQL it can run any time.
 */
const withIdentity = <A, E>(
  flags: Record<string, unknown>,
  task: (context: { readonly config: TrellisConfigShape; readonly scopes: ReadonlySet<string> }) => Effect.Effect<A, E, Users | ApiKeys | Passwords | AuditLog>
) =>
  Effect.gen(function*() {
    const config = yield* resolveConfig(configOnly(flags))
    return yield* Effect.provide(identityTask(config, task), toolLogging(flags, config))
  }).pipe(reportFailure)

const identityTask = <A, E>(
  config: TrellisConfigShape,
  task: (context: { readonly config: TrellisConfigShape; readonly scopes: ReadonlySet<string> }) => Effect.Effect<A, E, Users | ApiKeys | Passwords | AuditLog>
) =>
  Effect.gen(function*() {
    const plugins = yield* loadPlugins(config)
    const composition = yield* Server.compose(plugins)
    const database = Database.layer({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
    const migrated = Layer.effectDiscard(Migrations.run(Server.migrationPlan(composition))).pipe(Layer.provideMerge(database))
    const services = Layer.mergeAll(IdentityServices.layer, AuditLogLive.layer).pipe(
      Layer.provideMerge(EventLog.layer),
      Layer.provideMerge(TrellisConfig.layer(config)),
      Layer.provideMerge(migrated)
    )
    const scopes = new Set(composition.plugins.flatMap((p) => p.scopes ?? []))
    return yield* Effect.scoped(Effect.provide(task({ config, scopes }), services))
  })

const cliActor = { id: "cli", kind: "cli" }

/** The configuration flags among a command's flags. */
const configOnly = (flags: Record<string, unknown>): Record<string, Option.Option<string>> =>
  Object.fromEntries(
    variables.flatMap((v) => {
      const value = flags[v.name]
      return Option.isOption(value) ? [[v.name, value as Option.Option<string>]] : []
    })
  )

const usersCreate = Command.make("create", {
  ...databaseFlags,
  username: Flag.String("username").pipe(Flag.withDescription("The new user's login name")),
  email: Flag.String("email").pipe(Flag.withDescription("The user's email address (marked verified)"), Flag.optional),
  password: Flag.String("password").pipe(
    Flag.withDescription("The password (12+ characters); omitted: a random one is generated and printed"),
    Flag.optional
  ),
  admin: Flag.Boolean("admin").pipe(
    Flag.withDescription("Make the user an admin of the default organization (same as --role admin)"),
    Flag.withDefault(false)
  ),
  role: Flag.Literals("role", ["viewer", "editor", "admin", "owner"]).pipe(
    Flag.withDescription("The user's role in the default organization (default: viewer)"),
    Flag.optional
  )
}, (flags) =>
  withIdentity(flags, () =>
    Effect.gen(function*() {
      const users = yield* Users
      const passwords = yield* Passwords
      const audit = yield* AuditLog
      const given = Option.getOrUndefined(flags.password)
      if (given !== undefined && given.length < 12) return yield* Effect.fail(new Error("--password must have at least 12 characters"))
      const password = given ?? randomBytes(18).toString("base64url")
      if (flags.admin && Option.isSome(flags.role) && flags.role.value !== "admin") {
        return yield* Effect.fail(new Error(`--admin and --role ${flags.role.value} disagree: give one of them`))
      }
      const role = flags.admin ? "admin" as const : Option.getOrElse(flags.role, () => "viewer" as const)
      const user = yield* users.create({
        username: flags.username,
        email: Option.getOrNull(flags.email),
        passwordHash: yield* passwords.hash(password),
        organizationId: defaultOrganizationId,
        role,
        emailVerified: true
      })
      yield* audit.append({
        organizationId: defaultOrganizationId,
        actor: cliActor,
        action: "identity.user.create",
        target: { type: "user", id: user.id },
        details: { username: user.username, role }
      })
      yield* Console.log(`created user ${user.username} (${user.id}) with role ${role}`)
      if (given === undefined) yield* Console.log(`password: ${password}`)
    }))).pipe(Command.withDescription("Create a user in the default organization (--admin for an admin)"))

const keysCreate = Command.make("create", {
  ...databaseFlags,
  name: Flag.String("name").pipe(Flag.withDescription("A label for the key")),
  user: Flag.String("user").pipe(Flag.withDescription("Username: mint a user key acting as this user"), Flag.optional),
  scopes: Flag.String("scopes").pipe(
    Flag.withDescription("Comma-separated scopes: mint an organization service key with exactly these"),
    Flag.optional
  ),
  expiresInDays: Flag.Int("expires-in-days").pipe(Flag.withDescription("Days until the key expires (default: never)"), Flag.optional)
}, (flags) =>
  withIdentity(flags, ({ scopes: declared }) =>
    Effect.gen(function*() {
      const users = yield* Users
      const keys = yield* ApiKeys
      const audit = yield* AuditLog
      const expiresAt = Option.match(flags.expiresInDays, {
        onNone: () => null,
        onSome: (days) => new Date(Date.now() + days * 86_400_000)
      })
      let created: { readonly record: ApiKeyRecord; readonly secret: string }
      if (Option.isSome(flags.scopes)) {
        const scopes = flags.scopes.value.split(",").map((s) => s.trim()).filter((s) => s !== "")
        const unknown = scopes.filter((s) => !declared.has(s))
        if (scopes.length === 0 || unknown.length > 0) {
          return yield* Effect.fail(new Error(
            `--scopes must list declared scopes (no *); unknown: ${unknown.join(", ") || "(none given)"}; available: ${[...declared].sort().join(", ")}`
          ))
        }
        created = yield* keys.create({
          kind: "service",
          organizationId: defaultOrganizationId,
          userId: null,
          name: flags.name,
          scopes,
          expiresAt,
          createdBy: cliActor.id,
          secretKind: "serviceKey"
        })
      } else if (Option.isSome(flags.user)) {
        const user = yield* users.findForLogin(flags.user.value)
        if (Option.isNone(user)) return yield* Effect.fail(new Error(`no user ${flags.user.value}`))
        created = yield* keys.create({
          kind: "user",
          organizationId: user.value.defaultOrganizationId,
          userId: user.value.id,
          name: flags.name,
          scopes: ["*"],
          expiresAt,
          createdBy: cliActor.id,
          secretKind: "userKey"
        })
      } else {
        return yield* Effect.fail(new Error("give --user <username> for a user key or --scopes <a,b> for a service key"))
      }
      yield* audit.append({
        organizationId: created.record.organizationId,
        actor: cliActor,
        action: "identity.key.create",
        target: { type: "api_key", id: created.record.id },
        details: { name: created.record.name, kind: created.record.kind, scopes: created.record.scopes }
      })
      // Only the secret on stdout, so scripts can capture it: KEY=$(trellis keys create ...)
      yield* Console.log(created.secret)
    }))).pipe(Command.withDescription("Mint an API key and print its secret (shown only this once)"))

const users = Command.make("users").pipe(
  Command.withDescription("Manage users"),
  Command.withSubcommands([usersCreate])
)

const keys = Command.make("keys").pipe(
  Command.withDescription("Manage API keys"),
  Command.withSubcommands([keysCreate])
)

const pluginNew = Command.make("new", {
  name: Argument.String("name").pipe(Argument.withDescription("npm package name of the plugin, e.g. trellis-plugin-notes")),
  id: Flag.String("id").pipe(Flag.withDescription("plugin id (also its URL prefix and database schema); default: from the name"), Flag.optional),
  directory: Flag.String("directory").pipe(Flag.withDescription("parent folder of the new plugin's folder"), Flag.withDefault("."))
}, ({ directory, id, name }) =>
  Effect.gen(function*() {
    const created = yield* PluginScaffold.create({ name, id: Option.getOrUndefined(id), directory })
    yield* Console.log(
      [
        `Created the plugin ${name} (id ${created.id}) in ${created.folder}:`,
        ...created.files.map((f) => `  ${f}`),
        "Next:",
        `  cd ${created.folder}`,
        "  npm install && npm test && npm run build",
        `  then, where the server runs: npm install ${created.folder} && TRELLIS_PLUGINS=${name} npx trellis serve`
      ].join("\n")
    )
  }).pipe(reportFailure)).pipe(Command.withDescription("Scaffold a plugin package: contract, service, handlers, migration, test, README"))

const plugin = Command.make("plugin").pipe(
  Command.withDescription("Plugin packages"),
  Command.withSubcommands([pluginNew])
)

/** The `trellis` command; `serve` takes the first-party plugins' variables as flags too. */
export const make = (firstParty: ReadonlyArray<Plugin.Any>) =>
  Command.make("trellis").pipe(
    Command.withDescription("Trellis: a self-hosted, plugin-driven server for running AI work in production"),
    Command.withSubcommands([serveCommand(firstParty), migrate, openapi, users, keys, plugin])
  )

export const run = Effect.gen(function*() {
  const firstParty = yield* FirstPartyPlugins
  return yield* make(firstParty).pipe(Command.run({ version: "0.1.0" }))
})
