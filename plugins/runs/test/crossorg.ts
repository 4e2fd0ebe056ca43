/**
 * The runs plugin's entries of the cross-organization matrix (`test/identity/crossorg.test.ts`
 * runs them): every route and RPC of the plugin. Another organization's run is 404 on every
 * route, whatever the status it is in (each probe finds A's run in a status from which the
 * route's control is legal, so a 409 would tell B it exists). Run ids are small numbers, so the
 * entries register A's run titles (which carry A's marker), not the ids, as what must not leak.
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { asA, assertClean, call, ok, openSse, ownList, ownRead, rpc, rpcClean, rpcOfRoute, rpcOwnList, rpcOwnRead, view, World } from "../../../test/identity/crossorgMatrix.ts"
import type { Entry, PluginMatrix } from "../../../test/identity/crossorgMatrix.ts"
import * as TestKit from "trellis/testing"

type AState = "draft" | "waiting" | "paused" | "awaiting_approval" | "failed"

interface ARun {
  readonly id: number
  readonly title: string
}

const until = (id: number, status: string) =>
  Effect.gen(function*() {
    for (;;) {
      const run = yield* asA<{ status: string }>("GET", `/api/runs/${id}`)
      if (run.status === status) return
      // The matrix runs on the test clock: wait in real time.
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
    }
  })

/** A run of A's in `state` (stable: nothing moves it on while B probes). */
const aRun = (state: AState) =>
  Effect.gen(function*() {
    const world = yield* World
    const title = world.unique("run")
    const steps = state === "waiting" || state === "paused"
      ? [{ name: "nap", type: "sleep", ms: 3_600_000 }, { name: "after", type: "render", template: "done" }]
      : [{ name: "ask", type: "approval" }, { name: "after", type: "render", template: "done" }]
    const created = yield* asA<{ id: number }>("POST", "/api/runs", { title, steps, input: { secret: world.unique("input") } }, 201)
    const id = created.id
    if (state !== "draft") {
      yield* asA("POST", `/api/runs/${id}/start`)
      yield* until(id, state === "waiting" || state === "paused" ? "waiting" : "awaiting_approval")
    }
    if (state === "paused") yield* asA("POST", `/api/runs/${id}/pause`)
    if (state === "failed") {
      yield* asA("POST", `/api/runs/${id}/reject`, { notes: world.unique("notes") })
      yield* until(id, "failed")
    }
    return { id, title } satisfies ARun
  })

const runView = (run: ARun) => view(`/api/runs/${run.id}`, `/api/runs/${run.id}/events`, `/api/runs/${run.id}/summary`)

/** A route on A's run in `state`: B gets 404 with A's id. */
const runRoute = (state: AState, body?: unknown): Entry => ({
  kind: "byId",
  ...(body === undefined ? {} : { body }),
  setup: () =>
    Effect.map(aRun(state), (run) => ({
      probes: [{ params: { run: String(run.id) } }],
      view: runView(run)
    }))
})

const routes: PluginMatrix["routes"] = {
  "POST /api/runs": {
    kind: "own",
    reason: "creates a draft in the caller's organization; A cannot see it",
    check: ({ world, callers }) =>
      Effect.gen(function*() {
        for (const caller of callers) {
          const body = { title: "orgb run", steps: [{ name: "a", type: "render", template: "b's" }] }
          const reply = yield* call("POST", "/api/runs", { token: caller.token, body })
          const created = ok<{ id: number }>(reply, `${caller.name}: POST /api/runs`, 201)
          assertClean(world, reply, `${caller.name}: POST /api/runs`)
          const seen = yield* call("GET", `/api/runs/${created.id}`, { token: world.a.token })
          assert.strictEqual(seen.status, 404, `A sees ${caller.name}'s run`)
        }
      })
  },
  "GET /api/runs": ownList("/api/runs", Effect.map(aRun("draft"), (run) => [run.title]), "the caller organization's run log"),
  "GET /api/runs/stats": ownRead("the caller organization's run totals"),
  "GET /api/runs/{run}": runRoute("draft"),
  "POST /api/runs/{run}/start": runRoute("draft"),
  "POST /api/runs/{run}/pause": runRoute("waiting"),
  "POST /api/runs/{run}/resume": runRoute("paused"),
  "POST /api/runs/{run}/cancel": runRoute("waiting"),
  "POST /api/runs/{run}/retry": runRoute("failed"),
  "POST /api/runs/{run}/approve": runRoute("awaiting_approval", { notes: "orgb approves" }),
  "POST /api/runs/{run}/reject": runRoute("awaiting_approval", { notes: "orgb rejects" }),
  "GET /api/runs/{run}/events": runRoute("failed"),
  "GET /api/runs/{run}/summary": runRoute("failed"),
  "GET /api/runs/{run}/events/stream": {
    kind: "own",
    reason: "A's run's live stream: B gets a 404 problem before any stream; A's own opens (the matrix's GET control would read a stream forever)",
    check: ({ world, callers }) =>
      Effect.gen(function*() {
        const run = yield* aRun("awaiting_approval")
        const kit = yield* TestKit.TrellisTest
        const url = `${kit.baseUrl}/api/runs/${run.id}/events/stream`
        const mine = yield* Effect.promise(() => openSse(url, { authorization: `Bearer ${world.a.token}` }))
        assert.strictEqual(mine.status, 200, "control: A's own stream opens")
        yield* Effect.promise(() => mine.until((text) => text.includes("agent_event")))
        mine.close()
        const before = yield* runView(run)
        for (const caller of callers) {
          const reply = yield* call("GET", `/api/runs/${run.id}/events/stream`, { token: caller.token })
          assert.strictEqual(reply.status, 404, `${caller.name}: ${reply.text.slice(0, 200)}`)
          assert.include(reply.contentType, "application/problem+json")
          assertClean(world, reply, `${caller.name}: GET stream`)
        }
        assert.deepStrictEqual(yield* runView(run), before)
      })
  }
}

export const runsMatrix: PluginMatrix = {
  plugin: "runs",
  routes,
  // Derived from the routes (`RpcFromApi`) and served by their handlers (the stream has no RPC).
  rpcs: {
    "runs.Create": {
      kind: "own",
      reason: "creates a draft in the caller's organization; A cannot see it",
      check: ({ world, tag, callers }) =>
        Effect.gen(function*() {
          for (const caller of callers) {
            const value = rpcClean(world, yield* rpc(caller.token, tag, {
              payload: { title: "orgb rpc run", steps: [{ name: "a", type: "render", template: "b's" }] }
            }), `${caller.name}: ${tag}`)
            const seen = yield* call("GET", `/api/runs/${(value as { id: number }).id}`, { token: world.a.token })
            assert.strictEqual(seen.status, 404, `A sees ${caller.name}'s run`)
          }
        })
    },
    "runs.List": rpcOwnList({ query: {} }, Effect.map(aRun("draft"), (run) => [run.title])),
    "runs.Stats": rpcOwnRead("the caller organization's run totals", null),
    "runs.Get": rpcOfRoute(routes["GET /api/runs/{run}"]),
    "runs.Start": rpcOfRoute(routes["POST /api/runs/{run}/start"]),
    "runs.Pause": rpcOfRoute(routes["POST /api/runs/{run}/pause"]),
    "runs.Resume": rpcOfRoute(routes["POST /api/runs/{run}/resume"]),
    "runs.Cancel": rpcOfRoute(routes["POST /api/runs/{run}/cancel"]),
    "runs.Retry": rpcOfRoute(routes["POST /api/runs/{run}/retry"]),
    "runs.Approve": rpcOfRoute(routes["POST /api/runs/{run}/approve"]),
    "runs.Reject": rpcOfRoute(routes["POST /api/runs/{run}/reject"]),
    "runs.Events": rpcOfRoute(routes["GET /api/runs/{run}/events"]),
    "runs.Summary": rpcOfRoute(routes["GET /api/runs/{run}/summary"])
  }
}
