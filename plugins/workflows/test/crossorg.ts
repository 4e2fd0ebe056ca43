/**
 * The workflows plugin's entries of the cross-organization matrix (`test/identity/crossorg.test.ts`
 * runs them): every route, and how each stays inside the caller's organization. A's workflow
 * calls another of A's (a `workflow` step), so both ids are in the leak scan.
 */
import { Effect } from "effect"
import { asA, dataId, ownCreateSameName, ownList, registerA, view, World } from "../../../test/identity/crossorgMatrix.ts"
import type { Entry, PluginMatrix } from "../../../test/identity/crossorgMatrix.ts"

interface AWorkflow {
  readonly id: string
  readonly key: string
}

/** A's workflow that calls another of A's. */
const aWorkflow = Effect.gen(function*() {
  const world = yield* World
  const inner = yield* asA<{ data: { id: string } }>("POST", "/api/workflows", {
    key: world.unique("inner"),
    name: world.unique("name"),
    description: world.unique("description"),
    steps: [{ name: world.unique("step"), type: "render", template: `${world.unique("template")} {{topic}}` }]
  })
  yield* registerA(inner.data.id)
  const key = world.unique("workflow")
  const created = yield* asA<{ data: { id: string } }>("POST", "/api/workflows", {
    key,
    name: world.unique("name"),
    description: world.unique("description"),
    steps: [{ name: world.unique("step"), type: "workflow", workflow: inner.data.id }]
  })
  yield* registerA(created.data.id)
  return { id: created.data.id, key } satisfies AWorkflow
})

const byId = (body?: unknown): Entry => ({
  kind: "byId",
  body,
  setup: () =>
    Effect.map(aWorkflow, (w) => ({
      probes: [{ params: { id: w.id } }],
      view: view(`/api/workflows/${w.id}`, "/api/workflows")
    }))
})

const routes: PluginMatrix["routes"] = {
  "GET /api/workflows": ownList("/api/workflows", Effect.map(aWorkflow, (w) => [w.id]), "the caller organization's workflows"),
  "POST /api/workflows": ownCreateSameName({
    reason: "creates in the caller's organization; keys are unique per organization and workspace",
    seed: aWorkflow,
    body: (w) => ({ key: w.key, name: "orgb workflow", steps: [] }),
    status: 200,
    idOf: dataId,
    aView: (w) => [`/api/workflows/${w.id}`],
    aList: "/api/workflows"
  }),
  "GET /api/workflows/{id}": byId(),
  "PUT /api/workflows/{id}": byId({ name: "orgb hijack", steps: [] }),
  "DELETE /api/workflows/{id}": byId(),
  "POST /api/workflows/{id}/run": byId({ variables: { topic: "orgb" } })
}

export const workflowsMatrix: PluginMatrix = { plugin: "workflows", routes, rpcs: {} }
