/**
 * The cross-organization matrix: every route the server serves (each operation of the
 * OpenAPI document, and the routes left out of it) has an entry saying how it stays inside the
 * caller's organization, and each entry is checked with a second organization's credentials.
 *
 * - `public`: no credential, nothing of an organization's (the route must be unauthenticated).
 * - `own`: acts only on the caller's organization and takes no id from outside it; organization
 *   A makes something first, and B's answers must show none of it (and what B makes must not
 *   show up in A).
 * - `byId`: a setup makes a resource in A through the API; B calls the route with its ids (in
 *   the path, the query or the body) with each of its credentials and must get a 404 problem
 *   that shows nothing of A's; A's view of the resource must be the same afterwards.
 * - `notAnId`: the parameter is not an organization's resource id (a mailed token, a claim
 *   code); the entry says what it is and what is asserted.
 *
 * The routes include the host's own (`/metrics`, `/openapi.json`, `/docs`, `/rpc`); the RPCs
 * at `/rpc` have a matrix of their own (`rpcMatrix`, keyed by tag, same kinds), and the
 * `POST /rpc` entry fails when an RPC has no entry there.
 *
 * The first test fails when a served route has no entry, or an entry names a route that is
 * gone. An entry marked `leak` describes a reported cross-organization leak: its test fails
 * until the route is fixed (and then until the mark is removed).
 *
 * A byId probe must be answered by the route itself (not the router's 404), a read's first
 * probe made by A must find A's resource, and A's view must answer 200: a probe that names
 * nothing cannot pass for a wall.
 *
 * The platform's entries are here; each plugin keeps its own in its folder
 * (`plugins/<id>/test/crossorg.ts`, a `PluginMatrix` built with `crossorgMatrix.ts`), listed in
 * `plugins/testSupport.ts` (the example plugin's in `examples/hello-plugin/test/`). A plugin's
 * file may name only routes and RPCs that plugin serves (checked below), so a new plugin adds
 * its file and one line to that list, and never edits this test.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"
import * as TestKit from "trellis/testing"
import { HelloPlugin } from "../../examples/hello-plugin/Plugin.ts"
import { helloMatrix } from "../../examples/hello-plugin/test/crossorg.ts"
import { firstParty } from "../../plugins/index.ts"
import * as Server from "../../src/server/Server.ts"
import { crossOrgMatrices } from "../../plugins/testSupport.ts"
import { asA, assertClean, call, copiedByB, leaksIn, ok, openApiPath, registerA, rpc, sentStrings, World, worldLayer } from "./crossorgFixture.ts"
import type { Env, Method } from "./crossorgFixture.ts"
import { dataId, email, ownCreate, ownCreateSameName, ownList, ownRead, view } from "./crossorgMatrix.ts"
import type { Context, Entry, PluginMatrix, RpcEntry } from "./crossorgMatrix.ts"

const plugins = [...firstParty, HelloPlugin]

/** Every plugin's entries: the first-party plugins' (plugins/testSupport.ts) and the example's. */
const matrices: ReadonlyArray<PluginMatrix> = [...crossOrgMatrices, helloMatrix]

const unlimited = { perMinute: 0, groups: { "runs-api": 0 }, runPerMinute: 0, settingsPerMinute: 0, streams: 0, loginPerAccount: 0, loginPerAddress: 0 }

// ---------------------------------------------------------------------------------------------
// Organization A's platform resources, made through the API

const aWorkspace = Effect.gen(function*() {
  const world = yield* World
  const name = world.unique("workspace")
  const created = yield* asA<{ data: { id: string } }>("POST", "/api/workspaces", { name, description: world.unique("about") }, 201)
  yield* registerA(created.data.id)
  return { id: created.data.id, name }
})

/** A member of A (an editor). */
const aUser = Effect.gen(function*() {
  const world = yield* World
  const username = world.unique("user")
  const created = yield* asA<{ data: { id: string } }>("POST", "/api/users", {
    username,
    password: "a member's password 1",
    email: email(username),
    display_name: world.unique("display"),
    role: "editor"
  }, 201)
  yield* registerA(created.data.id)
  return { id: created.data.id, username, email: email(username) }
})

const aInvite = Effect.gen(function*() {
  const world = yield* World
  const address = email(world.unique("invitee"))
  const created = yield* asA<{ invite_id: string }>("POST", "/api/v1/org/invite", { email: address, role: "viewer" })
  yield* registerA(created.invite_id)
  return { id: created.invite_id, email: address }
})

/** A device of A's user (seed 002's push token registration). */
const aDevice = Effect.gen(function*() {
  const world = yield* World
  const token = `${world.marker}push${crypto.randomUUID().replace(/-/g, "")}`
  const created = yield* asA<{ id: string }>("POST", "/api/devices", { token, name: world.unique("phone") }, 201)
  yield* registerA(created.id, token)
  return { id: created.id, token }
})

const aServiceKey = Effect.gen(function*() {
  const world = yield* World
  const created = yield* asA<{ id: string; key: string; key_prefix: string }>(
    "POST",
    "/api/v1/orgs/org_default/service-keys",
    { name: world.unique("service-key"), scopes: ["tickets:read"] },
    201
  )
  yield* registerA(created.id, created.key, created.key_prefix)
  return created
})

// ---------------------------------------------------------------------------------------------
// Platform entry builders

/** Signing out ends the caller's own session only: A's session still works. */
const logout = (path: string, status: number): Entry => ({
  kind: "own",
  reason: "ends the calling session only (no id)",
  check: ({ world }) =>
    Effect.gen(function*() {
      const session = ok<{ token: string }>(
        yield* call("POST", "/api/login", { token: null, body: { username: world.b.admin.username, password: world.b.admin.password } }),
        "B signs in"
      )
      ok(yield* call("POST", path, { token: session.token }), `B: POST ${path}`, status)
      assert.strictEqual((yield* call("GET", "/api/me", { token: session.token })).status, 401, "B's signed-out session")
      ok(yield* call("GET", "/api/me", { token: world.a.token }), "A's session after B signed out")
      ok(yield* call("GET", "/api/me", { token: world.b.admin.token }), "B's other session after B signed out")
    })
})

/** A key B makes acts in B (and is not among A's keys). */
const ownKeyCreate = (path: string, secretField: string, idField: string, aList: string): Entry => ({
  kind: "own",
  reason: "creates a key of the caller in the caller's organization",
  check: ({ world, callers }) =>
    Effect.gen(function*() {
      for (const caller of callers) {
        const reply = yield* call("POST", path, { token: caller.token, body: { name: "orgb key" } })
        const created = ok<Record<string, string>>(reply, `${caller.name}: POST ${path}`, 201)
        assertClean(world, reply, `${caller.name}: POST ${path}`)
        const me = ok<{ tenantId: string }>(yield* call("GET", "/v1/auth/me", { token: created[secretField] }), "the new key")
        assert.strictEqual(me.tenantId, world.b.orgId, "B's new key acts in B")
        const theirs = yield* asA<unknown>("GET", aList)
        assert.notInclude(JSON.stringify(theirs), created[idField], "B's key is not among A's")
      }
    })
})

// ---------------------------------------------------------------------------------------------
// The platform's matrix: `METHOD /path/{param}`, as the OpenAPI document spells it.

const platformRoutes: Record<string, Entry> = {
  // --- platform
  "GET /health": { kind: "public", reason: "liveness, no credential" },
  "GET /ready": { kind: "public", reason: "readiness, no credential" },
  "GET /api/plugins": ownRead("the server's loaded plugins: server-wide, nothing of an organization's"),
  "GET /metrics": {
    kind: "public",
    reason: "Prometheus counters by route template and status: nothing of an organization's",
    check: ({ world }) =>
      Effect.gen(function*() {
        yield* aWorkspace
        const reply = yield* call("GET", "/metrics", { token: null })
        ok(reply, "GET /metrics")
        assertClean(world, reply, "GET /metrics")
      })
  },
  "GET /openapi.json": { kind: "public", reason: "the API's description, no credential" },
  "GET /docs": { kind: "public", reason: "the API reference page, no credential" },
  "POST /rpc": {
    kind: "own",
    reason: "the RPC endpoint: every RPC has its own entry in the RPC matrix below, checked by its own test; " +
      "this asserts the RPC matrix names exactly the RPCs served",
    check: ({ world }) =>
      Effect.sync(() => {
        const served = [...world.rpcs.keys()]
        assert.isAbove(served.length, 20)
        assert.deepStrictEqual(
          { missing: served.filter((tag) => !(tag in rpcMatrix)).sort(), gone: Object.keys(rpcMatrix).filter((tag) => !world.rpcs.has(tag)).sort() },
          { missing: [], gone: [] }
        )
      })
  },

  // --- audit
  "GET /api/audit": ownList("/api/audit", Effect.map(aWorkspace, (w) => [w.id]), "the caller organization's audit entries"),
  "GET /v1/audit/verify": {
    kind: "own",
    reason: "verifies the caller organization's own chain",
    check: ({ callers }) =>
      Effect.gen(function*() {
        yield* aWorkspace
        const mine = yield* asA<{ last_hash: string; chain_length: number }>("GET", "/v1/audit/verify")
        const aTotal = (yield* asA<{ total: number }>("GET", "/api/audit?limit=1")).total
        assert.strictEqual(mine.chain_length, aTotal, "control: A's chain is A's entries")
        for (const caller of callers) {
          const reply = yield* call("GET", "/v1/audit/verify", { token: caller.token })
          const theirs = ok<{ last_hash: string; chain_length: number; status: string }>(reply, `${caller.name}: GET /v1/audit/verify`)
          assert.notInclude(reply.text, mine.last_hash, "B's verification shows A's chain")
          const bTotal = ok<{ total: number }>(yield* call("GET", "/api/audit?limit=1", { token: caller.token }), "B's audit").total
          assert.strictEqual(theirs.chain_length, bTotal, "B's chain is exactly B's entries")
          assert.strictEqual(theirs.status, "valid")
        }
      })
  },

  "GET /api/jobs/dead": ownRead("the caller organization's dead-lettered jobs (filtered by the job's principal)"),

  // --- ai: model providers
  "GET /api/settings/providers": ownRead("the model providers with the caller organization's switches"),
  "PUT /api/settings/providers/{key}": {
    kind: "own",
    reason: "switches a model provider for the caller's organization only (keys are provider names, the same for all)",
    check: ({ world, callers }) =>
      Effect.gen(function*() {
        yield* asA("PUT", "/api/settings/providers/google", { enabled: false })
        const before = yield* view("/api/settings/providers")
        for (const caller of callers) {
          const body = { enabled: true }
          const reply = yield* call("PUT", "/api/settings/providers/google", { token: caller.token, body })
          ok(reply, `${caller.name}: PUT /api/settings/providers/google`)
          assertClean(world, reply, `${caller.name}: PUT /api/settings/providers/google`)
          assert.deepStrictEqual(yield* view("/api/settings/providers"), before, "A's switches are unchanged")
        }
        yield* asA("PUT", "/api/settings/providers/google", { enabled: true })
      })
  },

  // --- identity: sessions and keys
  "POST /api/login": {
    kind: "public",
    reason: "signing in needs no credential; the session acts in the user's own organization",
    check: ({ world }) =>
      Effect.gen(function*() {
        const reply = yield* call("POST", "/api/login", { token: null, body: { username: world.b.admin.username, password: world.b.admin.password } })
        assert.strictEqual(ok<{ organization_id: string }>(reply, "B signs in").organization_id, world.b.orgId)
        assertClean(world, reply, "B's login")
      })
  },
  "POST /api/logout": logout("/api/logout", 200),
  "POST /v1/auth/logout": logout("/v1/auth/logout", 204),
  "GET /api/me": ownRead("the caller", (body, world) => assert.strictEqual((body as { organization_id: string }).organization_id, world.b.orgId)),
  "GET /v1/auth/me": ownRead("the caller", (body, world) => assert.strictEqual((body as { tenantId: string }).tenantId, world.b.orgId)),
  "GET /api/v1/auth/me": ownRead("the caller", (body, world) => assert.strictEqual((body as { org_id: string }).org_id, world.b.orgId)),
  // --- seed 002's account surface (src/identity/MobileApi.ts) and server params (src/settings/)
  "POST /api/auth/token": {
    kind: "public",
    reason: "signing in needs no credential; the token acts in the user's own organization",
    check: ({ world }) =>
      Effect.gen(function*() {
        const reply = yield* call("POST", "/api/auth/token", {
          token: null,
          body: { email: world.b.admin.username, password: world.b.admin.password }
        })
        const { token } = ok<{ token: string }>(reply, "B signs in")
        assertClean(world, reply, "B's token")
        const me = ok<{ organizationId: string }>(yield* call("GET", "/api/auth/me", { token }), "B's token: me")
        assert.strictEqual(me.organizationId, world.b.orgId)
      })
  },
  "POST /api/auth/logout": logout("/api/auth/logout", 204),
  "GET /api/auth/me": ownRead("the caller", (body, world) => assert.strictEqual((body as { organizationId: string }).organizationId, world.b.orgId)),
  "GET /api/devices": ownList("/api/devices", Effect.map(aDevice, (d) => [d.id]), "the caller's own devices"),
  "POST /api/devices": {
    kind: "own",
    reason: "registers a device of the caller's; the same push token as A's makes B's own device",
    check: ({ world, callers }) =>
      Effect.gen(function*() {
        const device = yield* aDevice
        const before = yield* view("/api/devices")
        for (const caller of callers) {
          const body = { token: device.token, name: "orgb phone" }
          yield* copiedByB(...sentStrings("/api/devices", body))
          const reply = yield* call("POST", "/api/devices", { token: caller.token, body })
          const created = ok<{ id: string }>(reply, `${caller.name}: POST /api/devices`, 201)
          assert.notStrictEqual(created.id, device.id, "B's own device, not A's")
          assertClean(world, reply, `${caller.name}: POST /api/devices`, sentStrings("/api/devices", body))
        }
        assert.deepStrictEqual(yield* view("/api/devices"), before, "A's devices are unchanged")
      })
  },
  "DELETE /api/devices/{device}": {
    kind: "byId",
    setup: () => Effect.map(aDevice, (d) => ({ probes: [{ params: { device: d.id } }], view: view("/api/devices") }))
  },
  "GET /api/settings/server-params": {
    kind: "own",
    reason: "the caller organization's parameters",
    check: ({ world, callers }) =>
      Effect.gen(function*() {
        yield* asA("PUT", "/api/settings/server-params", { "runs.defaultModel": world.unique("model"), "git.pushToken": world.unique("secret") })
        for (const caller of callers) {
          const reply = yield* call("GET", "/api/settings/server-params", { token: caller.token })
          const body = ok<{ data: Record<string, unknown> }>(reply, `${caller.name}: GET server params`)
          assert.isNull(body.data["git.pushToken"], "B's secret is unset")
          assertClean(world, reply, `${caller.name}: GET server params`)
        }
      }).pipe(Effect.ensuring(Effect.orDie(asA("PUT", "/api/settings/server-params", { "runs.defaultModel": null, "git.pushToken": null }))))
  },
  "PUT /api/settings/server-params": {
    kind: "own",
    reason: "sets the caller organization's parameters",
    check: ({ world, callers }) =>
      Effect.gen(function*() {
        for (const caller of callers) {
          const body = { "safety.autoGitPush": true }
          const reply = yield* call("PUT", "/api/settings/server-params", { token: caller.token, body })
          ok(reply, `${caller.name}: PUT server params`)
          assertClean(world, reply, `${caller.name}: PUT server params`)
          const mine = yield* asA<{ data: Record<string, unknown> }>("GET", "/api/settings/server-params")
          assert.strictEqual(mine.data["safety.autoGitPush"], false, "B's parameter changed A's")
        }
      }).pipe(Effect.ensuring(Effect.gen(function*() {
        const world = yield* World
        ok(yield* call("PUT", "/api/settings/server-params", { token: world.b.owner.token, body: { "safety.autoGitPush": null } }), "B resets")
      }).pipe(Effect.orDie)))
  },
  "GET /v1/account/api-keys": ownList(
    "/v1/account/api-keys",
    Effect.gen(function*() {
      const created = yield* asA<{ id: string }>("POST", "/v1/account/api-keys", { name: (yield* World).unique("surflet-key") }, 201)
      yield* registerA(created.id)
      return [created.id]
    }),
    "the caller organization's user keys"
  ),
  "POST /v1/account/api-keys": ownKeyCreate("/v1/account/api-keys", "key", "id", "/v1/account/api-keys"),
  "DELETE /v1/account/api-keys/{id}": {
    kind: "byId",
    setup: (world) =>
      Effect.gen(function*() {
        const created = yield* asA<{ id: string; key: string }>("POST", "/v1/account/api-keys", { name: world.unique("surflet-key") }, 201)
        yield* registerA(created.id, created.key)
        return { probes: [{ params: { id: created.id } }], view: view("/v1/account/api-keys") }
      })
  },
  "POST /api/v1/auth/keys": ownKeyCreate("/api/v1/auth/keys", "raw_key", "key_id", "/v1/account/api-keys"),
  "GET /api/v1/auth/keys": ownList(
    "/api/v1/auth/keys",
    Effect.gen(function*() {
      const created = yield* asA<{ key_id: string }>("POST", "/api/v1/auth/keys", { name: (yield* World).unique("user-key") }, 201)
      yield* registerA(created.key_id)
      return [created.key_id]
    }),
    "the caller's own user keys"
  ),
  "DELETE /api/v1/auth/keys/{key_id}": {
    kind: "byId",
    setup: (world) =>
      Effect.gen(function*() {
        const created = yield* asA<{ key_id: string; raw_key: string }>("POST", "/api/v1/auth/keys", { name: world.unique("user-key") }, 201)
        yield* registerA(created.key_id, created.raw_key)
        return { probes: [{ params: { key_id: created.key_id } }], view: view("/api/v1/auth/keys") }
      })
  },
  "PUT /api/v1/auth/me/default-org": {
    kind: "byId",
    reason: "the body's org_id is A's organization: 403 cross_org_denied (SessionFS's answer for a non-member), B's keys stay in B",
    setup: () =>
      Effect.succeed({
        probes: [{ body: { org_id: "org_default" }, status: 403, code: "cross_org_denied" }],
        view: view("/api/v1/auth/me", "/api/v1/org")
      })
  },
  "GET /api/v1/auth/me/api-keys": ownList(
    "/api/v1/auth/me/api-keys",
    Effect.gen(function*() {
      const created = yield* asA<{ id: string }>("POST", "/api/v1/auth/me/api-keys", { name: (yield* World).unique("personal-key") }, 201)
      yield* registerA(created.id)
      return [created.id]
    }),
    "the caller's own user keys (SessionFS's personal keys)"
  ),
  "POST /api/v1/auth/me/api-keys": ownKeyCreate("/api/v1/auth/me/api-keys", "key", "id", "/api/v1/auth/me/api-keys"),
  "DELETE /api/v1/auth/me/api-keys/{key_id}": {
    kind: "byId",
    body: { reason: "orgb revokes" },
    setup: (world) =>
      Effect.gen(function*() {
        const created = yield* asA<{ id: string; key: string }>("POST", "/api/v1/auth/me/api-keys", { name: world.unique("personal-key") }, 201)
        yield* registerA(created.id, created.key)
        return { probes: [{ params: { key_id: created.id } }], view: view("/api/v1/auth/me/api-keys") }
      })
  },
  "POST /api/v1/orgs/{org_id}/service-keys": {
    kind: "byId",
    reason: "{org_id} is A's organization: 404, and no key is made in A",
    body: { name: "orgb intruder key", scopes: ["tickets:read"] },
    setup: () =>
      Effect.gen(function*() {
        yield* aServiceKey
        return { probes: [{ params: { org_id: "org_default" } }], view: view("/api/v1/orgs/org_default/service-keys") }
      })
  },
  "GET /api/v1/orgs/{org_id}/service-keys": {
    kind: "byId",
    reason: "{org_id} is A's organization",
    setup: () =>
      Effect.gen(function*() {
        yield* aServiceKey
        return { probes: [{ params: { org_id: "org_default" } }], view: view("/api/v1/orgs/org_default/service-keys") }
      })
  },
  "DELETE /api/v1/orgs/{org_id}/service-keys/{id}": {
    kind: "byId",
    reason: "A's key, under A's organization and under B's",
    body: { revoke_reason: "orgb revokes" },
    setup: (world) =>
      Effect.gen(function*() {
        const key = yield* aServiceKey
        return {
          probes: [{ params: { org_id: "org_default", id: key.id } }, { params: { org_id: world.b.orgId, id: key.id } }],
          view: view("/api/v1/orgs/org_default/service-keys")
        }
      })
  },
  "POST /api/v1/orgs/{org_id}/service-keys/{id}/rotate": {
    kind: "byId",
    reason: "A's key, under A's organization and under B's",
    setup: (world) =>
      Effect.gen(function*() {
        const key = yield* aServiceKey
        return {
          probes: [{ params: { org_id: "org_default", id: key.id } }, { params: { org_id: world.b.orgId, id: key.id } }],
          view: view("/api/v1/orgs/org_default/service-keys")
        }
      })
  },
  "POST /api/v1/auth/signup": {
    kind: "public",
    reason: "account creation needs no credential, and never joins an existing organization (closed by default: 403 signup_closed)",
    check: ({ world }) =>
      Effect.gen(function*() {
        const reply = yield* call("POST", "/api/v1/auth/signup", { token: null, body: { email: email(world.unique("signup")) } })
        assert.strictEqual(reply.status, 403, reply.text)
        assert.strictEqual((reply.body as { code: string }).code, "signup_closed")
        assertClean(world, reply, "POST /api/v1/auth/signup")
      })
  },
  "GET /api/v1/auth/verify": {
    kind: "notAnId",
    reason: "?token= is a mailed one-time secret (SessionFS's link form), not an organization's id",
    check: ({ world }) =>
      Effect.gen(function*() {
        const path = `/api/v1/auth/verify?token=trv_${crypto.randomUUID().replace(/-/g, "")}`
        const reply = yield* call("GET", path, { token: null })
        assert.strictEqual(reply.status, 400, reply.text)
        assert.strictEqual((reply.body as { code: string }).code, "invalid_token")
        assertClean(world, reply, `GET ${path}`, sentStrings(path, undefined))
      })
  },
  "GET /api/v1/auth/verify/{token}": {
    kind: "notAnId",
    reason: "{token} is a mailed one-time secret, not an organization's id: whoever holds it verifies that address",
    check: ({ world }) =>
      Effect.gen(function*() {
        const path = `/api/v1/auth/verify/trv_${crypto.randomUUID().replace(/-/g, "")}`
        const reply = yield* call("GET", path, { token: null })
        assert.strictEqual(reply.status, 400, reply.text)
        assert.strictEqual((reply.body as { code: string }).code, "invalid_token")
        assertClean(world, reply, `GET ${path}`, sentStrings(path, undefined))
      })
  },
  "POST /v1/auth/agent/register": { kind: "public", reason: "agent self-registration makes a new organization; no credential" },
  "GET /claim": { kind: "public", reason: "the claim page: a sign-in form, or for a signed-in person a claim-code form; nothing of an organization's" },
  "POST /claim": {
    kind: "public",
    reason: "checks the session cookie and its CSRF token itself (a no-script form); a claim code is a one-time secret, not an id (as POST /v1/auth/claim)"
  },
  "POST /claim/sign-in": { kind: "public", reason: "a password sign-in (the same check and lockout as /api/login), then back to /claim" },
  "POST /v1/auth/claim": {
    kind: "notAnId",
    reason: "the claim code is a one-time secret of an agent-made organization (its holder becomes an owner, by design), " +
      "not an id: an unknown code is invalid_token and joins nothing (agents may not claim at all)",
    check: ({ world }) =>
      Effect.gen(function*() {
        for (const caller of [world.b.admin]) {
          const body = { claimCode: `SURF-${crypto.randomUUID().slice(0, 8).toUpperCase()}` }
          const reply = yield* call("POST", "/v1/auth/claim", { token: caller.token, body })
          assert.strictEqual(reply.status, 400, reply.text)
          assert.strictEqual((reply.body as { code: string }).code, "invalid_token")
          assertClean(world, reply, `${caller.name}: POST /v1/auth/claim`)
        }
      })
  },

  // --- identity: tenancy
  "GET /api/workspaces": ownList("/api/workspaces", Effect.map(aWorkspace, (w) => [w.id])),
  "POST /api/workspaces": ownCreateSameName({
    reason: "creates in the caller's organization; names are unique per organization",
    seed: aWorkspace,
    body: (w) => ({ name: w.name }),
    status: 201,
    idOf: dataId,
    aView: (w) => [`/api/workspaces/${w.id}`],
    aList: "/api/workspaces"
  }),
  "GET /api/workspaces/{id}": {
    kind: "byId",
    setup: () => Effect.map(aWorkspace, (w) => ({ probes: [{ params: { id: w.id } }], view: view(`/api/workspaces/${w.id}`) }))
  },
  "DELETE /api/workspaces/{id}": {
    kind: "byId",
    setup: () => Effect.map(aWorkspace, (w) => ({ probes: [{ params: { id: w.id } }], view: view(`/api/workspaces/${w.id}`) }))
  },
  "GET /api/users": ownList("/api/users", Effect.map(aUser, (u) => [u.id]), "the caller organization's members"),
  "POST /api/users": ownCreate({
    reason: "creates a member of the caller's organization",
    body: () => {
      const name = `orgb-user-${crypto.randomUUID().slice(0, 8)}`
      return { username: name, password: "orgb member password", email: email(name), role: "viewer" }
    },
    status: 201,
    idOf: dataId,
    aList: "/api/users"
  }),
  "GET /api/users/{id}": {
    kind: "byId",
    setup: () => Effect.map(aUser, (u) => ({ probes: [{ params: { id: u.id } }], view: view(`/api/users/${u.id}`) }))
  },
  "PUT /api/users/{id}": {
    kind: "byId",
    body: { role: "viewer", display_name: "orgb was here", active: false },
    setup: () => Effect.map(aUser, (u) => ({ probes: [{ params: { id: u.id } }], view: view(`/api/users/${u.id}`) }))
  },
  "DELETE /api/users/{id}": {
    kind: "byId",
    setup: () => Effect.map(aUser, (u) => ({ probes: [{ params: { id: u.id } }], view: view(`/api/users/${u.id}`, "/api/users") }))
  },
  "POST /api/v1/org": {
    kind: "own",
    reason: "makes a new organization owned by the caller; nothing of another organization's is in it",
    check: ({ world }) =>
      Effect.gen(function*() {
        // A member of B of its own: creating an organization moves the creator's default organization.
        const name = `orgb-founder-${crypto.randomUUID().slice(0, 8)}`
        yield* call("POST", "/api/users", {
          token: world.b.owner.token,
          body: { username: name, password: "orgb founder password", email: email(name), role: "viewer" }
        }).pipe(Effect.map((reply) => ok(reply, "B's founder is created", 201)))
        const session = ok<{ token: string }>(
          yield* call("POST", "/api/login", { token: null, body: { username: name, password: "orgb founder password" } }),
          "B's founder signs in"
        ).token
        const reply = yield* call("POST", "/api/v1/org", { token: session, body: { name: "orgb founded" } })
        const created = ok<{ org_id: string }>(reply, "POST /api/v1/org")
        assert.notInclude(["org_default", world.b.orgId], created.org_id)
        assertClean(world, reply, "POST /api/v1/org")
        const info = yield* call("GET", "/api/v1/org", { token: session, headers: { "x-trellis-organization": created.org_id } })
        assert.deepStrictEqual(
          ok<{ members: ReadonlyArray<{ username: string }> }>(info, "the new organization").members.map((m) => m.username),
          [name]
        )
        assertClean(world, info, "GET /api/v1/org of the new organization")
      })
  },
  "GET /api/v1/org": {
    kind: "own",
    reason: "the caller's organization and its members",
    check: ({ world, callers }) =>
      Effect.gen(function*() {
        yield* aUser
        for (const caller of callers) {
          const reply = yield* call("GET", "/api/v1/org", { token: caller.token })
          assert.strictEqual(ok<{ org: { id: string } }>(reply, `${caller.name}: GET /api/v1/org`).org.id, world.b.orgId)
          assertClean(world, reply, `${caller.name}: GET /api/v1/org`)
        }
      })
  },
  "POST /api/v1/org/invite": {
    kind: "own",
    reason: "invites into the caller's organization; being a member of another organization is not a conflict",
    check: ({ world, callers }) =>
      Effect.gen(function*() {
        for (const caller of callers) {
          const member = yield* aUser
          yield* copiedByB(member.email)
          const reply = yield* call("POST", "/api/v1/org/invite", { token: caller.token, body: { email: member.email } })
          const created = ok<{ invite_id: string }>(reply, `${caller.name} invites A's member`)
          assertClean(world, reply, `${caller.name}: POST /api/v1/org/invite`, [member.email])
          assert.notInclude(JSON.stringify(yield* asA<unknown>("GET", "/api/v1/org/invites")), created.invite_id)
        }
      })
  },
  "POST /api/v1/orgs/{org_id}/invite": {
    kind: "byId",
    reason: "{org_id} is A's organization: 404, and no invite is made in A",
    setup: (world) =>
      Effect.gen(function*() {
        yield* aInvite
        return {
          probes: [{ params: { org_id: "org_default" }, body: { email: email(`orgb-intruder-${world.b.orgId}`) } }],
          view: view("/api/v1/org/invites")
        }
      })
  },
  "POST /api/v1/orgs/{org_id}/members/invite": {
    kind: "byId",
    reason: "{org_id} is A's organization: 404, and no invite is made in A (SessionFS's multi-org invite path)",
    setup: (world) =>
      Effect.gen(function*() {
        yield* aInvite
        return {
          probes: [{ params: { org_id: "org_default" }, body: { email: email(`orgb-member-intruder-${world.b.orgId}`) } }],
          view: view("/api/v1/org/invites")
        }
      })
  },
  "POST /api/v1/org/invite/{invite_id}/accept": {
    kind: "byId",
    reason: "invites are scoped by recipient: only the invited address answers one, and none of B's callers is it",
    setup: () =>
      Effect.map(aInvite, (invite) => ({ probes: [{ params: { invite_id: invite.id } }], view: view("/api/v1/org/invites", "/api/users") }))
  },
  "POST /api/v1/org/invite/{invite_id}/decline": {
    kind: "byId",
    reason: "invites are scoped by recipient: only the invited address answers one, and none of B's callers is it",
    body: { decline_reason: "orgb declines" },
    setup: () => Effect.map(aInvite, (invite) => ({ probes: [{ params: { invite_id: invite.id } }], view: view("/api/v1/org/invites") }))
  },
  "GET /api/v1/org/invites": ownList("/api/v1/org/invites", Effect.map(aInvite, (i) => [i.id]), "the caller organization's open invites"),
  "GET /api/v1/org/invites/me": ownList(
    "/api/v1/org/invites/me",
    Effect.map(aInvite, () => []),
    "invites addressed to the caller's verified email: A's invites to other people are not B's"
  ),
  "DELETE /api/v1/org/invites/{invite_id}": {
    kind: "byId",
    setup: () => Effect.map(aInvite, (invite) => ({ probes: [{ params: { invite_id: invite.id } }], view: view("/api/v1/org/invites") }))
  },
  "POST /api/v1/orgs/{org_id}/invites/{invite_id}/resend": {
    kind: "byId",
    reason: "A's invite, under A's organization and under B's",
    setup: (world) =>
      Effect.map(aInvite, (invite) => ({
        probes: [{ params: { org_id: "org_default", invite_id: invite.id } }, { params: { org_id: world.b.orgId, invite_id: invite.id } }],
        view: view("/api/v1/org/invites")
      }))
  },
  "PUT /api/v1/org/members/{user_id}/role": {
    kind: "byId",
    body: { role: "viewer" },
    setup: () => Effect.map(aUser, (u) => ({ probes: [{ params: { user_id: u.id } }], view: view(`/api/users/${u.id}`) }))
  },
  "DELETE /api/v1/org/members/{user_id}": {
    kind: "byId",
    setup: () => Effect.map(aUser, (u) => ({ probes: [{ params: { user_id: u.id } }], view: view(`/api/users/${u.id}`) }))
  },
  "GET /v1/tenant": ownRead("the caller's organization", (body, world) => {
    assert.strictEqual((body as { tenant_id: string }).tenant_id, world.b.orgId)
  }),
}

/** The whole matrix: the platform's entries and every plugin's. */
const matrix: Record<string, Entry> = Object.assign({}, platformRoutes, ...matrices.map((m) => m.routes))

/** The RPC matrix: the same operations at `/rpc`, keyed by tag (every RPC is a plugin's). */
const rpcMatrix: Record<string, RpcEntry> = Object.assign({}, ...matrices.map((m) => m.rpcs))

const runRpc = (tag: string, entry: RpcEntry) =>
  Effect.gen(function*() {
    const world = yield* World
    if (!world.rpcs.has(tag)) return [`${tag}: not an RPC of the server`]
    const callers = world.callersForRpc(tag)
    if (entry.kind === "own") return yield* attempt(tag, entry.check({ world, tag, callers }))
    const target = yield* entry.setup(world)
    const before = yield* target.view
    const failures: Array<string> = []
    for (const snapshot of before) {
      if (snapshot.status !== 200) failures.push(`A's view ${snapshot.path} answered ${snapshot.status}: the setup is wrong`)
    }
    for (const probe of target.probes) {
      for (const caller of callers) {
        const expected = (caller.kind === "service" ? probe.service?.status : undefined) ?? probe.status ?? 404
        const reply = yield* rpc(caller.token, tag, probe.payload)
        const what = `${caller.name}: ${tag} ${JSON.stringify(probe.payload)}`
        const exit = reply.exit
        const failure = exit?._tag === "Failure" ? exit.cause.find((c) => c._tag === "Fail")?.error : undefined
        if (failure?.status !== expected) {
          failures.push(`${what}: expected a ${expected} failure, got ${reply.text.slice(0, 300)}`)
          continue
        }
        const found = leaksIn(world, reply.text, sentStrings("", probe.payload))
        if (found.length > 0) failures.push(`${what}: the failure shows ${found.join(", ")}: ${reply.text.slice(0, 300)}`)
      }
    }
    const after = yield* target.view
    failures.push(...(yield* attempt("A's resource after B's calls", Effect.sync(() => assert.deepStrictEqual(after, before)))))
    return failures
  })

// ---------------------------------------------------------------------------------------------
// Running an entry

const methodOf = (key: string) => key.slice(0, key.indexOf(" ")) as Method

/** The route's path with the probe's parameters (each one path segment, `*` the rest). */
const pathOf = (key: string, params: Readonly<Record<string, string>>) => {
  const template = key.slice(key.indexOf(" ") + 1)
  const filled = template.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const value = params[name]
    if (value === undefined) throw new Error(`${key}: no value for {${name}}`)
    return encodeURIComponent(value)
  })
  return filled.endsWith("/*") ? filled.slice(0, -2) + (params["*"] === undefined ? "" : `/${params["*"]}`) : filled
}

const failureOf = (cause: Cause.Cause<unknown>) => {
  const error = Cause.squash(cause)
  return error instanceof Error ? error.message : String(error)
}

/** Runs a check, turning a failed assertion into a failure line. */
const attempt = (what: string, effect: Effect.Effect<void, unknown, Env>) =>
  Effect.map(Effect.exit(effect), (exit) => Exit.isSuccess(exit) ? [] : [`${what}: ${failureOf(exit.cause)}`])

const runById = (key: string, entry: Extract<Entry, { kind: "byId" }>, context: Context) =>
  Effect.gen(function*() {
    const { world, method, callers } = context
    const target = yield* entry.setup(world)
    const before = yield* target.view
    const failures: Array<string> = []
    for (const snapshot of before) {
      if (snapshot.status !== 200) failures.push(`A's view ${snapshot.path} answered ${snapshot.status}: the setup is wrong`)
    }
    if (target.probes.length === 0 || callers.length === 0) failures.push("nothing was called")
    // Control: the first probe of a read, made by A, finds A's resource (so B's 404 is the wall,
    // not a probe that names nothing).
    if (method === "GET" && target.probes[0] !== undefined) {
      const probe = target.probes[0]
      const path = pathOf(key, probe.params ?? {}) + (probe.query ?? "")
      const mine = yield* call("GET", path, { token: world.a.token })
      if (mine.status !== 200) failures.push(`control: A's own GET ${path} answered ${mine.status}: ${mine.text.slice(0, 300)}`)
    }
    for (const probe of target.probes) {
      const path = pathOf(key, probe.params ?? {}) + (probe.query ?? "")
      const body = probe.body ?? entry.body ?? (method === "GET" || method === "DELETE" ? undefined : {})
      for (const caller of callers) {
        const instead = caller.kind === "service" ? probe.service : undefined
        const expected = instead?.status ?? probe.status ?? 404
        const code = instead?.code ?? probe.code
        const reply = yield* call(method, path, { token: caller.token, body })
        const what = `${caller.name}: ${method} ${path}${body === undefined ? "" : ` ${JSON.stringify(body)}`}`
        const problem = reply.body as { code?: string; detail?: string } | undefined
        if (reply.status !== expected) {
          failures.push(`${what}: expected ${expected}, got ${reply.status} ${reply.text.slice(0, 300)}`)
          continue
        }
        if (!reply.contentType.includes("application/problem+json")) failures.push(`${what}: not a problem (${reply.contentType})`)
        if (code !== undefined && problem?.code !== code) failures.push(`${what}: expected code ${code}, got ${problem?.code}`)
        if (problem?.detail?.startsWith("No route for") === true) failures.push(`${what}: the router's 404, not the route's`)
        const found = leaksIn(world, reply.text, sentStrings(path, body))
        if (found.length > 0) failures.push(`${what}: the problem shows ${found.join(", ")}: ${reply.text.slice(0, 300)}`)
      }
    }
    const after = yield* target.view
    failures.push(...(yield* attempt("A's resource after B's calls", Effect.sync(() => assert.deepStrictEqual(after, before)))))
    return failures
  })

const run = (key: string, entry: Entry) =>
  Effect.gen(function*() {
    const world = yield* World
    const context: Context = { world, key, method: methodOf(key), callers: world.callersFor(key) }
    const route = world.routes.get(key)
    if (route === undefined) return [`${key}: not a route of the server`]
    switch (entry.kind) {
      case "public": {
        const failures = route.authenticated ? [`${key}: marked public, but the route requires a credential`] : []
        return entry.check === undefined ? failures : [...failures, ...(yield* attempt(key, entry.check(context)))]
      }
      case "own":
      case "notAnId":
        return yield* attempt(key, entry.check(context))
      case "byId":
        return yield* runById(key, entry, context)
    }
  })

// ---------------------------------------------------------------------------------------------

const openApiMethods = new Set(["get", "post", "put", "patch", "delete", "head", "options"])

describe("cross-organization matrix", () => {
  const kit = TestKit.layer({ plugins, config: { rateLimits: unlimited } })
  layer(worldLayer(plugins).pipe(Layer.provideMerge(kit)), { timeout: 600_000 })((it) => {
    it.effect("every served route has an entry, and every entry is a served route", () =>
      Effect.gen(function*() {
        const world = yield* World
        const document = ok<{ paths: Record<string, Record<string, unknown>> }>(
          yield* call("GET", "/openapi.json", { token: null }),
          "GET /openapi.json"
        )
        const documented = new Set<string>()
        for (const [path, item] of Object.entries(document.paths)) {
          for (const method of Object.keys(item)) if (openApiMethods.has(method)) documented.add(`${method.toUpperCase()} ${path}`)
        }
        // Plus the routes left out of the document (a wildcard path has no OpenAPI spelling) and
        // the host's own (`/metrics`, `/openapi.json`, `/docs`, `/rpc`).
        const served = new Set(documented)
        for (const route of world.composition.routes) served.add(`${route.method} ${route.path.replace(/:(\w+)/g, "{$1}")}`)
        for (const key of world.routes.keys()) served.add(key)
        assert.isAbove(documented.size, 90)
        assert.deepStrictEqual([...documented].filter((key) => !world.routes.has(key)), [], "documented routes the composition does not serve")
        const missing = [...served].filter((key) => !(key in matrix)).sort()
        const gone = Object.keys(matrix).filter((key) => !served.has(key)).sort()
        assert.deepStrictEqual({ missing, gone }, { missing: [], gone: [] })
      }))

    it.effect("every plugin keeps its own entries: each names only routes and RPCs its plugin serves, once", () =>
      Effect.gen(function*() {
        const world = yield* World
        const routeOwners = new Map(world.composition.routes.map((r) => [`${r.method} ${openApiPath(r.path)}`, r.owner]))
        const rpcOwners = new Map(world.composition.rpcTags.map((t) => [t.tag, t.owner]))
        const strays = matrices.flatMap((m) => [
          ...Object.keys(m.routes).filter((key) => routeOwners.get(key) !== m.plugin).map((key) => `${m.plugin}: ${key} is ${routeOwners.get(key) ?? "the platform"}'s`),
          ...Object.keys(m.rpcs).filter((tag) => rpcOwners.get(tag) !== m.plugin).map((tag) => `${m.plugin}: RPC ${tag} is ${rpcOwners.get(tag) ?? "nobody"}'s`)
        ])
        assert.deepStrictEqual(strays, [])
        const platformIds = new Set(Server.platformPlugins.map((p) => p.id))
        const withoutMatrix = world.composition.plugins.filter((p) => !platformIds.has(p.id) && !matrices.some((m) => m.plugin === p.id))
        assert.deepStrictEqual(withoutMatrix.map((p) => p.id), [], "loaded plugins without cross-organization entries")
        const platformOwned = Object.keys(platformRoutes).filter((key) => routeOwners.has(key) && !platformIds.has(routeOwners.get(key)!))
        assert.deepStrictEqual(platformOwned, [], "platform entries for a plugin's routes (move them to the plugin's file)")
        const counted = Object.keys(platformRoutes).length + matrices.reduce((n, m) => n + Object.keys(m.routes).length, 0)
        assert.strictEqual(Object.keys(matrix).length, counted, "a route has entries in two files")
      }))

    for (const [key, entry] of Object.entries(matrix)) {
      const label = entry.leak === undefined ? `${key} (${entry.kind})` : `${key} (${entry.kind}, reported leak)`
      it.effect(label, () =>
        Effect.gen(function*() {
          const failures = yield* run(key, entry)
          if (entry.leak !== undefined) {
            assert.fail(
              failures.length > 0
                ? `cross-organization leak (reported: ${entry.leak}):\n${failures.join("\n")}`
                : `marked as leaking (${entry.leak}), but no leak was seen: remove the mark`
            )
          }
          assert.deepStrictEqual(failures, [])
        }))
    }

    for (const [tag, entry] of Object.entries(rpcMatrix)) {
      const label = entry.leak === undefined ? `RPC ${tag} (${entry.kind})` : `RPC ${tag} (${entry.kind}, reported leak)`
      it.effect(label, () =>
        Effect.gen(function*() {
          const failures = yield* runRpc(tag, entry)
          if (entry.leak !== undefined) {
            assert.fail(
              failures.length > 0
                ? `cross-organization leak (reported: ${entry.leak}):\n${failures.join("\n")}`
                : `marked as leaking (${entry.leak}), but no leak was seen: remove the mark`
            )
          }
          assert.deepStrictEqual(failures, [])
        }))
    }
  })
})
