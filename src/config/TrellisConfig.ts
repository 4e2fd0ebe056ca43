/**
 * Server configuration: environment variables, overridden by `trellis serve` flags, validated
 * once at start. A bad value stops the server with a message naming the variable and what it
 * accepts, instead of surfacing later as a strange failure.
 */
import { Context, Effect, Layer, Redacted, Schema } from "effect"
import { keyFormat, parseKey } from "../secrets/MasterKey.ts"

export const LogLevel = Schema.Literals(["trace", "debug", "info", "warn", "error", "fatal", "none"])
export type LogLevel = typeof LogLevel.Type

export const LogFormat = Schema.Literals(["json", "pretty"])
export type LogFormat = typeof LogFormat.Type

/** Background-job settings (see README "Background jobs"). */
export interface JobsConfig {
  readonly pollSeconds: number
  readonly monitorSeconds: number
  readonly retentionDays: number
  readonly deleteAfterDays: number
}

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
  /** Whether plugins' fast routes answer their common requests from memory (see `src/http/FastPath.ts`). */
  readonly httpFastPath: boolean
  readonly plugins: ReadonlyArray<string>
  readonly adminToken: Redacted.Redacted<string> | undefined
  /** The first admin's password, used once: at a start that finds no user at all. */
  readonly adminPassword: Redacted.Redacted<string> | undefined
  readonly sseHeartbeatSeconds: number
  /** How long the event log keeps events (the newest of each stream is always kept); 0 keeps them forever. */
  readonly eventRetentionHours: number
  /** How often each server process deletes expired events. */
  readonly eventPruneIntervalSeconds: number
  readonly shutdownGraceSeconds: number
  /** Background jobs (src/jobs): polling backstop, dead-worker detection, retention of finished and failed jobs. */
  readonly jobs: JobsConfig
  /** Limits of the HTTP listener against slow or numerous clients. */
  readonly listener: ListenerConfig
  readonly rateLimits: RateLimitConfig
  /** SMTP relay for outgoing email (`smtp://user:pass@host:587`, `smtps://…`); unset: emails are logged. */
  readonly smtpUrl: Redacted.Redacted<string> | undefined
  /** The sender of outgoing email; unset: `noreply@` the public URL's host. */
  readonly mailFrom: string | undefined
  /** The master key of `SecretBox` (32 bytes, hex or base64); unset: the data directory's key file. */
  readonly secretKey: Redacted.Redacted<string> | undefined
  /** Who may create an account at `POST /api/v1/auth/signup` (see `SignupMode`). */
  readonly signup: SignupMode
}

/**
 * `closed`: nobody (admins create users, or invite them to an existing account); `open`: anyone,
 * into a personal organization of their own; `invite`: only an address with a pending invite,
 * into a personal organization (the invite is then accepted once the address is verified).
 */
export const SignupMode = Schema.Literals(["closed", "open", "invite"])
export type SignupMode = typeof SignupMode.Type

/**
 * In-process rate limits (see `src/ratelimit/`). Each is a count; 0 disables that limit.
 * Request budgets are per principal within its organization and count over a sliding minute;
 * login budgets count over a sliding 15 minutes.
 */
export interface RateLimitConfig {
  /**
   * Authenticated requests per minute per principal in the `default` rate-limit group (every
   * API group that declares none; runs and settings included).
   */
  readonly perMinute: number
  /**
   * Quotas per minute of declared rate-limit groups, by name (see `src/ratelimit/RateGroup.ts`);
   * a group not named here (or no table at all) keeps the quota it declares.
   */
  readonly groups?: Readonly<Record<string, number>> | undefined
  /** Run-start calls per minute per principal (they also spend `perMinute`). */
  readonly runPerMinute: number
  /** Settings writes per minute per principal (they also spend `perMinute`). */
  readonly settingsPerMinute: number
  /** Live streams one principal may hold open at once. */
  readonly streams: number
  /** Login attempts per account per 15 minutes. */
  readonly loginPerAccount: number
  /** Login attempts per client address per 15 minutes. */
  readonly loginPerAddress: number
}

/**
 * Node's HTTP listener limits (see `src/server/Server.ts`). They bound what a slow or idle
 * client can hold; none of them cuts a response that is being sent (live streams, WebSockets).
 */
export interface ListenerConfig {
  /** Longest time to receive a request's headers. */
  readonly headersTimeoutSeconds: number
  /** Longest time to receive a whole request, headers and body; 0 disables it. */
  readonly requestTimeoutSeconds: number
  /** How long an idle keep-alive connection stays open between requests. */
  readonly keepAliveTimeoutSeconds: number
  /** Most connections open at once; past it new connections are closed at once. 0: no cap. */
  readonly maxConnections: number
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
  { name: "TRELLIS_HTTP_FAST_PATH", flag: "--http-fast-path", default: "true", description: "true: the few hot GET endpoints that have a fast route (plugin list, prompt SDK fetch) answer their common case from memory, outside Effect's HTTP stack, with the same response; false: every request takes the full pipeline." },
  { name: "TRELLIS_PLUGINS", flag: "--plugins", default: "(unset)", description: "Comma-separated module paths (or package names) of third-party plugins to load." },
  { name: "TRELLIS_ADMIN_TOKEN", flag: "--admin-token", default: "(unset)", description: "A static admin bearer token, for bootstrap and scripts. At least 16 characters." },
  { name: "TRELLIS_ADMIN_PASSWORD", flag: "--admin-password", default: "(unset)", description: "Password of the first admin user (`admin`), created at the first start. Unset: a one-time password is printed once instead. At least 12 characters." },
  { name: "TRELLIS_SSE_HEARTBEAT_SECONDS", flag: "--sse-heartbeat-seconds", default: "15", description: "Interval of the comment line that keeps idle event streams open." },
  { name: "TRELLIS_EVENTS_RETENTION_HOURS", flag: "--events-retention-hours", default: "168", description: "How long live-stream events are kept for reconnecting clients to replay; the newest event of each stream is always kept. A client resuming from before that is told (a `gap` event). 0 keeps events forever." },
  { name: "TRELLIS_EVENTS_PRUNE_INTERVAL_SECONDS", flag: "--events-prune-interval-seconds", default: "600", description: "How often each server process deletes expired events (in batches; also once shortly after start)." },
  { name: "TRELLIS_JOBS_POLL_SECONDS", flag: "--jobs-poll-seconds", default: "2", description: "How often an idle job worker polls, as a backstop: an enqueue wakes workers at once (in this process, and through LISTEN/NOTIFY on PostgreSQL)." },
  { name: "TRELLIS_JOBS_MONITOR_SECONDS", flag: "--jobs-monitor-seconds", default: "2", description: "How often lost jobs are looked for: a running job whose process stopped sending heartbeats (10 s by default) or that outlived its timeout is failed, so retried." },
  { name: "TRELLIS_JOBS_RETENTION_DAYS", flag: "--jobs-retention-days", default: "14", description: "How long a job may wait in the queue before it is dropped as expired." },
  { name: "TRELLIS_JOBS_DELETE_AFTER_DAYS", flag: "--jobs-delete-after-days", default: "7", description: "How long completed and failed (dead-lettered) jobs are kept before maintenance deletes them." },
  { name: "TRELLIS_SHUTDOWN_GRACE_SECONDS", flag: "--shutdown-grace-seconds", default: "10", description: "How long in-flight requests may take to finish after SIGTERM." },
  { name: "TRELLIS_HEADERS_TIMEOUT_SECONDS", flag: "--headers-timeout-seconds", default: "10", description: "A client that has not sent a request's complete headers this long after it started is disconnected (with 408 when possible). At most the request timeout." },
  { name: "TRELLIS_REQUEST_TIMEOUT_SECONDS", flag: "--request-timeout-seconds", default: "30", description: "A client that has not sent a whole request (headers and body) this long after it started gets 408 and is disconnected. Only receiving the request counts: a long response (live stream, WebSocket) is not cut. 0 disables." },
  { name: "TRELLIS_KEEP_ALIVE_TIMEOUT_SECONDS", flag: "--keep-alive-timeout-seconds", default: "5", description: "How long an idle keep-alive connection stays open waiting for its next request." },
  { name: "TRELLIS_MAX_CONNECTIONS", flag: "--max-connections", default: "1000", description: "Most client connections open at once (live streams and WebSockets included); past it a new connection is closed at once, without an answer. 0: no cap." },
  { name: "TRELLIS_RATE_LIMIT_PER_MINUTE", flag: "--rate-limit-per-minute", default: "600", description: "Authenticated requests per minute per principal on every path without a seed-documented limit (runs and settings writes included). 0 disables." },
  { name: "TRELLIS_RATE_LIMIT_RUNS_API_PER_MINUTE", flag: "--rate-limit-runs-api-per-minute", default: "60", description: "Requests per minute per principal on the mobile runs API's paths (its documented limit). 0 disables." },
  { name: "TRELLIS_RATE_LIMIT_RUN_PER_MINUTE", flag: "--rate-limit-run-per-minute", default: "6", description: "Run-start calls per minute per principal. 0 disables." },
  { name: "TRELLIS_RATE_LIMIT_SETTINGS_PER_MINUTE", flag: "--rate-limit-settings-per-minute", default: "20", description: "Settings writes per minute per principal. 0 disables." },
  { name: "TRELLIS_RATE_LIMIT_STREAMS", flag: "--rate-limit-streams", default: "4", description: "Live streams one principal may hold open at once. 0 disables." },
  { name: "TRELLIS_RATE_LIMIT_LOGIN_PER_ACCOUNT", flag: "--rate-limit-login-per-account", default: "10", description: "Failed sign-ins per account per 15 minutes before it is locked for the rest of the window. 0 disables." },
  { name: "TRELLIS_RATE_LIMIT_LOGIN_PER_ADDRESS", flag: "--rate-limit-login-per-address", default: "30", description: "Failed sign-ins (and signups) per client address per 15 minutes. 0 disables." },
  { name: "TRELLIS_SMTP_URL", flag: "--smtp-url", default: "(unset: emails are logged)", description: "SMTP relay for invites and verification emails: `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://…:465`. Unset: each email is written to the log instead." },
  { name: "TRELLIS_MAIL_FROM", flag: "--mail-from", default: "(unset: `noreply@` the public URL's host)", description: "Sender address of outgoing email, e.g. `Trellis <trellis@example.com>`." },
  { name: "TRELLIS_SECRET_KEY", flag: "--secret-key", default: "(unset: the key file `trellis-secret.key` in the data directory, created at the first start)", description: "32 bytes (64 hex characters or base64, e.g. `openssl rand -hex 32`) that encrypt the secrets plugins store, such as the provider API keys admins save per workspace. Every process sharing one PostgreSQL database must have the same value." },
  { name: "TRELLIS_SIGNUP", flag: "--signup", default: "closed", description: "Who may create an account at `POST /api/v1/auth/signup`: `closed` (nobody: 403 `signup_closed`; admins add users or invite them), `open` (anyone, into a new personal organization of their own) or `invite` (only an email address with a pending invite, into a personal organization; the invite is accepted after verifying the address). No signup ever joins an existing organization by itself." }
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

/** Variables whose value may hold a password: never echoed in an error. */
const hiddenValues: ReadonlySet<string> = new Set(["DATABASE_URL", "TRELLIS_SMTP_URL"])

const url = (name: string, env: Readonly<Record<string, string | undefined>>, protocols: ReadonlyArray<string>) => {
  const raw = env[name]
  if (!present(raw)) return Effect.succeed(undefined)
  const parsed = URL.canParse(raw.trim()) ? new URL(raw.trim()) : undefined
  return parsed !== undefined && protocols.includes(parsed.protocol)
    ? Effect.succeed(raw.trim())
    : Effect.fail(new ConfigInvalid({ variable: name, value: hiddenValues.has(name) ? "(hidden)" : raw, expected: `a ${protocols.join(" or ")} URL` }))
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
  const eventRetentionHours = yield* int("TRELLIS_EVENTS_RETENTION_HOURS", env, 168, 0, 1_000_000)
  const eventPruneIntervalSeconds = yield* int("TRELLIS_EVENTS_PRUNE_INTERVAL_SECONDS", env, 600, 1, 86_400)
  const shutdownGraceSeconds = yield* int("TRELLIS_SHUTDOWN_GRACE_SECONDS", env, 10, 0, 600)
  const jobs: JobsConfig = {
    pollSeconds: yield* int("TRELLIS_JOBS_POLL_SECONDS", env, 2, 1, 3600),
    monitorSeconds: yield* int("TRELLIS_JOBS_MONITOR_SECONDS", env, 2, 1, 3600),
    retentionDays: yield* int("TRELLIS_JOBS_RETENTION_DAYS", env, 14, 1, 3650),
    deleteAfterDays: yield* int("TRELLIS_JOBS_DELETE_AFTER_DAYS", env, 7, 1, 3650)
  }
  const listener: ListenerConfig = {
    headersTimeoutSeconds: yield* int("TRELLIS_HEADERS_TIMEOUT_SECONDS", env, 10, 1, 3600),
    requestTimeoutSeconds: yield* int("TRELLIS_REQUEST_TIMEOUT_SECONDS", env, 30, 0, 86_400),
    keepAliveTimeoutSeconds: yield* int("TRELLIS_KEEP_ALIVE_TIMEOUT_SECONDS", env, 5, 1, 3600),
    maxConnections: yield* int("TRELLIS_MAX_CONNECTIONS", env, 1000, 0, 1_000_000)
  }
  if (listener.requestTimeoutSeconds !== 0 && listener.headersTimeoutSeconds > listener.requestTimeoutSeconds) {
    return yield* new ConfigInvalid({
      variable: "TRELLIS_HEADERS_TIMEOUT_SECONDS",
      value: String(listener.headersTimeoutSeconds),
      expected: `at most TRELLIS_REQUEST_TIMEOUT_SECONDS (${listener.requestTimeoutSeconds})`
    })
  }
  const rateLimits: RateLimitConfig = {
    perMinute: yield* int("TRELLIS_RATE_LIMIT_PER_MINUTE", env, 600, 0, 1_000_000),
    groups: { "runs-api": yield* int("TRELLIS_RATE_LIMIT_RUNS_API_PER_MINUTE", env, 60, 0, 1_000_000) },
    runPerMinute: yield* int("TRELLIS_RATE_LIMIT_RUN_PER_MINUTE", env, 6, 0, 1_000_000),
    settingsPerMinute: yield* int("TRELLIS_RATE_LIMIT_SETTINGS_PER_MINUTE", env, 20, 0, 1_000_000),
    streams: yield* int("TRELLIS_RATE_LIMIT_STREAMS", env, 4, 0, 1_000_000),
    loginPerAccount: yield* int("TRELLIS_RATE_LIMIT_LOGIN_PER_ACCOUNT", env, 10, 0, 1_000_000),
    loginPerAddress: yield* int("TRELLIS_RATE_LIMIT_LOGIN_PER_ADDRESS", env, 30, 0, 1_000_000)
  }
  const smtpUrl = yield* url("TRELLIS_SMTP_URL", env, ["smtp:", "smtps:"])
  const mailFrom = present(env.TRELLIS_MAIL_FROM) ? env.TRELLIS_MAIL_FROM.trim() : undefined
  if (mailFrom !== undefined && !/^[^\s@<>]+@[^\s@<>]+$|^[^<>]*<[^\s@<>]+@[^\s@<>]+>$/.test(mailFrom)) {
    return yield* new ConfigInvalid({
      variable: "TRELLIS_MAIL_FROM",
      value: mailFrom,
      expected: "an address like trellis@example.com or Trellis <trellis@example.com>"
    })
  }
  const httpFastPath = (yield* oneOf("TRELLIS_HTTP_FAST_PATH", env, ["true", "false"], "true")) === "true"
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
  const adminPassword = env.TRELLIS_ADMIN_PASSWORD
  if (present(adminPassword) && adminPassword.length < 12) {
    return yield* new ConfigInvalid({ variable: "TRELLIS_ADMIN_PASSWORD", value: "(hidden)", expected: "at least 12 characters" })
  }
  if (present(adminToken) && adminToken.trim().length < 16) {
    return yield* new ConfigInvalid({ variable: "TRELLIS_ADMIN_TOKEN", value: "(hidden)", expected: "at least 16 characters" })
  }
  const secretKey = env.TRELLIS_SECRET_KEY
  if (present(secretKey) && parseKey(secretKey) === undefined) {
    return yield* new ConfigInvalid({ variable: "TRELLIS_SECRET_KEY", value: "(hidden)", expected: keyFormat })
  }
  const signup = yield* oneOf("TRELLIS_SIGNUP", env, SignupMode.literals, "closed")
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
    httpFastPath,
    plugins: list(env.TRELLIS_PLUGINS),
    adminToken: present(adminToken) ? Redacted.make(adminToken.trim()) : undefined,
    adminPassword: present(adminPassword) ? Redacted.make(adminPassword) : undefined,
    sseHeartbeatSeconds,
    eventRetentionHours,
    eventPruneIntervalSeconds,
    shutdownGraceSeconds,
    jobs,
    listener,
    rateLimits,
    smtpUrl: smtpUrl === undefined ? undefined : Redacted.make(smtpUrl),
    mailFrom,
    secretKey: present(secretKey) ? Redacted.make(secretKey.trim()) : undefined,
    signup
  }
  return config
})
