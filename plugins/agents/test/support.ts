/**
 * Helpers the agents tests share: the plugins they serve (prompts, runs and agents, HTTP tools
 * allowed to reach the local sink), a probe plugin that hands the test the `Runs` service the
 * server built, JSON requests, and a server that restarts on one database (for the resumed
 * loop). The HTTP sink and polling helpers are the runs tests'.
 */
import { Deferred, Effect } from "effect"
import * as TestKit from "trellis/testing"
import { PromptsPlugin } from "../../prompts/Plugin.ts"
import { Runs } from "../../runs/RunsService.ts"
import { done, StepRegistry } from "../../runs/StepRegistry.ts"
import { testRunsPlugin } from "../../runs/test/support.ts"
import { Agents } from "../AgentsService.ts"
import { makeAgentsPlugin } from "../Plugin.ts"

export { as, eventually, sink, statusOf, tester } from "../../runs/test/support.ts"

/** The agents plugin as tests use it: HTTP tools may reach the local sink. */
export const testAgentsPlugin = () => makeAgentsPlugin({ httpPolicy: { allowPrivate: true } })

export interface Services {
  readonly runs: Runs["Service"]
  readonly agents: Agents["Service"]
}

/** A plugin that requires `agents` and gives the test the `Runs` and `Agents` services. */
export const probePlugin = (services: Deferred.Deferred<Services>) =>
  TestKit.probe({ id: "agents_probe", requires: ["agents"] }, Effect.gen(function*() {
    yield* Deferred.succeed(services, { runs: yield* Runs, agents: yield* Agents })
  }))

/**
 * A stand-in for the workflows plugin's `workflow` step (another lane's work): workflow
 * `wf_known` outputs `{workflow, echo: <its input>}`; any other id is refused at create time.
 */
export const fakeWorkflowPlugin = TestKit.probe({ id: "agents_fake_workflows", requires: ["runs"], description: "test stand-in for the workflow step" }, Effect.gen(function*() {
  const steps = yield* StepRegistry
  yield* steps.register({
    type: "workflow",
    timeoutMs: 5_000,
    retry: { limit: 0 },
    validate: (step) => step.workflow === "wf_known" ? undefined : `no workflow ${String(step.workflow)}`,
    execute: (context) => Effect.succeed(done({ workflow: context.step.workflow, echo: context.input }))
  }).pipe(Effect.orDie)
}))

/** The plugins of a test server, with a probe whose services the test awaits. */
export const servedPlugins = (options: { readonly fakeWorkflows?: boolean } = {}) => {
  const services = Deferred.makeUnsafe<Services>()
  return {
    plugins: [
      PromptsPlugin,
      testRunsPlugin(),
      ...(options.fakeWorkflows === true ? [fakeWorkflowPlugin] : []),
      testAgentsPlugin(),
      probePlugin(services)
    ],
    services: Deferred.await(services),
    runs: Effect.map(Deferred.await(services), (s) => s.runs)
  }
}

export interface JsonResponse<A = unknown> {
  readonly status: number
  readonly body: A
}

/** A request whose JSON body (if any) is parsed; never fails on a status. */
export const call = <A = unknown>(method: "GET" | "POST" | "PUT" | "DELETE", path: string, options?: TestKit.RequestOptions) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request(method, path, options)
    const text = yield* response.text
    return { status: response.status, body: (text === "" ? undefined : JSON.parse(text)) as A } satisfies JsonResponse<A>
  })

let counter = 0
/** A key no other test of the run uses. */
export const uniqueKey = (prefix: string): string => `${prefix}.${Date.now().toString(36)}${(counter++).toString(36)}`

export interface AgentBody {
  readonly id: string
  readonly key: string
  readonly [field: string]: unknown
}

/** Creates an agent (as the admin) and returns it. */
export const createAgent = (body: Record<string, unknown>) =>
  Effect.gen(function*() {
    const created = yield* call<{ data: AgentBody }>("POST", "/api/agents", { body: { key: uniqueKey("agent"), ...body } })
    if (created.status !== 200) return yield* Effect.die(new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`))
    return created.body.data
  })

/**
 * One database (the test kit's `restartable`: embedded, or a fresh PostgreSQL database when
 * `TRELLIS_TEST_DATABASE_URL` is set) and a function that boots the server with prompts, runs
 * and agents on it; each boot's scope is one "process".
 */
export const restartable = Effect.gen(function*() {
  const server = yield* TestKit.restartable({ plugins: servedPlugins().plugins })
  const boot = Effect.gen(function*() {
    const served = servedPlugins()
    yield* server.boot(served.plugins)
    return yield* served.services
  })
  return { boot }
})
