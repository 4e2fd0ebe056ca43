/**
 * The workflows plugin on a real server (embedded PGlite, or PostgreSQL with
 * TRELLIS_TEST_DATABASE_URL): PromptOps's CRUD over HTTP, definitions refused at save naming
 * the step (unknown type, bad members, a missing prompt key, a cycle, a missing workflow),
 * roles, and the step types executing in runs started through `Workflows.start` (the
 * synchronous `POST /api/workflows/:id/run` is in run.test.ts).
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import type { RunEvent } from "../../runs/Domain.ts"
import type { Workflow } from "../Domain.ts"
import { sealContext } from "../Workflows.ts"
import * as TestKit from "trellis/testing"
import { outsider } from "../../runs/test/support.ts"
import { as, call, plugins, tester, unique, userToken } from "./support.ts"
import type { Services } from "./support.ts"

const services = Effect.runSync(Deferred.make<Services>())
const T = 120_000

type Problem = { error?: string; code?: string; step_index?: number | null; step?: string | null; reason?: string }

const create = (body: Record<string, unknown>) => call<{ data: Workflow } & Problem>("POST", "/api/workflows", body)

/** Starts a run of the workflow and waits until it ends. */
const runToEnd = (id: string, variables: Record<string, unknown>, options: { apiKey?: string } = {}) =>
  Effect.gen(function*() {
    const { runs, workflows } = yield* Deferred.await(services)
    const started = yield* workflows.start(id, variables, options)
    for (;;) {
      const detail = yield* runs.get(started.id)
      if (["succeeded", "failed", "cancelled"].includes(detail.run.status)) return detail
      yield* Effect.sleep("50 millis")
    }
  }).pipe(as(tester))

const eventsOf = (runId: string) =>
  Effect.flatMap(Deferred.await(services), ({ runs }) => runs.events(runId, { limit: 1000 })).pipe(as(tester))

const kinds = (events: ReadonlyArray<RunEvent>, kind: string) => events.filter((e) => e.data._tag === kind)

layer(TestKit.layer({ plugins: plugins(services) }), { timeout: T, excludeTestServices: true })("workflows", (it) => {
  it.effect("creates, reads, lists, updates and deletes in PromptOps's shapes", () =>
    Effect.gen(function*() {
      const key = unique("flow")
      // The console's body: every step carries every field.
      const steps = [
        { name: "step 1", type: "render", template: "Hello {{name}}", provider: "mock", model: "", op: "upper" },
        { name: "step 2", type: "transform", template: "", provider: "mock", model: "", op: "upper" }
      ]
      const created = yield* create({ key, name: "Greeter", description: "greets", steps, workspace_id: "default" })
      assert.strictEqual(created.status, 200, JSON.stringify(created.body))
      const workflow = created.body.data
      assert.strictEqual(workflow.key, key)
      assert.strictEqual(workflow.workspace_id, "")
      assert.deepStrictEqual(workflow.steps, steps)
      for (const field of ["id", "created_at", "updated_at", "name", "description"]) assert.property(workflow, field)

      const got = yield* call<{ data: Workflow }>("GET", `/api/workflows/${workflow.id}`)
      assert.deepStrictEqual(got.body.data, workflow)
      const listed = yield* call<{ data: ReadonlyArray<Workflow> }>("GET", "/api/workflows?workspace=default")
      assert.include(listed.body.data.map((w) => w.id), workflow.id)
      const searched = yield* call<{ data: ReadonlyArray<Workflow> }>("GET", `/api/workflows?q=${encodeURIComponent(key)}`)
      assert.deepStrictEqual(searched.body.data.map((w) => w.id), [workflow.id])
      const elsewhere = yield* call<{ data: ReadonlyArray<Workflow> }>("GET", "/api/workflows?workspace=other")
      assert.notInclude(elsewhere.body.data.map((w) => w.id), workflow.id)

      // PUT replaces name, description and steps; the key stays.
      const updated = yield* call<{ data: Workflow }>("PUT", `/api/workflows/${workflow.id}`, {
        key: "ignored",
        name: "Greeter 2",
        description: "",
        steps: [steps[0]]
      })
      assert.strictEqual(updated.status, 200, JSON.stringify(updated.body))
      assert.strictEqual(updated.body.data.key, key)
      assert.strictEqual(updated.body.data.name, "Greeter 2")
      assert.strictEqual(updated.body.data.steps.length, 1)

      const removed = yield* call("DELETE", `/api/workflows/${workflow.id}`)
      assert.deepStrictEqual(removed, { status: 200, body: { ok: true } })
      const gone = yield* call<Problem>("GET", `/api/workflows/${workflow.id}`)
      assert.strictEqual(gone.status, 404)
      assert.strictEqual(gone.body.error, "not found")
      assert.strictEqual((yield* call("DELETE", `/api/workflows/${workflow.id}`)).status, 404)

      // PromptOps's audit log has each change: action, resource, resource id, key, the name as summary.
      const audit = (yield* call<{ data: ReadonlyArray<{ action: string; resource: string; resource_id: string; key: string; summary: string }> }>(
        "GET",
        "/api/audit?limit=50"
      )).body.data.filter((e) => e.resource_id === workflow.id)
      assert.deepStrictEqual(audit.map((e) => [e.action, e.resource, e.key, e.summary]), [
        ["delete", "workflow", key, "Greeter 2"],
        ["update", "workflow", key, "Greeter 2"],
        ["create", "workflow", key, "Greeter"]
      ])
    }))

  it.effect("refuses an empty key and a key taken in the workspace", () =>
    Effect.gen(function*() {
      const empty = yield* create({ key: "", name: "x", steps: [] })
      assert.strictEqual(empty.status, 400)
      assert.strictEqual(empty.body.error, "key is required")
      const key = unique("taken")
      assert.strictEqual((yield* create({ key, steps: [] })).status, 200)
      const again = yield* create({ key, steps: [] })
      assert.strictEqual(again.status, 409)
      assert.include(again.body.error, key)
      // Another workspace may use it.
      assert.strictEqual((yield* create({ key, steps: [], workspace_id: "team" })).status, 200)
    }))

  it.effect("refuses bad definitions naming the step, and stores nothing", () =>
    Effect.gen(function*() {
      const before = (yield* call<{ data: ReadonlyArray<Workflow> }>("GET", "/api/workflows")).body.data.length
      const refused = (steps: ReadonlyArray<Record<string, unknown>>) => Effect.map(create({ key: unique("bad"), steps }), (r) => r)
      const render = { name: "first", type: "render", template: "x" }

      const unknownType = yield* refused([render, { name: "second", type: "teleport" }])
      assert.strictEqual(unknownType.status, 422)
      assert.strictEqual(unknownType.body.error, "step 2 (second): unknown step type teleport (known: " + unknownType.body.error?.split("(known: ")[1])
      assert.include(unknownType.body.error, "unknown step type teleport")

      const badOp = yield* refused([{ name: "t", type: "transform", op: "reverse" }])
      assert.strictEqual(badOp.status, 422)
      assert.match(badOp.body.error ?? "", /^step 1 \(t\): invalid members of a transform step/)

      const missingPrompt = yield* refused([{ name: "p", type: "prompt", prompt: unique("nosuchprompt") }])
      assert.strictEqual(missingPrompt.status, 422)
      assert.match(missingPrompt.body.error ?? "", /^step 1 \(p\): no prompt with key .* has anything to serve in environment prod$/)

      const badProvider = yield* refused([{ name: "m", type: "model", provider: "skynet" }])
      assert.strictEqual(badProvider.status, 422)
      assert.include(badProvider.body.error, "unknown provider skynet")

      const missingWorkflow = yield* refused([{ name: "w", type: "workflow", workflow: "no-such-workflow" }])
      assert.strictEqual(missingWorkflow.status, 422)
      assert.include(missingWorkflow.body.error, "step 1 (w): names no workflow: no-such-workflow")

      const duplicate = yield* refused([render, render])
      assert.strictEqual(duplicate.status, 422)
      assert.include(duplicate.body.error, "step 2 (first): duplicate step name")

      const waitingBranch = yield* refused([{ name: "fan", type: "parallel", branches: [{ name: "a", steps: [{ name: "s", type: "sleep", ms: 1 }] }] }])
      assert.strictEqual(waitingBranch.status, 422)
      assert.include(waitingBranch.body.error, "a sleep step cannot run inside a parallel branch")

      const after = (yield* call<{ data: ReadonlyArray<Workflow> }>("GET", "/api/workflows")).body.data.length
      assert.strictEqual(after, before)
    }))

  it.effect("refuses a cycle: A calls B calls A (also through a parallel branch), and leaves A as it was", () =>
    Effect.gen(function*() {
      const a = (yield* create({ key: unique("a"), steps: [{ name: "hello", type: "render", template: "a" }] })).body.data
      const b = (yield* create({ key: unique("b"), steps: [{ name: "call a", type: "workflow", workflow: a.id }] })).body.data
      const cycle = yield* call<Problem>("PUT", `/api/workflows/${a.id}`, { steps: [{ name: "call b", type: "workflow", workflow: b.id }] })
      assert.strictEqual(cycle.status, 422)
      assert.strictEqual(cycle.body.error, `step 1 (call b): a cycle: this workflow calls itself through ${b.id}`)
      const self = yield* call<Problem>("PUT", `/api/workflows/${a.id}`, {
        steps: [{ name: "fan", type: "parallel", branches: [{ name: "x", steps: [{ name: "me", type: "render", template: "" }] }] }, {
          name: "me",
          type: "workflow",
          workflow: a.id
        }]
      })
      assert.strictEqual(self.status, 422)
      assert.include(self.body.error, "step 2 (me): a cycle: this workflow calls itself")
      // A longer chain is named in order: A -> C -> B -> A.
      const c = (yield* create({ key: unique("c"), steps: [{ name: "call b", type: "workflow", workflow: b.id }] })).body.data
      const longer = yield* call<Problem>("PUT", `/api/workflows/${a.id}`, { steps: [{ name: "hello", type: "render", template: "a" }, { name: "call c", type: "workflow", workflow: c.id }] })
      assert.strictEqual(longer.status, 422)
      assert.strictEqual(longer.body.error, `step 2 (call c): a cycle: this workflow calls itself through ${c.id} -> ${b.id}`)
      const kept = yield* call<{ data: Workflow }>("GET", `/api/workflows/${a.id}`)
      assert.deepStrictEqual(kept.body.data.steps, [{ name: "hello", type: "render", template: "a" }])
    }))

  it.effect("viewers read, editors write", () =>
    Effect.gen(function*() {
      const viewer = yield* userToken("viewer")
      const editor = yield* userToken("editor")
      const made = yield* call<{ data: Workflow }>("POST", "/api/workflows", { key: unique("mine"), steps: [] }, editor)
      assert.strictEqual(made.status, 200)
      const id = made.body.data.id
      assert.strictEqual((yield* call("GET", `/api/workflows/${id}`, undefined, viewer)).status, 200)
      assert.strictEqual((yield* call("GET", "/api/workflows", undefined, viewer)).status, 200)
      for (const [method, path, body] of [
        ["POST", "/api/workflows", { key: unique("nope"), steps: [] }],
        ["PUT", `/api/workflows/${id}`, { name: "nope", steps: [] }],
        ["DELETE", `/api/workflows/${id}`, undefined]
      ] as const) {
        const refused = yield* call<Problem>(method, path, body, viewer)
        assert.strictEqual(refused.status, 403, `${method} ${path}`)
      }
      assert.strictEqual((yield* call<{ data: Workflow }>("GET", `/api/workflows/${id}`)).body.data.name, "")
    }))

  it.effect("runs PromptOps's render -> model -> transform: the first input is empty, model usage and deltas are events", () =>
    Effect.gen(function*() {
      const workflow = (yield* create({
        key: unique("pipeline"),
        steps: [
          { name: "prompt", type: "render", template: "[{{input}}] Summarize {{topic}}" },
          { name: "llm", type: "model", provider: "mock", model: "", template: "" },
          { name: "shout", type: "transform", op: "upper" }
        ]
      })).body.data
      const detail = yield* runToEnd(workflow.id, { topic: "tides" })
      assert.strictEqual(detail.run.status, "succeeded", JSON.stringify(detail.run.error))
      assert.strictEqual(detail.run.source, "workflow")
      assert.strictEqual(detail.run.refKey, workflow.id)
      const outputs = Object.fromEntries(detail.checkpoints.map((c) => [c.name, c.output]))
      assert.strictEqual(outputs.prompt, "[] Summarize tides")
      const echo = "[mock completion]\nmodel: mock-1\nprompt: 18 chars, 1 line(s)\n\n[] Summarize tides"
      assert.strictEqual(outputs.llm, echo)
      assert.strictEqual(detail.run.output, echo.toUpperCase())
      const events = yield* eventsOf(detail.run.id)
      const calls = kinds(events, "model_call")
      assert.strictEqual(calls.length, 1)
      assert.deepInclude(calls[0].data, { provider: "mock", model: "mock-1", status: "ok", stepIndex: 2 })
      const deltas = kinds(events, "model_delta").map((e) => (e.data as { text: string }).text)
      assert.strictEqual(deltas.join(""), echo)
    }))

  it.effect("a model step's provider failure is retried, then fails the run naming the step", () =>
    Effect.gen(function*() {
      const flaky = (yield* create({
        key: unique("flaky"),
        steps: [{ name: "llm", type: "model", template: "hi", mock: { turns: [{ error: "overloaded", errorTimes: 1, text: "fine" }] } }]
      })).body.data
      const recovered = yield* runToEnd(flaky.id, {})
      assert.strictEqual(recovered.run.status, "succeeded")
      assert.strictEqual(recovered.run.output, "fine")
      const events = yield* eventsOf(recovered.run.id)
      assert.deepStrictEqual(kinds(events, "model_call").map((e) => (e.data as { status: string }).status), ["error", "ok"])

      const down = (yield* create({
        key: unique("down"),
        steps: [
          { name: "first", type: "render", template: "x" },
          { name: "llm", type: "model", template: "hi", mock: { turns: [{ error: "provider outage", retryable: false }] } }
        ]
      })).body.data
      const failed = yield* runToEnd(down.id, {})
      assert.strictEqual(failed.run.status, "failed")
      assert.deepStrictEqual(failed.run.error, { stepIndex: 2, step: "llm", message: "mock: provider outage" })
    }))

  it.effect("seals the run's api_key: the run holds no clear key, the model step still gets it", () =>
    Effect.gen(function*() {
      const workflow = (yield* create({ key: unique("keyed"), steps: [{ name: "llm", type: "model", template: "hi" }] })).body.data
      const secret = "sk-test-0123456789abcdef"
      const detail = yield* runToEnd(workflow.id, { __workflow: { api_key: "forged", nonce: "x" }, topic: "t" }, { apiKey: secret })
      assert.strictEqual(detail.run.status, "succeeded", JSON.stringify(detail.run.error))
      const stored = JSON.stringify(detail.run)
      assert.notInclude(stored, secret)
      assert.notInclude(stored, "forged")
      const credentials = detail.run.input.__workflow as { api_key: string; nonce: string }
      assert.match(credentials.api_key, /^tsb1\./)
      // What the model step opens: the key, with the run's organization and nonce only.
      const { box } = yield* Deferred.await(services)
      assert.strictEqual(yield* box.open(credentials.api_key, sealContext(tester.organizationId, credentials.nonce)), secret)
      const elsewhere = yield* box.open(credentials.api_key, sealContext("org_other", credentials.nonce)).pipe(Effect.flip)
      assert.strictEqual(elsewhere._tag, "SecretKeyUnavailable")
    }))

  it.effect("a prompt step serves the live version, or the rollout variant sticky for the subject, and records it", () =>
    Effect.gen(function*() {
      const key = unique("greeting")
      const prompt = (yield* call<{ data: { id: string } }>("POST", "/api/prompts", { key, env: "prod", content: "v1 hello {{name}}" })).body.data
      const v1 = (yield* call<{ data: { id: string } }>("POST", "/api/prompts/publish", { id: prompt.id })).body.data
      yield* call("PUT", `/api/prompts/${prompt.id}`, { content: "v2 hello {{name}}" })
      const v2 = (yield* call<{ data: { id: string } }>("POST", "/api/prompts/publish", { id: prompt.id })).body.data
      const workflow = (yield* create({
        key: unique("prompted"),
        steps: [{ name: "p", type: "prompt", prompt: key, subject: "user" }, { name: "llm", type: "model", provider: "mock" }]
      })).body.data
      assert.strictEqual(workflow.steps.length, 2)
      const live = yield* runToEnd(workflow.id, { name: "Ada", user: "u1" })
      assert.strictEqual(live.run.status, "succeeded", JSON.stringify(live.run.error))
      const served = live.checkpoints.find((c) => c.name === "p")?.output as Record<string, unknown>
      assert.deepInclude(served, { key, env: "prod", variant: null, rollout_id: null, output: "v2 hello Ada" })
      assert.include(String(live.run.output), "v2 hello Ada")

      const rollout = yield* call("PUT", `/api/prompts/${prompt.id}/rollout`, { enabled: true, variant_a: v1.id, variant_b: v2.id, weight_a: 50 })
      assert.strictEqual(rollout.status, 200, JSON.stringify(rollout.body))
      const variants = new Map<string, string>()
      for (const user of ["u1", "u2", "u3", "u4", "u5", "u6", "u1", "u2", "u3"]) {
        const detail = yield* runToEnd(workflow.id, { name: "Ada", user })
        const output = detail.checkpoints.find((c) => c.name === "p")?.output as { variant: string; subject: string; output: string }
        assert.strictEqual(output.subject, user)
        assert.oneOf(output.variant, ["A", "B"])
        assert.strictEqual(output.output, output.variant === "A" ? "v1 hello Ada" : "v2 hello Ada")
        const before = variants.get(user)
        if (before !== undefined) assert.strictEqual(output.variant, before, `${user} keeps its variant`)
        variants.set(user, output.variant)
      }
    }))

  it.effect("parallel fans out branches and joins their outputs", () =>
    Effect.gen(function*() {
      const workflow = (yield* create({
        key: unique("fan"),
        steps: [
          { name: "seed", type: "render", template: "tide" },
          {
            name: "fan",
            type: "parallel",
            branches: [
              { name: "loud", steps: [{ name: "up", type: "transform", op: "upper" }] },
              { name: "framed", steps: [{ name: "wrap", type: "render", template: "<{{input}}|{{steps.seed}}>" }, { name: "llm", type: "model", template: "{{input}}", mock: { turns: [{ text: "ok {{x}}" }] } }] }
            ]
          }
        ]
      })).body.data
      const detail = yield* runToEnd(workflow.id, {})
      assert.strictEqual(detail.run.status, "succeeded", JSON.stringify(detail.run.error))
      assert.deepStrictEqual(detail.run.output, { loud: "TIDE", framed: "ok {{x}}" })
    }))

  it.effect("a ticket step creates one ticket for a coding agent, keyed by the step", () =>
    Effect.gen(function*() {
      const project = (yield* call<{ id: string }>("POST", "/api/v1/projects/", { name: unique("proj"), git_remote_normalized: `github.com/acme/${unique("repo")}` })).body
      const workflow = (yield* create({
        key: unique("ticketing"),
        steps: [
          { name: "spec", type: "render", template: "Fix {{bug}}" },
          { name: "file", type: "ticket", project: project.id, title: "Agent: {{bug}}", priority: "high" }
        ]
      })).body.data
      const detail = yield* runToEnd(workflow.id, { bug: "the flaky test" })
      assert.strictEqual(detail.run.status, "succeeded", JSON.stringify(detail.run.error))
      const output = detail.run.output as { ticket_id: string; project_id: string; status: string }
      const tickets = (yield* call<ReadonlyArray<{ id: string; title: string; description: string; priority: string; context_refs: ReadonlyArray<string> }>>(
        "GET",
        `/api/v1/projects/${project.id}/tickets`
      )).body
      assert.strictEqual(tickets.length, 1)
      assert.strictEqual(tickets[0].id, output.ticket_id)
      assert.deepInclude(tickets[0], { title: "Agent: the flaky test", description: "Fix the flaky test", priority: "high" })
      assert.deepStrictEqual(tickets[0].context_refs, [`trellis-run:${detail.run.id}:2`])
    }))

  it.effect("model deltas are batched: pieces are joined until the batch size, the rest at the end", () =>
    Effect.gen(function*() {
      const workflow = (yield* create({
        key: unique("stream"),
        steps: [{ name: "llm", type: "model", template: "go", mock: { turns: [{ text: "abcdefghij", chunks: ["ab", "cd", "ef", "gh", "ij"] }] } }]
      })).body.data
      const detail = yield* runToEnd(workflow.id, {})
      assert.strictEqual(detail.run.output, "abcdefghij")
      const deltas = kinds(yield* eventsOf(detail.run.id), "model_delta").map((e) => (e.data as { text: string }).text)
      // The tests' batch is 8 characters.
      assert.deepStrictEqual(deltas, ["abcdefgh", "ij"])
    }))

  it.effect("a ticket step executed again with the same idempotency key finds its ticket instead of filing another", () =>
    Effect.gen(function*() {
      const { steps } = yield* Deferred.await(services)
      const project = (yield* call<{ id: string }>("POST", "/api/v1/projects/", { name: unique("proj"), git_remote_normalized: `github.com/acme/${unique("repo")}` })).body
      const ticket = steps.get("ticket")
      assert.isDefined(ticket)
      const step = { name: "file", type: "ticket", project: project.id, title: "Once {{what}}" }
      const context = {
        runId: unique("run"),
        organizationId: tester.organizationId,
        stepIndex: 1,
        step,
        steps: [step],
        input: "the body",
        variables: { what: "only", input: "the body", steps: {} },
        idempotencyKey: unique("key"),
        attempt: 0,
        wait: undefined,
        children: Effect.succeed([]),
        log: () => Effect.void,
        emit: () => Effect.void,
        reportUsage: () => Effect.void
      }
      // Twice in a row, then twice at once: one ticket.
      const first = yield* ticket!.execute(context).pipe(as(tester))
      const second = yield* ticket!.execute({ ...context, attempt: 1 }).pipe(as(tester))
      const racing = yield* Effect.all([ticket!.execute(context), ticket!.execute(context)], { concurrency: 2 }).pipe(as(tester))
      for (const outcome of [second, ...racing]) assert.deepStrictEqual(outcome, first)
      const listed = (yield* call<ReadonlyArray<{ id: string; title: string }>>("GET", `/api/v1/projects/${project.id}/tickets`)).body
      assert.deepStrictEqual(listed.map((t) => t.title), ["Once only"])
      assert.strictEqual((first as { output: { ticket_id: string } }).output.ticket_id, listed[0].id)
    }))

  it.effect("a run of another organization's workflow is not found", () =>
    Effect.gen(function*() {
      const { workflows } = yield* Deferred.await(services)
      const workflow = (yield* create({ key: unique("private"), steps: [] })).body.data
      const refused = yield* workflows.get(workflow.id).pipe(as(outsider), Effect.flip)
      assert.strictEqual(refused._tag, "WorkflowNotFound")
    }))
})
