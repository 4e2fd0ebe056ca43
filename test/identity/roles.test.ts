/**
 * The role matrix, generated from the contract: every authenticated endpoint of the composed
 * API (platform, first-party and the example plugin) is called by a viewer, an editor, an
 * admin (sessions), an editor's user key, a service key holding every declared scope and a
 * service key holding an unrelated one. Each call must be allowed or refused exactly as the
 * endpoint's `Requires` says: a refusal is a 403 with the structured code, before the handler
 * runs; an allowed call never answers 401/403 (it may answer 400/404: the ids are made up).
 */
import { assert, describe, layer } from "@effect/vitest"
import { Context, Effect } from "effect"
import type { HttpApiEndpoint } from "effect/http-api"
import * as TestKit from "trellis/testing"
import { HelloPlugin } from "../../examples/hello-plugin/Plugin.ts"
import { Authentication } from "../../src/auth/Authentication.ts"
import { roleAtLeast } from "../../src/auth/Principal.ts"
import type { Role } from "../../src/auth/Principal.ts"
import { Requires } from "../../src/auth/Requirement.ts"
import type { Requirement } from "../../src/auth/Requirement.ts"
import * as Server from "../../src/server/Server.ts"
import { firstParty } from "../../plugins/index.ts"

const plugins = [...firstParty, HelloPlugin]

const unlimited = { perMinute: 0, runPerMinute: 0, settingsPerMinute: 0, streams: 0, loginPerAccount: 0, loginPerAddress: 0 }

type Caller =
  | { readonly name: string; readonly kind: "user"; readonly role: Role; readonly token: string }
  | { readonly name: string; readonly kind: "service"; readonly scopes: ReadonlyArray<string>; readonly token: string }

const expectation = (caller: Caller, requirement: Requirement): string | null => {
  if (caller.kind === "user") return roleAtLeast(caller.role, requirement.role) ? null : "insufficient_role"
  if (requirement.scope === null) return "service_key_not_allowed"
  return caller.scopes.includes(requirement.scope) ? null : "insufficient_scope"
}

describe("role matrix", () => {
  layer(TestKit.layer({ plugins, config: { rateLimits: unlimited } }), { timeout: 300_000 })((it) => {
    it.effect("every authenticated endpoint allows and refuses exactly as it declares", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const composition = yield* Server.compose(plugins)
        const declared = [...new Set(composition.plugins.flatMap((p) => p.scopes ?? []))].sort()
        assert.isAbove(declared.length, 2)

        // Members of org_default, created by the admin token (signup never joins an existing organization).
        const user = (role: "viewer" | "editor" | "admin") =>
          Effect.gen(function*() {
            const name = `m-${role}-${crypto.randomUUID().slice(0, 6)}`
            const password = "matrix password 123"
            const created = yield* kit.request("POST", "/api/users", {
              body: { email: `${name}@example.test`, username: name, password, role }
            })
            assert.strictEqual(created.status, 201)
            const login = yield* kit.request("POST", "/api/login", { body: { username: name, password }, token: null })
            const session = (yield* login.json) as { token: string }
            const key = yield* kit.request("POST", "/api/v1/auth/keys", { token: session.token, body: { name: "matrix" } })
            assert.strictEqual(key.status, 201)
            return { session: session.token, key: ((yield* key.json) as { raw_key: string }).raw_key }
          })
        const serviceKey = (scopes: ReadonlyArray<string>) =>
          Effect.gen(function*() {
            const response = yield* kit.request("POST", "/api/v1/orgs/org_default/service-keys", { body: { name: "matrix", scopes } })
            assert.strictEqual(response.status, 201)
            return ((yield* response.json) as { key: string }).key
          })
        const viewer = yield* user("viewer")
        const editor = yield* user("editor")
        const admin = yield* user("admin")
        const unrelated = declared[0]
        const callers: ReadonlyArray<Caller> = [
          { name: "viewer", kind: "user", role: "viewer", token: viewer.session },
          { name: "editor", kind: "user", role: "editor", token: editor.session },
          { name: "admin", kind: "user", role: "admin", token: admin.session },
          { name: "editor user key", kind: "user", role: "editor", token: editor.key },
          { name: "service key with every scope", kind: "service", scopes: declared, token: yield* serviceKey(declared) },
          { name: `service key with only ${unrelated}`, kind: "service", scopes: [unrelated], token: yield* serviceKey([unrelated]) }
        ]

        const failures: Array<string> = []
        let calls = 0
        for (const group of Object.values(composition.api.groups)) {
          for (const endpoint of Object.values(group.endpoints) as unknown as ReadonlyArray<HttpApiEndpoint.Top>) {
            if (!endpoint.middlewares.has(Authentication)) continue
            const requirement = Context.get(endpoint.annotations, Requires)
            if (requirement === undefined) {
              failures.push(`${endpoint.method} ${endpoint.path}: no requirement`)
              continue
            }
            // Signing out would end the session the matrix uses; logout has its own tests.
            if (endpoint.path.endsWith("/logout")) continue
            const path = endpoint.path.replace(/:(\w+)/g, (_m, name: string) => `matrix-${name}`)
            for (const caller of callers) {
              const expected = expectation(caller, requirement)
              // Allowed calls with made-up ids and an empty body must not change anything that
              // matters, but live streams never end: only their refusals are checked.
              if (expected === null && requirement.stream) continue
              const method = endpoint.method as "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
              const response = yield* kit.request(method, path, {
                token: caller.token,
                ...(method === "GET" || method === "DELETE" ? {} : { body: {} })
              })
              calls++
              const body = response.status === 204 ? {} : (yield* Effect.orElseSucceed(response.json, () => ({}))) as { code?: string }
              if (expected === null) {
                if (response.status === 401 || response.status === 403 || response.status === 429) {
                  failures.push(`${caller.name} ${endpoint.method} ${endpoint.path}: expected allowed, got ${response.status} ${body.code}`)
                }
              } else if (response.status !== 403 || body.code !== expected) {
                failures.push(`${caller.name} ${endpoint.method} ${endpoint.path}: expected 403 ${expected}, got ${response.status} ${body.code}`)
              }
            }
          }
        }
        assert.isAbove(calls, 50)
        assert.deepStrictEqual(failures, [])
      }))
  })
})
