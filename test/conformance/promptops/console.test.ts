/**
 * PromptOps's web console against Trellis: the calls its `web/src/api/client.ts` makes for
 * login, me, users, workspaces, audit and health, with the exact paths and bodies it sends, and
 * the fields it reads from each answer (its TypeScript interfaces `LoginResponse`, `User`,
 * `Workspace`, `AuditEntry`). Also what its pages rely on: `role === 'admin'` for the
 * administrator, a workspace list that always holds `default` (its store starts on `default`
 * and falls back to the first listed), and a rate limit that ordinary clicking never meets.
 * (Prompt calls: the other files of this folder.)
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { HttpClientResponse } from "effect/http"
import { PromptsPlugin } from "../../../plugins/prompts/Plugin.ts"
import * as TestKit from "../../../src/testing/TestKit.ts"

type Json = Record<string, unknown>

const body = (response: HttpClientResponse.HttpClientResponse) => Effect.map(response.json, (b) => b as unknown as Json)

/** The answer's body, after checking its status. */
const expect = (response: HttpClientResponse.HttpClientResponse, status: number) =>
  Effect.gen(function*() {
    const json = yield* body(response)
    assert.strictEqual(response.status, status, JSON.stringify(json))
    return json
  })

/** The answer's body, after checking it is a success (calls whose exact status other work owns). */
const expectOk = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.gen(function*() {
    const json = yield* body(response)
    assert.isTrue(response.status >= 200 && response.status < 300, `${response.status} ${JSON.stringify(json)}`)
    return json
  })

const dataOf = <T = Json>(json: Json) => json.data as T

let counter = 0
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`

/** The console's login form: `api.login({ username, password })`. */
const login = (payload: Json) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    return yield* kit.request("POST", "/api/login", { body: payload, token: null })
  })

/** Fields of the console's `User` interface. */
const assertUser = (user: Json) => {
  for (const field of ["id", "username", "role", "created_at"]) assert.property(user, field)
  assert.include(["admin", "editor", "viewer"], user.role, "PromptOps knows three roles")
}

/** Fields of the console's `Workspace` interface. */
const assertWorkspace = (workspace: Json) => {
  for (const field of ["id", "name", "slug", "created_at"]) assert.isString(workspace[field], field)
}

describe("PromptOps console: identity, workspaces, audit, health", () => {
  layer(TestKit.layer({ plugins: [PromptsPlugin] }), { timeout: 240_000 })((it) => {
    it.effect("login and me: the first administrator is `admin` (the console's role check)", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const signedIn = yield* expect(yield* login({ username: "admin", password: TestKit.adminPassword }), 200)
        // LoginResponse { ok, token, role, username }
        assert.strictEqual(signedIn.ok, true)
        assert.isString(signedIn.token)
        assert.strictEqual(signedIn.username, "admin")
        assert.strictEqual(signedIn.role, "admin")
        assert.strictEqual(signedIn.trellis_role, "owner")
        const me = yield* expect(yield* kit.request("GET", "/api/me", { token: String(signedIn.token) }), 200)
        assert.deepInclude(me, { username: "admin", role: "admin", trellis_role: "owner" })

        // The static-token login of the same form.
        const byToken = yield* expect(yield* login({ token: kit.adminToken }), 200)
        assert.deepInclude(byToken, { ok: true, role: "admin", username: "admin" })

        // A wrong password is a 401, which the console's interceptor handles.
        assert.strictEqual((yield* login({ username: "admin", password: "not-the-password" })).status, 401)
      }))

    it.effect("users: list, create, update, remove, with PromptOps's role names", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const admin = String((yield* expect(yield* login({ username: "admin", password: TestKit.adminPassword }), 200)).token)
        const list = dataOf<ReadonlyArray<Json>>(yield* expect(yield* kit.request("GET", "/api/users", { token: admin }), 200))
        list.forEach(assertUser)
        assert.isTrue(list.some((u) => u.username === "admin" && u.role === "admin" && u.trellis_role === "owner"))

        // UsersView: createUser({ username, password, role })
        const username = unique("editor")
        const created = dataOf(yield* expect(
          yield* kit.request("POST", "/api/users", { token: admin, body: { username, password: "correct horse battery", role: "editor" } }),
          201
        ))
        assertUser(created)
        assert.deepInclude(created, { username, role: "editor" })

        const editor = yield* expect(yield* login({ username, password: "correct horse battery" }), 200)
        assert.strictEqual(editor.role, "editor")
        assert.strictEqual((yield* kit.request("GET", "/api/users", { token: String(editor.token) })).status, 403)

        // updateUser(id, { role }) and updateUser(id, { password }); `admin` is accepted on input.
        const promoted = dataOf(yield* expect(yield* kit.request("PUT", `/api/users/${created.id}`, { token: admin, body: { role: "admin" } }), 200))
        assert.deepInclude(promoted, { role: "admin", trellis_role: "admin" })
        yield* expect(yield* kit.request("PUT", `/api/users/${created.id}`, { token: admin, body: { password: "another long password" } }), 200)
        assert.strictEqual((yield* login({ username, password: "another long password" })).status, 200)

        // removeUser(id)
        yield* expect(yield* kit.request("DELETE", `/api/users/${created.id}`, { token: admin }), 200)
        const after = dataOf<ReadonlyArray<Json>>(yield* expect(yield* kit.request("GET", "/api/users", { token: admin }), 200))
        assert.isFalse(after.some((u) => u.id === created.id))
      }))

    it.effect("workspaces: `default` is always listed first and cannot be deleted; slugs are derived and unique", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const listed = () =>
          Effect.map(
            Effect.flatMap(kit.request("GET", "/api/workspaces"), (r) => expect(r, 200)),
            (json) => dataOf<ReadonlyArray<Json>>(json)
          )
        const first = yield* listed()
        first.forEach(assertWorkspace)
        assert.deepInclude(first[0], { id: "default", name: "Default", slug: "default", is_default: true })

        // createWorkspace({ name }) and createWorkspace({ name, slug })
        const name = unique("Team Blue")
        const derived = dataOf(yield* expect(yield* kit.request("POST", "/api/workspaces", { body: { name: `  ${name}  ` } }), 201))
        assertWorkspace(derived)
        assert.deepInclude(derived, { name, slug: name.toLowerCase().replace(/ /g, "-"), is_default: false })
        // A given slug that is taken is a 409.
        const taken = yield* expect(
          yield* kit.request("POST", "/api/workspaces", { body: { name: unique("Other"), slug: String(derived.slug) } }),
          409
        )
        assert.strictEqual(taken.code, "workspace_slug_taken")
        const withSlug = dataOf(yield* expect(
          yield* kit.request("POST", "/api/workspaces", { body: { name: unique("Given"), slug: "Given Slug" } }),
          201
        ))
        assert.strictEqual(withSlug.slug, "given-slug")
        // A derived slug that is taken gets a suffix.
        const again = dataOf(yield* expect(yield* kit.request("POST", "/api/workspaces", { body: { name: `${name}!` } }), 201))
        assert.strictEqual(again.slug, `${String(derived.slug)}-2`)
        // A blank name is refused and changes nothing.
        const before = (yield* listed()).length
        assert.strictEqual((yield* kit.request("POST", "/api/workspaces", { body: { name: "   " } })).status, 400)
        assert.strictEqual((yield* listed()).length, before)

        // removeWorkspace(id): the default is refused with a 400, others go.
        const refused = yield* expect(yield* kit.request("DELETE", "/api/workspaces/default"), 400)
        assert.strictEqual(refused.code, "default_workspace_protected")
        assert.deepStrictEqual(yield* expect(yield* kit.request("DELETE", `/api/workspaces/${derived.id}`), 200), { ok: true })
        assert.deepStrictEqual(yield* expect(yield* kit.request("DELETE", `/api/workspaces/${again.id}`), 200), { ok: true })
        assert.deepStrictEqual(yield* expect(yield* kit.request("DELETE", `/api/workspaces/${withSlug.id}`), 200), { ok: true })
        const left = yield* listed()
        assert.strictEqual(left[0].id, "default")
        assert.isFalse(left.some((w) => w.id === derived.id || w.id === again.id))
      }))

    it.effect("workspaces: racing creates never share a slug or a name", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const base = unique("Race")
        const create = (name: string) => kit.request("POST", "/api/workspaces", { body: { name } })
        // Different names with the same derived slug: both are created, with different slugs.
        const [a, b] = yield* Effect.all([create(base), create(base.replace(/-/g, " "))], { concurrency: 2 })
        const slugs = [dataOf(yield* expect(a, 201)).slug, dataOf(yield* expect(b, 201)).slug]
        assert.sameMembers(slugs, [base.toLowerCase(), `${base.toLowerCase()}-2`])
        // The same name twice: one wins, the other is a 409.
        const same = unique("Same")
        const both = yield* Effect.all([create(same), create(same)], { concurrency: 2 })
        assert.sameMembers(both.map((r) => r.status), [201, 409])
      }))

    it.effect("workspaces: every new organization starts with its own default workspace", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const username = unique("founder")
        yield* expect(
          yield* kit.request("POST", "/api/users", { body: { username, password: "founder password 1", role: "viewer" } }),
          201
        )
        const session = String((yield* expect(yield* login({ username, password: "founder password 1" }), 200)).token)
        const org = yield* expectOk(yield* kit.request("POST", "/api/v1/org", { token: session, body: { name: unique("Acme") } }))
        const orgId = String(org.org_id)
        const theirs = dataOf<ReadonlyArray<Json>>(yield* expect(
          yield* kit.request("GET", "/api/workspaces", { token: session, headers: { "x-trellis-organization": orgId } }),
          200
        ))
        assert.deepStrictEqual(theirs.map((w) => [w.id, w.slug, w.is_default]), [[`default_${orgId}`, "default", true]])
        const refused = yield* kit.request("DELETE", `/api/workspaces/default_${orgId}`, {
          token: session,
          headers: { "x-trellis-organization": orgId }
        })
        assert.strictEqual(refused.status, 400)
        // The default organization's is another workspace.
        const ours = dataOf<ReadonlyArray<Json>>(yield* expect(yield* kit.request("GET", "/api/workspaces"), 200))
        assert.isFalse(ours.some((w) => w.id === `default_${orgId}`))
      }))

    it.effect("audit: PromptOps's verbs, resources, keys and summaries, with Trellis's event beside them", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const key = unique("greeting").replace(/-/g, "_")
        const created = dataOf(yield* expectOk(yield* kit.request("POST", "/api/prompts", { body: { key, name: "Greeting", env: "prod", content: "Hello {{name}}" } })))
        const id = String(created.id)
        const v1 = dataOf(yield* expectOk(yield* kit.request("POST", "/api/prompts/publish", { body: { id } })))
        yield* expectOk(yield* kit.request("PUT", `/api/prompts/${id}`, { body: { content: "Hi {{name}}" } }))
        const v2 = dataOf(yield* expectOk(yield* kit.request("POST", "/api/prompts/publish", { body: { id } })))
        yield* expectOk(yield* kit.request("POST", "/api/prompts/rollback", { body: { id, version: v1.version } }))
        yield* expectOk(yield* kit.request("PUT", `/api/prompts/${id}/rollout`, {
            body: { enabled: true, variant_a: v1.version, variant_b: v2.version, weight_a: 50 }
          }))
        yield* expectOk(yield* kit.request("DELETE", `/api/prompts/${id}/rollout`))
        yield* expectOk(yield* kit.request("DELETE", `/api/prompts/${id}`))

        // listAudit({ limit, offset }) as ObservabilityView pages it.
        const page = yield* expect(yield* kit.request("GET", "/api/audit?limit=50&offset=0"), 200)
        assert.isNumber(page.total)
        const entries = dataOf<ReadonlyArray<Json>>(page).filter((e) => e.resource_id === id).reverse()
        for (const entry of entries) {
          for (const field of ["id", "action", "resource", "resource_id", "key", "summary", "created_at"]) {
            assert.isString(entry[field], field)
          }
        }
        assert.deepStrictEqual(
          entries.map((e) => [e.action, e.resource, e.key, e.event]),
          [
            ["create", "prompt", key, "prompts.prompt.create"],
            ["publish", "prompt", key, "prompts.prompt.publish"],
            ["update", "prompt", key, "prompts.prompt.update"],
            ["publish", "prompt", key, "prompts.prompt.publish"],
            ["rollback", "prompt", key, "prompts.prompt.rollback"],
            ["rollout", "prompt", key, "prompts.rollout.set"],
            ["rollout", "prompt", key, "prompts.rollout.delete"],
            ["delete", "prompt", key, "prompts.prompt.delete"]
          ]
        )
        const summaries = entries.map((e) => e.summary)
        assert.strictEqual(summaries[1], `version ${String(v1.version)}`)
        assert.strictEqual(summaries[4], `to ${String(v1.version)}`)
        assert.deepStrictEqual(summaries.slice(5, 7), ["gray release updated", "gray release removed"])
        // Create, update and delete are summarised by the prompt's name, as PromptOps does.
        assert.deepStrictEqual([summaries[0], summaries[2], summaries[7]], ["Greeting", "Greeting", "Greeting"])
        // The chain's fields are still there.
        for (const entry of entries) assert.match(String(entry.hash), /^sha256:[0-9a-f]{64}$/)

        // A workspace's entries: `workspace`, its slug as the key, its name as the summary.
        const workspace = dataOf(yield* expect(yield* kit.request("POST", "/api/workspaces", { body: { name: unique("Audit WS") } }), 201))
        const newest = dataOf<ReadonlyArray<Json>>(yield* expect(yield* kit.request("GET", "/api/audit?limit=1"), 200))[0]
        assert.deepInclude(newest, {
          action: "create",
          resource: "workspace",
          resource_id: workspace.id,
          key: workspace.slug,
          summary: workspace.name,
          event: "identity.workspace.create"
        })
      }))

    it.effect("health: `ok: true`", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const health = yield* expect(yield* kit.request("GET", "/health", { token: null }), 200)
        assert.deepStrictEqual(health, { status: "ok", ok: true })
      }))

    it.effect("rate limits: minutes of ordinary console use never meet a 429", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const username = unique("clicker")
        yield* expect(yield* kit.request("POST", "/api/users", { body: { username, password: "clicker password 1", role: "admin" } }), 201)
        const token = String((yield* expect(yield* login({ username, password: "clicker password 1" }), 200)).token)
        // What the console loads on its pages, 40 times over: 200 calls, more than three minutes
        // of steady clicking (the old 60-a-minute budget refused the 61st).
        const pages = ["/api/me", "/api/workspaces", "/api/users", "/api/audit?limit=50&offset=0", "/api/prompts"]
        const statuses: Array<number> = []
        for (let round = 0; round < 40; round++) {
          for (const path of pages) statuses.push((yield* kit.request("GET", path, { token })).status)
        }
        assert.deepStrictEqual(statuses.filter((s) => s !== 200), [])
        const last = yield* kit.request("GET", "/api/me", { token })
        assert.strictEqual(last.headers["ratelimit-policy"], "\"default\";q=600;w=60")
      }))
  })
})
