/**
 * Helpers the workflows tests share: the plugins they run with (prompts, tickets, runs with fast
 * job retries, workflows), a probe that hands the test the `Runs` and
 * `Workflows` services the server built, HTTP calls with the admin token or a user's, and a
 * poll until a run ends (bounded by the test's timeout: no timed assertions).
 */
import { Deferred, Effect } from "effect"
import { JobQueue, SecretBox } from "trellis/plugin"
import type { SecretBoxShape } from "trellis/plugin"
import * as TestKit from "trellis/testing"
import { PromptsPlugin } from "../../prompts/Plugin.ts"
import { testRunsPlugin } from "../../runs/test/support.ts"
import { as, tester } from "../../runs/test/support.ts"
import { Runs } from "../../runs/RunsService.ts"
import { StepRegistry } from "../../runs/StepRegistry.ts"
import { TicketsPlugin } from "../../tickets/Plugin.ts"
import { makeWorkflowsPlugin } from "../Plugin.ts"
import { Workflows } from "../WorkflowsService.ts"

export { as, tester }

export interface Services {
  readonly runs: Runs["Service"]
  readonly workflows: Workflows["Service"]
  readonly steps: StepRegistry["Service"]
  readonly box: SecretBoxShape
  readonly jobs: JobQueue["Service"]
}

export const probePlugin = (services: Deferred.Deferred<Services>) =>
  TestKit.probe({ id: "workflows_probe", requires: ["runs", "workflows"] }, Effect.gen(function*() {
    yield* Deferred.succeed(services, { runs: yield* Runs, workflows: yield* Workflows, steps: yield* StepRegistry, box: yield* SecretBox, jobs: yield* JobQueue })
  }))

export const plugins = (services: Deferred.Deferred<Services>) => [
  PromptsPlugin,
  TicketsPlugin,
  testRunsPlugin(),
  makeWorkflowsPlugin({ deltaBatchChars: 8 }),
  probePlugin(services)
]

export interface Reply<A = unknown> {
  readonly status: number
  readonly body: A
}

/** A request with the admin token (or `token`); the status and the JSON body. */
export const call = <A = unknown>(method: "GET" | "POST" | "PUT" | "DELETE", path: string, body?: unknown, token?: string) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request(method, path, { ...(body === undefined ? {} : { body }), ...(token === undefined ? {} : { token }) })
    const text = yield* response.text
    return { status: response.status, body: (text === "" ? null : JSON.parse(text)) as A } satisfies Reply<A>
  }).pipe(Effect.orDie)

let counter = 0
export const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`

/** A user of `role` in the default organization, logged in: their token. */
export const userToken = (role: "viewer" | "editor") =>
  Effect.gen(function*() {
    const username = unique(role)
    const created = yield* call("POST", "/api/users", { username, password: `${role}-password-1`, role })
    if (created.status !== 200 && created.status !== 201) throw new Error(`user: ${JSON.stringify(created)}`)
    const login = yield* call<{ token: string }>("POST", "/api/login", { username, password: `${role}-password-1` })
    return login.body.token
  })
