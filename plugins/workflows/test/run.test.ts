/**
 * PromptOps's synchronous `POST /api/workflows/:id/run` over real HTTP, and the steps that wait
 * on something outside their run: a `workflow` step's sub-run and a `ticket` step with `wait`.
 *
 * These need `Runs.awaitEnd` and `Runs.complete` (the runs-api work of issue 12): until that
 * lands they fail with the seams' "not implemented yet" defects.
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import * as TestKit from "trellis/testing"
import type { Workflow } from "../Domain.ts"
import { as, call, plugins, tester, unique } from "./support.ts"
import type { Services } from "./support.ts"

const services = Effect.runSync(Deferred.make<Services>())
const T = 120_000

interface RunAnswer {
  readonly output: string
  readonly steps: ReadonlyArray<{ readonly name: string; readonly type: string; readonly output: string }>
  readonly run_id: string
  readonly error?: string
}

const create = (steps: ReadonlyArray<Record<string, unknown>>) =>
  Effect.map(call<{ data: Workflow }>("POST", "/api/workflows", { key: unique("flow"), steps }), (r) => r.body.data)

const runIt = (id: string, body: Record<string, unknown>) => call<RunAnswer>("POST", `/api/workflows/${id}/run`, body)

layer(TestKit.layer({ plugins: plugins(services) }), { timeout: T, excludeTestServices: true })("workflow runs", (it) => {
  it.effect("answers PromptOps's {output, steps} and records the run", () =>
    Effect.gen(function*() {
      const workflow = yield* create([
        { name: "prompt", type: "render", template: "Summarize {{topic}}" },
        { name: "llm", type: "model", provider: "mock", model: "", template: "" },
        { name: "shout", type: "transform", op: "upper" }
      ])
      const answer = yield* runIt(workflow.id, { variables: { topic: "tides" }, api_key: "sk-never-stored-0123" })
      assert.strictEqual(answer.status, 200, JSON.stringify(answer.body))
      const echo = "[mock completion]\nmodel: mock-1\nprompt: 15 chars, 1 line(s)\n\nSummarize tides"
      assert.deepStrictEqual(answer.body.steps, [
        { name: "prompt", type: "render", output: "Summarize tides" },
        { name: "llm", type: "model", output: echo },
        { name: "shout", type: "transform", output: echo.toUpperCase() }
      ])
      assert.strictEqual(answer.body.output, echo.toUpperCase())
      const { runs } = yield* Deferred.await(services)
      const detail = yield* runs.get(answer.body.run_id).pipe(as(tester))
      assert.strictEqual(detail.run.source, "workflow")
      assert.strictEqual(detail.run.refKey, workflow.id)
      assert.notInclude(JSON.stringify(detail), "sk-never-stored-0123")
    }))

  it.effect("a provider failure answers 502 {error: step N (name): cause}", () =>
    Effect.gen(function*() {
      const workflow = yield* create([
        { name: "first", type: "render", template: "x" },
        { name: "llm", type: "model", template: "hi", mock: { turns: [{ error: "provider outage", retryable: false }] } }
      ])
      const answer = yield* runIt(workflow.id, { variables: {} })
      assert.strictEqual(answer.status, 502)
      assert.strictEqual(answer.body.error, "step 2 (llm): mock: provider outage")
    }))

  it.effect("an unknown workflow is 404; a bad body 400", () =>
    Effect.gen(function*() {
      const missing = yield* runIt("no-such-workflow", { variables: {} })
      assert.strictEqual(missing.status, 404)
      assert.strictEqual(missing.body.error, "not found")
      const workflow = yield* create([{ name: "r", type: "render", template: "x" }])
      const bad = yield* call<{ error: string }>("POST", `/api/workflows/${workflow.id}/run`, { variables: "nope" })
      assert.strictEqual(bad.status, 400)
    }))

  it.effect("a workflow step runs a stored workflow as a sub-run and threads its output", () =>
    Effect.gen(function*() {
      const inner = yield* create([{ name: "hello", type: "render", template: "hello {{who}}" }, { name: "up", type: "transform", op: "upper" }])
      const outer = yield* create([
        { name: "call", type: "workflow", workflow: inner.id, input: { who: "{{name}}" } },
        { name: "wrap", type: "render", template: "<{{input}}>" }
      ])
      const answer = yield* runIt(outer.id, { variables: { name: "Ada" } })
      assert.strictEqual(answer.status, 200, JSON.stringify(answer.body))
      assert.strictEqual(answer.body.output, "<HELLO ADA>")
      assert.deepStrictEqual(answer.body.steps.map((s) => [s.name, s.output]), [["call", "HELLO ADA"], ["wrap", "<HELLO ADA>"]])
    }))

  it.effect("a run waiting on a sub-run holds no job; cancelling it cancels the sub-run", () =>
    Effect.gen(function*() {
      const { jobs, runs, workflows } = yield* Deferred.await(services)
      const inner = yield* create([{ name: "hold", type: "approval" }])
      const outer = yield* create([{ name: "call", type: "workflow", workflow: inner.id }])
      const parent = yield* workflows.start(outer.id, {}, {}).pipe(as(tester))
      const childOf = Effect.gen(function*() {
        for (;;) {
          const page = yield* runs.list({ source: "workflow" })
          const child = page.data.find((r) => r.refKey === inner.id && r.status === "awaiting_approval")
          if (child !== undefined) return child
          yield* Effect.sleep("50 millis")
        }
      }).pipe(as(tester))
      const child = yield* childOf
      const waiting = yield* Effect.gen(function*() {
        for (;;) {
          const detail = yield* runs.get(parent.id)
          if (detail.run.status === "waiting") return detail
          yield* Effect.sleep("50 millis")
        }
      }).pipe(as(tester))
      assert.strictEqual(waiting.wait?.kind, "callback")
      // Nothing watches the sub-run: no job of either run is queued or running.
      assert.strictEqual((yield* jobs.unsettled("runs.execute", [parent.id, child.id])).size, 0)
      yield* runs.cancel(parent.id).pipe(as(tester))
      const ended = yield* runs.awaitEnd(child.id).pipe(as(tester))
      assert.strictEqual(ended.status, "cancelled")
    }))

  it.effect("a ticket step with wait holds the run until the ticket is done, then continues with its notes", () =>
    Effect.gen(function*() {
      const project = (yield* call<{ id: string }>("POST", "/api/v1/projects/", { name: unique("proj"), git_remote_normalized: `github.com/acme/${unique("repo")}` })).body
      const workflow = yield* create([
        { name: "file", type: "ticket", project: project.id, title: "Fix {{bug}}", wait: true },
        { name: "report", type: "render", template: "done: {{input.output}}" }
      ])
      const running = yield* Effect.forkChild(runIt(workflow.id, { variables: { bug: "the leak" } }))
      // The agent's side: wait for the ticket, claim it, complete it, resolve it.
      let ticketId: string | undefined
      while (ticketId === undefined) {
        const listed = (yield* call<ReadonlyArray<{ id: string }>>("GET", `/api/v1/projects/${project.id}/tickets`)).body
        ticketId = listed[0]?.id
        if (ticketId === undefined) yield* Effect.sleep("50 millis")
      }
      const base = `/api/v1/projects/${project.id}/tickets/${ticketId}`
      const started = yield* call<{ ticket: { lease_epoch: number } }>("POST", `${base}/start`)
      yield* call("POST", `${base}/complete`, { notes: "patched the leak", lease_epoch: started.body.ticket.lease_epoch })
      const resolved = yield* call("POST", `${base}/resolve`)
      assert.strictEqual(resolved.status, 200, JSON.stringify(resolved.body))
      const answer = yield* Fiber.join(running)
      assert.strictEqual(answer.status, 200, JSON.stringify(answer.body))
      assert.strictEqual(answer.body.output, "done: patched the leak")
    }))
})
