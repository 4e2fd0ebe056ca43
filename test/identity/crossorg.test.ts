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
 * Adding a plugin's routes is data only: entries built from the helpers below.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"
import * as TestKit from "trellis/testing"
import { HelloPlugin } from "../../examples/hello-plugin/Plugin.ts"
import { PromptsPlugin } from "../../plugins/prompts/Plugin.ts"
import * as Server from "../../src/server/Server.ts"
import {
  asA,
  assertClean,
  call,
  copiedByB,
  leaksIn,
  ok,
  openSse,
  openWs,
  registerA,
  rpc,
  rpcAsA,
  sentStrings,
  World,
  worldLayer
} from "./crossorgFixture.ts"
import type { Caller, Env, Method, RpcReply, WorldShape } from "./crossorgFixture.ts"

// The prompts plugin joins `Server.firstParty` later; until then it is added here.
const plugins = [
  ...Server.firstParty,
  ...(Server.firstParty.some((p) => p.id === PromptsPlugin.id) ? [] : [PromptsPlugin]),
  HelloPlugin
]

const unlimited = { perMinute: 0, runPerMinute: 0, settingsPerMinute: 0, streams: 0, loginPerAccount: 0, loginPerAddress: 0 }

// ---------------------------------------------------------------------------------------------
// The entry kinds

interface Probe {
  readonly params?: Readonly<Record<string, string>> | undefined
  /** `?a=b`, appended to the path. */
  readonly query?: string | undefined
  /** Overrides the entry's body. */
  readonly body?: unknown
  /** The expected status (404 unless given) and problem code. */
  readonly status?: number
  readonly code?: string
  /** What B's service key gets instead, where SessionFS answers it otherwise (tickets: 403 cross_org_denied). */
  readonly service?: { readonly status: number; readonly code: string }
}

/**
 * SessionFS answers a service key naming another organization's project id with 403
 * `cross_org_denied` (its `assert_service_key_can_access_project`); the body names nothing of it.
 */
const crossOrgDenied = { status: 403, code: "cross_org_denied" } as const

interface Snapshot {
  readonly path: string
  readonly status: number
  readonly body: unknown
}

interface Target {
  readonly probes: ReadonlyArray<Probe>
  /** A's view of the resource (GETs as A): the same before and after B's calls. */
  readonly view: Effect.Effect<ReadonlyArray<Snapshot>, unknown, Env>
}

interface Context {
  readonly world: WorldShape
  readonly key: string
  readonly method: Method
  /** B's callers that may reach the route. */
  readonly callers: ReadonlyArray<Caller>
}

type Check = (context: Context) => Effect.Effect<void, unknown, Env>

type Entry =
  | { readonly kind: "public"; readonly reason: string; readonly check?: Check; readonly leak?: string }
  | { readonly kind: "own"; readonly reason: string; readonly check: Check; readonly leak?: string }
  | { readonly kind: "notAnId"; readonly reason: string; readonly check: Check; readonly leak?: string }
  | {
    readonly kind: "byId"
    readonly reason?: string
    /** The request body of every probe (a valid one: a 400 is not the 404 expected). */
    readonly body?: unknown
    readonly setup: (world: WorldShape) => Effect.Effect<Target, unknown, Env>
    readonly leak?: string
  }

// ---------------------------------------------------------------------------------------------
// Organization A's resources, made through the API

const view = (...paths: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const world = yield* World
    return yield* Effect.forEach(paths, (path) =>
      Effect.map(call("GET", path, { token: world.a.token }), (reply): Snapshot => ({ path, status: reply.status, body: reply.body })))
  })

const email = (name: string) => `${name}@example.test`

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

const aProject = Effect.gen(function*() {
  const world = yield* World
  const remote = `github.com/${world.unique("owner")}/repo`
  const created = yield* asA<{ id: string }>("POST", "/api/v1/projects/", {
    name: world.unique("project"),
    git_remote_normalized: remote,
    context_document: world.unique("context")
  }, 201)
  yield* registerA(created.id)
  return { id: created.id, remote }
})

type TicketState = "open" | "suggested" | "in_progress" | "review" | "blocked" | "issue in_progress"

interface ATicket {
  readonly projectId: string
  readonly id: string
  readonly leaseEpoch: number
}

/** A ticket of A's in the state from which the route's transition is legal for A. */
const aTicket = (state: TicketState) =>
  Effect.gen(function*() {
    const world = yield* World
    const project = yield* aProject
    const base = `/api/v1/projects/${project.id}/tickets`
    const body = state === "suggested"
      ? {
        title: world.unique("ticket"),
        source: "agent",
        description: `${world.unique("description")} long enough for an agent's ticket`,
        acceptance_criteria: [world.unique("criterion")],
        created_by_session_id: world.unique("session")
      }
      : {
        title: world.unique("ticket"),
        description: world.unique("description"),
        kind: state === "issue in_progress" ? "issue" : "task",
        acceptance_criteria: [world.unique("criterion")]
      }
    const created = yield* asA<{ id: string; lease_epoch: number }>("POST", base, body, 201)
    yield* registerA(created.id)
    const path = `${base}/${created.id}`
    yield* asA("POST", `${path}/comments`, { content: world.unique("comment") }, 201)
    let leaseEpoch = created.lease_epoch
    if (state === "in_progress" || state === "review" || state === "blocked" || state === "issue in_progress") {
      const started = yield* asA<{ ticket: { lease_epoch: number }; retrieval_audit_id: string }>("POST", `${path}/start`)
      leaseEpoch = started.ticket.lease_epoch
      yield* registerA(started.retrieval_audit_id)
    }
    if (state === "review") yield* asA("POST", `${path}/complete`, { notes: world.unique("notes"), lease_epoch: leaseEpoch })
    if (state === "blocked") yield* asA("POST", `${path}/block`)
    return { projectId: project.id, id: created.id, leaseEpoch } satisfies ATicket
  })

interface APrompt {
  readonly id: string
  readonly key: string
}

/** A prompt of A's in `prod`, published `versions` times, with a 50/50 rollout of v1 and v2 when asked. */
const aPrompt = (options: { readonly versions: number; readonly rollout?: boolean }) =>
  Effect.gen(function*() {
    const world = yield* World
    const key = world.unique("prompt")
    const created = yield* asA<{ data: { id: string } }>("POST", "/api/prompts", {
      key,
      name: world.unique("name"),
      description: world.unique("description"),
      content: `${world.unique("content")} {{name}}`,
      env: "prod",
      tags: [world.unique("tag")]
    })
    const id = created.data.id
    yield* registerA(id)
    for (let n = 1; n <= options.versions; n++) {
      if (n > 1) yield* asA("PUT", `/api/prompts/${id}`, { content: `${world.unique("content")} {{name}}` })
      const published = yield* asA<{ data: { id: string } }>("POST", "/api/prompts/publish", { id, note: world.unique("note") })
      yield* registerA(published.data.id)
    }
    if (options.rollout === true) {
      const rollout = yield* asA<{ data: { id: string; salt: string } }>("PUT", `/api/prompts/${id}/rollout`, {
        enabled: true,
        variant_a: "v1",
        variant_b: "v2",
        weight_a: 50
      })
      yield* registerA(rollout.data.id, rollout.data.salt)
    }
    return { id, key } satisfies APrompt
  })

const providerPath = (ws: string) => "/api/playground/providers/openai?workspace=" + encodeURIComponent(ws)

interface ProviderConfigBody {
  readonly data: { readonly workspace_id: string; readonly base_url: string; readonly model: string; readonly api_key_set: boolean } | null
}

/**
 * A workspace of A's with an OpenAI-compatible provider configuration; its name is free-form
 * (B may use the same one), its base URL, key and model are A's. Returns the workspace.
 */
const aProviderConfig = Effect.gen(function*() {
  const world = yield* World
  const workspace = world.unique("ws")
  const body = { base_url: `https://1.1.1.1/${world.unique("base")}`, api_key: `sk-${world.unique("key")}`, model: world.unique("model") }
  const saved = yield* asA<ProviderConfigBody>("PUT", providerPath(workspace), body)
  assert.strictEqual(saved.data?.base_url, body.base_url, "A's configuration is saved")
  yield* registerA(body.base_url, body.api_key, body.model)
  return workspace
})

/** B's own configuration of a workspace (nothing of A's in it). */
const bProviderBody = () => ({
  base_url: `https://1.1.1.1/orgb-${crypto.randomUUID().slice(0, 8)}`,
  api_key: `sk-orgb-${crypto.randomUUID().replace(/-/g, "")}`,
  model: "orgb-model"
})

const aGreeting = Effect.gen(function*() {
  const world = yield* World
  const created = yield* asA<{ id: string }>("POST", "/api/hello/greetings", { name: world.unique("greeting") }, 201)
  yield* registerA(created.id)
  return created
})

// ---------------------------------------------------------------------------------------------
// Entry builders

const ticketPath = (t: ATicket) => `/api/v1/projects/${t.projectId}/tickets/${t.id}`
const ticketView = (t: ATicket) => view(ticketPath(t), `${ticketPath(t)}/comments`, `${ticketPath(t)}/edits`)

/**
 * A ticket route: A's ticket in `state`, called by B under A's project and under B's own
 * project (so the ticket lookup itself is checked, not only the project's).
 */
const ticketRoute = (state: TicketState, body?: (t: ATicket, world: WorldShape) => unknown, query?: string): Entry => ({
  kind: "byId",
  setup: (world) =>
    Effect.gen(function*() {
      const t = yield* aTicket(state)
      const b = body?.(t, world)
      return {
        probes: [
          { params: { project_id: t.projectId, ticket_id: t.id }, body: b, query, service: crossOrgDenied },
          { params: { project_id: world.b.projectId, ticket_id: t.id }, body: b, query }
        ],
        view: ticketView(t)
      }
    })
})

const projectRoute = (body?: unknown): Entry => ({
  kind: "byId",
  body,
  setup: () =>
    Effect.gen(function*() {
      const p = yield* aProject
      yield* asA("POST", `/api/v1/projects/${p.id}/tickets`, { title: (yield* World).unique("ticket") }, 201)
      return {
        probes: [{ params: { project_id: p.id }, service: crossOrgDenied }],
        view: view(`/api/v1/projects/${p.id}`, `/api/v1/projects/${p.id}/tickets`)
      }
    })
})

const promptView = (p: APrompt) => view(`/api/prompts/${p.id}`, `/api/prompts/${p.id}/versions`, `/api/prompts/${p.id}/rollout`)

const promptRoute = (options: { readonly versions: number; readonly rollout?: boolean; readonly body?: unknown; readonly query?: string }): Entry => ({
  kind: "byId",
  body: options.body,
  setup: () =>
    Effect.gen(function*() {
      const p = yield* aPrompt(options)
      return { probes: [{ params: { id: p.id }, query: options.query }], view: promptView(p) }
    })
})

/** A prompt named in the request body (no id in the path). */
const promptInBody = (versions: number, bodies: (p: APrompt) => ReadonlyArray<unknown>): Entry => ({
  kind: "byId",
  reason: "the prompt's id (or key) is in the body",
  setup: () =>
    Effect.gen(function*() {
      const p = yield* aPrompt({ versions })
      return { probes: bodies(p).map((body) => ({ body })), view: promptView(p) }
    })
})

/**
 * A list of the caller's organization: A makes something (`seed`, its ids) and sees it in its
 * own list; B's list shows nothing of A's.
 */
const ownList = (path: string, seed: Effect.Effect<ReadonlyArray<string>, unknown, Env>, reason = "a list of the caller's organization"): Entry => ({
  kind: "own",
  reason,
  check: ({ world, callers }) =>
    Effect.gen(function*() {
      const ids = yield* seed
      const mine = yield* call("GET", path, { token: world.a.token })
      ok(mine, `A: GET ${path}`)
      for (const id of ids) assert.include(mine.text, id, `control: A's own list ${path} shows ${id}`)
      for (const caller of callers) {
        const reply = yield* call("GET", path, { token: caller.token })
        ok(reply, `${caller.name}: GET ${path}`)
        assertClean(world, reply, `${caller.name}: GET ${path}`)
      }
    })
})

/** A read of the caller's own organization (or of nothing organizational): B's answer is clean. */
const ownRead = (reason: string, extra?: (body: unknown, world: WorldShape, caller: Caller) => void): Entry => ({
  kind: "own",
  reason,
  check: ({ world, callers, key }) =>
    Effect.gen(function*() {
      const path = key.slice(key.indexOf(" ") + 1)
      for (const caller of callers) {
        const reply = yield* call("GET", path, { token: caller.token })
        const body = ok(reply, `${caller.name}: GET ${path}`)
        assertClean(world, reply, `${caller.name}: GET ${path}`)
        extra?.(body, world, caller)
      }
    })
})

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

/**
 * B creates something under the same name as one of A's: names are unique per organization, so
 * it is created (a conflict would tell B that A has it), it is B's, and A's is untouched.
 */
const ownCreateSameName = <A extends { readonly id: string }>(options: {
  readonly reason: string
  readonly seed: Effect.Effect<A, unknown, Env>
  readonly body: (seed: A) => unknown
  readonly status: number
  readonly idOf: (body: unknown) => string
  readonly aView: (seed: A) => ReadonlyArray<string>
  readonly aList: string
}): Entry => ({
  kind: "own",
  reason: options.reason,
  check: ({ world, callers, key }) =>
    Effect.gen(function*() {
      const path = key.slice(key.indexOf(" ") + 1)
      for (const caller of callers) {
        const seed = yield* options.seed
        const before = yield* view(...options.aView(seed))
        const body = options.body(seed)
        yield* copiedByB(...sentStrings(path, body))
        const reply = yield* call("POST", path, { token: caller.token, body })
        const created = ok(reply, `${caller.name}: POST ${path} with A's name`, options.status)
        const id = options.idOf(created)
        assert.notStrictEqual(id, seed.id, "a new resource, not A's")
        assertClean(world, reply, `${caller.name}: POST ${path}`, sentStrings(path, body))
        assert.deepStrictEqual(yield* view(...options.aView(seed)), before, "A's resource is unchanged")
        assert.notInclude(JSON.stringify(yield* asA<unknown>("GET", options.aList)), id, "B's resource is not in A's list")
      }
    })
})

/** B makes something; it does not show up in A's list. */
const ownCreate = (options: {
  readonly reason: string
  readonly body: (world: WorldShape) => unknown
  readonly status: number
  readonly idOf: (body: unknown) => string
  readonly aList: string
  readonly leak?: string
}): Entry => ({
  kind: "own",
  reason: options.reason,
  ...(options.leak === undefined ? {} : { leak: options.leak }),
  check: ({ world, callers, key }) =>
    Effect.gen(function*() {
      const path = key.slice(key.indexOf(" ") + 1)
      for (const caller of callers) {
        const reply = yield* call("POST", path, { token: caller.token, body: options.body(world) })
        const id = options.idOf(ok(reply, `${caller.name}: POST ${path}`, options.status))
        assertClean(world, reply, `${caller.name}: POST ${path}`)
        assert.notInclude(JSON.stringify(yield* asA<unknown>("GET", options.aList)), id, `what ${caller.name} made shows up in A's ${options.aList}`)
      }
    })
})

/** Puts B's ticket settings back (later entries write tickets without a lease epoch). */
const resetB = Effect.gen(function*() {
  const world = yield* World
  const body = { require_lease_epoch_on_ticket_writes: false }
  ok(yield* call("PUT", "/api/v1/tickets/settings", { token: world.b.owner.token, body }), "B resets its settings")
}).pipe(Effect.orDie)

const dataId = (body: unknown) => (body as { data: { id: string } }).data.id
const plainId = (body: unknown) => (body as { id: string }).id

// ---------------------------------------------------------------------------------------------
// The matrix: `METHOD /path/{param}`, as the OpenAPI document spells it.

const matrix: Record<string, Entry> = {
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

  // --- tickets
  "GET /api/v1/projects/": ownList("/api/v1/projects/", Effect.map(aProject, (p) => [p.id]), "the caller organization's projects"),
  "POST /api/v1/projects/": ownCreateSameName({
    reason: "creates in the caller's organization; git remotes are unique per organization",
    seed: aProject,
    body: (p) => ({ name: "orgb project", git_remote_normalized: p.remote }),
    status: 201,
    idOf: plainId,
    aView: (p) => [`/api/v1/projects/${p.id}`],
    aList: "/api/v1/projects/"
  }),
  "GET /api/v1/projects/{project}": {
    kind: "byId",
    reason: "by id and by URL-encoded remote",
    setup: () =>
      Effect.map(aProject, (p) => ({
        probes: [{ params: { project: p.id } }, { params: { project: p.remote } }],
        view: view(`/api/v1/projects/${p.id}`)
      }))
  },
  "GET /api/v1/projects/{owner}/{repo}/*": {
    kind: "byId",
    reason: "left out of the OpenAPI document (a wildcard): the remote written as a path",
    setup: () =>
      Effect.map(aProject, (p) => {
        const [host, owner, repo] = p.remote.split("/")
        return {
          probes: [{ params: { owner: host, repo: owner, "*": repo } }, { params: { owner, repo } }],
          view: view(`/api/v1/projects/${p.id}`)
        }
      })
  },
  "PUT /api/v1/projects/{project}/context": {
    kind: "byId",
    reason: "by id and by URL-encoded remote (users only)",
    body: { context_document: "orgb overwrites" },
    setup: () =>
      Effect.map(aProject, (p) => ({
        probes: [{ params: { project: p.id } }, { params: { project: p.remote } }],
        view: view(`/api/v1/projects/${p.id}`)
      }))
  },
  "PUT /api/v1/projects/{owner}/{repo}/*": {
    kind: "byId",
    reason: "left out of the OpenAPI document (a wildcard): the remote written as a path, then /context",
    body: { context_document: "orgb overwrites" },
    setup: () =>
      Effect.map(aProject, (p) => {
        const [host, owner, repo] = p.remote.split("/")
        return {
          probes: [{ params: { owner: host, repo: owner, "*": `${repo}/context` } }, { params: { owner, repo, "*": "context" } }],
          view: view(`/api/v1/projects/${p.id}`)
        }
      })
  },
  "GET /api/v1/tickets/settings/projects/{project_id}": projectRoute(),
  "PUT /api/v1/tickets/settings/projects/{project_id}": projectRoute({ lease_seconds: 5 }),
  "DELETE /api/v1/projects/{project_id}": projectRoute(),
  "GET /api/v1/projects/{project_id}/tickets": projectRoute(),
  "POST /api/v1/projects/{project_id}/tickets": {
    kind: "byId",
    reason: "A's project; and A's ticket named as a dependency or parent in B's own project",
    body: { title: "orgb intruding ticket" },
    setup: (world) =>
      Effect.gen(function*() {
        const t = yield* aTicket("open")
        return {
          probes: [
            { params: { project_id: t.projectId }, service: crossOrgDenied },
            { params: { project_id: world.b.projectId }, body: { title: "orgb depends", depends_on: [t.id] }, status: 400, code: "invalid_dependency" },
            { params: { project_id: world.b.projectId }, body: { title: "orgb child", parent_ticket_id: t.id }, status: 422, code: "invalid_parent" }
          ],
          view: view(`/api/v1/projects/${t.projectId}/tickets`, ...[ticketPath(t)])
        }
      })
  },
  "GET /api/v1/projects/{project_id}/tickets/{ticket_id}": ticketRoute("open"),
  "PUT /api/v1/projects/{project_id}/tickets/{ticket_id}": ticketRoute("open", () => ({ title: "orgb hijack", priority: "critical" })),
  "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/start": ticketRoute("open"),
  "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/renew": ticketRoute("in_progress", (t) => ({ lease_epoch: t.leaseEpoch })),
  "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/complete": ticketRoute(
    "in_progress",
    (t) => ({ notes: "orgb completes", lease_epoch: t.leaseEpoch })
  ),
  "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/resolve": ticketRoute("review"),
  "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/accept": ticketRoute("review"),
  "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/close": ticketRoute("issue in_progress"),
  "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/approve": ticketRoute("suggested"),
  "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/block": ticketRoute("in_progress"),
  "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/unblock": ticketRoute("blocked"),
  "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/reopen": ticketRoute("review"),
  "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/dismiss": ticketRoute("open"),
  "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/escalate": ticketRoute("open", () => ({ reason: "orgb escalates" })),
  "POST /api/v1/projects/{project_id}/tickets/{ticket_id}/comments": ticketRoute("open", () => ({ content: "orgb comments" })),
  "GET /api/v1/projects/{project_id}/tickets/{ticket_id}/comments": ticketRoute("open"),
  "GET /api/v1/projects/{project_id}/tickets/{ticket_id}/review-state": ticketRoute("open"),
  "GET /api/v1/projects/{project_id}/tickets/{ticket_id}/edits": ticketRoute("open"),
  "GET /api/v1/tickets/settings": {
    kind: "own",
    reason: "the caller organization's settings",
    check: ({ world, callers }) =>
      Effect.gen(function*() {
        yield* asA("PUT", "/api/v1/tickets/settings", { require_lease_epoch_on_ticket_writes: true })
        for (const caller of callers) {
          const reply = yield* call("GET", "/api/v1/tickets/settings", { token: caller.token })
          assert.isFalse(ok<{ require_lease_epoch_on_ticket_writes: boolean }>(reply, `${caller.name}: GET settings`).require_lease_epoch_on_ticket_writes)
          assertClean(world, reply, `${caller.name}: GET settings`)
        }
      }).pipe(Effect.ensuring(Effect.orDie(asA("PUT", "/api/v1/tickets/settings", { require_lease_epoch_on_ticket_writes: false }))))
  },
  "PUT /api/v1/tickets/settings": {
    kind: "own",
    reason: "sets the caller organization's settings",
    check: ({ callers }) =>
      Effect.gen(function*() {
        for (const caller of callers) {
          const body = { require_lease_epoch_on_ticket_writes: true }
          ok(yield* call("PUT", "/api/v1/tickets/settings", { token: caller.token, body }), `${caller.name}: PUT settings`)
          const mine = yield* asA<{ require_lease_epoch_on_ticket_writes: boolean }>("GET", "/api/v1/tickets/settings")
          assert.isFalse(mine.require_lease_epoch_on_ticket_writes, "B's setting changed A's")
        }
      }).pipe(Effect.ensuring(resetB))
  },

  // --- prompts
  "GET /api/prompts": ownList("/api/prompts", Effect.map(aPrompt({ versions: 1 }), (p) => [p.id]), "the caller organization's prompts"),
  "POST /api/prompts": ownCreateSameName({
    reason: "creates in the caller's organization; keys are unique per organization",
    seed: aPrompt({ versions: 1 }),
    body: (p) => ({ key: p.key, env: "prod", content: "orgb content" }),
    status: 200,
    idOf: dataId,
    aView: (p) => [`/api/prompts/${p.id}`, `/api/sdk/prompts/${p.key}?env=prod`],
    aList: "/api/prompts"
  }),
  "POST /api/prompts/publish": promptInBody(1, (p) => [{ id: p.id, note: "orgb publishes" }]),
  "POST /api/prompts/rollback": promptInBody(2, (p) => [{ id: p.id, version: "v1" }, { id: p.id, version: 1 }]),
  "GET /api/prompts/{id}": promptRoute({ versions: 1 }),
  "PUT /api/prompts/{id}": promptRoute({ versions: 1, body: { name: "orgb hijack", content: "orgb content" } }),
  "DELETE /api/prompts/{id}": promptRoute({ versions: 1 }),
  "GET /api/prompts/{id}/versions": promptRoute({ versions: 2 }),
  "GET /api/prompts/{id}/versions/diff": promptRoute({ versions: 2, query: "?from=v1&to=v2" }),
  "GET /api/prompts/{id}/rollout": promptRoute({ versions: 2, rollout: true }),
  "PUT /api/prompts/{id}/rollout": promptRoute({ versions: 2, body: { enabled: true, variant_a: "v1", variant_b: "v2", weight_a: 10 } }),
  "DELETE /api/prompts/{id}/rollout": promptRoute({ versions: 2, rollout: true }),
  "GET /api/clients": {
    kind: "own",
    reason: "the caller organization's live hot-reload connections",
    check: ({ world, callers }) =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const app = world.unique("app")
        const url = `${kit.baseUrl.replace(/^http/, "ws")}/ws?token=${encodeURIComponent(world.a.token)}&client=node-sdk&app=${app}&hello=1`
        const socket = yield* Effect.promise(() => openWs(url))
        yield* Effect.gen(function*() {
          yield* Effect.promise(() => socket.until((text) => text.includes("hello")))
          const mine = yield* asA<unknown>("GET", "/api/clients")
          assert.include(JSON.stringify(mine), app, "control: A's connection is in A's list")
          for (const caller of callers) {
            const reply = yield* call("GET", "/api/clients", { token: caller.token })
            ok(reply, `${caller.name}: GET /api/clients`)
            assertClean(world, reply, `${caller.name}: GET /api/clients`)
          }
        }).pipe(Effect.ensuring(Effect.sync(() => socket.close())))
      })
  },
  "GET /api/sdk/prompts/{key}": {
    kind: "byId",
    reason: "{key} is A's published prompt key (in A's environment)",
    setup: () =>
      Effect.map(aPrompt({ versions: 2, rollout: true }), (p) => ({
        probes: [{ params: { key: p.key } }, { params: { key: p.key }, query: "?env=prod&user_id=someone" }],
        view: promptView(p)
      }))
  },
  "POST /api/playground/run": promptInBody(2, (p) => [
    { id: p.id, variables: { name: "x" } },
    { key: p.key, env: "prod", variables: { name: "x" } },
    { key: p.key, env: "prod", version: "v1", variables: { name: "x" } }
  ]),
  "POST /api/playground/run/stream": promptInBody(2, (p) => [
    { id: p.id, variables: { name: "x" } },
    { key: p.key, env: "prod", variables: { name: "x" } },
    { key: p.key, env: "prod", version: "v1", variables: { name: "x" } }
  ]),
  "GET /api/prompts/settings": {
    kind: "own",
    reason: "the caller organization's serving mode of ?workspace= (a name: the same name in another organization is another setting)",
    check: ({ world, callers }) =>
      Effect.gen(function*() {
        const workspace = world.unique("serving")
        const path = "/api/prompts/settings?workspace=" + encodeURIComponent(workspace)
        yield* asA("PUT", path, { serving: "published" })
        for (const caller of callers) {
          const reply = yield* call("GET", path, { token: caller.token })
          const body = ok<{ data: { serving: string; updated_by: string | null } }>(reply, `${caller.name}: GET ${path}`)
          assert.deepStrictEqual([body.data.serving, body.data.updated_by], ["live", null], `${caller.name}: B's own default`)
          assertClean(world, reply, `${caller.name}: GET ${path}`, [workspace])
        }
      })
  },
  "PUT /api/prompts/settings": {
    kind: "own",
    reason: "sets the caller organization's serving mode of ?workspace= only",
    check: ({ world, callers }) =>
      Effect.gen(function*() {
        for (const caller of callers) {
          const workspace = world.unique("serving")
          const path = "/api/prompts/settings?workspace=" + encodeURIComponent(workspace)
          yield* asA("PUT", path, { serving: "live" })
          const before = yield* view(path)
          const body = { serving: "published" }
          const reply = yield* call("PUT", path, { token: caller.token, body })
          assert.strictEqual(ok<{ data: { serving: string } }>(reply, `${caller.name}: PUT ${path}`).data.serving, "published")
          assertClean(world, reply, `${caller.name}: PUT ${path}`, sentStrings(path, body))
          assert.deepStrictEqual(yield* view(path), before, "A's setting is unchanged")
        }
      })
  },
  "GET /api/playground/providers/openai": {
    kind: "own",
    reason: "the caller organization's configuration of ?workspace= (a free-form name, not an id: the same name in another " +
      "organization is another configuration)",
    check: ({ world, callers }) =>
      Effect.gen(function*() {
        const workspace = yield* aProviderConfig
        const q = encodeURIComponent(workspace)
        const mine = yield* asA<ProviderConfigBody>("GET", providerPath(workspace))
        assert.isTrue(mine.data?.api_key_set === true && mine.data.base_url.includes(world.marker), "control: A reads its configuration")
        const aModels = yield* call("GET", `/api/v1/models?workspace=${q}`, { token: world.a.token })
        assert.include(aModels.text, world.marker, "control: A's models of the workspace show A's model")
        for (const caller of callers) {
          const reply = yield* call("GET", providerPath(workspace), { token: caller.token })
          assert.isNull(ok<ProviderConfigBody>(reply, `${caller.name}: GET ${providerPath(workspace)}`).data, `${caller.name}: nothing configured in B`)
          assertClean(world, reply, `${caller.name}: GET ${providerPath(workspace)}`, [workspace])
          for (const path of ["/api/playground/providers/openai", `/api/playground/providers?workspace=${q}`, `/api/v1/models?workspace=${q}`]) {
            const other = yield* call("GET", path, { token: caller.token })
            ok(other, `${caller.name}: GET ${path}`)
            assertClean(world, other, `${caller.name}: GET ${path}`, [workspace])
          }
        }
      })
  },
  "PUT /api/playground/providers/openai": {
    kind: "own",
    reason: "sets the caller organization's configuration of ?workspace= (B may use A's workspace name: it is B's own)",
    check: ({ world, callers }) =>
      Effect.gen(function*() {
        for (const caller of callers) {
          const workspace = yield* aProviderConfig
          const path = providerPath(workspace)
          const before = yield* view(path)
          const body = bProviderBody()
          yield* copiedByB(workspace)
          const reply = yield* call("PUT", path, { token: caller.token, body })
          const saved = ok<ProviderConfigBody>(reply, `${caller.name}: PUT ${path}`)
          assert.strictEqual(saved.data?.base_url, body.base_url)
          assertClean(world, reply, `${caller.name}: PUT ${path}`, sentStrings(path, body))
          const theirs = yield* call("GET", path, { token: caller.token })
          assert.strictEqual(ok<ProviderConfigBody>(theirs, `${caller.name}: GET ${path}`).data?.base_url, body.base_url, "B reads its own")
          assertClean(world, theirs, `${caller.name}: GET ${path}`, sentStrings(path, body))
          assert.deepStrictEqual(yield* view(path), before, "A's configuration is unchanged")
        }
      })
  },
  "DELETE /api/playground/providers/openai": {
    kind: "own",
    reason: "removes the caller organization's configuration of ?workspace= only",
    check: ({ world, callers }) =>
      Effect.gen(function*() {
        for (const caller of callers) {
          const workspace = yield* aProviderConfig
          const path = providerPath(workspace)
          const before = yield* view(path)
          yield* copiedByB(workspace)
          ok(yield* call("PUT", path, { token: caller.token, body: bProviderBody() }), `${caller.name}: PUT ${path}`)
          const reply = yield* call("DELETE", path, { token: caller.token })
          ok(reply, `${caller.name}: DELETE ${path}`)
          assertClean(world, reply, `${caller.name}: DELETE ${path}`, [workspace])
          const theirs = yield* call("GET", path, { token: caller.token })
          assert.isNull(ok<ProviderConfigBody>(theirs, `${caller.name}: GET ${path}`).data, "B's own configuration is removed")
          assert.deepStrictEqual(yield* view(path), before, "A's configuration is unchanged")
        }
      })
  },
  "GET /api/playground/providers": ownRead("the server's providers: nothing of an organization's"),
  "GET /api/v1/models": ownRead("the server's models: nothing of an organization's"),
  "GET /api/v1/llm-usage": {
    kind: "own",
    reason: "the caller organization's model usage: A's runs do not count in B's",
    check: ({ world, callers }) =>
      Effect.gen(function*() {
        const totals = (token: string) =>
          Effect.map(call("GET", "/api/v1/llm-usage", { token }), (reply) => {
            assertClean(world, reply, "GET /api/v1/llm-usage")
            return ok<{ totals: { calls: number } }>(reply, "GET /api/v1/llm-usage").totals.calls
          })
        const before = yield* Effect.forEach(callers, (caller) => totals(caller.token))
        const aBefore = yield* totals(world.a.token)
        yield* asA("POST", "/api/playground/run", { content: `${world.unique("inline")} {{name}}`, variables: { name: "x" } })
        assert.isAbove(yield* totals(world.a.token), aBefore, "control: A's run counts in A's usage")
        assert.deepStrictEqual(yield* Effect.forEach(callers, (caller) => totals(caller.token)), before, "A's run counts in B's usage")
      })
  },
  "GET /ws": {
    kind: "own",
    reason: "the caller organization's change stream (authenticated by ?token=): replay and live frames are B's only",
    check: ({ world }) =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        yield* aPrompt({ versions: 1 })
        const url = `${kit.baseUrl.replace(/^http/, "ws")}/ws?token=${encodeURIComponent(world.b.owner.token)}&since=0&hello=1`
        const socket = yield* Effect.promise(() => openWs(url))
        const text = yield* Effect.gen(function*() {
          yield* Effect.promise(() => socket.until((t) => t.includes("hello")))
          yield* aPrompt({ versions: 1 })
          // B's own change proves the stream is live; A's changes, replayed or live, would come before it.
          const key = `orgb.prompt.${crypto.randomUUID().slice(0, 8)}`
          ok(yield* call("POST", "/api/prompts", { token: world.b.owner.token, body: { key, content: "orgb" } }), "B makes a prompt")
          return yield* Effect.promise(() => socket.until((t) => t.includes(key)))
        }).pipe(Effect.ensuring(Effect.sync(() => socket.close())))
        assert.deepStrictEqual(leaksIn(world, text), [], `B's /ws frames show A's changes: ${text.slice(0, 1000)}`)
      })
  },

  // --- the example plugin
  "GET /api/hello/greetings": {
    ...ownList("/api/hello/greetings", Effect.map(aGreeting, (g) => [g.id]), "the caller organization's greetings"),
  },
  "POST /api/hello/greetings": ownCreate({
    reason: "creates a greeting of the caller's organization",
    body: () => ({ name: `orgb-${crypto.randomUUID().slice(0, 8)}` }),
    status: 201,
    idOf: plainId,
    aList: "/api/hello/greetings",
  }),
  "GET /api/hello/events": {
    kind: "own",
    reason: "the caller organization's greeting events (SSE, replayed from the beginning)",
    check: ({ world, callers }) =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        yield* aGreeting
        for (const caller of callers) {
          const stream = yield* Effect.promise(() =>
            openSse(`${kit.baseUrl}/api/hello/events`, { authorization: `Bearer ${caller.token}` })
          )
          const text = yield* Effect.gen(function*() {
            assert.strictEqual(stream.status, 200)
            yield* aGreeting
            const name = `orgb-${crypto.randomUUID().slice(0, 8)}`
            ok(yield* call("POST", "/api/hello/greetings", { token: world.b.owner.token, body: { name } }), "B greets", 201)
            return yield* Effect.promise(() => stream.until((t) => t.includes(name)))
          }).pipe(Effect.ensuring(Effect.sync(() => stream.close())))
          assert.deepStrictEqual(leaksIn(world, text), [], `${caller.name}: B's event stream shows A's greetings: ${text.slice(0, 600)}`)
        }
      })
  },
  "GET /api/hello/greetings/{id}": {
    kind: "byId",
    setup: () => Effect.map(aGreeting, (g) => ({ probes: [{ params: { id: g.id } }], view: view(`/api/hello/greetings/${g.id}`) }))
  }
}

// ---------------------------------------------------------------------------------------------
// The RPC matrix: the same operations at `/rpc`, keyed by tag.

interface RpcContext {
  readonly world: WorldShape
  readonly tag: string
  readonly callers: ReadonlyArray<Caller>
}

interface RpcProbe {
  readonly payload: unknown
  /** The status of the expected failure (404 unless given). */
  readonly status?: number
  /** What B's service key gets instead (tickets: 403 cross_org_denied, as over HTTP). */
  readonly service?: { readonly status: number; readonly code: string }
}

interface RpcTarget {
  readonly probes: ReadonlyArray<RpcProbe>
  readonly view: Effect.Effect<ReadonlyArray<Snapshot>, unknown, Env>
}

type RpcEntry =
  | { readonly kind: "own"; readonly reason: string; readonly check: (context: RpcContext) => Effect.Effect<void, unknown, Env>; readonly leak?: string }
  | { readonly kind: "byId"; readonly setup: (world: WorldShape) => Effect.Effect<RpcTarget, unknown, Env>; readonly leak?: string }

/** The value of a successful RPC, asserting it succeeded and shows nothing of A's. */
const rpcClean = (world: WorldShape, reply: RpcReply, what: string, sent: ReadonlyArray<string> = []) => {
  assert.strictEqual(reply.exit?._tag, "Success", `${what}: ${reply.text.slice(0, 500)}`)
  const found = leaksIn(world, reply.text, sent)
  assert.deepStrictEqual(found, [], `${what} shows organization A's data: ${reply.text.slice(0, 500)}`)
  return (reply.exit as { readonly value: unknown }).value
}

/** A ticket RPC: A's ticket in `state`, named under A's project and under B's. */
const ticketRpc = (state: TicketState, extra: (t: ATicket) => Record<string, unknown> = () => ({})): RpcEntry => ({
  kind: "byId",
  setup: (world) =>
    Effect.map(aTicket(state), (t) => ({
      probes: [
        { payload: { project_id: t.projectId, ticket_id: t.id, ...extra(t) }, service: crossOrgDenied },
        { payload: { project_id: world.b.projectId, ticket_id: t.id, ...extra(t) } }
      ],
      view: ticketView(t)
    }))
})

const promptRpc = (options: { readonly versions: number; readonly rollout?: boolean }, extra: Record<string, unknown> = {}): RpcEntry => ({
  kind: "byId",
  setup: () => Effect.map(aPrompt(options), (p) => ({ probes: [{ payload: { id: p.id, ...extra } }], view: promptView(p) }))
})

/** A list RPC: A's seeded ids are in A's answer, and nothing of A's is in B's. */
const rpcOwnList = (payload: unknown, seed: Effect.Effect<ReadonlyArray<string>, unknown, Env>): RpcEntry => ({
  kind: "own",
  reason: "a list of the caller's organization",
  check: ({ world, tag, callers }) =>
    Effect.gen(function*() {
      const ids = yield* seed
      const mine = JSON.stringify(yield* rpcAsA(tag, payload))
      for (const id of ids) assert.include(mine, id, `control: A's own ${tag} shows ${id}`)
      for (const caller of callers) rpcClean(world, yield* rpc(caller.token, tag, payload), `${caller.name}: ${tag}`)
    })
})

/** B creates under the name of one of A's: allowed (names are per organization), B's, and A's is untouched. */
const rpcOwnCreateSameName = <A extends { readonly id: string }>(options: {
  readonly seed: Effect.Effect<A, unknown, Env>
  readonly payload: (seed: A) => unknown
  readonly aView: (seed: A) => ReadonlyArray<string>
}): RpcEntry => ({
  kind: "own",
  reason: "creates in the caller's organization; names are unique per organization",
  check: ({ world, tag, callers }) =>
    Effect.gen(function*() {
      for (const caller of callers) {
        const seed = yield* options.seed
        const before = yield* view(...options.aView(seed))
        const payload = options.payload(seed)
        yield* copiedByB(...sentStrings("", payload))
        const created = rpcClean(world, yield* rpc(caller.token, tag, payload), `${caller.name}: ${tag} with A's name`, sentStrings("", payload))
        assert.notStrictEqual((created as { id: string }).id, seed.id, "a new resource, not A's")
        assert.deepStrictEqual(yield* view(...options.aView(seed)), before, "A's resource is unchanged")
      }
    })
})

const rpcMatrix: Record<string, RpcEntry> = {
  // --- tickets
  "tickets.ListProjects": rpcOwnList(null, Effect.map(aProject, (p) => [p.id])),
  "tickets.CreateProject": rpcOwnCreateSameName({
    seed: aProject,
    payload: (p) => ({ name: "orgb project", git_remote_normalized: p.remote }),
    aView: (p) => [`/api/v1/projects/${p.id}`]
  }),
  "tickets.GetProject": {
    kind: "byId",
    setup: () =>
      Effect.map(aProject, (p) => ({
        probes: [{ payload: { project: p.id } }, { payload: { project: p.remote } }],
        view: view(`/api/v1/projects/${p.id}`)
      }))
  },
  "tickets.DeleteProject": {
    kind: "byId",
    setup: () => Effect.map(aProject, (p) => ({ probes: [{ payload: { project_id: p.id } }], view: view(`/api/v1/projects/${p.id}`) }))
  },
  "tickets.ListTickets": {
    kind: "byId",
    setup: () =>
      Effect.map(aTicket("open"), (t) => ({
        probes: [{ payload: { project_id: t.projectId }, service: crossOrgDenied }],
        view: view(`/api/v1/projects/${t.projectId}/tickets`)
      }))
  },
  "tickets.CreateTicket": {
    kind: "byId",
    setup: (world) =>
      Effect.map(aTicket("open"), (t) => ({
        probes: [
          { payload: { project_id: t.projectId, ticket: { title: "orgb intruding ticket" } }, service: crossOrgDenied },
          { payload: { project_id: world.b.projectId, ticket: { title: "orgb depends", depends_on: [t.id] } }, status: 400 },
          { payload: { project_id: world.b.projectId, ticket: { title: "orgb child", parent_ticket_id: t.id } }, status: 422 }
        ],
        view: view(`/api/v1/projects/${t.projectId}/tickets`, ticketPath(t))
      }))
  },
  "tickets.GetTicket": ticketRpc("open"),
  "tickets.UpdateTicket": ticketRpc("open", () => ({ update: { title: "orgb hijack" } })),
  "tickets.StartTicket": ticketRpc("open"),
  "tickets.RenewLease": ticketRpc("in_progress", (t) => ({ lease_epoch: t.leaseEpoch })),
  "tickets.CompleteTicket": ticketRpc("in_progress", (t) => ({ completion: { notes: "orgb completes", lease_epoch: t.leaseEpoch } })),
  "tickets.ResolveTicket": ticketRpc("review"),
  "tickets.CloseTicket": ticketRpc("issue in_progress"),
  "tickets.TransitionTicket": {
    kind: "byId",
    setup: (world) =>
      Effect.gen(function*() {
        const cases = [["approve", "suggested"], ["block", "in_progress"], ["unblock", "blocked"], ["reopen", "review"], ["dismiss", "open"]] as const
        const tickets = yield* Effect.forEach(cases, ([transition, state]) => Effect.map(aTicket(state), (t) => ({ transition, t })))
        return {
          probes: tickets.flatMap(({ t, transition }) => [
            { payload: { project_id: t.projectId, ticket_id: t.id, transition } },
            { payload: { project_id: world.b.projectId, ticket_id: t.id, transition } }
          ]),
          view: Effect.map(Effect.forEach(tickets, ({ t }) => ticketView(t)), (views) => views.flat())
        }
      })
  },
  "tickets.EscalateTicket": ticketRpc("open", () => ({ reason: "orgb escalates" })),
  "tickets.AddComment": ticketRpc("open", () => ({ comment: { content: "orgb comments" } })),
  "tickets.ListComments": ticketRpc("open"),
  "tickets.GetReviewState": ticketRpc("open"),
  "tickets.ListEdits": ticketRpc("open"),
  "tickets.GetSettings": {
    kind: "own",
    reason: "the caller organization's settings",
    check: ({ world, tag, callers }) =>
      Effect.gen(function*() {
        yield* asA("PUT", "/api/v1/tickets/settings", { require_lease_epoch_on_ticket_writes: true })
        for (const caller of callers) {
          const value = rpcClean(world, yield* rpc(caller.token, tag, null), `${caller.name}: ${tag}`)
          assert.isFalse((value as { require_lease_epoch_on_ticket_writes: boolean }).require_lease_epoch_on_ticket_writes)
        }
      }).pipe(Effect.ensuring(Effect.orDie(asA("PUT", "/api/v1/tickets/settings", { require_lease_epoch_on_ticket_writes: false }))))
  },
  "tickets.SetSettings": {
    kind: "own",
    reason: "sets the caller organization's settings",
    check: ({ world, tag, callers }) =>
      Effect.gen(function*() {
        for (const caller of callers) {
          rpcClean(world, yield* rpc(caller.token, tag, { require_lease_epoch_on_ticket_writes: true }), `${caller.name}: ${tag}`)
          const mine = yield* asA<{ require_lease_epoch_on_ticket_writes: boolean }>("GET", "/api/v1/tickets/settings")
          assert.isFalse(mine.require_lease_epoch_on_ticket_writes, "B's setting changed A's")
        }
      }).pipe(Effect.ensuring(resetB))
  },

  // --- prompts
  "prompts.List": rpcOwnList({}, Effect.map(aPrompt({ versions: 1 }), (p) => [p.id])),
  "prompts.Create": rpcOwnCreateSameName({
    seed: aPrompt({ versions: 1 }),
    payload: (p) => ({ key: p.key, env: "prod", content: "orgb content" }),
    aView: (p) => [`/api/prompts/${p.id}`, `/api/sdk/prompts/${p.key}?env=prod`]
  }),
  "prompts.Get": promptRpc({ versions: 1 }),
  "prompts.Update": promptRpc({ versions: 1 }, { changes: { name: "orgb hijack" } }),
  "prompts.Delete": promptRpc({ versions: 1 }),
  "prompts.Versions": promptRpc({ versions: 2 }),
  "prompts.Publish": promptRpc({ versions: 1 }, { note: "orgb publishes" }),
  "prompts.Rollback": promptRpc({ versions: 2 }, { version: "v1" }),
  "prompts.GetRollout": promptRpc({ versions: 2, rollout: true }),
  "prompts.SetRollout": promptRpc({ versions: 2 }, { rollout: { enabled: true, variant_a: "v1", variant_b: "v2", weight_a: 10 } }),
  "prompts.DeleteRollout": promptRpc({ versions: 2, rollout: true }),
  "prompts.Fetch": {
    kind: "byId",
    setup: () =>
      Effect.map(aPrompt({ versions: 2, rollout: true }), (p) => ({
        probes: [{ payload: { key: p.key } }, { payload: { key: p.key, env: "prod", sticky_key: "someone" } }],
        view: promptView(p)
      }))
  },

  // --- the example plugin
  "hello.Greet": {
    kind: "own",
    reason: "creates a greeting of the caller's organization",
    check: ({ world, tag, callers }) =>
      Effect.gen(function*() {
        for (const caller of callers) {
          const created = rpcClean(world, yield* rpc(caller.token, tag, { name: `orgb-${crypto.randomUUID().slice(0, 8)}` }), `${caller.name}: ${tag}`)
          const theirs = JSON.stringify(yield* asA<unknown>("GET", "/api/hello/greetings"))
          assert.notInclude(theirs, (created as { id: string }).id, `what ${caller.name} made shows up in A's greetings`)
        }
      })
  },
  "hello.GetGreeting": {
    kind: "byId",
    setup: () => Effect.map(aGreeting, (g) => ({ probes: [{ payload: { id: g.id } }], view: view(`/api/hello/greetings/${g.id}`) }))
  }
}

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
