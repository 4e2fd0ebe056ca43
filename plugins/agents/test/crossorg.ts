/**
 * The agents plugin's entries of the cross-organization matrix (`test/identity/crossorg.test.ts`
 * runs them): every route of the plugin, and how each stays inside the caller's organization.
 */
import { Effect } from "effect"
import { asA, dataId, ownCreateSameName, ownList, registerA, view, World } from "../../../test/identity/crossorgMatrix.ts"
import type { Entry, PluginMatrix } from "../../../test/identity/crossorgMatrix.ts"

interface AnAgent {
  readonly id: string
  readonly key: string
}

/** An agent of A's, with a prompt, a description and an HTTP tool that are A's. */
const anAgent = Effect.gen(function*() {
  const world = yield* World
  const key = world.unique("agent")
  const created = yield* asA<{ data: { id: string } }>("POST", "/api/agents", {
    key,
    name: world.unique("name"),
    description: world.unique("description"),
    prompt: `${world.unique("prompt")} {{name}}`,
    tools: [{ name: "lookup", url: `https://example.com/${world.unique("tool")}`, inputSchema: { type: "object" } }]
  })
  yield* registerA(created.data.id)
  return { id: created.data.id, key } satisfies AnAgent
})

const agentRoute = (body?: unknown): Entry => ({
  kind: "byId",
  body,
  setup: () =>
    Effect.gen(function*() {
      const agent = yield* anAgent
      return { probes: [{ params: { id: agent.id } }], view: view(`/api/agents/${agent.id}`) }
    })
})

export const agentsMatrix: PluginMatrix = {
  plugin: "agents",
  routes: {
    "GET /api/agents": ownList("/api/agents", Effect.map(anAgent, (a) => [a.id]), "the caller organization's agents"),
    "POST /api/agents": ownCreateSameName({
      reason: "creates in the caller's organization; keys are unique per organization and workspace",
      seed: anAgent,
      body: (a) => ({ key: a.key, prompt: "orgb prompt" }),
      status: 200,
      idOf: dataId,
      aView: (a) => [`/api/agents/${a.id}`],
      aList: "/api/agents"
    }),
    "GET /api/agents/{id}": agentRoute(),
    "PUT /api/agents/{id}": agentRoute({ name: "orgb hijack", prompt: "orgb prompt" }),
    "DELETE /api/agents/{id}": agentRoute(),
    "POST /api/agents/{id}/run": agentRoute({ variables: { name: "orgb" } })
  },
  rpcs: {}
}
