/**
 * The pieces of the cross-organization matrix (`crossorg.test.ts`) that every plugin's entries
 * use: the entry kinds, the generic entry builders and the world's helpers (re-exported from
 * `crossorgFixture.ts`). A plugin keeps its entries in its own folder
 * (`plugins/<id>/test/crossorg.ts`, exporting a `PluginMatrix`); the runner picks them up from
 * `plugins/testSupport.ts`, so a new plugin never edits a platform test.
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { asA, assertClean, call, copiedByB, leaksIn, ok, rpc, rpcAsA, sentStrings, World } from "./crossorgFixture.ts"
import type { Caller, Env, Method, RpcReply, WorldShape } from "./crossorgFixture.ts"

export {
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
  World
} from "./crossorgFixture.ts"
export type { Caller, Env, Method, RpcReply, WorldShape } from "./crossorgFixture.ts"

/** One plugin's entries: its routes (`METHOD /path/{param}`) and its RPC tags, and nothing else. */
export interface PluginMatrix {
  /** The plugin id: every key must be a route (or RPC) that plugin serves. */
  readonly plugin: string
  readonly routes: Readonly<Record<string, Entry>>
  readonly rpcs: Readonly<Record<string, RpcEntry>>
}

// ---------------------------------------------------------------------------------------------
// The entry kinds (see crossorg.test.ts for what each asserts)

export interface Probe {
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
export const crossOrgDenied = { status: 403, code: "cross_org_denied" } as const

export interface Snapshot {
  readonly path: string
  readonly status: number
  readonly body: unknown
}

export interface Target {
  readonly probes: ReadonlyArray<Probe>
  /** A's view of the resource (GETs as A): the same before and after B's calls. */
  readonly view: Effect.Effect<ReadonlyArray<Snapshot>, unknown, Env>
}

export interface Context {
  readonly world: WorldShape
  readonly key: string
  readonly method: Method
  /** B's callers that may reach the route. */
  readonly callers: ReadonlyArray<Caller>
}

export type Check = (context: Context) => Effect.Effect<void, unknown, Env>

export type Entry =
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
// Generic builders

export const view = (...paths: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const world = yield* World
    return yield* Effect.forEach(paths, (path) =>
      Effect.map(call("GET", path, { token: world.a.token }), (reply): Snapshot => ({ path, status: reply.status, body: reply.body })))
  })

export const email = (name: string) => `${name}@example.test`

/**
 * A list of the caller's organization: A makes something (`seed`, its ids) and sees it in its
 * own list; B's list shows nothing of A's.
 */
export const ownList = (path: string, seed: Effect.Effect<ReadonlyArray<string>, unknown, Env>, reason = "a list of the caller's organization"): Entry => ({
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
export const ownRead = (reason: string, extra?: (body: unknown, world: WorldShape, caller: Caller) => void): Entry => ({
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

/**
 * B creates something under the same name as one of A's: names are unique per organization, so
 * it is created (a conflict would tell B that A has it), it is B's, and A's is untouched.
 */
export const ownCreateSameName = <A extends { readonly id: string }>(options: {
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
export const ownCreate = (options: {
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

export const dataId = (body: unknown) => (body as { data: { id: string } }).data.id
export const plainId = (body: unknown) => (body as { id: string }).id

// ---------------------------------------------------------------------------------------------
// The RPC entry kinds and builders

export interface RpcContext {
  readonly world: WorldShape
  readonly tag: string
  readonly callers: ReadonlyArray<Caller>
}

export interface RpcProbe {
  readonly payload: unknown
  /** The status of the expected failure (404 unless given). */
  readonly status?: number
  /** What B's service key gets instead (tickets: 403 cross_org_denied, as over HTTP). */
  readonly service?: { readonly status: number; readonly code: string }
}

export interface RpcTarget {
  readonly probes: ReadonlyArray<RpcProbe>
  readonly view: Effect.Effect<ReadonlyArray<Snapshot>, unknown, Env>
}

export type RpcEntry =
  | { readonly kind: "own"; readonly reason: string; readonly check: (context: RpcContext) => Effect.Effect<void, unknown, Env>; readonly leak?: string }
  | { readonly kind: "byId"; readonly setup: (world: WorldShape) => Effect.Effect<RpcTarget, unknown, Env>; readonly leak?: string }

/** The value of a successful RPC, asserting it succeeded and shows nothing of A's. */
export const rpcClean = (world: WorldShape, reply: RpcReply, what: string, sent: ReadonlyArray<string> = []) => {
  assert.strictEqual(reply.exit?._tag, "Success", `${what}: ${reply.text.slice(0, 500)}`)
  const found = leaksIn(world, reply.text, sent)
  assert.deepStrictEqual(found, [], `${what} shows organization A's data: ${reply.text.slice(0, 500)}`)
  return (reply.exit as { readonly value: unknown }).value
}

/** A list RPC: A's seeded ids are in A's answer, and nothing of A's is in B's. */
export const rpcOwnList = (payload: unknown, seed: Effect.Effect<ReadonlyArray<string>, unknown, Env>): RpcEntry => ({
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
export const rpcOwnCreateSameName = <A extends { readonly id: string }>(options: {
  readonly seed: Effect.Effect<A, unknown, Env>
  readonly payload: (seed: A) => unknown
  readonly aView: (seed: A) => ReadonlyArray<string>
  /** The id of what the RPC made (default: its `id`). */
  readonly idOf?: (value: unknown) => string
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
        const id = options.idOf === undefined ? (created as { id: string }).id : options.idOf(created)
        assert.isString(id, `${caller.name}: ${tag} answered no id`)
        assert.notStrictEqual(id, seed.id, "a new resource, not A's")
        assert.deepStrictEqual(yield* view(...options.aView(seed)), before, "A's resource is unchanged")
      }
    })
})

/**
 * The RPC derived from a `byId` route (`RpcFromApi`): the same probes, sent as the RPC request
 * `{ params, query, payload }`, expecting the same failure. The RPC is served by the route's
 * handler, so the route's setup and A's view apply unchanged.
 */
export const rpcOfRoute = (entry: Entry | undefined): RpcEntry => {
  if (entry === undefined || entry.kind !== "byId") throw new Error("rpcOfRoute: give a byId route entry (write an own RPC entry for the others)")
  return {
    kind: "byId",
    ...(entry.leak === undefined ? {} : { leak: entry.leak }),
    setup: (world) =>
      Effect.map(entry.setup(world), (target): RpcTarget => ({
        view: target.view,
        probes: target.probes.map((probe): RpcProbe => {
          const body = probe.body ?? entry.body
          const query = probe.query === undefined ? undefined : Object.fromEntries(new URLSearchParams(probe.query.replace(/^\?/, "")))
          return {
            payload: {
              ...(probe.params === undefined ? {} : { params: probe.params }),
              ...(query === undefined ? {} : { query }),
              ...(body === undefined ? {} : { payload: body })
            },
            ...(probe.status === undefined ? {} : { status: probe.status }),
            ...(probe.service === undefined ? {} : { service: probe.service })
          }
        })
      }))
  }
}

/** A read of the caller organization's own data: it succeeds and shows nothing of A's (after A wrote `seed`). */
export const rpcOwnRead = (reason: string, payload: unknown, seed: Effect.Effect<unknown, unknown, Env> = Effect.void): RpcEntry => ({
  kind: "own",
  reason,
  check: ({ world, tag, callers }) =>
    Effect.gen(function*() {
      yield* seed
      for (const caller of callers) rpcClean(world, yield* rpc(caller.token, tag, payload), `${caller.name}: ${tag}`, sentStrings("", payload))
    })
})

/** A write to the caller organization's own data: it succeeds, shows nothing of A's, and A's view is unchanged. */
export const rpcOwnWrite = (reason: string, payload: () => unknown, aView: ReadonlyArray<string>): RpcEntry => ({
  kind: "own",
  reason,
  check: ({ world, tag, callers }) =>
    Effect.gen(function*() {
      for (const caller of callers) {
        const before = yield* view(...aView)
        const sent = payload()
        rpcClean(world, yield* rpc(caller.token, tag, sent), `${caller.name}: ${tag}`, sentStrings("", sent))
        assert.deepStrictEqual(yield* view(...aView), before, `${caller.name}: ${tag} changed A's data`)
      }
    })
})
