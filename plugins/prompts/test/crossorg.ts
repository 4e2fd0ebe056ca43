/**
 * The prompts plugin's entries of the cross-organization matrix (`test/identity/crossorg.test.ts`
 * runs them): every route and RPC of the plugin, and how each stays inside the caller's
 * organization.
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"
import {
  asA,
  assertClean,
  call,
  copiedByB,
  dataId,
  leaksIn,
  ok,
  openWs,
  ownCreateSameName,
  ownList,
  ownRead,
  registerA,
  rpc,
  rpcClean,
  rpcOfRoute,
  rpcOwnCreateSameName,
  rpcOwnList,
  rpcOwnRead,
  sentStrings,
  view,
  World
} from "../../../test/identity/crossorgMatrix.ts"
import type { Entry, PluginMatrix } from "../../../test/identity/crossorgMatrix.ts"

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

const routes: PluginMatrix["routes"] = {
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
    }
  }

export const promptsMatrix: PluginMatrix = {
  plugin: "prompts",
  routes,
  // Derived from the routes (`RpcFromApi`) and served by their handlers: the route's probes, as RPC requests.
  rpcs: {
    "prompts.List": rpcOwnList({}, Effect.map(aPrompt({ versions: 1 }), (p) => [p.id])),
    "prompts.Create": rpcOwnCreateSameName({
      seed: aPrompt({ versions: 1 }),
      payload: (p) => ({ payload: { key: p.key, env: "prod", content: "orgb content" } }),
      aView: (p) => [`/api/prompts/${p.id}`, `/api/sdk/prompts/${p.key}?env=prod`],
      idOf: (value) => (value as { data: { id: string } }).data.id
    }),
    "prompts.Publish": rpcOfRoute(routes["POST /api/prompts/publish"]),
    "prompts.Rollback": rpcOfRoute(routes["POST /api/prompts/rollback"]),
    "prompts.GetSettings": {
      kind: "own",
      reason: "the caller organization's serving mode of ?workspace=",
      check: ({ world, tag, callers }) =>
        Effect.gen(function*() {
          const workspace = world.unique("serving")
          yield* asA("PUT", "/api/prompts/settings?workspace=" + encodeURIComponent(workspace), { serving: "published" })
          for (const caller of callers) {
            const value = rpcClean(world, yield* rpc(caller.token, tag, { query: { workspace } }), `${caller.name}: ${tag}`, [workspace])
            assert.strictEqual((value as { data: { serving: string } }).data.serving, "live", `${caller.name}: B's own default`)
          }
        })
    },
    "prompts.SetSettings": {
      kind: "own",
      reason: "sets the caller organization's serving mode of ?workspace= only",
      check: ({ world, tag, callers }) =>
        Effect.gen(function*() {
          for (const caller of callers) {
            const workspace = world.unique("serving")
            const path = "/api/prompts/settings?workspace=" + encodeURIComponent(workspace)
            yield* asA("PUT", path, { serving: "live" })
            const before = yield* view(path)
            const payload = { query: { workspace }, payload: { serving: "published" } }
            const value = rpcClean(world, yield* rpc(caller.token, tag, payload), `${caller.name}: ${tag}`, sentStrings("", payload))
            assert.strictEqual((value as { data: { serving: string } }).data.serving, "published")
            assert.deepStrictEqual(yield* view(path), before, "A's setting is unchanged")
          }
        })
    },
    "prompts.Get": rpcOfRoute(routes["GET /api/prompts/{id}"]),
    "prompts.Update": rpcOfRoute(routes["PUT /api/prompts/{id}"]),
    "prompts.Remove": rpcOfRoute(routes["DELETE /api/prompts/{id}"]),
    "prompts.Versions": rpcOfRoute(routes["GET /api/prompts/{id}/versions"]),
    "prompts.Diff": rpcOfRoute(routes["GET /api/prompts/{id}/versions/diff"]),
    "prompts.GetRollout": rpcOfRoute(routes["GET /api/prompts/{id}/rollout"]),
    "prompts.SetRollout": rpcOfRoute(routes["PUT /api/prompts/{id}/rollout"]),
    "prompts.DeleteRollout": rpcOfRoute(routes["DELETE /api/prompts/{id}/rollout"]),
    "prompts.Clients": rpcOwnRead("the caller organization's live hot-reload connections", null),
    "prompts.Fetch": rpcOfRoute(routes["GET /api/sdk/prompts/{key}"]),
    "prompts.Run": rpcOfRoute(routes["POST /api/playground/run"]),
    "prompts.Providers": rpcOwnRead("the server's providers: nothing of an organization's", {}),
    "prompts.Models": rpcOwnRead("the server's models: nothing of an organization's", {}),
    "prompts.Usage": rpcOwnRead(
      "the caller organization's model usage",
      {},
      Effect.flatMap(World, (world) => asA("POST", "/api/playground/run", { content: `${world.unique("inline")} {{name}}`, variables: { name: "x" } }))
    ),
    "prompts.GetProviderConfig": {
      kind: "own",
      reason: "the caller organization's configuration of ?workspace= (a free-form name)",
      check: ({ world, tag, callers }) =>
        Effect.gen(function*() {
          const workspace = yield* aProviderConfig
          for (const caller of callers) {
            const value = rpcClean(world, yield* rpc(caller.token, tag, { query: { workspace } }), `${caller.name}: ${tag}`, [workspace])
            assert.isNull((value as ProviderConfigBody).data, `${caller.name}: nothing configured in B`)
          }
        })
    },
    "prompts.SetProviderConfig": {
      kind: "own",
      reason: "sets the caller organization's configuration of ?workspace= (B may use A's workspace name: it is B's own)",
      check: ({ world, tag, callers }) =>
        Effect.gen(function*() {
          for (const caller of callers) {
            const workspace = yield* aProviderConfig
            const before = yield* view(providerPath(workspace))
            const payload = { query: { workspace }, payload: bProviderBody() }
            yield* copiedByB(workspace)
            const value = rpcClean(world, yield* rpc(caller.token, tag, payload), `${caller.name}: ${tag}`, sentStrings("", payload))
            assert.strictEqual((value as ProviderConfigBody).data?.base_url, payload.payload.base_url)
            assert.deepStrictEqual(yield* view(providerPath(workspace)), before, "A's configuration is unchanged")
          }
        })
    },
    "prompts.DeleteProviderConfig": {
      kind: "own",
      reason: "removes the caller organization's configuration of ?workspace= only",
      check: ({ world, tag, callers }) =>
        Effect.gen(function*() {
          for (const caller of callers) {
            const workspace = yield* aProviderConfig
            const before = yield* view(providerPath(workspace))
            yield* copiedByB(workspace)
            rpcClean(world, yield* rpc(caller.token, tag, { query: { workspace } }), `${caller.name}: ${tag}`, [workspace])
            assert.deepStrictEqual(yield* view(providerPath(workspace)), before, "A's configuration is unchanged")
          }
        })
    }
  }
}
