/** Configuration: defaults, every variable parsed, and a clear message for each kind of bad value. */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Predicate, Redacted } from "effect"
import * as NodeFs from "node:fs"
import { firstParty } from "../../plugins/index.ts"
import { PromptsConfig } from "../../plugins/prompts/PromptsConfig.ts"
import { TicketsPlugin } from "../../plugins/tickets/Plugin.ts"
import { TicketsConfig } from "../../plugins/tickets/TicketsConfig.ts"
import { settings, TrellisConfig, variables } from "../../src/config/TrellisConfig.ts"
import * as Server from "../../src/server/Server.ts"
import * as TestKit from "../../src/testing/TestKit.ts"

const messageOf = (env: Record<string, string>) =>
  Effect.flip(TrellisConfig.fromRecord(env)).pipe(Effect.map((e) => e.message))

describe("configuration", () => {
  it.effect("defaults serve on 127.0.0.1:8080 with data in ./.trellis and the embedded database", () =>
    Effect.gen(function*() {
      const config = yield* TrellisConfig.fromRecord({})
      assert.strictEqual(config.port, 8080)
      assert.strictEqual(config.host, "127.0.0.1")
      assert.strictEqual(config.dataDir, "./.trellis")
      assert.isUndefined(config.databaseUrl)
      assert.isUndefined(config.adminToken)
      assert.strictEqual(config.maxBodyBytes, 1048576)
      assert.deepStrictEqual(config.corsOrigins, [])
      assert.strictEqual(config.eventRetentionHours, 168)
      assert.strictEqual(config.eventPruneIntervalSeconds, 600)
    }))

  it.effect("reads every variable", () =>
    Effect.gen(function*() {
      const config = yield* TrellisConfig.fromRecord({
        TRELLIS_PORT: "9000",
        TRELLIS_HOST: "0.0.0.0",
        TRELLIS_DATA_DIR: "/srv/trellis",
        DATABASE_URL: "postgres://u:p@db:5432/trellis",
        TRELLIS_PUBLIC_URL: "https://trellis.example.org",
        TRELLIS_LOG_LEVEL: "DEBUG",
        TRELLIS_LOG_FORMAT: "json",
        TRELLIS_MAX_BODY_BYTES: "2048",
        TRELLIS_CORS_ORIGINS: "https://a.example.org, http://localhost:5173",
        TRELLIS_PLUGINS: "./a.ts,@acme/trellis-b",
        TRELLIS_ADMIN_TOKEN: "0123456789abcdef",
        TRELLIS_SSE_HEARTBEAT_SECONDS: "5",
        TRELLIS_SHUTDOWN_GRACE_SECONDS: "3",
        TRELLIS_EVENTS_RETENTION_HOURS: "0",
        TRELLIS_EVENTS_PRUNE_INTERVAL_SECONDS: "60"
      })
      assert.strictEqual(config.port, 9000)
      assert.strictEqual(config.host, "0.0.0.0")
      assert.strictEqual(config.dataDir, "/srv/trellis")
      assert.strictEqual(config.databaseUrl && Redacted.value(config.databaseUrl), "postgres://u:p@db:5432/trellis")
      assert.strictEqual(config.publicUrl, "https://trellis.example.org")
      assert.strictEqual(config.logLevel, "debug")
      assert.strictEqual(config.logFormat, "json")
      assert.strictEqual(config.maxBodyBytes, 2048)
      assert.deepStrictEqual(config.corsOrigins, ["https://a.example.org", "http://localhost:5173"])
      assert.deepStrictEqual(config.plugins, ["./a.ts", "@acme/trellis-b"])
      assert.strictEqual(config.adminToken && Redacted.value(config.adminToken), "0123456789abcdef")
      assert.strictEqual(config.sseHeartbeatSeconds, 5)
      assert.strictEqual(config.shutdownGraceSeconds, 3)
      assert.strictEqual(config.eventRetentionHours, 0)
      assert.strictEqual(config.eventPruneIntervalSeconds, 60)
    }))

  it.effect("reads the listener limits, and refuses a headers timeout longer than the request timeout", () =>
    Effect.gen(function*() {
      const defaults = (yield* TrellisConfig.fromRecord({})).listener
      assert.deepStrictEqual(defaults, { headersTimeoutSeconds: 10, requestTimeoutSeconds: 30, keepAliveTimeoutSeconds: 5, maxConnections: 1000 })
      const set = yield* TrellisConfig.fromRecord({
        TRELLIS_HEADERS_TIMEOUT_SECONDS: "5",
        TRELLIS_REQUEST_TIMEOUT_SECONDS: "0",
        TRELLIS_KEEP_ALIVE_TIMEOUT_SECONDS: "65",
        TRELLIS_MAX_CONNECTIONS: "0"
      })
      assert.deepStrictEqual(set.listener, { headersTimeoutSeconds: 5, requestTimeoutSeconds: 0, keepAliveTimeoutSeconds: 65, maxConnections: 0 })
      assert.include(
        yield* messageOf({ TRELLIS_HEADERS_TIMEOUT_SECONDS: "40" }),
        "TRELLIS_HEADERS_TIMEOUT_SECONDS=\"40\"; expected at most TRELLIS_REQUEST_TIMEOUT_SECONDS (30)"
      )
      assert.include(yield* messageOf({ TRELLIS_HEADERS_TIMEOUT_SECONDS: "0" }), "expected an integer from 1 to 3600")
    }))

  it.effect("names the variable and what it accepts on a bad value, without echoing secrets", () =>
    Effect.gen(function*() {
      assert.include(yield* messageOf({ TRELLIS_PORT: "70000" }), "TRELLIS_PORT=\"70000\"; expected an integer from 0 to 65535")
      assert.include(yield* messageOf({ TRELLIS_LOG_FORMAT: "xml" }), "expected one of json, pretty")
      assert.include(yield* messageOf({ TRELLIS_CORS_ORIGINS: "https://a.org/path" }), "TRELLIS_CORS_ORIGINS")
      const url = yield* messageOf({ DATABASE_URL: "mysql://u:secret@db/x" })
      assert.include(url, "DATABASE_URL")
      assert.notInclude(url, "secret")
      const token = yield* messageOf({ TRELLIS_ADMIN_TOKEN: "short-secret" })
      assert.include(token, "at least 16 characters")
      assert.notInclude(token, "short-secret")
    }))

  it("documents every declared variable, the platform's and the first-party plugins', with its flag and default", () => {
    const names = variables.map((v) => v.name)
    assert.includeMembers(names, [
      "TRELLIS_PORT", "TRELLIS_HOST", "TRELLIS_DATA_DIR", "DATABASE_URL", "TRELLIS_PUBLIC_URL",
      "TRELLIS_LOG_LEVEL", "TRELLIS_LOG_FORMAT", "TRELLIS_MAX_BODY_BYTES", "TRELLIS_CORS_ORIGINS",
      "TRELLIS_PLUGINS", "TRELLIS_ADMIN_TOKEN"
    ])
    const declared = [...variables, ...[...Server.platformPlugins, ...firstParty].flatMap((p) => p.config?.variables ?? [])]
    assert.includeMembers(declared.map((v) => v.name), ["TRELLIS_TICKETS_LEASE_SECONDS", "TRELLIS_OPENAI_MODEL"])
    assert.strictEqual(new Set(declared.map((v) => v.name)).size, declared.length, "a variable is declared twice")
    const readme = NodeFs.readFileSync("README.md", "utf8")
    for (const v of declared) {
      assert.include(readme, `| \`${v.name}\` | \`${v.flag}\` | ${v.shownDefault} |`, `README lacks ${v.name} (or its flag or default)`)
    }
  })

  it.effect("a plugin's declared variables are checked at start: a bad value stops it, naming the variable", () =>
    Effect.gen(function*() {
      const bad = ConfigProvider.layer(ConfigProvider.fromEnvRecord({ TRELLIS_TICKETS_LEASE_SECONDS: "soon" }))
      const error = yield* Effect.flip(Layer.build(TestKit.layer({ plugins: [TicketsPlugin] }).pipe(Layer.provide(bad))).pipe(Effect.scoped))
      assert.include(String(Predicate.hasProperty(error, "message") ? error.message : error), "TRELLIS_TICKETS_LEASE_SECONDS=\"soon\"")
    }), 120_000)

  it.effect("secrets stay Redacted and are never echoed", () =>
    Effect.gen(function*() {
      const config = yield* TrellisConfig.fromRecord({ TRELLIS_SMTP_URL: "smtp://u:pw@mail:587", TRELLIS_SECRET_KEY: "00".repeat(32) })
      assert.isTrue(config.smtpUrl !== undefined && Redacted.isRedacted(config.smtpUrl))
      assert.notInclude(String(config.smtpUrl), "pw")
      assert.isTrue(config.secretKey !== undefined && Redacted.isRedacted(config.secretKey))
      const prompts = yield* PromptsConfig.fromRecord({ TRELLIS_OPENAI_API_KEY: "sk-live-123" })
      assert.isTrue(prompts.openaiApiKey !== undefined && Redacted.value(prompts.openaiApiKey) === "sk-live-123")
      assert.notInclude(String(prompts.openaiApiKey), "sk-live")
      assert.include(yield* messageOf({ TRELLIS_SECRET_KEY: "not-a-key" }), "(hidden)")
    }))

  it.effect("a declared default is the value when unset: one source", () =>
    Effect.gen(function*() {
      const config = yield* TrellisConfig.fromRecord({})
      assert.strictEqual(config.port, settings.port.default)
      assert.strictEqual(config.jobs.pollSeconds, settings.jobsPollSeconds.default)
      assert.strictEqual(config.rateLimits.perMinute, settings.rateLimitPerMinute.default)
      assert.strictEqual((yield* PromptsConfig.fromRecord({})).openaiModel, "gpt-4o-mini")
      assert.strictEqual((yield* TicketsConfig.fromRecord({})).leaseSeconds, 0)
    }))
})
