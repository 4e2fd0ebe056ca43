/**
 * Server configuration: environment variables, overridden by `trellis serve` flags, validated
 * once at start. A bad value stops the server with a message naming the variable and what it
 * accepts, instead of surfacing later as a strange failure. Each variable is declared once in
 * `settings` (see `Setting.ts`, the form plugins use too): its default, check and description
 * live there and nowhere else.
 */
import { Context, Effect, Layer, Schema } from "effect"
import type { Redacted } from "effect"
import { ConfigInvalid } from "./Setting.ts"
import * as Setting from "./Setting.ts"
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

/** One documented variable (see `Setting.ts`): the README table, the flags and the checks come from these. */
export type Variable = Setting.Any

const originSchema = Schema.String.check(Schema.makeFilter((origin: string) =>
  origin === "*" || (URL.canParse(origin) && new URL(origin).origin === origin)
))

/** The platform's variables, declared once: name, default, validation, description. */
export const settings = {
  port: Setting.integer("TRELLIS_PORT", { default: 8080, min: 0, max: 65535, description: "TCP port to listen on (0 picks a free one)." }),
  host: Setting.text("TRELLIS_HOST", { default: "127.0.0.1", description: "Address to listen on. Use 0.0.0.0 to accept remote connections." }),
  dataDir: Setting.text("TRELLIS_DATA_DIR", { default: "./.trellis", description: "Directory of the embedded database. Locked by the running server." }),
  databaseUrl: Setting.secret("DATABASE_URL", {
    unset: "(unset: embedded)",
    check: { schema: Setting.urlSchema(["postgres:", "postgresql:"]), expected: "a postgres: or postgresql: URL" },
    description: "PostgreSQL 14+ connection URL. When set, the embedded database is not used."
  }),
  publicUrl: Setting.url("TRELLIS_PUBLIC_URL", ["http:", "https:"], {
    unset: "(unset)",
    description: "The URL people and clients reach the server at (links, cookies' Secure flag)."
  }),
  logLevel: Setting.literals("TRELLIS_LOG_LEVEL", LogLevel.literals, { default: "info", description: "trace, debug, info, warn, error, fatal or none." }),
  logFormat: Setting.literals("TRELLIS_LOG_FORMAT", LogFormat.literals, { default: "pretty", description: "json (one JSON object per line) or pretty." }),
  maxBodyBytes: Setting.integer("TRELLIS_MAX_BODY_BYTES", { default: 1024 * 1024, min: 1, max: 1024 * 1024 * 1024, description: "Largest accepted request body; larger ones get 413." }),
  corsOrigins: Setting.list("TRELLIS_CORS_ORIGINS", {
    unset: "(unset: no CORS)",
    item: { schema: originSchema, expected: "* or origins like https://app.example.com (scheme, host and port only)" },
    description: "Comma-separated origins allowed by CORS, or * for any."
  }),
  httpFastPath: Setting.boolean("TRELLIS_HTTP_FAST_PATH", {
    default: true,
    description: "true: the few hot GET endpoints that have a fast route (plugin list, prompt SDK fetch) answer their common case from memory, outside Effect's HTTP stack, with the same response; false: every request takes the full pipeline."
  }),
  plugins: Setting.list("TRELLIS_PLUGINS", { unset: "(unset)", description: "Comma-separated module paths (or package names) of third-party plugins to load." }),
  adminToken: Setting.secret("TRELLIS_ADMIN_TOKEN", {
    unset: "(unset)",
    check: { schema: Schema.String.check(Schema.isMinLength(16)), expected: "at least 16 characters" },
    description: "A static admin bearer token, for bootstrap and scripts. At least 16 characters."
  }),
  adminPassword: Setting.secret("TRELLIS_ADMIN_PASSWORD", {
    unset: "(unset)",
    check: { schema: Schema.String.check(Schema.isMinLength(12)), expected: "at least 12 characters" },
    description: "Password of the first admin user (`admin`), created at the first start. Unset: a one-time password is printed once instead. At least 12 characters."
  }),
  sseHeartbeatSeconds: Setting.integer("TRELLIS_SSE_HEARTBEAT_SECONDS", { default: 15, min: 1, max: 3600, description: "Interval of the comment line that keeps idle event streams open." }),
  eventRetentionHours: Setting.integer("TRELLIS_EVENTS_RETENTION_HOURS", {
    default: 168,
    min: 0,
    max: 1_000_000,
    description: "How long live-stream events are kept for reconnecting clients to replay; the newest event of each stream is always kept. A client resuming from before that is told (a `gap` event). 0 keeps events forever."
  }),
  eventPruneIntervalSeconds: Setting.integer("TRELLIS_EVENTS_PRUNE_INTERVAL_SECONDS", {
    default: 600,
    min: 1,
    max: 86_400,
    description: "How often each server process deletes expired events (in batches; also once shortly after start)."
  }),
  jobsPollSeconds: Setting.integer("TRELLIS_JOBS_POLL_SECONDS", {
    default: 2,
    min: 1,
    max: 3600,
    description: "How often an idle job worker polls, as a backstop: an enqueue wakes workers at once (in this process, and through LISTEN/NOTIFY on PostgreSQL)."
  }),
  jobsMonitorSeconds: Setting.integer("TRELLIS_JOBS_MONITOR_SECONDS", {
    default: 2,
    min: 1,
    max: 3600,
    description: "How often lost jobs are looked for: a running job whose process is gone (its liveness lock released, or no heartbeat for 10 s by default) or that outlived its timeout is failed, so retried."
  }),
  jobsRetentionDays: Setting.integer("TRELLIS_JOBS_RETENTION_DAYS", { default: 14, min: 1, max: 3650, description: "How long a job may wait in the queue before it is dropped as expired." }),
  jobsDeleteAfterDays: Setting.integer("TRELLIS_JOBS_DELETE_AFTER_DAYS", {
    default: 7,
    min: 1,
    max: 3650,
    description: "How long completed and failed (dead-lettered) jobs are kept before maintenance deletes them."
  }),
  shutdownGraceSeconds: Setting.integer("TRELLIS_SHUTDOWN_GRACE_SECONDS", { default: 10, min: 0, max: 600, description: "How long in-flight requests may take to finish after SIGTERM." }),
  headersTimeoutSeconds: Setting.integer("TRELLIS_HEADERS_TIMEOUT_SECONDS", {
    default: 10,
    min: 1,
    max: 3600,
    description: "A client that has not sent a request's complete headers this long after it started is disconnected (with 408 when possible). At most the request timeout."
  }),
  requestTimeoutSeconds: Setting.integer("TRELLIS_REQUEST_TIMEOUT_SECONDS", {
    default: 30,
    min: 0,
    max: 86_400,
    description: "A client that has not sent a whole request (headers and body) this long after it started gets 408 and is disconnected. Only receiving the request counts: a long response (live stream, WebSocket) is not cut. 0 disables."
  }),
  keepAliveTimeoutSeconds: Setting.integer("TRELLIS_KEEP_ALIVE_TIMEOUT_SECONDS", {
    default: 5,
    min: 1,
    max: 3600,
    description: "How long an idle keep-alive connection stays open waiting for its next request."
  }),
  maxConnections: Setting.integer("TRELLIS_MAX_CONNECTIONS", {
    default: 1000,
    min: 0,
    max: 1_000_000,
    description: "Most client connections open at once (live streams and WebSockets included); past it a new connection is closed at once, without an answer. 0: no cap."
  }),
  rateLimitPerMinute: Setting.integer("TRELLIS_RATE_LIMIT_PER_MINUTE", {
    default: 600,
    min: 0,
    max: 1_000_000,
    description: "Authenticated requests per minute per principal on every path without a seed-documented limit (runs and settings writes included). 0 disables."
  }),
  rateLimitRunsApiPerMinute: Setting.integer("TRELLIS_RATE_LIMIT_RUNS_API_PER_MINUTE", {
    default: 60,
    min: 0,
    max: 1_000_000,
    description: "Requests per minute per principal on the mobile runs API's paths (its documented limit). 0 disables."
  }),
  rateLimitRunPerMinute: Setting.integer("TRELLIS_RATE_LIMIT_RUN_PER_MINUTE", { default: 6, min: 0, max: 1_000_000, description: "Run-start calls per minute per principal. 0 disables." }),
  rateLimitSettingsPerMinute: Setting.integer("TRELLIS_RATE_LIMIT_SETTINGS_PER_MINUTE", {
    default: 20,
    min: 0,
    max: 1_000_000,
    description: "Settings writes per minute per principal. 0 disables."
  }),
  rateLimitStreams: Setting.integer("TRELLIS_RATE_LIMIT_STREAMS", { default: 4, min: 0, max: 1_000_000, description: "Live streams one principal may hold open at once. 0 disables." }),
  rateLimitLoginPerAccount: Setting.integer("TRELLIS_RATE_LIMIT_LOGIN_PER_ACCOUNT", {
    default: 10,
    min: 0,
    max: 1_000_000,
    description: "Failed sign-ins per account per 15 minutes before it is locked for the rest of the window. 0 disables."
  }),
  rateLimitLoginPerAddress: Setting.integer("TRELLIS_RATE_LIMIT_LOGIN_PER_ADDRESS", {
    default: 30,
    min: 0,
    max: 1_000_000,
    description: "Failed sign-ins (and signups) per client address per 15 minutes. 0 disables."
  }),
  smtpUrl: Setting.secret("TRELLIS_SMTP_URL", {
    unset: "(unset: emails are logged)",
    check: { schema: Setting.urlSchema(["smtp:", "smtps:"]), expected: "a smtp: or smtps: URL" },
    description: "SMTP relay for invites and verification emails: `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://…:465`. Unset: each email is written to the log instead."
  }),
  mailFrom: Setting.text("TRELLIS_MAIL_FROM", {
    unset: "(unset: `noreply@` the public URL's host)",
    check: {
      schema: Schema.String.check(Schema.isPattern(/^[^\s@<>]+@[^\s@<>]+$|^[^<>]*<[^\s@<>]+@[^\s@<>]+>$/)),
      expected: "an address like trellis@example.com or Trellis <trellis@example.com>"
    },
    description: "Sender address of outgoing email, e.g. `Trellis <trellis@example.com>`."
  }),
  secretKey: Setting.secret("TRELLIS_SECRET_KEY", {
    unset: "(unset: the key file `trellis-secret.key` in the data directory, created at the first start)",
    check: { schema: Schema.String.check(Schema.makeFilter((s: string) => parseKey(s) !== undefined)), expected: keyFormat },
    description: "32 bytes (64 hex characters or base64, e.g. `openssl rand -hex 32`) that encrypt the secrets plugins store, such as the provider API keys admins save per workspace. Every process sharing one PostgreSQL database must have the same value."
  }),
  signup: Setting.literals("TRELLIS_SIGNUP", SignupMode.literals, {
    default: "closed",
    description: "Who may create an account at `POST /api/v1/auth/signup`: `closed` (nobody: 403 `signup_closed`; admins add users or invite them), `open` (anyone, into a new personal organization of their own) or `invite` (only an email address with a pending invite, into a personal organization; the invite is accepted after verifying the address). No signup ever joins an existing organization by itself."
  })
} as const

/** The platform's variables, in the README's order. */
export const variables: ReadonlyArray<Variable> = Object.values(settings)

export { ConfigInvalid }

export class TrellisConfig extends Context.Service<TrellisConfig, TrellisConfigShape>()(
  "trellis/config/TrellisConfig"
) {
  /** Reads the configuration from variables (the environment, with flag values merged over it). */
  static readonly fromRecord = (env: Readonly<Record<string, string | undefined>>) => parse(env)

  static readonly layer = (shape: TrellisConfigShape): Layer.Layer<TrellisConfig> => Layer.succeed(TrellisConfig, shape)
}

const parse = Effect.fnUntraced(function*(env: Readonly<Record<string, string | undefined>>) {
  const s = yield* Setting.fromRecord(settings, env)
  const listener: ListenerConfig = {
    headersTimeoutSeconds: s.headersTimeoutSeconds,
    requestTimeoutSeconds: s.requestTimeoutSeconds,
    keepAliveTimeoutSeconds: s.keepAliveTimeoutSeconds,
    maxConnections: s.maxConnections
  }
  if (listener.requestTimeoutSeconds !== 0 && listener.headersTimeoutSeconds > listener.requestTimeoutSeconds) {
    return yield* new ConfigInvalid({
      variable: "TRELLIS_HEADERS_TIMEOUT_SECONDS",
      value: String(listener.headersTimeoutSeconds),
      expected: `at most TRELLIS_REQUEST_TIMEOUT_SECONDS (${listener.requestTimeoutSeconds})`
    })
  }
  const config: TrellisConfigShape = {
    port: s.port,
    host: s.host,
    dataDir: s.dataDir,
    databaseUrl: s.databaseUrl,
    publicUrl: s.publicUrl,
    logLevel: s.logLevel,
    logFormat: s.logFormat,
    maxBodyBytes: s.maxBodyBytes,
    corsOrigins: s.corsOrigins,
    httpFastPath: s.httpFastPath,
    plugins: s.plugins,
    adminToken: s.adminToken,
    adminPassword: s.adminPassword,
    sseHeartbeatSeconds: s.sseHeartbeatSeconds,
    eventRetentionHours: s.eventRetentionHours,
    eventPruneIntervalSeconds: s.eventPruneIntervalSeconds,
    shutdownGraceSeconds: s.shutdownGraceSeconds,
    jobs: {
      pollSeconds: s.jobsPollSeconds,
      monitorSeconds: s.jobsMonitorSeconds,
      retentionDays: s.jobsRetentionDays,
      deleteAfterDays: s.jobsDeleteAfterDays
    },
    listener,
    rateLimits: {
      perMinute: s.rateLimitPerMinute,
      groups: { "runs-api": s.rateLimitRunsApiPerMinute },
      runPerMinute: s.rateLimitRunPerMinute,
      settingsPerMinute: s.rateLimitSettingsPerMinute,
      streams: s.rateLimitStreams,
      loginPerAccount: s.rateLimitLoginPerAccount,
      loginPerAddress: s.rateLimitLoginPerAddress
    },
    smtpUrl: s.smtpUrl,
    mailFrom: s.mailFrom,
    secretKey: s.secretKey,
    signup: s.signup
  }
  return config
})
