/**
 * What the automations tests share: a probe plugin that registers a test-only `workflow` step
 * type (the workflows plugin is another lane's; its `validate` accepts ids starting with
 * `wf_ok` and refuses others, its `execute` answers the step's `workflow` and `input`) and hands
 * the test the services the real server built; signing helpers; polling.
 */
import { Deferred, Effect } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import { JobQueue, Signature } from "trellis/plugin"
import * as TestKit from "trellis/testing"
import { Automations } from "../Automations.ts"
import { Runs } from "../../runs/RunsService.ts"
import { done, StepRegistry } from "../../runs/StepRegistry.ts"

export interface Services {
  readonly runs: Runs["Service"]
  readonly jobs: JobQueue["Service"]
  readonly automations: Automations["Service"]
}

export const probePlugin = (services: Deferred.Deferred<Services>) =>
  TestKit.probe({ id: "automations_probe", requires: ["runs", "automations"], description: "test probe: a `workflow` step type, and the services" }, Effect.gen(function*() {
    const steps = yield* StepRegistry
    yield* Effect.orDie(steps.register({
      type: "workflow",
      timeoutMs: 5_000,
      retry: { limit: 0 },
      validate: (step) =>
        typeof step.workflow === "string" && step.workflow.startsWith("wf_ok") ? undefined : `no workflow ${String(step.workflow)}`,
      execute: (context) => Effect.succeed(done({ workflow: context.step.workflow, input: context.step.input }))
    }))
    yield* Deferred.succeed(services, { runs: yield* Runs, jobs: yield* JobQueue, automations: yield* Automations })
  }))

export type Json = Record<string, unknown>

/** A request: status, parsed body and headers. */
export const call = (method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, options: TestKit.RequestOptions = {}) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request(method, path, options)
    const text = yield* response.text
    return { status: response.status, body: (text === "" ? null : JSON.parse(text)) as Json, text, headers: response.headers }
  })

/** A raw, signed webhook delivery: the exact body text and its signature header. */
export const deliver = (
  automationId: string,
  secret: string,
  body: string,
  options: { readonly timestamp?: number; readonly signature?: string | null; readonly via?: "header" | "query" } = {}
) =>
  Effect.gen(function*() {
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000)
    const signature = options.signature === undefined ? Signature.sign(secret, body, timestamp) : options.signature
    const headers: Record<string, string> = { "content-type": "application/json" }
    if (signature !== null) headers["x-trellis-signature"] = signature
    if ((options.via ?? "header") === "header") headers["x-trellis-automation"] = automationId
    const path = options.via === "query" ? `/api/v1/webhooks/incoming?automation_id=${automationId}` : "/api/v1/webhooks/incoming"
    const kit = yield* TestKit.TrellisTest
    const client = yield* HttpClient.HttpClient
    // Sent as text, so the signed bytes are the bytes on the wire.
    const request = HttpClientRequest.post(kit.baseUrl + path).pipe(
      HttpClientRequest.setHeaders(headers),
      HttpClientRequest.bodyText(body, "application/json")
    )
    const response = yield* client.execute(request)
    const text = yield* response.text
    return { status: response.status, body: (text === "" ? null : JSON.parse(text)) as Json, text, headers: response.headers }
  })

/** Polls `check` until it returns a value (the test's timeout bounds it: no timed assertions). */
export const eventually = <A, E, R>(check: Effect.Effect<A | undefined, E, R>): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    for (;;) {
      const value = yield* check
      if (value !== undefined) return value
      yield* Effect.sleep("50 millis")
    }
  })
