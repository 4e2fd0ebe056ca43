/**
 * Workflows' `model` steps use the workflow's workspace provider settings the way the playground
 * does (request, then the workspace's saved endpoint and key, then the environment): over real
 * HTTP, against a real local OpenAI-compatible fake. A sub-workflow (a `workflow` step) calls
 * with its own workspace's settings. The key never appears in the run's answer or its row.
 */
import { assert, describe, layer } from "@effect/vitest"
import { ConfigProvider, Deferred, Effect, Layer } from "effect"
import { randomBytes } from "node:crypto"
import { afterAll, beforeAll } from "vitest"
import * as TestKit from "trellis/testing"
import * as FakeOpenai from "../../../test/ai/fakeOpenai.ts"
import type { Workflow } from "../Domain.ts"
import { as, call, plugins, tester, unique } from "./support.ts"
import type { Services } from "./support.ts"

const services = Effect.runSync(Deferred.make<Services>())
const fakes: { team?: FakeOpenai.FakeOpenai } = {}

const kit = Layer.unwrap(Effect.sync(() =>
  TestKit.layer({ plugins: plugins(services) }).pipe(
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({ ...process.env, TRELLIS_PROVIDERS_ALLOW_PRIVATE: "true" })))
  )
))

interface RunAnswer {
  readonly output: string
  readonly run_id: string
}

describe("workflows: the workspace's provider settings", () => {
  beforeAll(async () => {
    fakes.team = await FakeOpenai.start()
  })
  afterAll(async () => {
    await fakes.team?.close()
  })

  layer(kit, { timeout: 120_000, excludeTestServices: true })((it) => {
    it.effect("a model step calls its workflow's workspace endpoint with its key; so does a sub-workflow's", () =>
      Effect.gen(function*() {
        const team = fakes.team!
        const workspace = unique("team")
        const secret = `sk-wf-${randomBytes(18).toString("hex")}`
        const saved = yield* call("PUT", `/api/playground/providers/openai?workspace=${workspace}`, {
          base_url: team.baseUrl,
          api_key: secret,
          model: "team-model"
        })
        assert.strictEqual(saved.status, 200, JSON.stringify(saved.body))
        const child = (yield* call<{ data: Workflow }>("POST", "/api/workflows", {
          key: unique("flow"),
          workspace_id: workspace,
          steps: [{ name: "llm", type: "model", provider: "openai", template: "Hi {{who}}" }]
        })).body.data
        assert.strictEqual(child.workspace_id, workspace)

        const direct = yield* call<RunAnswer>("POST", `/api/workflows/${child.id}/run`, { variables: { who: "Ada" } })
        assert.strictEqual(direct.status, 200, JSON.stringify(direct.body))
        assert.strictEqual(direct.body.output, "streamed: Hi Ada")
        const first = team.received.at(-1)
        assert.deepStrictEqual([first?.headers.authorization, first?.body.model], [`Bearer ${secret}`, "team-model"])

        // A workflow of the default workspace (no settings) runs it as a sub-run: the sub-run uses its own workspace's.
        const parent = (yield* call<{ data: Workflow }>("POST", "/api/workflows", {
          key: unique("flow"),
          steps: [{ name: "sub", type: "workflow", workflow: child.id, input: { who: "Bo" } }]
        })).body.data
        const before = team.received.length
        const nested = yield* call<RunAnswer>("POST", `/api/workflows/${parent.id}/run`, { variables: {} })
        assert.strictEqual(nested.status, 200, JSON.stringify(nested.body))
        assert.strictEqual(nested.body.output, "streamed: Hi Bo")
        assert.strictEqual(team.received.length, before + 1)
        assert.strictEqual(team.received.at(-1)?.headers.authorization, `Bearer ${secret}`)

        // The parent's own model step (default workspace, nothing configured) does not get the key.
        const plain = (yield* call<{ data: Workflow }>("POST", "/api/workflows", {
          key: unique("flow"),
          steps: [{ name: "llm", type: "model", provider: "openai", template: "x" }]
        })).body.data
        const refused = yield* call<{ error: string }>("POST", `/api/workflows/${plain.id}/run`, { variables: {} })
        assert.strictEqual(refused.status, 502, JSON.stringify(refused.body))
        assert.strictEqual(team.received.length, before + 1)

        const { runs } = yield* Deferred.await(services)
        for (const id of [direct.body.run_id, nested.body.run_id]) {
          const detail = yield* runs.get(id).pipe(as(tester))
          const events = yield* runs.events(id, { limit: 1000 }).pipe(as(tester))
          assert.notInclude(JSON.stringify(detail), secret)
          assert.notInclude(JSON.stringify(events), secret)
        }
        assert.notInclude(JSON.stringify(direct.body), secret)
        assert.notInclude(JSON.stringify(nested.body), secret)
      }))
  })
})
