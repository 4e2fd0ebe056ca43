/**
 * SessionFS's CLI identity calls, replayed over HTTP exactly as the CLI sends them (httpx:
 * `Authorization: Bearer <key>`, a JSON body through `json=`, DELETE with a JSON body), with
 * the fields the CLI reads checked:
 *
 * - `sfs auth signup` (POST /api/v1/auth/signup `{ email }` → `raw_key`)
 * - `sfs auth status` / `sfs doctor` (GET /api/v1/auth/me → `email`, `tier`, `email_verified`)
 * - `sfs auth keys list|create|revoke` (`/api/v1/auth/me/api-keys`)
 * - `sfs config default-org [<id>|--clear]` (GET /api/v1/auth/me `default_org_id`; PUT
 *   /api/v1/auth/me/default-org `{ org_id }`; 403 for a non-member)
 * - `sfs org create|info|invite|members` (`/api/v1/org`, `/api/v1/org/invite`)
 * - the dashboard's invite answers (GET /api/v1/org/invites/me, POST .../accept, .../decline)
 *
 * The server runs with `TRELLIS_SIGNUP=open` (SessionFS's own cloud lets anyone sign up).
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import * as TestKit from "trellis/testing"

interface Reply {
  readonly status: number
  readonly body: unknown
}

/** One call as the CLI's httpx client makes it. */
const cli = (method: "GET" | "POST" | "PUT" | "DELETE", path: string, apiKey: string | null, json?: unknown) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const headers: Record<string, string> = { accept: "*/*", "user-agent": "python-httpx/0.28.1" }
    if (apiKey !== null) headers.authorization = `Bearer ${apiKey}`
    if (json !== undefined) headers["content-type"] = "application/json"
    const response = yield* Effect.promise(() =>
      fetch(`${kit.baseUrl}${path}`, { method, headers, body: json === undefined ? null : JSON.stringify(json) })
    )
    const text = yield* Effect.promise(() => response.text())
    const contentType = response.headers.get("content-type") ?? ""
    return { status: response.status, body: contentType.includes("json") && text !== "" ? JSON.parse(text) : text } as Reply
  })

const ok = <A>(reply: Reply, status = 200): A => {
  assert.strictEqual(reply.status, status, JSON.stringify(reply.body))
  return reply.body as A
}

const limits = { perMinute: 0, runPerMinute: 0, settingsPerMinute: 0, streams: 0, loginPerAccount: 0, loginPerAddress: 0 }

describe("SessionFS CLI: identity", () => {
  layer(TestKit.layer({ plugins: [], config: { signup: "open", rateLimits: limits } }), { timeout: 180_000 })((it) => {
    it.effect("signup, me, auth keys list/create/revoke, default-org, org create/info/invite, invites accept and decline", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const tag = crypto.randomUUID().slice(0, 8)

        // sfs auth signup
        const aliceEmail = `alice-${tag}@example.test`
        const signed = ok<{ raw_key: string; user_id: string; email: string }>(
          yield* cli("POST", "/api/v1/auth/signup", null, { email: aliceEmail }),
          201
        )
        const alice = signed.raw_key
        assert.isTrue(alice.startsWith("sk_sfs_"))

        // sfs auth status / doctor
        const me = ok<Record<string, unknown>>(yield* cli("GET", "/api/v1/auth/me", alice))
        assert.strictEqual(me.email, aliceEmail)
        assert.isString(me.tier)
        assert.strictEqual(me.email_verified, false)
        assert.include(["admin", "member"], me.org_role)

        // sfs auth keys create --name ci --expires-days 30
        const created = ok<Record<string, unknown>>(
          yield* cli("POST", "/api/v1/auth/me/api-keys", alice, { name: "ci", expires_in_days: 30 }),
          201
        )
        assert.isString(created.key)
        assert.isString(created.id)
        assert.strictEqual(created.name, "ci")
        // A prefix of the key that tells keys apart: the type prefix and six random characters.
        assert.strictEqual(created.key_prefix, String(created.key).slice(0, "sk_sfs_user_".length + 6))
        assert.isString(created.expires_at)
        // sfs auth keys create --name plain (no expiry)
        const plain = ok<{ key: string; id: string; expires_at: string | null }>(
          yield* cli("POST", "/api/v1/auth/me/api-keys", alice, { name: "plain" }),
          201
        )
        assert.isNull(plain.expires_at)
        // The new key works, as the same user.
        assert.strictEqual(ok<{ user_id: string }>(yield* cli("GET", "/api/v1/auth/me", String(created.key))).user_id, signed.user_id)

        // sfs auth keys list
        const listed = ok<ReadonlyArray<Record<string, unknown>>>(yield* cli("GET", "/api/v1/auth/me/api-keys", alice))
        assert.isTrue(Array.isArray(listed))
        const row = listed.find((k) => k.id === created.id)
        assert.isDefined(row)
        assert.deepInclude(row, { name: "ci", key_prefix: created.key_prefix, is_active: true, last_used_at: row?.last_used_at })
        assert.notInclude(JSON.stringify(listed), String(created.key))
        // The signup's key is listed too (the same keys as /api/v1/auth/keys).
        const legacy = ok<ReadonlyArray<{ key_id: string; name: string | null }>>(yield* cli("GET", "/api/v1/auth/keys", alice))
        for (const k of legacy) assert.isTrue(listed.some((l) => l.id === k.key_id))

        // sfs auth keys revoke <id> --reason "rotating"
        const revoked = yield* cli("DELETE", `/api/v1/auth/me/api-keys/${created.id}`, alice, { reason: "rotating" })
        assert.strictEqual(revoked.status, 204)
        assert.strictEqual((yield* cli("GET", "/api/v1/auth/me", String(created.key))).status, 401)
        const afterRevoke = ok<ReadonlyArray<{ id: string; is_active: boolean }>>(yield* cli("GET", "/api/v1/auth/me/api-keys", alice))
        assert.strictEqual(afterRevoke.find((k) => k.id === created.id)?.is_active, false)
        // Revoking someone else's (or an unknown) key: 404, which the CLI reports as "not found".
        assert.strictEqual((yield* cli("DELETE", "/api/v1/auth/me/api-keys/key_nope", alice, { reason: "x" })).status, 404)
        // The legacy shape: name is optional.
        const unnamed = ok<{ key_id: string; raw_key: string; name: string | null }>(yield* cli("POST", "/api/v1/auth/keys", alice, {}), 201)
        assert.isNull(unnamed.name)

        // sfs org create "Team <tag>" team-<tag>
        const org = ok<{ org_id: string; name: string; slug: string }>(
          yield* cli("POST", "/api/v1/org", alice, { name: `Team ${tag}`, slug: `team-${tag}` })
        )
        assert.deepInclude(org, { name: `Team ${tag}`, slug: `team-${tag}` })
        // The key follows the new default organization at once (SessionFS clients cannot name one).
        const meAfter = ok<{ org_id: string; default_org_id: string; org_role: string }>(yield* cli("GET", "/api/v1/auth/me", alice))
        assert.deepStrictEqual([meAfter.org_id, meAfter.default_org_id, meAfter.org_role], [org.org_id, org.org_id, "admin"])

        // sfs org info / members
        const info = ok<{
          org: { name: string; slug: string; tier: string; seats_used: number; seats_limit: number | null }
          members: ReadonlyArray<{ email: string; role: string; joined_at: string | null; display_name: string | null }>
          current_user_role: string
        }>(yield* cli("GET", "/api/v1/org", alice))
        assert.deepInclude(info.org, { name: `Team ${tag}`, slug: `team-${tag}`, seats_used: 1 })
        assert.isString(info.org.tier)
        assert.strictEqual(info.current_user_role, "admin")
        assert.deepStrictEqual(info.members.map((m) => [m.email, m.role]), [[aliceEmail, "admin"]])

        // sfs org invite bob@… --role member, and the multi-org path with --role admin
        const bobEmail = `bob-${tag}@example.test`
        const invite = ok<{ invite_id: string; email: string; role: string }>(
          yield* cli("POST", "/api/v1/org/invite", alice, { email: bobEmail, role: "member" })
        )
        assert.deepStrictEqual([invite.email, invite.role], [bobEmail, "member"])
        const carolEmail = `carol-${tag}@example.test`
        const carolInvite = ok<{ invite_id: string; role: string }>(
          yield* cli("POST", `/api/v1/orgs/${org.org_id}/members/invite`, alice, { email: carolEmail, role: "admin" })
        )
        assert.strictEqual(carolInvite.role, "admin")

        // Bob signs up, verifies his address and accepts; Carol declines.
        const bob = ok<{ raw_key: string; user_id: string }>(yield* cli("POST", "/api/v1/auth/signup", null, { email: bobEmail }), 201)
        const carol = ok<{ raw_key: string; user_id: string }>(yield* cli("POST", "/api/v1/auth/signup", null, { email: carolEmail }), 201)
        yield* sql`UPDATE identity.users SET email_verified_at = now() WHERE id IN (${bob.user_id}, ${carol.user_id})`
        const mine = ok<{ invites: ReadonlyArray<Record<string, unknown>> }>(yield* cli("GET", "/api/v1/org/invites/me", bob.raw_key))
        assert.strictEqual(mine.invites.length, 1)
        assert.deepInclude(mine.invites[0], { invite_id: invite.invite_id, org_id: org.org_id, org_name: `Team ${tag}`, role: "member", invited_by_email: aliceEmail })
        const accepted = ok<{ org_id: string; role: string }>(yield* cli("POST", `/api/v1/org/invite/${invite.invite_id}/accept`, bob.raw_key))
        assert.deepStrictEqual(accepted, { org_id: org.org_id, role: "member" })
        // Bob's signup key now acts in the team (sfs org info with it shows the team).
        const bobInfo = ok<{ org: { name: string }; current_user_role: string }>(yield* cli("GET", "/api/v1/org", bob.raw_key))
        assert.deepStrictEqual([bobInfo.org.name, bobInfo.current_user_role], [`Team ${tag}`, "member"])
        const declined = ok<{ invite_id: string; declined_at: string }>(
          yield* cli("POST", `/api/v1/org/invite/${carolInvite.invite_id}/decline`, carol.raw_key, { reason: "not now" })
        )
        assert.strictEqual(declined.invite_id, carolInvite.invite_id)
        assert.isFalse(Number.isNaN(Date.parse(declined.declined_at)))

        // sfs config default-org (show, set, set to a foreign org, clear)
        const personal = signed
        const shown = ok<{ default_org_id: string | null }>(yield* cli("GET", "/api/v1/auth/me", bob.raw_key))
        assert.strictEqual(shown.default_org_id, org.org_id)
        const bobPersonal = (yield* sql<{ id: string }>`
          SELECT organization_id AS id FROM identity.memberships WHERE user_id = ${bob.user_id} AND organization_id <> ${org.org_id}`)[0].id
        const set = ok<{ default_org_id: string }>(yield* cli("PUT", "/api/v1/auth/me/default-org", bob.raw_key, { org_id: bobPersonal }))
        assert.strictEqual(set.default_org_id, bobPersonal)
        assert.strictEqual(ok<{ org_id: string }>(yield* cli("GET", "/api/v1/auth/me", bob.raw_key)).org_id, bobPersonal)
        const foreign = yield* cli("PUT", "/api/v1/auth/me/default-org", bob.raw_key, { org_id: "org_default" })
        assert.strictEqual(foreign.status, 403)
        assert.isString((foreign.body as { detail: unknown }).detail)
        ok(yield* cli("PUT", "/api/v1/auth/me/default-org", bob.raw_key, { org_id: org.org_id }))
        const cleared = ok<{ default_org_id: string }>(yield* cli("PUT", "/api/v1/auth/me/default-org", bob.raw_key, { org_id: null }))
        assert.strictEqual(cleared.default_org_id, bobPersonal)
        assert.notStrictEqual(personal.user_id, bob.user_id)

        // sfs org remove <bob>: SessionFS's removal counts.
        const removed = ok<Record<string, unknown>>(yield* cli("DELETE", `/api/v1/org/members/${bob.user_id}`, alice))
        assert.deepStrictEqual(removed, { removed: bob.user_id, projects_transferred: 0, pending_transfers_cancelled: 0 })
      }))
  })
})
