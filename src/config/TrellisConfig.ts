/**
 * Server configuration: environment variables, overridden by `trellis serve` flags, validated
 * once at start. A bad value stops the server with a message naming the variable and what it
 * accepts, instead of surfacing later as a strange failure.
 */
import { Context, Effect, Layer, Redacted, Schema } from "effect"

export const LogLevel = Schema.Literals(["trace", "debug", "info", "warn", "error", "fatal", "none"])
export type LogLevel = typeof LogLevel.Type

export const LogFormat = Schema.Literals(["json", "pretty"])
export type LogFormat = typeof LogFormat.Type

export interface TrellisConfigShape {
  readonly port: number
  readonly host: string
  readonly dataDir: string
  readonly databaseUrl: Redacted.Redacted<string> | undefined
  readonly publicUrl: string | undefined
  readonly logLevel: LogLevel
  readonly logFormat: LogFormat
  readonly maxBodyBytes: number
  readonly corsOrigins: ReadonlyArray<string>
  readonly plugins: ReadonlyArray<string>
  readonly adminToken: Redacted.Redacted<string> | undefined
  readonly sseHeartbeatSeconds: number
  readonly shutdownGraceSeconds: number
}

/** One documented variable: the README table is generated from this list. */
export interface Variable {
  readonly name: string
  readonly flag: string
  readonly default: string
  readonly description: string
}

export const variables: ReadonlyArray<Variable> = [
  { name: "TRELLIS_PORT", flag: "--port", default: "8080", description: "TCP port to listen on (0 picks a free one)." },
  { name: "TRELLIS_HOST", flag: "--host", default: "127.0.0.1", description: "Address to listen on. Use 0.0.0.0 to accept remote connections." },
  { name: "TRELLIS_DATA_DIR", flag: "--data-dir", default: "./.trellis", description: "Directory of the embedded database. Locked by the running server." },
  { name: "DATABASE_URL", flag: "--database-url", default: "(unset: embedded)", description: "PostgreSQL 14+ connection URL. When set, the embedded database is not used." },
  { name: "TRELLIS_PUBLIC_URL", flag: "--public-url", default: "(unset)", description: "The URL people and clients reach the server at (links, cookies' Secure flag)." },
  { name: "TRELLIS_LOG_LEVEL", flag: "--log-level", default: "info", description: "trace, debug, info, warn, error, fatal or none." },
  { name: "TRELLIS_LOG_FORMAT", flag: "--log-format", default: "pretty", description: "json (one JSON object per line) or pretty." },
  { name: "TRELLIS_MAX_BODY_BYTES", flag: "--max-body-bytes", default: "1048576", description: "Largest accepted request body; larger ones get 413." },
  { name: "TRELLIS_CORS_ORIGINS", flag: "--cors-origins", default: "(unset: no CORS)", description: "Comma-separated origins allowed by CORS, or * for any." },
  { name: "TRELLIS_PLUGINS", flag: "--plugins", default: "(unset)", description: "Comma-separated module paths (or package names) of third-party plugins to load." },
  { name: "TRELLIS_ADMIN_TOKEN", flag: "--admin-token", default: "(unset)", description: "A static admin bearer token, for bootstrap and scripts. At least 16 characters." },
  { name: "TRELLIS_SSE_HEARTBEAT_SECONDS", flag: "--sse-heartbeat-seconds", default: "15", description: "Interval of the comment line that keeps idle event streams open." },
  { name: "TRELLIS_SHUTDOWN_GRACE_SECONDS", flag: "--shutdown-grace-seconds", default: "10", description: "How long in-flight requests may take to finish after SIGTERM." }
]

export class ConfigInvalid extends Schema.TaggedError<ConfigInvalid>()("ConfigInvalid", {
  variable: Schema.String,
  value: Schema.String,
  expected: Schema.String
}) {
  override get message(): string {
    return `Invalid configuration: ${this.variable}=${JSON.stringify(this.value)}; expected ${this.expected}.`
  }
}

export class TrellisConfig extends Context.Service<TrellisConfig, TrellisConfigShape>()(
  "trellis/config/TrellisConfig"
) {
  /** Reads the configuration from variables (the environment, with flag values merged over it). */
  static readonly fromRecord = (env: Readonly<Record<string, string | undefined>>) => parse(env)

  static readonly layer = (shape: TrellisConfigShape): Layer.Layer<TrellisConfig> => Layer.succeed(TrellisConfig, shape)
}

const present = (value: string | undefined): value is string => value !== undefined && value.trim() !== ""

const int = (name: string, env: Readonly<Record<string, string | undefined>>, fallback: number, min: number, max: number) => {
  const raw = env[name]
  if (!present(raw)) return Effect.succeed(fallback)
  const value = Number(raw.trim())
  return Number.isInteger(value) && value >= min && value <= max
    ? Effect.succeed(value)
    : Effect.fail(new ConfigInvalid({ variable: name, value: raw, expected: `an integer from ${min} to ${max}` }))
}

const oneOf = <A extends string>(
  name: string,
  env: Readonly<Record<string, string | undefined>>,
  allowed: ReadonlyArray<A>,
  fallback: A
) => {
  const raw = env[name]
  if (!present(raw)) return Effect.succeed(fallback)
  const value = raw.trim().toLowerCase()
  const found = allowed.find((a) => a === value)
  return found !== undefined
    ? Effect.succeed(found)
    : Effect.fail(new ConfigInvalid({ variable: name, value: raw, expected: `one of ${allowed.join(", ")}` }))
}

const url = (name: string, env: Readonly<Record<string, string | undefined>>, protocols: ReadonlyArray<string>) => {
  const raw = env[name]
  if (!present(raw)) return Effect.succeed(undefined)
  const parsed = URL.canParse(raw.trim()) ? new URL(raw.trim()) : undefined
  return parsed !== undefined && protocols.includes(parsed.protocol)
    ? Effect.succeed(raw.trim())
    : Effect.fail(new ConfigInvalid({ variable: name, value: name === "DATABASE_URL" ? "(hidden)" : raw, expected: `a ${protocols.join(" or ")} URL` }))
}

const list = (raw: string | undefined): ReadonlyArray<string> =>
  present(raw) ? raw.split(",").map((s) => s.trim()).filter((s) => s !== "") : []

const parse = Effect.fnUntraced(function*(env: Readonly<Record<string, string | undefined>>) {
  const port = yield* int("TRELLIS_PORT", env, 8080, 0, 65535)
  const host = present(env.TRELLIS_HOST) ? env.TRELLIS_HOST.trim() : "127.0.0.1"
  const dataDir = present(env.TRELLIS_DATA_DIR) ? env.TRELLIS_DATA_DIR.trim() : "./.trellis"
  const databaseUrl = yield* url("DATABASE_URL", env, ["postgres:", "postgresql:"])
  const publicUrl = yield* url("TRELLIS_PUBLIC_URL", env, ["http:", "https:"])
  const logLevel = yield* oneOf("TRELLIS_LOG_LEVEL", env, LogLevel.literals, "info")
  const logFormat = yield* oneOf("TRELLIS_LOG_FORMAT", env, LogFormat.literals, "pretty")
  const maxBodyBytes = yield* int("TRELLIS_MAX_BODY_BYTES", env, 1024 * 1024, 1, 1024 * 1024 * 1024)
  const sseHeartbeatSeconds = yield* int("TRELLIS_SSE_HEARTBEAT_SECONDS", env, 15, 1, 3600)
  const shutdownGraceSeconds = yield* int("TRELLIS_SHUTDOWN_GRACE_SECONDS", env, 10, 0, 600)
  const corsOrigins = list(env.TRELLIS_CORS_ORIGINS)
  for (const origin of corsOrigins) {
    if (origin !== "*" && !(URL.canParse(origin) && new URL(origin).origin === origin)) {
      return yield* new ConfigInvalid({
        variable: "TRELLIS_CORS_ORIGINS",
        value: origin,
        expected: "* or origins like https://app.example.com (scheme, host and port only)"
      })
    }
  }
  const adminToken = env.TRELLIS_ADMIN_TOKEN
  if (present(adminToken) && adminToken.trim().length < 16) {
    return yield* new ConfigInvalid({ variable: "TRELLIS_ADMIN_TOKEN", value: "(hidden)", expected: "at least 16 characters" })
  }
  const config: TrellisConfigShape = {
    port,
    host,
    dataDir,
    databaseUrl: databaseUrl === undefined ? undefined : Redacted.make(databaseUrl),
    publicUrl,
    logLevel,
    logFormat,
    maxBodyBytes,
    corsOrigins,
    plugins: list(env.TRELLIS_PLUGINS),
    adminToken: present(adminToken) ? Redacted.make(adminToken.trim()) : undefined,
    sseHeartbeatSeconds,
    shutdownGraceSeconds
  }
  return config
})
