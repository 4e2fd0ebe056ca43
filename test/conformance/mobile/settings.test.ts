/**
 * Seed 002's server params, as the mobile app's settings screen uses them:
 *
 * - `GET /api/settings/server-params` → merged settings (`data`), secrets masked, with each
 *   parameter's declaration in `meta.params`.
 * - `PUT /api/settings/server-params` → a partial update, type-checked (a wrong key or type is a
 *   422 problem and changes nothing), that never echoes a secret; `null` resets a parameter.
 * - `settings:read` for reads; `settings:write` and the admin role for writes; writes spend the
 *   settings budget (20 a minute).
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import * as TestKit from "trellis/testing"
import { firstParty } from "../../../plugins/index.ts"
import { app, expect, member, problem } from "./support.ts"

interface View {
  readonly data: Record<string, unknown>
  readonly meta: { readonly params: ReadonlyArray<{ key: string; type: string; secret: boolean; default: unknown; set: boolean }> }
}

const path = "/api/settings/server-params"

describe("mobile server params (seed 002)", () => {
  const limits = { perMinute: 0, runPerMinute: 0, settingsPerMinute: 20, streams: 0, loginPerAccount: 0, loginPerAddress: 0 }
  layer(TestKit.layer({ plugins: firstParty, config: { rateLimits: limits } }), { timeout: 120_000 })((it) => {
    it.effect("merged defaults; partial typed updates; secrets masked and never echoed", () =>
      Effect.gen(function*() {
        const admin = yield* member("admin", ["settings:read", "settings:write"])
        const first = expect<View>(yield* app("GET", path, admin.token), 200, "get")
        assert.strictEqual(first.data["safety.autoGitPush"], false)
        assert.strictEqual(first.data["safety.safeModeDefault"], true)
        assert.isNull(first.data["git.pushToken"])
        const pushToken = first.meta.params.find((p) => p.key === "git.pushToken")
        assert.isTrue(pushToken?.secret)

        const secret = "ghp_0123456789abcdefSECRET"
        const updateReply = yield* app("PUT", path, admin.token, { "safety.autoGitPush": true, "git.pushToken": secret })
        assert.notInclude(JSON.stringify(updateReply.body), secret, "the secret is not echoed")
        const updated = expect<View>(updateReply, 200, "update")
        assert.strictEqual(updated.data["safety.autoGitPush"], true)
        assert.strictEqual(updated.data["git.pushToken"], "********")
        assert.strictEqual(updated.data["safety.safeModeDefault"], true, "untouched keys keep their value")
        const read = yield* app("GET", path, admin.token)
        assert.notInclude(JSON.stringify(read.body), secret)
        assert.strictEqual(expect<View>(read, 200, "get").data["git.pushToken"], "********")
        // Sealed at rest: the stored row has no plaintext.
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ settings: unknown }>`SELECT settings::text AS settings FROM identity.organizations WHERE id = 'org_default'`
        assert.notInclude(String(rows[0].settings), secret)
        // Sending the mask back changes nothing; null resets to the default.
        const roundTrip = expect<View>(yield* app("PUT", path, admin.token, { ...updated.data, "safety.autoGitPush": null }), 200, "round trip")
        assert.strictEqual(roundTrip.data["git.pushToken"], "********")
        assert.strictEqual(roundTrip.data["safety.autoGitPush"], false)
        assert.isFalse(roundTrip.meta.params.find((p) => p.key === "safety.autoGitPush")?.set)

        // A wrong type or an unknown key: 422, and nothing changes (not even the valid members).
        const bad = problem(
          yield* app("PUT", path, admin.token, { "safety.safeModeDefault": false, "safety.autoGitPush": "yes", "no.suchKey": 1 }),
          422,
          "invalid_server_params",
          "bad update"
        )
        assert.deepStrictEqual((bad.params as ReadonlyArray<{ key: string }>).map((p) => p.key).sort(), ["no.suchKey", "safety.autoGitPush"])
        assert.strictEqual(expect<View>(yield* app("GET", path, admin.token), 200, "after bad").data["safety.safeModeDefault"], true)
        problem(yield* app("PUT", path, admin.token, [1, 2]), 422, "INVALID_REQUEST", "not an object")
        yield* app("PUT", path, admin.token, { "git.pushToken": null })
      }))

    it.effect("two racing updates of different keys both apply", () =>
      Effect.gen(function*() {
        const admin = yield* member("admin", ["settings:read", "settings:write"])
        const replies = yield* Effect.all([
          app("PUT", path, admin.token, { "runs.defaultAgent": "racer-a" }),
          app("PUT", path, admin.token, { "runs.defaultModel": "racer-b" })
        ], { concurrency: "unbounded" })
        for (const reply of replies) expect(reply, 200, "racing update")
        const after = expect<View>(yield* app("GET", path, admin.token), 200, "after the race")
        assert.strictEqual(after.data["runs.defaultAgent"], "racer-a")
        assert.strictEqual(after.data["runs.defaultModel"], "racer-b")
        expect(yield* app("PUT", path, admin.token, { "runs.defaultAgent": null, "runs.defaultModel": null }), 200, "reset")
      }))

    it.effect("reads need settings:read; writes settings:write and the admin role", () =>
      Effect.gen(function*() {
        const viewer = yield* member("viewer")
        expect(yield* app("GET", path, viewer.token), 200, "a viewer reads")
        problem(yield* app("PUT", path, viewer.token, { "safety.autoGitPush": true }), 403, "insufficient_role", "a viewer writes")
        const admin = yield* member("admin")
        // The default token has settings:read but not settings:write.
        const denied = problem(yield* app("PUT", path, admin.token, { "safety.autoGitPush": true }), 403, "insufficient_scope", "no settings:write")
        assert.deepStrictEqual(denied.required, ["settings:write"])
        const blind = yield* member("admin", ["projects:read"])
        problem(yield* app("GET", path, blind.token), 403, "insufficient_scope", "no settings:read")
      }))

    it.effect("writes spend the settings budget of 20 a minute", () =>
      Effect.gen(function*() {
        const admin = yield* member("admin", ["settings:read", "settings:write"])
        const statuses: Array<number> = []
        for (let i = 0; i < 21; i++) {
          statuses.push((yield* app("PUT", path, admin.token, { "safety.safeModeDefault": i % 2 === 0 })).status)
        }
        assert.deepStrictEqual(statuses.slice(0, 20), Array.from({ length: 20 }, () => 200))
        assert.strictEqual(statuses[20], 429)
        expect(yield* app("GET", path, admin.token), 200, "reads are not settings writes")
      }))
  })
})
