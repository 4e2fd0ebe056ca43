/**
 * Seed 002's auth and devices calls, as the mobile app makes them:
 *
 * - `POST /api/auth/token` `{ email, password }` → `{ token, abilities }` (the default set;
 *   `git:push` and `settings:write` only when asked for, and only for a role that allows them);
 *   a wrong password is a 401 problem counted by the login lockout.
 * - `GET /api/auth/me` → the user (camelCase) with the token's abilities.
 * - `POST /api/auth/logout` → 204; the token no longer works.
 * - `POST /api/devices` `{ token, platform?, name? }` (idempotent per token) and
 *   `DELETE /api/devices/{device}` (another user's device is 404).
 * - A token without an ability gets 403 `insufficient_scope` on a route whose scope is that
 *   ability (`projects:write`), and reaches routes whose scope is no ability by its role.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"
import { firstParty } from "../../../plugins/index.ts"
import { app, expect, member, problem } from "./support.ts"

const defaults = ["projects:read", "projects:write", "runs:start", "runs:control", "git:commit", "settings:read"]

describe("mobile auth (seed 002)", () => {
  const limits = { perMinute: 0, runPerMinute: 0, settingsPerMinute: 0, streams: 0, loginPerAccount: 3, loginPerAddress: 1000 }
  layer(TestKit.layer({ plugins: firstParty, config: { rateLimits: limits } }), { timeout: 120_000 })((it) => {
    it.effect("token with the default abilities; me; logout revokes it", () =>
      Effect.gen(function*() {
        const user = yield* member("editor")
        const signedIn = yield* app("POST", "/api/auth/token", null, { email: user.email, password: user.password })
        const body = expect<{ token: string; abilities: ReadonlyArray<string> }>(signedIn, 200, "token")
        assert.deepStrictEqual([...body.abilities], defaults)
        assert.match(body.token, /^sk_mob_/)
        const me = expect<Record<string, unknown>>(yield* app("GET", "/api/auth/me", body.token), 200, "me")
        assert.strictEqual(me.username, user.username)
        assert.strictEqual(me.email, user.email)
        assert.strictEqual(me.role, "editor")
        assert.strictEqual(me.organizationId, "org_default")
        assert.deepStrictEqual(me.abilities, defaults)
        assert.isString(me.id)
        assert.property(me, "displayName")
        assert.property(me, "createdAt")
        const out = yield* app("POST", "/api/auth/logout", body.token)
        assert.strictEqual(out.status, 204)
        problem(yield* app("GET", "/api/auth/me", body.token), 401, "api_key_revoked", "me after logout")
        // The other token of the same user still works.
        expect(yield* app("GET", "/api/auth/me", user.token), 200, "the user's other token")
      }))

    it.effect("a password reset revokes the user's mobile tokens; other user keys stay", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const user = yield* member("editor")
        const me = expect<{ id: string }>(yield* app("GET", "/api/auth/me", user.token), 200, "me")
        const key = yield* kit.request("POST", "/api/v1/auth/keys", { body: { name: "ci" }, token: user.token })
        assert.strictEqual(key.status, 201)
        const rawKey = ((yield* key.json) as { raw_key: string }).raw_key
        assert.strictEqual((yield* kit.request("PUT", `/api/users/${me.id}`, { body: { password: "a brand new password 42" } })).status, 200)
        problem(yield* app("GET", "/api/auth/me", user.token), 401, "api_key_revoked", "the mobile token after the reset")
        expect(yield* app("GET", "/api/auth/me", rawKey), 200, "the user key after the reset")
      }))

    it.effect("elevated abilities only when asked for, and only for a role that allows them", () =>
      Effect.gen(function*() {
        const admin = yield* member("admin")
        const elevated = yield* app("POST", "/api/auth/token", null, {
          email: admin.email,
          password: admin.password,
          abilities: ["settings:write", "git:push", "projects:read"]
        })
        assert.deepStrictEqual(expect<{ abilities: ReadonlyArray<string> }>(elevated, 200, "admin elevates").abilities, [
          "projects:read",
          "git:push",
          "settings:write"
        ])
        const editor = yield* member("editor")
        const refused = yield* app("POST", "/api/auth/token", null, { email: editor.email, password: editor.password, abilities: ["settings:write"] })
        const body = problem(refused, 403, "ability_not_allowed", "editor asks for settings:write")
        assert.strictEqual(body.required, "admin")
        const viewer = yield* member("viewer")
        problem(
          yield* app("POST", "/api/auth/token", null, { email: viewer.email, password: viewer.password, abilities: ["git:push"] }),
          403,
          "ability_not_allowed",
          "viewer asks for git:push"
        )
        expect(
          yield* app("POST", "/api/auth/token", null, { email: editor.email, password: editor.password, abilities: ["git:push"] }),
          200,
          "editor asks for git:push"
        )
        const unknown = problem(
          yield* app("POST", "/api/auth/token", null, { email: editor.email, password: editor.password, abilities: ["root"] }),
          422,
          "unknown_ability",
          "an unknown ability"
        )
        assert.deepStrictEqual(unknown.abilities, ["root"])
        problem(yield* app("POST", "/api/auth/token", null, { email: editor.email }), 422, "INVALID_REQUEST", "no password")
      }))

    it.effect("wrong passwords are 401 problems and count on the login lockout", () =>
      Effect.gen(function*() {
        const user = yield* member("viewer")
        for (let i = 0; i < 3; i++) {
          problem(yield* app("POST", "/api/auth/token", null, { email: user.email, password: `wrong ${i}` }), 401, "invalid_credentials", "wrong password")
        }
        // The account is locked for every sign-in, the right password and PromptOps's login included.
        problem(yield* app("POST", "/api/auth/token", null, { email: user.email, password: user.password }), 429, "RATE_LIMITED", "locked")
        const kit = yield* TestKit.TrellisTest
        const login = yield* kit.request("POST", "/api/login", { body: { username: user.username, password: user.password }, token: null })
        assert.strictEqual(login.status, 429)
        problem(yield* app("POST", "/api/auth/token", null, { email: "nobody@example.test", password: "x" }), 401, "invalid_credentials", "unknown email")
      }))

    it.effect("a token without an ability is refused routes of that ability, and reaches others by role", () =>
      Effect.gen(function*() {
        const user = yield* member("editor", ["projects:read"])
        const denied = problem(
          yield* app("POST", "/api/projects", user.token, { name: "nope", repositoryUrl: "https://github.com/acme/nope.git" }),
          403,
          "insufficient_scope",
          "POST /api/projects without projects:write"
        )
        assert.deepStrictEqual(denied.required, ["projects:write"])
        expect(yield* app("GET", "/api/projects", user.token), 200, "GET /api/projects with projects:read")
        const none = yield* member("editor", [])
        problem(yield* app("GET", "/api/projects", none.token), 403, "insufficient_scope", "GET /api/projects without projects:read")
        // `tickets:read` is no ability: the token reaches it as its editor does.
        expect(yield* app("GET", "/api/v1/projects/", none.token), 200, "a route whose scope is no ability")
        // The role still applies: a viewer's token with projects:write cannot create.
        const viewer = yield* member("viewer")
        problem(
          yield* app("POST", "/api/projects", viewer.token, { name: "nope", repositoryUrl: "https://github.com/acme/nope2.git" }),
          403,
          "insufficient_role",
          "viewer with projects:write"
        )
      }))

    it.effect("devices: register (idempotent per token), unregister own only", () =>
      Effect.gen(function*() {
        const alice = yield* member("viewer")
        const bob = yield* member("viewer")
        const push = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
        const first = expect<{ id: string; platform: string; name: string | null; createdAt: string }>(
          yield* app("POST", "/api/devices", alice.token, { token: push, platform: "ios", name: "Alice's iPhone" }),
          201,
          "register"
        )
        assert.strictEqual(first.platform, "ios")
        assert.strictEqual(first.name, "Alice's iPhone")
        assert.notProperty(first, "token")
        const again = expect<{ id: string; name: string | null }>(yield* app("POST", "/api/devices", alice.token, { token: push }), 201, "again")
        assert.strictEqual(again.id, first.id)
        assert.strictEqual(again.name, "Alice's iPhone")
        const racing = yield* Effect.forEach([1, 2, 3, 4], () => app("POST", "/api/devices", alice.token, { token: `${push}ff` }), { concurrency: "unbounded" })
        assert.strictEqual(new Set(racing.map((r) => expect<{ id: string }>(r, 201, "race").id)).size, 1, "one device for racing registrations")
        problem(yield* app("POST", "/api/devices", alice.token, { token: "bad token!" }), 422, "INVALID_REQUEST", "a malformed token")
        problem(yield* app("DELETE", `/api/devices/${first.id}`, bob.token), 404, "NOT_FOUND", "Bob deletes Alice's device")
        assert.strictEqual((yield* app("DELETE", `/api/devices/${first.id}`, alice.token)).status, 204)
        problem(yield* app("DELETE", `/api/devices/${first.id}`, alice.token), 404, "NOT_FOUND", "deleted twice")
        problem(yield* app("POST", "/api/devices", null, { token: push }), 401, "UNAUTHORIZED", "no token")
      }))
  })
})
