/**
 * The signup setting (`TRELLIS_SIGNUP`) and SessionFS's default organization, over real HTTP:
 * a fresh signup reaches nothing it was not given, and a user key follows its user's default
 * organization on its very next request, without ever reaching one the user is not in.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { HttpClientResponse } from "effect/http"
import { SqlClient } from "effect/sql"
import * as TestKit from "trellis/testing"
import { HelloPlugin } from "../../examples/hello-plugin/Plugin.ts"

const expect = <A>(response: HttpClientResponse.HttpClientResponse, status: number) =>
  Effect.gen(function*() {
    const text = yield* response.text
    assert.strictEqual(response.status, status, text)
    return (text === "" ? undefined : JSON.parse(text)) as A
  })

const expectProblem = (response: HttpClientResponse.HttpClientResponse, status: number, code: string) =>
  Effect.map(expect<{ code: string }>(response, status), (body) => assert.strictEqual(body.code, code))

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`

interface Signed {
  readonly user_id: string
  readonly raw_key: string
  readonly key_id: string
  readonly org_id: string
}

const limits = { perMinute: 0, runPerMinute: 0, settingsPerMinute: 0, streams: 0, loginPerAccount: 0, loginPerAddress: 0 }

describe("signup: open", () => {
  layer(TestKit.layer({ plugins: [HelloPlugin], config: { signup: "open", rateLimits: limits } }), { timeout: 180_000 })((it) => {
    it.effect("a fresh signup owns a personal organization and reaches nothing of org_default", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const sql = yield* SqlClient.SqlClient
        // Something of org_default's that the newcomer must not see.
        const secret = unique("org-default-greeting")
        yield* expect(yield* kit.request("POST", "/api/hello/greetings", { body: { name: secret } }), 201)
        const email = `${unique("newcomer")}@example.test`
        const signed = yield* expect<Signed>(yield* kit.request("POST", "/api/v1/auth/signup", { body: { email }, token: null }), 201)
        assert.notStrictEqual(signed.org_id, "org_default")
        const memberships = yield* sql<{ organization_id: string; role: string }>`
          SELECT organization_id, role FROM identity.memberships WHERE user_id = ${signed.user_id}`
        assert.deepStrictEqual(memberships.map((m) => [m.organization_id, m.role]), [[signed.org_id, "owner"]])
        const token = signed.raw_key
        const me = yield* expect<Record<string, unknown>>(yield* kit.request("GET", "/api/v1/auth/me", { token }), 200)
        assert.deepInclude(me, { org_id: signed.org_id, default_org_id: signed.org_id, org_role: "admin" })
        const org = yield* expect<{ org: { id: string }; members: ReadonlyArray<{ user_id: string; role: string }>; current_user_role: string }>(
          yield* kit.request("GET", "/api/v1/org", { token }),
          200
        )
        assert.strictEqual(org.org.id, signed.org_id)
        assert.deepStrictEqual(org.members.map((m) => [m.user_id, m.role]), [[signed.user_id, "admin"]])
        assert.strictEqual(org.current_user_role, "admin")
        const greetings = yield* kit.request("GET", "/api/hello/greetings", { token })
        assert.notInclude(yield* greetings.text, secret)
        const users = yield* expect<{ data: ReadonlyArray<{ id: string }> }>(yield* kit.request("GET", "/api/users", { token }), 200)
        assert.deepStrictEqual(users.data.map((u) => u.id), [signed.user_id])
        yield* expectProblem(
          yield* kit.request("GET", "/api/hello/greetings", { token, headers: { "x-trellis-organization": "org_default" } }),
          403,
          "cross_org_denied"
        )
        yield* expectProblem(
          yield* kit.request("PUT", "/api/v1/auth/me/default-org", { token, body: { org_id: "org_default" } }),
          403,
          "cross_org_denied"
        )
        yield* expectProblem(yield* kit.request("GET", "/api/v1/orgs/org_default/service-keys", { token }), 404, "NOT_FOUND")
        // A second signup with the address is refused; so is one without a valid address.
        yield* expectProblem(yield* kit.request("POST", "/api/v1/auth/signup", { body: { email }, token: null }), 409, "account_exists")
        yield* expect(yield* kit.request("POST", "/api/v1/auth/signup", { body: { email: "not-an-email" }, token: null }), 422) // SessionFS's wire dialect
      }))

    it.effect("a user key follows its user's default organization on the next request, and never into another's", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const sql = yield* SqlClient.SqlClient
        const email = `${unique("mover")}@example.test`
        const signed = yield* expect<Signed>(yield* kit.request("POST", "/api/v1/auth/signup", { body: { email }, token: null }), 201)
        const token = signed.raw_key
        const orgOf = Effect.map(
          Effect.flatMap(kit.request("GET", "/api/v1/auth/me", { token }), (r) => expect<{ org_id: string; default_org_id: string }>(r, 200)),
          (me) => me.org_id
        )
        assert.strictEqual(yield* orgOf, signed.org_id)
        // The admin of org_default invites the address; the user verifies it and accepts.
        const invite = yield* expect<{ invite_id: string; role: string }>(
          yield* kit.request("POST", "/api/v1/orgs/org_default/members/invite", { body: { email, role: "member" } }),
          200
        )
        assert.strictEqual(invite.role, "member")
        yield* sql`UPDATE identity.users SET email_verified_at = now() WHERE id = ${signed.user_id}`
        const mine = yield* expect<{ invites: ReadonlyArray<{ invite_id: string; role: string }> }>(
          yield* kit.request("GET", "/api/v1/org/invites/me", { token }),
          200
        )
        assert.deepStrictEqual(mine.invites.map((i) => [i.invite_id, i.role]), [[invite.invite_id, "member"]])
        // Warm the credential cache first: the change must still reach the next request.
        assert.strictEqual(yield* orgOf, signed.org_id)
        const events = (yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM trellis.events WHERE stream = 'identity.credentials'`)[0].n
        const accepted = yield* expect<{ org_id: string; role: string }>(
          yield* kit.request("POST", `/api/v1/org/invite/${invite.invite_id}/accept`, { token }),
          200
        )
        assert.deepStrictEqual(accepted, { org_id: "org_default", role: "member" })
        assert.strictEqual(yield* orgOf, "org_default")
        // Back to the personal organization with SessionFS's PUT; the change is announced to
        // every process through the event log, like a revocation.
        const set = yield* expect<{ default_org_id: string }>(
          yield* kit.request("PUT", "/api/v1/auth/me/default-org", { token, body: { org_id: signed.org_id } }),
          200
        )
        assert.strictEqual(set.default_org_id, signed.org_id)
        assert.strictEqual(yield* orgOf, signed.org_id)
        const after = (yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM trellis.events WHERE stream = 'identity.credentials'`)[0].n
        assert.isAtLeast(after - events, 2)
        // An organization the user is not in, or one that does not exist: 403, nothing changes.
        const other = yield* expect<Signed>(
          yield* kit.request("POST", "/api/v1/auth/signup", { body: { email: `${unique("other")}@example.test` }, token: null }),
          201
        )
        for (const orgId of [other.org_id, "org_nope"]) {
          yield* expectProblem(yield* kit.request("PUT", "/api/v1/auth/me/default-org", { token, body: { org_id: orgId } }), 403, "cross_org_denied")
          assert.strictEqual(yield* orgOf, signed.org_id)
        }
        // SessionFS's `null` (clear) falls back to the organization joined first: the personal one.
        yield* expect(yield* kit.request("PUT", "/api/v1/auth/me/default-org", { token, body: { org_id: "org_default" } }), 200)
        assert.strictEqual(yield* orgOf, "org_default")
        const cleared = yield* expect<{ default_org_id: string }>(
          yield* kit.request("PUT", "/api/v1/auth/me/default-org", { token, body: { org_id: null } }),
          200
        )
        assert.strictEqual(cleared.default_org_id, signed.org_id)
        assert.strictEqual(yield* orgOf, signed.org_id)
        // Service keys have no default organization to change.
        const service = yield* expect<{ key: string }>(
          yield* kit.request("POST", "/api/v1/orgs/org_default/service-keys", { body: { name: "ci", scopes: ["tickets:read"] } }),
          201
        )
        yield* expectProblem(
          yield* kit.request("PUT", "/api/v1/auth/me/default-org", { token: service.key, body: { org_id: "org_default" } }),
          403,
          "service_key_not_allowed"
        )
      }))
  })
})

describe("signup: invite", () => {
  layer(TestKit.layer({ plugins: [], config: { signup: "invite", rateLimits: limits } }), { timeout: 180_000 })((it) => {
    it.effect("only an address with a pending invite signs up, into a personal organization, and joins by accepting", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const sql = yield* SqlClient.SqlClient
        const email = `${unique("invitee")}@example.test`
        const refused = yield* expect<{ code: string; mode: string }>(
          yield* kit.request("POST", "/api/v1/auth/signup", { body: { email }, token: null }),
          403
        )
        assert.deepInclude(refused, { code: "signup_closed", mode: "invite" })
        assert.strictEqual((yield* sql`SELECT id FROM identity.users WHERE email = ${email}`).length, 0)
        yield* expect(yield* kit.request("POST", "/api/v1/org/invite", { body: { email, role: "admin" } }), 200)
        const signed = yield* expect<Signed>(
          yield* kit.request("POST", "/api/v1/auth/signup", { body: { email: email.toUpperCase() }, token: null }),
          201
        )
        assert.notStrictEqual(signed.org_id, "org_default")
        // Not a member of the inviting organization until the verified address accepts.
        const memberships = yield* sql<{ organization_id: string }>`SELECT organization_id FROM identity.memberships WHERE user_id = ${signed.user_id}`
        assert.deepStrictEqual(memberships.map((m) => m.organization_id), [signed.org_id])
        const invites = yield* expect<{ invites: ReadonlyArray<{ invite_id: string }> }>(
          yield* kit.request("GET", "/api/v1/org/invites/me", { token: signed.raw_key }),
          200
        )
        assert.strictEqual(invites.invites.length, 0)
      }))
  })
})
