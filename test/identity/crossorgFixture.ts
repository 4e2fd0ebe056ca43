/**
 * The two organizations of the cross-organization matrix (`crossorg.test.ts`) and the helpers
 * its entries share: JSON calls, the leak scan, and raw readers for the live routes (SSE and
 * WebSocket).
 *
 * Organization A is `org_default`, acted in by the first admin user (`admin`, its owner).
 * Everything A creates carries `marker` in its names, so a response to B that contains the
 * marker, or any id A created (`aIds`), shows A's data. Organization B is made the way a
 * stranger would make one: agent self-registration. B is called by three credentials: its
 * owner agent's user key, a human admin's session (with a verified email), and a service key
 * holding every declared scope.
 */
import { assert } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import type { HttpApiEndpoint } from "effect/http-api"
import { SqlClient } from "effect/sql"
import * as TestKit from "trellis/testing"
import { Authentication } from "../../src/auth/Authentication.ts"
import { Requires } from "../../src/auth/Requirement.ts"
import type { Requirement } from "../../src/auth/Requirement.ts"
import type * as Plugin from "../../src/plugin/Plugin.ts"
import { hostRoutes } from "../../src/plugin/PluginHost.ts"
import type { Composition } from "../../src/plugin/PluginHost.ts"
import * as Server from "../../src/server/Server.ts"
import * as WebRoute from "../../src/web/WebRoute.ts"

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE"

export interface Caller {
  readonly name: string
  readonly kind: "user" | "service"
  readonly token: string
}

/** What the composed API declares about one route. */
export interface RouteInfo {
  readonly requirement: Requirement | undefined
  readonly authenticated: boolean
}

export interface WorldShape {
  /** In every name, title, email and content organization A creates. */
  readonly marker: string
  /** Every id organization A created (and `org_default`). */
  readonly aIds: Set<string>
  /**
   * A's names that B deliberately used for resources of its own (names are unique per
   * organization, so B may): B's answers may show them, they are B's now. A's ids still count.
   */
  readonly bCopies: Set<string>
  readonly a: { readonly orgId: string; readonly token: string; readonly userId: string }
  readonly b: {
    readonly orgId: string
    readonly owner: Caller
    readonly admin: Caller & { readonly userId: string; readonly username: string; readonly password: string }
    readonly service: Caller
    /** A project of B's, for probes that pair B's own project with A's ticket. */
    readonly projectId: string
  }
  readonly composition: Composition
  /**
   * `METHOD /path/{param}` of every route the server serves (OpenAPI spelling): the composed
   * API's, and the host's own (`/metrics`, `/openapi.json`, `/docs`, `/rpc`).
   */
  readonly routes: ReadonlyMap<string, RouteInfo>
  /** Every RPC tag served at `/rpc`, with its requirement. */
  readonly rpcs: ReadonlyMap<string, Requirement | undefined>
  /** A fresh name carrying the marker: `<marker>-<what>-<n>`. */
  readonly unique: (what: string) => string
  /** B's callers that may reach a route at all (service keys only where a scope is named). */
  readonly callersFor: (key: string) => ReadonlyArray<Caller>
  /** The same for an RPC tag. */
  readonly callersForRpc: (tag: string) => ReadonlyArray<Caller>
}

export class World extends Context.Service<World, WorldShape>()("test/identity/crossorg/World") {}

export type Env = TestKit.TrellisTest | SqlClient.SqlClient | World

// ---------------------------------------------------------------------------------------------
// Calls

export interface Reply {
  readonly status: number
  readonly contentType: string
  readonly text: string
  readonly body: unknown
}

export interface CallOptions {
  readonly token?: string | null | undefined
  readonly body?: unknown
  readonly headers?: Record<string, string> | undefined
}

/** A request; the body is read as text and parsed when it is JSON. Never fails on a status. */
export const call = (method: Method, path: string, options: CallOptions = {}) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request(method, path, options)
    const text = yield* response.text
    let body: unknown = undefined
    try {
      body = text === "" ? undefined : JSON.parse(text)
    } catch {
      body = text
    }
    return { status: response.status, contentType: response.headers["content-type"] ?? "", text, body } satisfies Reply
  })

/** Asserts a 2xx status (or the given one) and returns the body. */
export const ok = <A>(reply: Reply, what: string, status?: number): A => {
  const good = status === undefined ? reply.status >= 200 && reply.status < 300 : reply.status === status
  assert.isTrue(good, `${what}: expected ${status ?? "2xx"}, got ${reply.status}: ${reply.text.slice(0, 500)}`)
  return reply.body as A
}

/** A call as organization A (its owner's session), asserting success. */
export const asA = <A>(method: Method, path: string, body?: unknown, status?: number) =>
  Effect.gen(function*() {
    const world = yield* World
    return ok<A>(yield* call(method, path, { token: world.a.token, body }), `A: ${method} ${path}`, status)
  })

/** Records A's names that B used for resources of its own (see `bCopies`). */
export const copiedByB = (...names: ReadonlyArray<string>) =>
  Effect.map(World, (world) => {
    for (const name of names) world.bCopies.add(name)
  })

/** Registers ids organization A created, so the leak scan looks for them. */
export const registerA = (...ids: ReadonlyArray<string>) =>
  Effect.map(World, (world) => {
    for (const id of ids) world.aIds.add(id)
  })

/** What an RPC answered: the raw NDJSON, and its exit. */
export interface RpcReply {
  readonly text: string
  readonly exit:
    | { readonly _tag: "Success"; readonly value: unknown }
    | {
      readonly _tag: "Failure"
      readonly cause: ReadonlyArray<{ readonly _tag: string; readonly error?: { readonly status?: number; readonly code?: string } }>
    }
    | undefined
}

/** One RPC at `/rpc` (NDJSON, as the server speaks it), with the token in the RPC's headers. */
export const rpc = (token: string, tag: string, payload: unknown) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const line = JSON.stringify({ _tag: "Request", id: "1", tag, payload: payload ?? null, headers: [["authorization", `Bearer ${token}`]] })
    const text = yield* Effect.promise(() =>
      fetch(`${kit.baseUrl}/rpc`, { method: "POST", headers: { "content-type": "application/ndjson" }, body: `${line}\n` })
        .then((response) => response.text())
    )
    const messages = text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as { _tag: string; exit?: RpcReply["exit"] })
    return { text, exit: messages.find((m) => m._tag === "Exit")?.exit } satisfies RpcReply
  })

/** An RPC as organization A, asserting success; its value. */
export const rpcAsA = <A>(tag: string, payload: unknown) =>
  Effect.gen(function*() {
    const world = yield* World
    const reply = yield* rpc(world.a.token, tag, payload)
    assert.strictEqual(reply.exit?._tag, "Success", `A: ${tag}: ${reply.text.slice(0, 500)}`)
    return (reply.exit as { readonly value: A }).value
  })

// ---------------------------------------------------------------------------------------------
// The leak scan

const stringsOf = (value: unknown, into: Array<string>): Array<string> => {
  if (typeof value === "string") into.push(value)
  else if (Array.isArray(value)) for (const v of value) stringsOf(v, into)
  else if (typeof value === "object" && value !== null) for (const v of Object.values(value)) stringsOf(v, into)
  return into
}

/** The strings a request carried: what the answer may echo without leaking anything. */
export const sentStrings = (path: string, body: unknown): ReadonlyArray<string> => {
  const [pathname, query = ""] = path.split("?")
  const out: Array<string> = []
  for (const segment of pathname.split("/")) {
    out.push(segment)
    try {
      out.push(decodeURIComponent(segment))
    } catch {
      // not an encoded segment
    }
  }
  for (const [, value] of new URLSearchParams(query)) out.push(value)
  return stringsOf(body, out).filter((s) => s.length >= 4)
}

/**
 * What of organization A's appears in `text`, once the strings the caller sent are taken out:
 * the marker (A's names, titles, emails, contents) and A's ids.
 */
export const leaksIn = (world: WorldShape, text: string, sent: ReadonlyArray<string> = []): ReadonlyArray<string> => {
  let rest = text
  for (const s of [...sent, ...world.bCopies].sort((x, y) => y.length - x.length)) rest = rest.split(s).join("")
  const found: Array<string> = []
  const at = rest.indexOf(world.marker)
  if (at >= 0) found.push(`A's marker in ${JSON.stringify(rest.slice(Math.max(0, at - 60), at + 60))}`)
  for (const id of world.aIds) if (rest.includes(id)) found.push(`A's id ${id}`)
  return found
}

/** Asserts a reply to B shows nothing of A's. */
export const assertClean = (world: WorldShape, reply: Reply, what: string, sent: ReadonlyArray<string> = []) => {
  const found = leaksIn(world, reply.text, sent)
  assert.deepStrictEqual(found, [], `${what} shows organization A's data: ${reply.text.slice(0, 500)}`)
}

// ---------------------------------------------------------------------------------------------
// Live routes

/** An open stream's raw text so far, and a way to wait for something in it. */
export interface LiveReader {
  readonly status: number
  readonly text: () => string
  readonly until: (predicate: (text: string) => boolean, timeoutMs?: number) => Promise<string>
  readonly close: () => void
}

const waiting = (read: () => string, isDone: () => boolean, subscribe: (wake: () => void) => () => void) =>
  (predicate: (text: string) => boolean, timeoutMs = 10_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (predicate(read())) {
          cleanup()
          resolve(read())
          return true
        }
        if (isDone()) {
          cleanup()
          reject(new Error(`stream ended first; got ${read().slice(0, 1000)}`))
          return true
        }
        return false
      }
      const unsubscribe = subscribe(() => void check())
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`nothing matching within ${timeoutMs} ms; got ${read().slice(0, 1000)}`))
      }, timeoutMs)
      const cleanup = () => {
        clearTimeout(timer)
        unsubscribe()
      }
      check()
    })

/** Opens a Server-Sent Events route and collects its raw text. */
export const openSse = async (url: string, headers: Record<string, string>): Promise<LiveReader> => {
  const controller = new AbortController()
  const response = await fetch(url, { headers, signal: controller.signal })
  let text = ""
  let done = false
  const wakers = new Set<() => void>()
  const wake = () => {
    for (const w of [...wakers]) w()
  }
  void (async () => {
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    try {
      for (;;) {
        const chunk = await reader.read()
        if (chunk.done) break
        text += decoder.decode(chunk.value, { stream: true })
        wake()
      }
    } catch {
      // aborted by close()
    } finally {
      done = true
      wake()
    }
  })()
  return {
    status: response.status,
    text: () => text,
    until: waiting(() => text, () => done, (w) => {
      wakers.add(w)
      return () => wakers.delete(w)
    }),
    close: () => controller.abort()
  }
}

/** Opens a WebSocket and collects its text frames (one per line). */
export const openWs = (url: string): Promise<LiveReader> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(url)
    let text = ""
    let done = false
    let opened = false
    const wakers = new Set<() => void>()
    const wake = () => {
      for (const w of [...wakers]) w()
    }
    socket.addEventListener("message", (event) => {
      text += `${String(event.data)}\n`
      wake()
    })
    socket.addEventListener("close", () => {
      done = true
      wake()
    })
    socket.addEventListener("error", () => {
      if (!opened) reject(new Error(`WebSocket handshake to ${url} failed`))
    })
    socket.addEventListener("open", () => {
      opened = true
      resolve({
        status: 101,
        text: () => text,
        until: waiting(() => text, () => done, (w) => {
          wakers.add(w)
          return () => wakers.delete(w)
        }),
        close: () => socket.close()
      })
    })
  })

// ---------------------------------------------------------------------------------------------
// The world

/** `/a/:id` → `/a/{id}`: the OpenAPI spelling of a route. */
export const openApiPath = (path: string) => path.replace(/:(\w+)/g, "{$1}")

const routeInfos = (composition: Composition): ReadonlyMap<string, RouteInfo> => {
  const out = new Map<string, RouteInfo>()
  for (const route of hostRoutes) out.set(`${route.method} ${route.path}`, { requirement: undefined, authenticated: false })
  for (const group of Object.values(composition.api.groups)) {
    for (const endpoint of Object.values(group.endpoints) as unknown as ReadonlyArray<HttpApiEndpoint.Top>) {
      out.set(`${endpoint.method} ${openApiPath(endpoint.path)}`, {
        requirement: Context.get(endpoint.annotations, Requires),
        authenticated: endpoint.middlewares.has(Authentication)
      })
    }
  }
  // Plugins' web routes (`WebRoute`): not in the OpenAPI document, walked all the same.
  for (const { route } of composition.webRoutes) {
    out.set(`${route.method} ${openApiPath(route.path)}`, {
      requirement: WebRoute.requirementOf(route),
      authenticated: WebRoute.isAuthenticated(route)
    })
  }
  return out
}

const rpcInfos = (composition: Composition): ReadonlyMap<string, Requirement | undefined> => {
  const out = new Map<string, Requirement | undefined>()
  for (const plugin of composition.plugins) {
    for (const [tag, rpc] of plugin.rpc?.requests ?? []) out.set(tag, Context.get(rpc.annotations, Requires))
  }
  return out
}

const password = "cross organization password 1"

export const worldLayer = (plugins: ReadonlyArray<Plugin.Any>) =>
  Layer.effect(
    World,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const composition = yield* Server.compose(plugins)
      const routes = routeInfos(composition)
      const marker = `orga${crypto.randomUUID().replace(/-/g, "").slice(0, 10)}`
      let counter = 0
      const unique = (what: string) => `${marker}-${what}-${++counter}`
      const json = <A>(method: Method, path: string, options: CallOptions, what: string, status?: number) =>
        Effect.map(call(method, path, options), (reply) => ok<A>(reply, what, status))

      // A: the first admin user, owner of org_default.
      const aLogin = yield* json<{ token: string; user_id: string; organization_id: string }>(
        "POST",
        "/api/login",
        { token: null, body: { username: "admin", password: TestKit.adminPassword } },
        "A signs in"
      )
      assert.strictEqual(aLogin.organization_id, "org_default")

      // B: an organization of its own, made by agent self-registration.
      const registered = yield* json<{ apiKey: string; tenantId: string }>(
        "POST",
        "/v1/auth/agent/register",
        { token: null, body: { name: "Organization B agent", owner_email: "owner-b@example.test" } },
        "B registers",
        201
      )
      const bOrg = registered.tenantId
      assert.notStrictEqual(bOrg, "org_default")
      const owner: Caller = { name: "B's owner agent (user key)", kind: "user", token: registered.apiKey }

      // A human admin of B: created by the admin token acting in B, email verified, signed in.
      const adminName = `orgb-admin-${crypto.randomUUID().slice(0, 8)}`
      const created = yield* json<{ data: { id: string; organization_id: string } }>(
        "POST",
        "/api/users",
        {
          headers: { "x-trellis-organization": bOrg },
          body: { username: adminName, password, email: `${adminName}@example.test`, role: "admin" }
        },
        "B's admin is created",
        201
      )
      assert.strictEqual(created.data.organization_id, bOrg)
      yield* sql`UPDATE identity.users SET email_verified_at = now() WHERE id = ${created.data.id}`
      const bLogin = yield* json<{ token: string; organization_id: string }>(
        "POST",
        "/api/login",
        { token: null, body: { username: adminName, password } },
        "B's admin signs in"
      )
      assert.strictEqual(bLogin.organization_id, bOrg)

      const declared = [...new Set(composition.plugins.flatMap((p) => p.scopes ?? []))].sort()
      const serviceKey = yield* json<{ key: string }>(
        "POST",
        `/api/v1/orgs/${bOrg}/service-keys`,
        { token: owner.token, body: { name: "B every scope", scopes: declared } },
        "B's service key is created",
        201
      )
      const project = yield* json<{ id: string }>(
        "POST",
        "/api/v1/projects/",
        { token: owner.token, body: { name: "B's project", git_remote_normalized: `orgb/project-${crypto.randomUUID().slice(0, 8)}` } },
        "B's project is created",
        201
      )

      const bCallers = {
        owner,
        admin: { name: "B's admin (session)", kind: "user" as const, token: bLogin.token, userId: created.data.id, username: adminName, password },
        service: { name: "B's service key (every scope)", kind: "service" as const, token: serviceKey.key }
      }
      const callersOf = (requirement: Requirement | undefined): ReadonlyArray<Caller> =>
        requirement !== undefined && requirement.scope !== null
          ? [bCallers.owner, bCallers.admin, bCallers.service]
          : [bCallers.owner, bCallers.admin]
      const rpcs = rpcInfos(composition)

      return World.of({
        marker,
        aIds: new Set(["org_default", aLogin.user_id]),
        bCopies: new Set(),
        a: { orgId: "org_default", token: aLogin.token, userId: aLogin.user_id },
        b: { orgId: bOrg, ...bCallers, projectId: project.id },
        composition,
        routes,
        rpcs,
        unique,
        callersFor: (key) => callersOf(routes.get(key)?.requirement),
        callersForRpc: (tag) => callersOf(rpcs.get(tag))
      })
    })
  )
