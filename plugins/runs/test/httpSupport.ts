/**
 * What the runs HTTP tests share: a plugin that registers two test step types on the real
 * registry (an `agent` step standing in for the agents plugin's, which reports its model usage,
 * and `await_callback`, which waits for `Runs.complete`) and hands the test the services; JSON
 * helpers; members and service keys made through the API.
 */
import { assert } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import type { HttpClientResponse } from "effect/http"
import { SqlClient } from "effect/sql"
import * as TestKit from "trellis/testing"
import { Runs } from "../RunsService.ts"
import { done, StepFailed, StepRegistry, wait } from "../StepRegistry.ts"
import type { Services } from "./support.ts"

/** Registers the test step types and gives the test the services the server built. */
export const stepsPlugin = (services: Deferred.Deferred<Services>) =>
  TestKit.probe({ id: "runs_test_steps", requires: ["runs"], description: "test step types" }, Effect.gen(function*() {
    const runs = yield* Runs
    const steps = yield* StepRegistry
    yield* steps.register({
      type: "agent",
      timeoutMs: 7_200_000,
      retry: { limit: 0 },
      validate: (step) => (typeof step.agent === "string" && step.agent !== "" ? undefined : "agent: give the agent's id or key"),
      execute: (context) =>
        Effect.gen(function*() {
          const prompt = typeof context.step.prompt === "string" ? context.step.prompt : ""
          // Scripted by the prompt: `fail:` fails the step, `slow:` runs until cancelled.
          if (prompt.startsWith("fail:")) return yield* Effect.fail(new StepFailed({ message: prompt.slice(5).trim(), retryable: false }))
          if (prompt.startsWith("slow:")) yield* Effect.sleep("1 hour")
          const output = `agent ${String(context.step.agent)} says: ${prompt}`
          yield* context.reportUsage({
            provider: "mock",
            model: typeof context.step.model === "string" ? context.step.model : "mock-1",
            promptTokens: prompt.length,
            outputTokens: output.length,
            latencyMs: 7,
            status: "ok"
          })
          return done(output)
        })
    }).pipe(Effect.orDie)
    yield* steps.register({
      type: "await_callback",
      timeoutMs: 10_000,
      retry: { limit: 0 },
      validate: () => undefined,
      execute: () => Effect.succeed(wait("callback"))
    }).pipe(Effect.orDie)
    yield* Deferred.succeed(services, { runs, steps })
  }))

export interface Problem {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly code: string
  readonly detail?: string
  readonly [key: string]: unknown
}

/** The response's JSON body, after asserting its status. */
export const expect = <A>(response: HttpClientResponse.HttpClientResponse, status: number) =>
  Effect.gen(function*() {
    const body = yield* response.json
    assert.strictEqual(response.status, status, JSON.stringify(body))
    return body as A
  })

export const request = (
  method: "GET" | "POST",
  path: string,
  options: { readonly body?: unknown; readonly token?: string; readonly headers?: Record<string, string> } = {}
) => Effect.flatMap(TestKit.TrellisTest, (kit) => kit.request(method, path, options))

let counter = 0

/** A member of the default organization with `role`, and a user key of theirs. */
export const member = (role: "viewer" | "editor" | "admin") =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const name = `runs-${role}-${Date.now().toString(36)}-${counter++}`
    const password = "runs member password 1"
    yield* expect(yield* kit.request("POST", "/api/users", { body: { username: name, password, email: `${name}@example.test`, role } }), 201)
    const login = yield* expect<{ token: string }>(yield* kit.request("POST", "/api/login", { body: { username: name, password }, token: null }), 200)
    return login.token
  })

/** A service key of the default organization with `scopes`. */
export const serviceKey = (scopes: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const created = yield* expect<{ key: string }>(
      yield* kit.request("POST", "/api/v1/orgs/org_default/service-keys", { body: { name: `svc-runs-${counter++}`, scopes } }),
      201
    )
    return created.key
  })

/** Polls the run's seed-002 view until its status is one of `statuses`. */
export const untilStatus = (id: number | string, statuses: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    for (;;) {
      const view = yield* expect<RunBody>(yield* request("GET", `/api/runs/${id}`), 200)
      if (statuses.includes(view.status)) return view
      yield* Effect.sleep("50 millis")
    }
  })

export interface RunBody {
  readonly id: number
  readonly status: string
  readonly title: string | null
  readonly projectId: string | null
  readonly prompt: string | null
  readonly selectedAgent: string | null
  readonly selectedModel: string | null
  readonly ragEnabled: boolean
  readonly safeMode: boolean
  readonly output: unknown
  readonly error: { readonly stepIndex: number | null; readonly step: string | null; readonly message: string } | null
  readonly usage: {
    readonly provider: string | null
    readonly model: string | null
    readonly modelCalls: number
    readonly promptTokens: number
    readonly outputTokens: number
    readonly latencyMs: number
  }
  readonly allowedControls: ReadonlyArray<string>
  readonly timeline: ReadonlyArray<{ readonly index: number; readonly name: string; readonly status: string; readonly attempts: number }>
  readonly [key: string]: unknown
}

export interface EventBody {
  readonly id: number
  readonly runId: number
  readonly eventType: string
  readonly severity: string
  readonly createdAt: string
  readonly [key: string]: unknown
}

/** Rows of a table, for assertions on what was (not) written. */
export const count = (query: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql.unsafe<{ n: number | string }>(query)
    return Number(rows[0]?.n ?? 0)
  })
