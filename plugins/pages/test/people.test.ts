/**
 * People (seed 003 "Authentication") over real HTTP: viewer sessions as `Viewers.current` and
 * `Viewers.ofToken` see them (bearer, cookies, expiry, revocation), members' email addresses,
 * and a viewer session deciding only as the address it proved.
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import { SqlClient } from "effect/sql"
import * as TestKit from "trellis/testing"
import { RunsPlugin } from "../../runs/Plugin.ts"
import { PagesPlugin } from "../Plugin.ts"
import type { ViewerSessions } from "../ViewerSessions.ts"
import { json, member, viewerProbe } from "./peopleSupport.ts"

const sessions = Effect.runSync(Deferred.make<ViewerSessions["Service"]>())

const viewerOf = (options: { readonly token?: string | null; readonly cookie?: string }) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request("GET", "/test/viewer", {
      token: options.token ?? null,
      ...(options.cookie === undefined ? {} : { headers: { cookie: options.cookie } })
    })
    assert.strictEqual(response.status, 200)
    return yield* json<Record<string, unknown>>(response)
  })

layer(TestKit.layer({ plugins: [RunsPlugin, PagesPlugin, viewerProbe(sessions)] }), { timeout: 180_000 })((it) => {
  it.effect("a viewer session is an Identity by bearer token and by cookie, until revoked", () =>
    Effect.gen(function*() {
      const store = yield* Deferred.await(sessions)
      const created = yield* store.create("  Ada@Example.TEST ")
      assert.match(created.token, /^pv_[A-Za-z0-9_-]{43}$/)
      assert.strictEqual(created.email, "ada@example.test")
      const identity = { _tag: "Identity", email: "ada@example.test", sessionId: created.id }
      assert.deepStrictEqual(yield* viewerOf({ token: created.token }), identity)
      assert.deepStrictEqual(yield* viewerOf({ cookie: `trellis_viewer=${created.token}` }), identity)
      // The digest is stored, never the token.
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ readonly token_digest: string; readonly last_seen_at: unknown }>`
        SELECT token_digest, last_seen_at FROM pages.viewer_sessions WHERE id = ${created.id}`
      assert.notStrictEqual(rows[0]!.token_digest, created.token)
      assert.isNotNull(rows[0]!.last_seen_at)

      assert.isTrue(yield* store.revoke(created.token))
      assert.deepStrictEqual(yield* viewerOf({ token: created.token }), { _tag: "Anonymous" })
      assert.deepStrictEqual(yield* viewerOf({ cookie: `trellis_viewer=${created.token}` }), { _tag: "Anonymous" })
      assert.isFalse(yield* store.revoke(created.token))
    }))

  it.effect("an expired or unknown viewer token is Anonymous", () =>
    Effect.gen(function*() {
      const store = yield* Deferred.await(sessions)
      const created = yield* store.create("old@example.test")
      const sql = yield* SqlClient.SqlClient
      yield* sql`UPDATE pages.viewer_sessions SET expires_at = now() - interval '1 second' WHERE id = ${created.id}`
      assert.deepStrictEqual(yield* viewerOf({ token: created.token }), { _tag: "Anonymous" })
      assert.deepStrictEqual(yield* viewerOf({ token: "pv_unknown" }), { _tag: "Anonymous" })
      assert.deepStrictEqual(yield* viewerOf({ cookie: "trellis_viewer=pv_unknown" }), { _tag: "Anonymous" })
      assert.deepStrictEqual(yield* viewerOf({}), { _tag: "Anonymous" })
    }))

  it.effect("a member is a Member with their email address (bearer session, session cookie); the admin token has none", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const grace = yield* member("Grace@Example.test")
      const expected = { _tag: "Member", email: "grace@example.test", userId: grace.userId, organizationId: "org_default" }
      assert.deepStrictEqual(yield* viewerOf({ token: grace.session }), expected)
      assert.deepStrictEqual(yield* viewerOf({ cookie: `trellis_session=${grace.session}` }), expected)
      const admin = yield* viewerOf({ token: kit.adminToken })
      assert.deepStrictEqual([admin._tag, admin.email], ["Member", null])
      // The member's session cookie wins over a viewer cookie sent beside it.
      const store = yield* Deferred.await(sessions)
      const viewer = yield* store.create("someone@example.test")
      assert.deepStrictEqual(
        yield* viewerOf({ cookie: `trellis_session=${grace.session}; trellis_viewer=${viewer.token}` }),
        expected
      )
      // A stale session cookie falls through to the viewer cookie.
      assert.strictEqual(
        (yield* viewerOf({ cookie: `trellis_session=trs_nothing; trellis_viewer=${viewer.token}` }))._tag,
        "Identity"
      )
    }))

  it.effect("a viewer session decides only as the address it proved: another actor.identity is 403 and counts nothing", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const store = yield* Deferred.await(sessions)
      const viewer = yield* store.create("dee@example.test")
      const published = yield* kit.request("POST", "/v1/publish", {
        body: {
          title: "Leave request",
          access: { mode: "authenticated" },
          actions: [{ action_id: "act_approve", label: "Approve" }],
          approval_chain: { mode: "sequential", steps: [{ step_id: "leads", name: "Leads", assignees: ["dee@example.test", "eve@example.test"] }] }
        }
      })
      assert.strictEqual(published.status, 201)
      const { pageId } = yield* json<{ readonly pageId: string }>(published)
      const decide = (identity: string) =>
        kit.request("POST", `/v1/pages/${pageId}/actions/act_approve`, { token: viewer.token, body: { actor: { identity } } })
      const decisionsOf = Effect.gen(function*() {
        const approval = yield* json<{ readonly steps: ReadonlyArray<{ readonly decisions: ReadonlyArray<{ readonly identity: string }> }> }>(
          yield* kit.request("GET", `/v1/pages/${pageId}/approval`)
        )
        return approval.steps[0]?.decisions.map((d) => d.identity)
      })

      const asEve = yield* decide("eve@example.test")
      assert.strictEqual(asEve.status, 403)
      assert.strictEqual((yield* json<{ readonly error: { readonly code: string } }>(asEve)).error.code, "FORBIDDEN")
      assert.deepStrictEqual(yield* decisionsOf, [])

      const asSelf = yield* decide("DEE@example.test")
      assert.strictEqual(asSelf.status, 200)
      assert.deepStrictEqual(yield* decisionsOf, ["dee@example.test"])
    }))
})
