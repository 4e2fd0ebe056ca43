/**
 * Per-workspace configuration of the OpenAI-compatible provider
 * (`GET/PUT/DELETE /api/playground/providers/openai?workspace=`): admins set, read and remove
 * it; the API key is write-only (never in a response, a log line, the audit log or the
 * database in the clear); the base URL is checked on save; bad input changes nothing; viewers,
 * editors and service keys are refused; another organization's workspaces are separate; and
 * the playground calls the workspace's endpoint (a real local fake server) with request >
 * workspace > environment precedence.
 *
 * The first kit runs as deployed (private addresses refused); the second is configured
 * (through its own environment record) to allow them, `TRELLIS_PROVIDERS_ALLOW_PRIVATE=true`,
 * so the fake servers on loopback can be used, with an environment configuration
 * (`TRELLIS_OPENAI_*`) to take precedence over.
 */
import { assert, describe, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { randomBytes } from "node:crypto"
import { createServer } from "node:http"
import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll } from "vitest"
import * as TestKit from "trellis/testing"
import { PromptsPlugin } from "../Plugin.ts"
import { call, createPrompt, publish, uniqueKey } from "./support.ts"

/** A public address that needs no DNS: saving it passes the address check (nothing calls it). */
const publicBase = "https://1.1.1.1/v1"
const configPath = (workspace: string) => `/api/playground/providers/openai?workspace=${encodeURIComponent(workspace)}`

interface ConfigBody {
  readonly provider: string
  readonly workspace_id: string
  readonly base_url: string
  readonly model: string
  readonly api_key_set: boolean
  readonly api_key_last4: string
  readonly api_key_readable: boolean
  readonly updated_at: string
}

interface ProvidersBody {
  readonly data: ReadonlyArray<string>
  readonly workspace_id: string
  readonly providers: ReadonlyArray<{ readonly name: string; readonly configured: boolean; readonly source: string; readonly default_model: string | null }>
}

/** A fresh secret that no other test uses, long enough to show its last four characters. */
const newKey = (label: string) => `sk-${label}-${randomBytes(18).toString("hex")}`

/** A request whose raw text is kept, to look for secrets in it. */
const raw = (method: "GET" | "POST" | "PUT" | "DELETE", path: string, options?: TestKit.RequestOptions) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request(method, path, options)
    const text = yield* response.text
    return { status: response.status, headers: response.headers, text, body: (text === "" ? undefined : JSON.parse(text)) as unknown }
  })

const user = (role: "viewer" | "editor" | "admin") =>
  Effect.gen(function*() {
    const username = `${role}${Date.now().toString(36)}${randomBytes(3).toString("hex")}`
    const password = `${role}-password-123`
    const created = yield* call("POST", "/api/users", { body: { username, password, role } })
    assert.oneOf(created.status, [200, 201], JSON.stringify(created.body))
    const login = yield* call<{ token: string }>("POST", "/api/login", { token: null, body: { username, password } })
    assert.strictEqual(login.status, 200, JSON.stringify(login.body))
    return login.body.token
  })

/** Every row of every table of the server's database, as text. */
const databaseDump = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const tables = yield* sql<{ readonly table_schema: string; readonly table_name: string }>`
    SELECT table_schema, table_name FROM information_schema.tables
    WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`
  assert.isTrue(tables.some((t) => t.table_schema === "prompts" && t.table_name === "provider_configs"))
  const parts: Array<string> = []
  for (const t of tables) {
    const rows = yield* sql.unsafe<{ readonly row: string }>(`SELECT t::text AS row FROM "${t.table_schema}"."${t.table_name}" t`)
    for (const r of rows) parts.push(r.row)
  }
  return parts.join("\n")
})

describe("prompts plugin: per-workspace provider configuration", () => {
  layer(TestKit.layer({ plugins: [PromptsPlugin] }), { timeout: 120_000 })((it) => {
    it.effect("sets, reads and removes a workspace's configuration; the key is write-only", () =>
      Effect.gen(function*() {
        const workspace = uniqueKey("team")
        const key = newKey("ws")
        const empty = yield* call<{ data: ConfigBody | null }>("GET", configPath(workspace))
        assert.strictEqual(empty.status, 200)
        assert.isNull(empty.body.data)

        const saved = yield* raw("PUT", configPath(workspace), { body: { base_url: `${publicBase}/`, api_key: key, model: "gpt-team" } })
        assert.strictEqual(saved.status, 200, saved.text)
        assert.notInclude(saved.text, key)
        const config = (saved.body as { data: ConfigBody }).data
        assert.deepStrictEqual(
          [config.provider, config.workspace_id, config.base_url, config.model, config.api_key_set, config.api_key_last4, config.api_key_readable],
          ["openai", workspace, publicBase, "gpt-team", true, key.slice(-4), true]
        )
        const read = yield* raw("GET", configPath(workspace))
        assert.notInclude(read.text, key)
        assert.deepStrictEqual((read.body as { data: ConfigBody }).data, config)

        // The default workspace and other workspaces are separate.
        assert.isNull((yield* call<{ data: ConfigBody | null }>("GET", "/api/playground/providers/openai")).body.data)
        const status = yield* call<ProvidersBody>("GET", `/api/playground/providers?workspace=${workspace}`)
        assert.deepStrictEqual(status.body.data, ["mock", "openai"], "PromptOps's list of names is kept")
        assert.strictEqual(status.body.workspace_id, workspace)
        assert.deepStrictEqual(status.body.providers.find((p) => p.name === "openai"), {
          name: "openai",
          configured: true,
          source: "workspace",
          default_model: "gpt-team"
        })
        const elsewhere = yield* call<ProvidersBody>("GET", "/api/playground/providers")
        assert.deepStrictEqual(elsewhere.body.providers.find((p) => p.name === "openai"), {
          name: "openai",
          configured: false,
          source: "none",
          default_model: null
        })
        const models = yield* call<{ models: ReadonlyArray<{ id: string; provider: string }> }>("GET", `/api/v1/models?workspace=${workspace}`)
        assert.deepStrictEqual(models.body.models.map((m) => [m.provider, m.id]), [["mock", "mock-1"], ["openai", "gpt-team"]])
        const defaultModels = yield* call<{ models: ReadonlyArray<{ id: string }> }>("GET", "/api/v1/models")
        assert.deepStrictEqual(defaultModels.body.models.map((m) => m.id), ["mock-1"])

        // Without api_key the stored key is kept while the origin stays.
        const moved = yield* call<{ data: ConfigBody }>("PUT", configPath(workspace), { body: { base_url: "https://1.1.1.1/openai/v1" } })
        assert.strictEqual(moved.status, 200, JSON.stringify(moved.body))
        assert.deepStrictEqual([moved.body.data.api_key_set, moved.body.data.api_key_last4, moved.body.data.model], [true, key.slice(-4), ""])
        // ...and refused when the origin changes: the key only goes to the server it was saved for.
        const otherOrigin = yield* call<{ code: string; errors: ReadonlyArray<{ path: string }> }>("PUT", configPath(workspace), {
          body: { base_url: "https://1.0.0.1/v1" }
        })
        assert.strictEqual(otherOrigin.status, 400)
        assert.strictEqual(otherOrigin.body.code, "INVALID_PROVIDER_CONFIG")
        assert.deepStrictEqual(otherOrigin.body.errors.map((e) => e.path), ["body.api_key"])
        assert.deepStrictEqual((yield* call<{ data: ConfigBody }>("GET", configPath(workspace))).body.data, moved.body.data)

        const cleared = yield* call<{ data: ConfigBody }>("PUT", configPath(workspace), { body: { base_url: publicBase, api_key: null } })
        assert.deepStrictEqual([cleared.body.data.api_key_set, cleared.body.data.api_key_last4], [false, ""])
        const short = yield* call<{ data: ConfigBody }>("PUT", configPath(workspace), { body: { base_url: publicBase, api_key: "sk-short" } })
        assert.deepStrictEqual([short.body.data.api_key_set, short.body.data.api_key_last4], [true, ""], "a short key shows no characters")

        const removed = yield* call<{ ok: boolean }>("DELETE", configPath(workspace))
        assert.deepStrictEqual([removed.status, removed.body.ok], [200, true])
        assert.isNull((yield* call<{ data: ConfigBody | null }>("GET", configPath(workspace))).body.data)
        assert.strictEqual((yield* call("DELETE", configPath(workspace))).status, 200, "removing nothing is fine")

        const audit = yield* raw("GET", "/api/audit?limit=50")
        assert.notInclude(audit.text, key)
        const entries = ((audit.body as { data?: ReadonlyArray<AuditRow>; items?: ReadonlyArray<AuditRow> }).data ??
          (audit.body as { items?: ReadonlyArray<AuditRow> }).items ?? [])
          .filter((e) => JSON.stringify(e).includes(workspace))
        assert.deepStrictEqual(
          entries.map((e) => e.event).reverse(),
          ["prompts.provider.set", "prompts.provider.set", "prompts.provider.set", "prompts.provider.set", "prompts.provider.delete"]
        )
        assert.notInclude(JSON.stringify(entries), "sk-short")
      }))

    it.effect("answers bad input with a 4xx problem that changes nothing and never repeats the key", () =>
      Effect.gen(function*() {
        const workspace = uniqueKey("bad")
        const key = newKey("keep")
        const good = yield* call<{ data: ConfigBody }>("PUT", configPath(workspace), { body: { base_url: publicBase, api_key: key, model: "m1" } })
        assert.strictEqual(good.status, 200)
        const refusals: ReadonlyArray<readonly [unknown, number, string]> = [
          [{ base_url: "not a url", api_key: newKey("x") }, 400, "INVALID_PROVIDER_CONFIG"],
          [{ base_url: "ftp://1.1.1.1", api_key: newKey("x") }, 400, "INVALID_PROVIDER_CONFIG"],
          [{ base_url: "https://user:pw@1.1.1.1/v1", api_key: newKey("x") }, 400, "INVALID_PROVIDER_CONFIG"],
          [{ base_url: `${publicBase}?api-key=1` }, 400, "INVALID_PROVIDER_CONFIG"],
          [{ base_url: "", api_key: newKey("x") }, 400, "INVALID_PROVIDER_CONFIG"],
          [{ base_url: publicBase, api_key: "" }, 400, "INVALID_PROVIDER_CONFIG"],
          [{ base_url: publicBase, api_key: "   " }, 400, "INVALID_PROVIDER_CONFIG"],
          [{ base_url: publicBase, api_key: `${newKey("spaced")} tail-secret-part` }, 400, "INVALID_PROVIDER_CONFIG"],
          [{ base_url: publicBase, model: "m".repeat(201) }, 400, "INVALID_PROVIDER_CONFIG"],
          [{ base_url: "http://127.0.0.1:8080/v1", api_key: newKey("x") }, 400, "PROVIDER_ADDRESS_REFUSED"],
          [{ base_url: "http://localhost:11434", api_key: newKey("x") }, 400, "PROVIDER_ADDRESS_REFUSED"],
          [{ base_url: "http://10.0.0.8/v1", api_key: newKey("x") }, 400, "PROVIDER_ADDRESS_REFUSED"],
          [{ base_url: "http://[::1]:8080", api_key: newKey("x") }, 400, "PROVIDER_ADDRESS_REFUSED"],
          [{ base_url: "http://169.254.169.254/latest", api_key: newKey("x") }, 400, "PROVIDER_ADDRESS_REFUSED"]
        ]
        for (const [body, status, code] of refusals) {
          const refused = yield* raw("PUT", configPath(workspace), { body })
          const label = JSON.stringify(body)
          assert.strictEqual(refused.status, status, label)
          assert.strictEqual(refused.headers["content-type"], "application/problem+json", label)
          assert.strictEqual((refused.body as { code: string }).code, code, label)
          const sentKey = (body as { api_key?: unknown }).api_key
          if (typeof sentKey === "string" && sentKey.trim() !== "") assert.notInclude(refused.text, sentKey, label)
        }
        // Bodies the schema refuses: the platform's problem, which must not quote the key either.
        for (const body of [{ api_key: newKey("x") }, { base_url: 5, api_key: newKey("x") }, { base_url: publicBase, api_key: newKey("x"), model: 7 }]) {
          const refused = yield* raw("PUT", configPath(workspace), { body })
          assert.strictEqual(refused.status, 400, JSON.stringify(body))
          assert.strictEqual(refused.headers["content-type"], "application/problem+json")
          assert.notInclude(refused.text, body.api_key)
        }
        const tooLongWorkspace = yield* call("PUT", configPath("w".repeat(201)), { body: { base_url: publicBase } })
        assert.strictEqual(tooLongWorkspace.status, 400)
        const after = yield* call<{ data: ConfigBody }>("GET", configPath(workspace))
        assert.deepStrictEqual(after.body.data, good.body.data, "nothing changed")
      }))

    it.effect("refuses viewers, editors and service keys whatever their scopes; a viewer still sees the providers' state", () =>
      Effect.gen(function*() {
        const workspace = uniqueKey("perm")
        const key = newKey("perm")
        assert.strictEqual((yield* call("PUT", configPath(workspace), { body: { base_url: publicBase, api_key: key } })).status, 200)
        const viewer = yield* user("viewer")
        const editor = yield* user("editor")
        const service = yield* call<{ key: string }>("POST", "/api/v1/orgs/org_default/service-keys", {
          body: { name: "all prompts scopes", scopes: ["prompts:read", "prompts:write", "prompts:publish", "prompts:run"] }
        })
        assert.strictEqual(service.status, 201, JSON.stringify(service.body))
        for (const [token, code] of [[viewer, "insufficient_role"], [editor, "insufficient_role"], [service.body.key, "service_key_not_allowed"]] as const) {
          for (const [method, body] of [["GET", undefined], ["PUT", { base_url: publicBase, api_key: newKey("evil") }], ["DELETE", undefined]] as const) {
            const refused = yield* raw(method, configPath(workspace), { token, body })
            assert.strictEqual(refused.status, 403, `${code} ${method}`)
            assert.strictEqual((refused.body as { code: string }).code, code, `${method}`)
            assert.notInclude(refused.text, key)
          }
        }
        const seen = yield* raw("GET", `/api/playground/providers?workspace=${workspace}`, { token: viewer })
        assert.strictEqual(seen.status, 200)
        assert.notInclude(seen.text, key)
        assert.notInclude(seen.text, "1.1.1.1", "viewers do not see the endpoint")
        assert.strictEqual((seen.body as ProvidersBody).providers.find((p) => p.name === "openai")?.source, "workspace")
        const after = yield* call<{ data: ConfigBody }>("GET", configPath(workspace))
        assert.deepStrictEqual([after.body.data.base_url, after.body.data.api_key_last4], [publicBase, key.slice(-4)], "unchanged")
      }))

    it.effect("keeps another organization's workspaces separate", () =>
      Effect.gen(function*() {
        const workspace = uniqueKey("shared-name")
        const key = newKey("mine")
        assert.strictEqual((yield* call("PUT", configPath(workspace), { body: { base_url: publicBase, api_key: key, model: "mine" } })).status, 200)
        const org = yield* call<{ org_id: string }>("POST", "/api/v1/org", { body: { name: `Other ${workspace}` } })
        assert.oneOf(org.status, [200, 201], JSON.stringify(org.body))
        const other = { "x-trellis-organization": org.body.org_id }
        const theirView = yield* raw("GET", configPath(workspace), { headers: other })
        assert.strictEqual(theirView.status, 200)
        assert.isNull((theirView.body as { data: unknown }).data)
        const theirStatus = yield* raw("GET", `/api/playground/providers?workspace=${workspace}`, { headers: other })
        assert.strictEqual((theirStatus.body as ProvidersBody).providers.find((p) => p.name === "openai")?.source, "none")
        assert.notInclude(theirStatus.text, "mine")
        const theirModels = yield* raw("GET", `/api/v1/models?workspace=${workspace}`, { headers: other })
        assert.notInclude(theirModels.text, "mine")
        // Their writes land in their organization only.
        const theirKey = newKey("theirs")
        const theirs = yield* call<{ data: ConfigBody }>("PUT", configPath(workspace), {
          headers: other,
          body: { base_url: "https://9.9.9.9/v1", api_key: theirKey, model: "theirs" }
        })
        assert.strictEqual(theirs.status, 200)
        assert.strictEqual((yield* call("DELETE", configPath(workspace), { headers: other })).status, 200)
        const mine = yield* call<{ data: ConfigBody }>("GET", configPath(workspace))
        assert.deepStrictEqual([mine.body.data.base_url, mine.body.data.model, mine.body.data.api_key_last4], [publicBase, "mine", key.slice(-4)])
      }))
  })
})

interface AuditRow {
  /** Trellis's event name (`action` is PromptOps's verb). */
  readonly event: string
}

interface Received {
  readonly server: string
  readonly path: string
  readonly authorization: string | undefined
  readonly model: string
}

const received: Array<Received> = []

/** An OpenAI-compatible fake that records which server, path, key and model each call used. */
const fakeProvider = (name: string) =>
  createServer((request, response) => {
    let text = ""
    request.on("data", (chunk: Buffer) => {
      text += chunk.toString()
    })
    request.on("end", () => {
      const body = JSON.parse(text) as { model: string; messages: ReadonlyArray<{ content: string }>; stream?: boolean }
      received.push({ server: name, path: request.url ?? "", authorization: request.headers.authorization, model: body.model })
      if (body.stream === true) {
        response.writeHead(200, { "content-type": "text/event-stream" })
        response.write(`data: ${JSON.stringify({ model: body.model, choices: [{ index: 0, delta: { content: `${name}: ` } }] })}\n\n`)
        response.write(`data: ${JSON.stringify({ model: body.model, choices: [{ index: 0, delta: { content: body.messages[0].content } }] })}\n\n`)
        response.end("data: [DONE]\n\n")
        return
      }
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({
        model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content: `${name}: ${body.messages[0].content}` } }],
        usage: { prompt_tokens: 3, completion_tokens: 2 }
      }))
    })
  })

const servers: Record<"env" | "workspace" | "other", Server> = {
  env: fakeProvider("env"),
  workspace: fakeProvider("workspace"),
  other: fakeProvider("other")
}
const urls: Record<"env" | "workspace" | "other", string> = { env: "", workspace: "", other: "" }
const envKey = newKey("env")

/** The second kit, with its environment: built at its first test, once the fakes listen. */
const kitWithEnvironment = Layer.unwrap(Effect.sync(() =>
  TestKit.layer({ plugins: [PromptsPlugin], config: { logLevel: "debug" } }).pipe(
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({
      ...process.env,
      TRELLIS_PROVIDERS_ALLOW_PRIVATE: "true",
      TRELLIS_OPENAI_BASE_URL: `${urls.env}/v1`,
      TRELLIS_OPENAI_API_KEY: envKey,
      TRELLIS_OPENAI_MODEL: "env-model"
    })))
  )
))

/** The last call the fakes received, reduced to what precedence decides. */
const last = () => {
  const r = received.at(-1)
  return r === undefined ? undefined : [r.server, r.authorization ?? "(none)", r.model] as const
}

describe("prompts plugin: the playground with a workspace's provider", () => {
  beforeAll(async () => {
    for (const [name, server] of Object.entries(servers) as ReadonlyArray<[keyof typeof servers, Server]>) {
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
      urls[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    }
  })
  afterAll(async () => {
    for (const server of Object.values(servers)) await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  layer(kitWithEnvironment, { timeout: 120_000 })((it) => {
    it.effect("calls the workspace's endpoint with its key; request > workspace > environment", () =>
      Effect.gen(function*() {
        const workspace = uniqueKey("ws")
        const wsKey = newKey("team")
        const run = (body: Record<string, unknown>) =>
          Effect.gen(function*() {
            const reply = yield* call<{ result: { model: string; output: string } }>("POST", "/api/playground/run", {
              body: { provider: "openai", variables: { who: "you" }, ...body }
            })
            assert.strictEqual(reply.status, 200, JSON.stringify(reply.body))
            return reply.body.result
          })
        const key = uniqueKey("prec")
        const id = yield* createPrompt({ key, content: "Hi {{who}}", env: "prod", workspace_id: workspace })
        yield* publish(id)

        // Nothing saved for the workspace: the environment.
        yield* run({ id })
        assert.deepStrictEqual(last(), ["env", `Bearer ${envKey}`, "env-model"])

        const saved = yield* call("PUT", configPath(workspace), { body: { base_url: `${urls.workspace}/v1`, api_key: wsKey, model: "ws-model" } })
        assert.strictEqual(saved.status, 200, JSON.stringify(saved.body))

        // The prompt's workspace, by id and by key; inline content with the request's workspace.
        const byId = yield* run({ id })
        assert.deepStrictEqual(last(), ["workspace", `Bearer ${wsKey}`, "ws-model"])
        assert.deepStrictEqual([byId.model, byId.output], ["ws-model", "workspace: Hi you"])
        yield* run({ key, env: "prod" })
        assert.deepStrictEqual(last(), ["workspace", `Bearer ${wsKey}`, "ws-model"])
        yield* run({ content: "inline {{who}}", workspace_id: workspace })
        assert.deepStrictEqual(last(), ["workspace", `Bearer ${wsKey}`, "ws-model"])
        yield* run({ content: "inline {{who}}" })
        assert.deepStrictEqual(last(), ["env", `Bearer ${envKey}`, "env-model"], "another workspace keeps the environment")

        // The request's fields win one by one; the prompt's model wins over the workspace default.
        yield* run({ id, model: "request-model" })
        assert.deepStrictEqual(last(), ["workspace", `Bearer ${wsKey}`, "request-model"])
        yield* run({ id, api_key: "sk-request-key" })
        assert.deepStrictEqual(last(), ["workspace", "Bearer sk-request-key", "ws-model"])
        yield* run({ id, base_url: `${urls.other}/v1` })
        assert.deepStrictEqual(last(), ["other", "(none)", "ws-model"], "a stored key never goes to another server")
        yield* run({ id, base_url: `${urls.other}/v1`, api_key: "sk-request-key" })
        assert.deepStrictEqual(last(), ["other", "Bearer sk-request-key", "ws-model"])
        yield* run({ id, base_url: `${urls.workspace}/v1` })
        assert.deepStrictEqual(last(), ["workspace", `Bearer ${wsKey}`, "ws-model"], "the same origin gets its own key")
        const withModel = yield* createPrompt({ key: uniqueKey("prec"), content: "x", env: "prod", workspace_id: workspace, model: "prompt-model" })
        yield* run({ id: withModel })
        assert.deepStrictEqual(last(), ["workspace", `Bearer ${wsKey}`, "prompt-model"])

        // Streaming takes the same route.
        const kit = yield* TestKit.TrellisTest
        const streamed = yield* kit.request("POST", "/api/playground/run/stream", { body: { provider: "openai", id, variables: { who: "me" } } })
        assert.strictEqual(streamed.status, 200)
        assert.include(yield* streamed.text, "workspace: ")
        assert.deepStrictEqual(last(), ["workspace", `Bearer ${wsKey}`, "ws-model"])

        // What the workspace reports, and the models it offers.
        const status = yield* call<ProvidersBody>("GET", `/api/playground/providers?workspace=${workspace}`)
        assert.deepStrictEqual(status.body.providers.find((p) => p.name === "openai"), {
          name: "openai",
          configured: true,
          source: "workspace",
          default_model: "ws-model"
        })
        const fallback = yield* call<ProvidersBody>("GET", "/api/playground/providers")
        assert.deepStrictEqual(fallback.body.providers.find((p) => p.name === "openai"), {
          name: "openai",
          configured: true,
          source: "environment",
          default_model: "env-model"
        })
        const models = yield* call<{ models: ReadonlyArray<{ id: string; provider: string }> }>("GET", `/api/v1/models?workspace=${workspace}`)
        assert.deepStrictEqual(models.body.models.map((m) => m.id), ["mock-1", "ws-model"])
        assert.deepStrictEqual(
          (yield* call<{ models: ReadonlyArray<{ id: string }> }>("GET", "/api/v1/models")).body.models.map((m) => m.id),
          ["mock-1", "env-model"]
        )

        // A workspace configuration without a model uses the environment's default model.
        yield* call("PUT", configPath(workspace), { body: { base_url: `${urls.workspace}/v1` } })
        yield* run({ id })
        assert.deepStrictEqual(last(), ["workspace", `Bearer ${wsKey}`, "env-model"])

        // Removed: back to the environment.
        assert.strictEqual((yield* call("DELETE", configPath(workspace))).status, 200)
        yield* run({ id })
        assert.deepStrictEqual(last(), ["env", `Bearer ${envKey}`, "env-model"])
      }))

    it.effect("never shows the stored key: not in responses, logs, the audit log or the database", () =>
      Effect.gen(function*() {
        const workspace = uniqueKey("secret")
        const secret = newKey("plaintext")
        const written: Array<string> = []
        const original = process.stdout.write.bind(process.stdout)
        const originalErr = process.stderr.write.bind(process.stderr)
        const capture = (chunk: unknown) => {
          written.push(typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) ? chunk.toString("utf8") : String(chunk))
        }
        process.stdout.write = ((chunk: unknown, ...rest: Array<never>) => {
          capture(chunk)
          return original(chunk as string, ...rest)
        }) as typeof process.stdout.write
        process.stderr.write = ((chunk: unknown, ...rest: Array<never>) => {
          capture(chunk)
          return originalErr(chunk as string, ...rest)
        }) as typeof process.stderr.write
        const texts: Array<string> = []
        try {
          const put = yield* raw("PUT", configPath(workspace), { body: { base_url: `${urls.workspace}/v1`, api_key: secret } })
          assert.strictEqual(put.status, 200, put.text)
          texts.push(put.text)
          texts.push((yield* raw("PUT", configPath(workspace), { body: { base_url: `${urls.workspace}/v2`, model: "m2" } })).text)
          texts.push((yield* raw("GET", configPath(workspace))).text)
          texts.push((yield* raw("GET", `/api/playground/providers?workspace=${workspace}`)).text)
          texts.push((yield* raw("GET", `/api/v1/models?workspace=${workspace}`)).text)
          const ran = yield* raw("POST", "/api/playground/run", { body: { provider: "openai", content: "hello", workspace_id: workspace } })
          assert.strictEqual(ran.status, 200, ran.text)
          texts.push(ran.text)
          assert.deepStrictEqual(last(), ["workspace", `Bearer ${secret}`, "m2"], "the key opens and is sent to its provider")
          texts.push((yield* raw("GET", "/api/audit?limit=100")).text)
          texts.push((yield* raw("GET", "/api/v1/llm-usage")).text)
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
        } finally {
          process.stdout.write = original
          process.stderr.write = originalErr
        }
        for (const text of texts) assert.notInclude(text, secret)
        assert.isTrue(written.length > 0, "the server logged at debug level")
        assert.notInclude(written.join(""), secret, "no log line holds the key")
        const dump = yield* databaseDump
        assert.include(dump, `${urls.workspace}/v2`, "the dump holds the row")
        assert.notInclude(dump, secret)
        assert.notInclude(dump, Buffer.from(secret).toString("base64"))
        assert.notInclude(dump, Buffer.from(secret).toString("hex"))
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ readonly api_key_sealed: string }>`SELECT api_key_sealed FROM prompts.provider_configs
          WHERE organization_id = 'org_default' AND workspace_id = ${workspace}`
        assert.match(rows[0].api_key_sealed, /^tsb1\.[0-9a-f]{16}\.[\w-]+\.[\w-]+\.[\w-]+$/)
      }))

    it.effect("a sealed key moved to another workspace, or sealed with another server key, does not open", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const workspace = uniqueKey("orig")
        const copy = uniqueKey("copy")
        assert.strictEqual((yield* call("PUT", configPath(workspace), { body: { base_url: `${urls.workspace}/v1`, api_key: newKey("a") } })).status, 200)
        yield* sql`INSERT INTO prompts.provider_configs (organization_id, workspace_id, provider, base_url, model, api_key_sealed, api_key_last4, created_by, updated_by)
          SELECT organization_id, ${copy}, provider, base_url, model, api_key_sealed, api_key_last4, created_by, updated_by
          FROM prompts.provider_configs WHERE organization_id = 'org_default' AND workspace_id = ${workspace}`
        const calls = received.length
        const moved = yield* call<{ code: string }>("POST", "/api/playground/run", { body: { provider: "openai", content: "x", workspace_id: copy } })
        assert.strictEqual(moved.status, 503)
        assert.strictEqual(moved.body.code, "SECRET_KEY_UNAVAILABLE")

        // A real sealed value, made with another master key (the platform's SecretBox tests open it with theirs).
        const foreign = "tsb1.c3a579433ba817b9.63DjrfDeT-UG3MYz.IczZqe_P-5Sip6ykhnd_OYyRQp8GIM6Moe4.0PIFFWVY_rJ1i8ucDHRvjA"
        yield* sql`UPDATE prompts.provider_configs SET api_key_sealed = ${foreign}
          WHERE organization_id = 'org_default' AND workspace_id = ${workspace}`
        const view = yield* call<{ data: ConfigBody }>("GET", configPath(workspace))
        assert.deepStrictEqual([view.body.data.api_key_set, view.body.data.api_key_readable], [true, false])
        const refused = yield* call<{ code: string; detail: string }>("POST", "/api/playground/run", {
          body: { provider: "openai", content: "x", workspace_id: workspace }
        })
        assert.strictEqual(refused.status, 503)
        assert.include(refused.body.detail, "TRELLIS_SECRET_KEY")
        assert.strictEqual(received.length, calls, "no call was made")
        // Saving the key again fixes it.
        const fixed = yield* call<{ data: ConfigBody }>("PUT", configPath(workspace), { body: { base_url: `${urls.workspace}/v1`, api_key: "sk-fixed-key-0000" } })
        assert.isTrue(fixed.body.data.api_key_readable)
        assert.strictEqual((yield* call("POST", "/api/playground/run", { body: { provider: "openai", content: "x", workspace_id: workspace } })).status, 200)
      }))
  })
})
