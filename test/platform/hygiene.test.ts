/**
 * NUL characters and lone surrogates in any input string answer 400 `INVALID_REQUEST` naming
 * the field, in every dialect, and change nothing (PostgreSQL rejects `\u0000` in text: left
 * to the handlers they were 500s). Over real HTTP: a table of body fields, query parameters and
 * path ids of prompts, tickets and identity routes; then a walk over every route of the
 * composed OpenAPI document.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { PromptsPlugin } from "../../plugins/prompts/Plugin.ts"
import { PromptsRpcs } from "../../plugins/prompts/Api.ts"
import { TicketsPlugin } from "../../plugins/tickets/Plugin.ts"
import { project } from "../../plugins/tickets/test/support.ts"
import * as Client from "../../src/client/Client.ts"
import * as TestKit from "../../src/testing/TestKit.ts"
import { ProbePlugin } from "./fixtures.ts"

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE"

interface Case {
  readonly name: string
  readonly method: Method
  readonly path: string
  readonly body?: unknown
  /** The field the 400 names first. */
  readonly field: string
}

interface Problem {
  readonly status: number
  readonly code: string
  readonly detail: string
  readonly error?: unknown
  readonly errors?: ReadonlyArray<{ readonly path: string; readonly message: string }>
}

const nul = "a\u0000b"
const lone = "x\ud800y"
const loneLow = "\udc00"
/** `%00`, and the UTF-8 bytes of U+D800 (not valid UTF-8: a lone surrogate). */
const nulEncoded = "%00"
const loneEncoded = "%ED%A0%80"

const counts = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const [prompts] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM prompts.prompts`
  const [projects] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM tickets.projects`
  const [tickets] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM tickets.tickets`
  const [users] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM identity.users`
  return { prompts: prompts.n, projects: projects.n, tickets: tickets.n, users: users.n }
})

describe("NUL characters and lone surrogates", () => {
  layer(TestKit.layer({ plugins: [PromptsPlugin, TicketsPlugin, ProbePlugin] }), { timeout: 300_000 })((it) => {
    it.effect("answer 400 naming the field in bodies, queries and path ids, and write nothing", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const owned = yield* project()
        const base = `/api/v1/projects/${owned.id}/tickets`
        const cases: ReadonlyArray<Case> = [
          // Bodies: PromptOps, SessionFS (tickets, identity) and Surflet routes.
          { name: "prompt content NUL", method: "POST", path: "/api/prompts", body: { key: "hyg.one", content: nul }, field: "body.content" },
          { name: "prompt name surrogate", method: "POST", path: "/api/prompts", body: { key: "hyg.two", name: lone }, field: "body.name" },
          { name: "prompt tags nested", method: "POST", path: "/api/prompts", body: { key: "hyg.three", tags: ["ok", loneLow] }, field: "body.tags.1" },
          { name: "project name NUL", method: "POST", path: "/api/v1/projects/", body: { name: nul, git_remote_normalized: "acme/hyg" }, field: "body.name" },
          { name: "ticket title NUL", method: "POST", path: base, body: { title: nul, description: "d" }, field: "body.title" },
          { name: "ticket criteria surrogate", method: "POST", path: base, body: { title: "t", acceptance_criteria: ["fine", lone] }, field: "body.acceptance_criteria.1" },
          { name: "member name NUL", method: "POST", path: base, body: { title: "t", ["k\u0000"]: "v" }, field: "body.k\\u0000" },
          { name: "signup email NUL", method: "POST", path: "/api/v1/auth/signup", body: { email: `hyg${nul}@example.test` }, field: "body.email" },
          { name: "surflet key name surrogate", method: "POST", path: "/v1/account/api-keys", body: { name: lone }, field: "body.name" },
          { name: "login username NUL", method: "POST", path: "/api/login", body: { username: nul, password: "x" }, field: "body.username" },
          // Query parameters.
          { name: "prompt list q NUL", method: "GET", path: `/api/prompts?q=${nulEncoded}`, field: "query.q" },
          { name: "prompt list env surrogate", method: "GET", path: `/api/prompts?env=dev&category=${loneEncoded}`, field: "query.category" },
          { name: "audit query NUL", method: "GET", path: `/api/audit?action=x${nulEncoded}`, field: "query.action" },
          // Path ids.
          { name: "prompt id NUL", method: "GET", path: `/api/prompts/prm${nulEncoded}`, field: "path.id" },
          { name: "prompt update id surrogate", method: "PUT", path: `/api/prompts/${loneEncoded}`, body: { name: "n" }, field: "path.id" },
          { name: "project id NUL", method: "GET", path: `/api/v1/projects/${nulEncoded}`, field: "path.project" },
          { name: "ticket id NUL", method: "GET", path: `${base}/tk${nulEncoded}`, field: "path.ticket_id" },
          { name: "surflet key id surrogate", method: "DELETE", path: `/v1/account/api-keys/${loneEncoded}`, field: "path.id" },
          { name: "service key org NUL", method: "GET", path: `/api/v1/orgs/org${nulEncoded}/service-keys`, field: "path.org_id" },
          { name: "unknown route NUL", method: "GET", path: `/api/v1/nowhere/${nulEncoded}`, field: "path" }
        ]
        const before = yield* counts
        for (const c of cases) {
          const response = yield* kit.request(c.method, c.path, c.body === undefined ? {} : { body: c.body })
          const body = (yield* response.json) as unknown as Problem
          assert.strictEqual(response.status, 400, `${c.name}: ${JSON.stringify(body)}`)
          assert.strictEqual(response.headers["content-type"], "application/problem+json", c.name)
          assert.strictEqual(body.code, "INVALID_REQUEST", c.name)
          assert.strictEqual(body.errors?.[0]?.path, c.field, `${c.name}: ${JSON.stringify(body.errors)}`)
          assert.include(body.detail, c.field, c.name)
        }
        assert.deepStrictEqual(yield* counts, before)

        // The dialect's envelope is still there (and still 400 on SessionFS's routes).
        const sessionFs = (yield* (yield* kit.request("POST", base, { body: { title: nul } })).json) as unknown as Problem
        assert.deepStrictEqual((sessionFs.error as { details: unknown }).details, sessionFs.errors)
        const promptOps = (yield* (yield* kit.request("GET", `/api/prompts?q=${nulEncoded}`)).json) as unknown as Problem
        assert.strictEqual(promptOps.error, promptOps.detail)
      }))

    it.effect("RPC payloads at /rpc get the same check", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const before = yield* counts
        const rpc = yield* Client.makeRpc(PromptsRpcs, { baseUrl: kit.baseUrl, token: kit.adminToken })
        yield* rpc["prompts.Create"]({ payload: { key: "hyg.rpc", content: nul } }).pipe(Effect.flip)
        const line = JSON.stringify({ _tag: "Request", id: "1", tag: "prompts.Create", payload: { payload: { key: "hyg.rpc", content: lone } }, headers: [] })
        const raw = yield* kit.request("POST", "/rpc", { body: JSON.parse(line) })
        assert.strictEqual(raw.status, 400)
        assert.strictEqual(((yield* raw.json) as unknown as Problem).errors?.[0]?.path, "body.payload.payload.content")
        assert.deepStrictEqual(yield* counts, before)
        // A clean payload still works through the same client.
        const { data: created } = yield* rpc["prompts.Create"]({ payload: { key: "hyg.rpc", content: "clean" } })
        assert.strictEqual(created.key, "hyg.rpc")
      }).pipe(Effect.scoped))

    it.effect("a fast route's GET with a NUL in its query takes the pipeline and gets the same 400", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const created = (yield* (yield* kit.request("POST", "/api/prompts", { body: { key: "hyg.fast", content: "c", env: "prod" } })).json) as unknown as {
          data: { id: string }
        }
        assert.strictEqual((yield* kit.request("POST", "/api/prompts/publish", { body: { id: created.data.id } })).status, 200)
        assert.strictEqual((yield* kit.request("GET", "/api/sdk/prompts/hyg.fast?env=prod&sticky_key=u")).status, 200)
        const refused = yield* kit.request("GET", `/api/sdk/prompts/hyg.fast?env=prod&sticky_key=u${nulEncoded}`)
        assert.strictEqual(refused.status, 400)
        assert.strictEqual(((yield* refused.json) as unknown as Problem).errors?.[0]?.path, "query.sticky_key")
      }))

    it.effect("let through escapes that are not a NUL or a lone surrogate, and surrogate pairs", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        // A literal backslash-u-0000 (six characters) and an emoji (a surrogate pair).
        const created = yield* kit.request("POST", "/api/prompts", { body: { key: "hyg.fine", content: "lit \\u0000 and \ud83d\ude00" } })
        assert.strictEqual(created.status, 200, JSON.stringify(yield* created.json))
        const listed = yield* kit.request("GET", `/api/prompts?q=${encodeURIComponent("\ud83d\ude00")}`)
        assert.strictEqual(listed.status, 200)
        const probe = yield* kit.request("POST", "/api/probe/echo", { body: { count: 1, label: "é \\u0000" } })
        assert.deepStrictEqual(yield* probe.json, { count: 1, label: "é \\u0000" })
      }))

    it.effect("every route of the OpenAPI document refuses NUL in each path and query parameter and top-level body field", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const doc = (yield* (yield* kit.request("GET", "/openapi.json")).json) as unknown as OpenApiDoc
        const failures: Array<string> = []
        let sent = 0
        const send = (method: Method, path: string, body: unknown, field: string) =>
          Effect.gen(function*() {
            sent++
            const response = yield* kit.request(method, path, body === undefined ? {} : { body })
            const text = yield* response.text
            const errors = response.status === 400 ? (JSON.parse(text) as Problem).errors : undefined
            if (response.status !== 400 || errors?.[0]?.path !== field) failures.push(`${method} ${path} ${field}: ${response.status} ${text.slice(0, 200)}`)
          })
        for (const [template, item] of Object.entries(doc.paths)) {
          for (const [lower, operation] of Object.entries(item)) {
            const method = lower.toUpperCase() as Method
            if (!["GET", "POST", "PUT", "PATCH", "DELETE"].includes(method)) continue
            const parameters = operation.parameters ?? []
            const pathParams = parameters.filter((p) => p.in === "path").map((p) => p.name)
            const filled = (bad: string | undefined) =>
              template.replace(/\{([^}]+)\}/g, (_, name: string) => (name === bad ? nulEncoded : "x1"))
            for (const name of pathParams) yield* send(method, filled(name), undefined, `path.${name}`)
            for (const p of parameters.filter((p) => p.in === "query")) {
              yield* send(method, `${filled(undefined)}?${encodeURIComponent(p.name)}=${nulEncoded}`, undefined, `query.${p.name}`)
            }
            const schema = resolve(doc, operation.requestBody?.content?.["application/json"]?.schema)
            for (const property of Object.keys(schema?.properties ?? {})) {
              yield* send(method, filled(undefined), { [property]: nul }, `body.${property}`)
            }
          }
        }
        assert.isAbove(sent, 100)
        assert.deepStrictEqual(failures, [])
      }))
  })
})

interface SchemaObject {
  readonly $ref?: string
  readonly properties?: Record<string, unknown>
}

interface OpenApiDoc {
  readonly paths: Record<string, Record<string, {
    readonly parameters?: ReadonlyArray<{ readonly name: string; readonly in: string }>
    readonly requestBody?: { readonly content?: Record<string, { readonly schema?: SchemaObject }> }
  }>>
  readonly components?: { readonly schemas?: Record<string, SchemaObject> }
}

const resolve = (doc: OpenApiDoc, schema: SchemaObject | undefined): SchemaObject | undefined => {
  if (schema?.$ref === undefined) return schema
  const name = schema.$ref.split("/").pop() ?? ""
  return resolve(doc, doc.components?.schemas?.[name])
}
