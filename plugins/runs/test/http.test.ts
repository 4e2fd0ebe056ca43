/**
 * The runs plugin over real HTTP (the test kit's server, embedded PGlite or PostgreSQL): seed
 * 002's state machine through its routes (the 409 bodies with `runId` and `currentStatus`),
 * approve and reject writing reviews, the summary, event filters and cursor pages, the SSE
 * stream replaying from `Last-Event-ID` with no gap and no duplicate then following live,
 * PromptOps's run log and stats, scopes and the start budget.
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import { SqlClient } from "effect/sql"
import * as TestKit from "trellis/testing"
import { connect } from "../../../test/platform/sseClient.ts"
import type { Frame } from "../../../test/platform/sseClient.ts"
import { as, tester, testRunsPlugin } from "./support.ts"
import type { Services } from "./support.ts"
import { count, expect, member, request, serviceKey, stepsPlugin, untilStatus } from "./httpSupport.ts"
import type { EventBody, Problem, RunBody } from "./httpSupport.ts"

const services = Effect.runSync(Deferred.make<Services>())
const T = 120_000

const create = (body: unknown, token?: string) =>
  Effect.flatMap(request("POST", "/api/runs", { body, ...(token === undefined ? {} : { token }) }), (r) => expect<RunBody>(r, 201))

const post = (path: string, body?: unknown) => request("POST", path, body === undefined ? {} : { body })

const waitingApproval = (title: string) =>
  Effect.gen(function*() {
    const run = yield* create({
      title,
      steps: [
        { name: "draft", type: "render", template: "hello {{who}}" },
        { name: "review", type: "approval", message: "ship it?" },
        { name: "finish", type: "render", template: "{{steps.draft}}!" }
      ],
      input: { who: "Ada" }
    })
    yield* expect(yield* post(`/api/runs/${run.id}/start`), 200)
    return yield* untilStatus(run.id, ["awaiting_approval"])
  })

layer(TestKit.layer({ plugins: [testRunsPlugin(), stepsPlugin(services)], config: { sseHeartbeatSeconds: 1 } }), {
  timeout: T,
  excludeTestServices: true
})("runs over HTTP", (it) => {
  it.effect("seed 002: a draft from {projectId, title, prompt, selectedAgent, selectedModel} runs one agent step; usage rolls up", () =>
    Effect.gen(function*() {
      const draft = yield* create({
        projectId: 42,
        title: "Fix the login bug",
        prompt: "find the bug",
        selectedAgent: "coder",
        selectedModel: "mock-large",
        ragEnabled: true
      })
      assert.isNumber(draft.id)
      assert.strictEqual(draft.status, "draft")
      assert.deepStrictEqual(
        [draft.projectId, draft.title, draft.prompt, draft.selectedAgent, draft.selectedModel, draft.ragEnabled, draft.safeMode],
        ["42", "Fix the login bug", "find the bug", "coder", "mock-large", true, false]
      )
      assert.deepStrictEqual(draft.steps, [{ name: "agent", type: "agent", agent: "coder", prompt: "find the bug", model: "mock-large" }])
      assert.deepStrictEqual(draft.timeline.map((s) => [s.name, s.status, s.attempts]), [["agent", "pending", 0]])
      assert.deepStrictEqual(draft.allowedControls, ["start", "cancel"])

      const started = yield* expect<RunBody>(yield* post(`/api/runs/${draft.id}/start`), 200)
      assert.include(["queued", "running", "succeeded"], started.status)
      const done = yield* untilStatus(draft.id, ["succeeded", "failed"])
      assert.strictEqual(done.status, "succeeded")
      assert.strictEqual(done.output, "agent coder says: find the bug")
      assert.deepStrictEqual(done.usage, {
        provider: "mock",
        model: "mock-large",
        modelCalls: 1,
        promptTokens: "find the bug".length,
        outputTokens: "agent coder says: find the bug".length,
        latencyMs: 7
      })
      assert.deepStrictEqual(done.timeline.map((s) => [s.name, s.status, s.attempts]), [["agent", "completed", 1]])

      // Starting it again: seed 002's example problem, runId a number.
      const again = yield* request("POST", `/api/runs/${draft.id}/start`)
      assert.strictEqual(again.headers["content-type"], "application/problem+json")
      const problem = yield* expect<Problem>(again, 409)
      assert.strictEqual(problem.type, "https://docs.example.com/errors/run-not-startable")
      assert.strictEqual(problem.title, "Run is not in a startable state")
      assert.strictEqual(problem.runId, draft.id)
      assert.strictEqual(problem.currentStatus, "succeeded")
      assert.strictEqual(problem.instance, `/api/runs/${draft.id}/start`)
      assert.notProperty(problem, "error", "seed 002's problems are plain RFC 7807")
    }), T)

  it.effect("a draft needs prompt and selectedAgent, or steps; bad steps are 422 naming the step; nothing is stored", () =>
    Effect.gen(function*() {
      const before = yield* count("SELECT COUNT(*) AS n FROM runs.runs")
      const missing = yield* expect<Problem>(yield* post("/api/runs", { projectId: "p", title: "t" }), 422)
      assert.strictEqual(missing.code, "invalid_run_request")
      const unknown = yield* expect<Problem>(yield* post("/api/runs", { title: "t", steps: [{ name: "x", type: "nope" }] }), 422)
      assert.strictEqual(unknown.code, "invalid_run_definition")
      assert.strictEqual(unknown.step, "x")
      const badBody = yield* expect<Problem>(yield* post("/api/runs", { title: 5, prompt: "p", selectedAgent: "a" }), 422)
      assert.isString(badBody.code)
      // `__` names are internal to the plugins that start runs (sealed keys): refused, never shown.
      const internalInput = yield* expect<Problem>(
        yield* post("/api/runs", { title: "t", steps: [{ name: "x", type: "render", template: "hi" }], input: { __workflow: { api_key: "sealed" } } }),
        422
      )
      assert.strictEqual(internalInput.code, "invalid_run_request")
      assert.include(internalInput.detail ?? "", "input.__workflow")
      const internalMember = yield* expect<Problem>(
        yield* post("/api/runs", { title: "t", steps: [{ name: "x", type: "render", template: "hi", __apiKey: "sealed" }] }),
        422
      )
      assert.include(internalMember.detail ?? "", "steps.0.__apiKey")
      assert.strictEqual(yield* count("SELECT COUNT(*) AS n FROM runs.runs"), before)
      const { runs } = yield* Deferred.await(services)
      const started = yield* runs.run({
        steps: [{ name: "x", type: "render", template: "hi", __apiKey: "sealed-member" }],
        input: { who: "Ada", __workflow: "sealed-input" }
      }).pipe(as(tester))
      const shown = yield* expect<RunBody>(yield* request("GET", `/api/runs/${started.id}`), 200)
      assert.notInclude(JSON.stringify(shown), "sealed-")
      assert.deepStrictEqual(shown.input, { who: "Ada" })
      // Not a run id, and no such run: 404 problems.
      assert.strictEqual((yield* expect<Problem>(yield* request("GET", "/api/runs/abc"), 404)).code, "run_not_found")
      assert.strictEqual((yield* expect<Problem>(yield* request("GET", "/api/runs/999999999"), 404)).code, "run_not_found")
    }), T)

  it.effect("the state machine through the routes: pause, resume, cancel; every refusal is a 409 naming runId and currentStatus", () =>
    Effect.gen(function*() {
      const run = yield* create({
        title: "napping",
        steps: [
          { name: "first", type: "transform", op: "trim" },
          { name: "nap", type: "sleep", ms: 600_000 },
          { name: "last", type: "transform", op: "upper" }
        ],
        input: {}
      })
      const pauseDraft = yield* expect<Problem>(yield* post(`/api/runs/${run.id}/pause`), 409)
      assert.deepStrictEqual([pauseDraft.code, pauseDraft.runId, pauseDraft.currentStatus], ["run_not_controllable", run.id, "draft"])
      assert.deepStrictEqual(pauseDraft.allowed, ["start", "cancel"])
      yield* expect(yield* post(`/api/runs/${run.id}/start`), 200)
      const waiting = yield* untilStatus(run.id, ["waiting"])
      assert.deepStrictEqual(waiting.allowedControls, ["pause", "cancel"])
      assert.strictEqual(waiting.timeline[1]?.status, "waiting")
      const paused = yield* expect<RunBody>(yield* post(`/api/runs/${run.id}/pause`), 200)
      assert.strictEqual(paused.status, "paused")
      const pauseTwice = yield* expect<Problem>(yield* post(`/api/runs/${run.id}/pause`), 409)
      assert.deepStrictEqual([pauseTwice.currentStatus, pauseTwice.allowed], ["paused", ["resume", "cancel"]])
      yield* expect(yield* post(`/api/runs/${run.id}/resume`), 200)
      yield* untilStatus(run.id, ["waiting"])
      const cancelled = yield* expect<RunBody>(yield* post(`/api/runs/${run.id}/cancel`), 200)
      assert.strictEqual(cancelled.status, "cancelled")
      assert.deepStrictEqual(cancelled.timeline.map((s) => s.status), ["completed", "cancelled", "cancelled"])
      const retry = yield* expect<Problem>(yield* post(`/api/runs/${run.id}/retry`), 409)
      assert.deepStrictEqual([retry.runId, retry.currentStatus, retry.allowed], [run.id, "cancelled", []])

      // A running step: cancel interrupts it.
      const slow = yield* create({
        title: "slow",
        steps: [{ name: "slow", type: "mock", text: "done", delayMs: 600_000, timeoutMs: 900_000 }],
        input: {}
      })
      yield* expect(yield* post(`/api/runs/${slow.id}/start`), 200)
      const running = yield* untilStatus(slow.id, ["running"])
      assert.deepStrictEqual(running.allowedControls, ["pause", "cancel"])
      const stopped = yield* expect<RunBody>(yield* post(`/api/runs/${slow.id}/cancel`), 200)
      assert.strictEqual(stopped.status, "cancelled")
    }), T)

  it.effect("two racing starts: exactly one wins, the other is the 409", () =>
    Effect.gen(function*() {
      const run = yield* create({ title: "race", steps: [{ name: "a", type: "transform", op: "trim" }], input: {} })
      const replies = yield* Effect.all([post(`/api/runs/${run.id}/start`), post(`/api/runs/${run.id}/start`)], { concurrency: 2 })
      assert.sameMembers(replies.map((r) => r.status), [200, 409])
    }), T)

  it.effect("reject fails the run at the approval step; retry asks again; approve with commit continues; reviews and summary", () =>
    Effect.gen(function*() {
      const run = yield* waitingApproval("reviewed")
      assert.deepStrictEqual(run.allowedControls, ["cancel", "approve", "reject"])
      assert.deepStrictEqual(run.timeline.map((s) => s.status), ["completed", "waiting", "pending"])
      const rejected = yield* expect<RunBody>(yield* post(`/api/runs/${run.id}/reject`, { notes: "not yet" }), 200)
      assert.strictEqual(rejected.status, "failed")
      assert.deepStrictEqual(rejected.error, { stepIndex: 1, step: "review", message: "rejected" })
      assert.strictEqual((yield* expect<Problem>(yield* post(`/api/runs/${run.id}/approve`, {}), 409)).currentStatus, "failed")
      yield* expect(yield* post(`/api/runs/${run.id}/retry`), 200)
      yield* untilStatus(run.id, ["awaiting_approval"])
      yield* expect(yield* post(`/api/runs/${run.id}/approve`, { notes: "ok now", commit: true }), 200)
      const done = yield* untilStatus(run.id, ["succeeded", "failed"])
      assert.strictEqual(done.status, "succeeded")
      const summary = yield* expect<{
        runId: number
        status: string
        stepCount: number
        completedSteps: number
        error: unknown
        reviews: ReadonlyArray<{ decision: string; notes: string | null; commit: boolean; id: number }>
        changedFiles: ReadonlyArray<unknown>
        output: unknown
      }>(yield* request("GET", `/api/runs/${run.id}/summary`), 200)
      assert.deepStrictEqual([summary.runId, summary.status, summary.stepCount, summary.completedSteps], [run.id, "succeeded", 3, 3])
      assert.isNull(summary.error)
      assert.deepStrictEqual(summary.reviews.map((r) => [r.decision, r.notes, r.commit]), [["rejected", "not yet", false], ["approved", "ok now", true]])
      assert.deepStrictEqual(summary.changedFiles, [])
      assert.strictEqual(summary.output, "hello Ada!")
      assert.strictEqual(yield* count(`SELECT COUNT(*) AS n FROM runs.run_reviews WHERE run_id = '${run.id}'`), 2)
      // A review without a body at all.
      const other = yield* waitingApproval("no body")
      yield* expect(yield* request("POST", `/api/runs/${other.id}/approve`), 200)
      yield* untilStatus(other.id, ["succeeded"])
    }), T)

  it.effect("events: filters, cursor pages with no gap and no duplicate", () =>
    Effect.gen(function*() {
      const run = yield* waitingApproval("events")
      yield* expect(yield* post(`/api/runs/${run.id}/reject`, {}), 200)
      const all = yield* expect<{ data: ReadonlyArray<EventBody>; meta: { nextCursor: string | null } }>(
        yield* request("GET", `/api/runs/${run.id}/events`),
        200
      )
      assert.isNull(all.meta.nextCursor)
      assert.deepStrictEqual(all.data.map((e) => e.id), all.data.map((_, i) => i + 1))
      for (const e of all.data) {
        assert.strictEqual(e.runId, run.id)
        assert.notProperty(e, "_tag")
      }
      // Pages of 2 through nextCursor: the same events, each once.
      const paged: Array<number> = []
      let cursor: string | null = ""
      while (cursor !== null) {
        const path: string = `/api/runs/${run.id}/events?limit=2${cursor === "" ? "" : `&cursor=${cursor}`}`
        const page = yield* expect<{ data: ReadonlyArray<EventBody>; meta: { nextCursor: string | null } }>(yield* request("GET", path), 200)
        paged.push(...page.data.map((e) => e.id))
        cursor = page.meta.nextCursor
      }
      assert.deepStrictEqual(paged, all.data.map((e) => e.id))
      const statuses = yield* expect<{ data: ReadonlyArray<EventBody> }>(yield* request("GET", `/api/runs/${run.id}/events?eventTypes=status`), 200)
      assert.deepStrictEqual(statuses.data.map((e) => e.to), ["draft", "queued", "running", "awaiting_approval", "failed"])
      const errors = yield* expect<{ data: ReadonlyArray<EventBody> }>(yield* request("GET", `/api/runs/${run.id}/events?severity=error`), 200)
      assert.deepStrictEqual(errors.data.map((e) => [e.eventType, e.severity, e.message]), [["error", "error", "step review: rejected"]])
      const since = yield* expect<{ data: ReadonlyArray<EventBody> }>(yield* request("GET", `/api/runs/${run.id}/events?since=3&eventTypes=status,step_waiting`), 200)
      assert.isTrue(since.data.every((e) => e.id > 3 && (e.eventType === "status" || e.eventType === "step_waiting")))
      assert.deepStrictEqual((yield* expect<{ data: ReadonlyArray<unknown> }>(yield* request("GET", `/api/runs/${run.id}/events?eventTypes=file_updated`), 200)).data, [])
      assert.strictEqual((yield* expect<Problem>(yield* request("GET", `/api/runs/${run.id}/events?severity=loud`), 422)).status, 422)
    }), T)

  it.effect("SSE: agent_event frames, Last-Event-ID replays exactly what followed, then live events; :ping keepalives", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const run = yield* waitingApproval("stream")
      const headers = { authorization: `Bearer ${kit.adminToken}` }
      const url = `${kit.baseUrl}/api/runs/${run.id}/events/stream`
      const events = (frames: ReadonlyArray<Frame>) => frames.filter((f) => f.event !== undefined)
      const first = yield* Effect.promise(() => connect(url, headers))
      assert.strictEqual(first.status, 200)
      assert.strictEqual(first.contentType, "text/event-stream")
      const backfill = yield* Effect.promise(() => first.until((frames) => events(frames).some((f) => f.data?.includes("\"step_waiting\"") === true)))
      first.close()
      const replayed = events(backfill)
      assert.isTrue(replayed.every((f) => f.event === "agent_event"))
      const datas = replayed.map((f) => JSON.parse(f.data ?? "null") as EventBody)
      assert.deepStrictEqual(datas.map((d) => d.id), replayed.map((f) => Number(f.id)))
      assert.deepStrictEqual(datas.map((d) => d.id), datas.map((_, i) => i + 1))
      assert.isTrue(datas.every((d) => d.runId === run.id && typeof d.createdAt === "string" && d.severity === "info"))
      const lastSeen = 3
      // Reconnect after event 3: exactly 4.., then the approval's events arrive live.
      const second = yield* Effect.promise(() => connect(url, { ...headers, "last-event-id": String(lastSeen) }))
      yield* Effect.promise(() => second.until((frames) => events(frames).length >= datas.length - lastSeen))
      yield* expect(yield* post(`/api/runs/${run.id}/approve`, {}), 200)
      const live = yield* Effect.promise(() =>
        second.until((frames) => events(frames).some((f) => f.data?.includes("\"succeeded\"") === true) && frames.some((f) => f.comment === "ping"))
      )
      second.close()
      const ids = events(live).map((f) => Number(f.id))
      assert.strictEqual(ids[0], lastSeen + 1)
      assert.deepStrictEqual(ids, ids.map((_, i) => lastSeen + 1 + i), "no gap, no duplicate")
      assert.isTrue(ids.length > datas.length - lastSeen, "live events followed the replay")
      // Another organization's run or no run: 404 before any stream.
      assert.strictEqual((yield* expect<Problem>(yield* request("GET", "/api/runs/999999999/events/stream"), 404)).code, "run_not_found")
    }), T)

  it.effect("SSE: events the event log's retention deleted are replayed from the run's own table, with no gap event", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const run = yield* create({ title: "pruned", steps: [{ name: "a", type: "render", template: "x" }, { name: "b", type: "render", template: "y" }], input: {} })
      yield* expect(yield* post(`/api/runs/${run.id}/start`), 200)
      yield* untilStatus(run.id, ["succeeded"])
      const total = yield* count(`SELECT COUNT(*) AS n FROM runs.run_events WHERE run_id = '${run.id}'`)
      // What retention does: every event of the stream but the newest is deleted from the log.
      const sql = yield* SqlClient.SqlClient
      yield* sql`DELETE FROM trellis.events WHERE stream = ${`runs.run.${run.id}`} AND seq < ${total}`
      assert.strictEqual(yield* count(`SELECT COUNT(*) AS n FROM trellis.events WHERE stream = 'runs.run.${run.id}'`), 1)
      const stream = yield* Effect.promise(() =>
        connect(`${kit.baseUrl}/api/runs/${run.id}/events/stream`, { authorization: `Bearer ${kit.adminToken}`, "last-event-id": "1" })
      )
      const frames = yield* Effect.promise(() => stream.until((fs) => fs.some((f) => f.id === String(total))))
      stream.close()
      const events = frames.filter((f) => f.event !== undefined)
      assert.deepStrictEqual(events.map((f) => f.event), events.map(() => "agent_event"), "no gap event")
      assert.deepStrictEqual(events.map((f) => Number(f.id)), Array.from({ length: total - 1 }, (_, i) => i + 2))
      assert.deepStrictEqual(events.map((f) => (JSON.parse(f.data ?? "{}") as EventBody).id), events.map((f) => Number(f.id)))
    }), T)

  it.effect("PromptOps: the run log (limit/offset, newest first, ok/error) and stats aggregated over finished runs", () =>
    Effect.gen(function*() {
      const { runs } = yield* Deferred.await(services)
      const statsBefore = yield* expect<Record<string, unknown>>(yield* request("GET", "/api/runs/stats"), 200)
      const ok = yield* runs.record({
        source: "playground",
        refKey: "greeting",
        input: { prompt: "hi" },
        output: "hello",
        usage: { provider: "openai", model: "gpt-x", promptTokens: 10, outputTokens: 20, latencyMs: 100, status: "ok" }
      }).pipe(as(tester))
      const failed = yield* runs.record({
        source: "agent",
        refKey: "helper",
        input: {},
        output: null,
        error: "provider down",
        usage: { provider: "claude", model: "c-1", promptTokens: 5, outputTokens: 0, latencyMs: 300, status: "error", error: "provider down" }
      }).pipe(as(tester))
      assert.match(ok.id, /^\d+$/)
      const page = yield* expect<{ data: ReadonlyArray<Record<string, unknown>>; total: number }>(yield* request("GET", "/api/runs?limit=2&offset=0"), 200)
      assert.strictEqual(page.data.length, 2)
      assert.isAtLeast(page.total, 2)
      const [newest, older] = page.data
      assert.deepStrictEqual(
        Object.fromEntries(["id", "source", "ref_key", "provider", "model", "prompt_tokens", "output_tokens", "latency_ms", "status", "error"].map((k) => [k, newest[k]])),
        { id: failed.id, source: "agent", ref_key: "helper", provider: "claude", model: "c-1", prompt_tokens: 5, output_tokens: 0, latency_ms: 300, status: "error", error: "step agent: provider down" }
      )
      assert.deepStrictEqual([older.id, older.status, older.error, older.provider], [ok.id, "ok", "", "openai"])
      assert.isString(newest.created_at)
      const next = yield* expect<{ data: ReadonlyArray<Record<string, unknown>> }>(yield* request("GET", "/api/runs?limit=1&offset=1"), 200)
      assert.strictEqual(next.data[0]?.id, ok.id)
      // A draft shows its own status.
      const draft = yield* create({ title: "unfinished", steps: [{ name: "a", type: "transform", op: "trim" }], input: {} })
      const withDraft = yield* expect<{ data: ReadonlyArray<Record<string, unknown>> }>(yield* request("GET", "/api/runs?limit=1"), 200)
      assert.deepStrictEqual([withDraft.data[0]?.id, withDraft.data[0]?.status], [String(draft.id), "draft"])
      // Stats: the two recorded runs; the draft is not finished, so not counted.
      const stats = yield* expect<Record<string, unknown>>(yield* request("GET", "/api/runs/stats"), 200)
      const delta = (k: string) => Number(stats[k]) - Number(statsBefore[k])
      assert.deepStrictEqual(["total", "ok", "error", "prompt_tokens", "output_tokens"].map(delta), [2, 1, 1, 15, 20])
      assert.strictEqual(Number(stats.error), Number(stats.total) - Number(stats.ok))
      assert.isTrue(Number.isInteger(stats.avg_latency_ms))
      const byProvider = stats.by_provider as ReadonlyArray<{ provider: string; count: number }>
      assert.isTrue(byProvider.some((p) => p.provider === "openai" && p.count >= 1))
      assert.isTrue(byProvider.some((p) => p.provider === "claude" && p.count >= 1))
      // PromptOps's dialect on its paths: a bad limit is a 400 with a string `error`.
      const bad = yield* expect<Problem>(yield* request("GET", "/api/runs?limit=abc"), 400)
      assert.isString(bad.error)
      // The limit is capped at 200, as PromptOps.
      const capped = yield* expect<{ data: ReadonlyArray<unknown> }>(yield* request("GET", "/api/runs?limit=100000"), 200)
      assert.isAtMost(capped.data.length, 200)
    }), T)

  it.effect("scopes: a runs:read service key reads but cannot start or control; runs:start and runs:control can", () =>
    Effect.gen(function*() {
      const reader = yield* serviceKey(["runs:read"])
      const run = yield* create({ title: "scoped", steps: [{ name: "a", type: "transform", op: "trim" }], input: {} })
      yield* expect(yield* request("GET", `/api/runs/${run.id}`, { token: reader }), 200)
      yield* expect(yield* request("GET", "/api/runs/stats", { token: reader }), 200)
      const denied = yield* expect<Problem>(yield* request("POST", `/api/runs/${run.id}/start`, { token: reader }), 403)
      assert.strictEqual(denied.code, "insufficient_scope")
      const deniedCreate = yield* expect<Problem>(
        yield* request("POST", "/api/runs", { token: reader, body: { title: "x", steps: [{ name: "a", type: "transform", op: "trim" }] } }),
        403
      )
      assert.strictEqual(deniedCreate.code, "insufficient_scope")
      yield* expect<Problem>(yield* request("POST", `/api/runs/${run.id}/cancel`, { token: reader }), 403)
      const view = yield* expect<RunBody>(yield* request("GET", `/api/runs/${run.id}`), 200)
      assert.strictEqual(view.status, "draft", "nothing changed")
      const starter = yield* serviceKey(["runs:start"])
      yield* expect(yield* request("POST", `/api/runs/${run.id}/start`, { token: starter }), 200)
      yield* expect<Problem>(yield* request("POST", `/api/runs/${run.id}/cancel`, { token: starter }), 403)
      const controller = yield* serviceKey(["runs:control"])
      const other = yield* create({ title: "scoped 2", steps: [{ name: "a", type: "transform", op: "trim" }], input: {} })
      yield* expect(yield* request("POST", `/api/runs/${other.id}/cancel`, { token: controller }), 200)
    }), T)

  it.effect("the start budget: 6 drafts or starts a minute per user (seed 002), then 429; reads are not counted", () =>
    Effect.gen(function*() {
      const viewer = yield* member("viewer")
      const body = { title: "budget", steps: [{ name: "a", type: "transform", op: "trim" }], input: {} }
      const first = yield* create(body, viewer)
      for (let i = 0; i < 5; i++) yield* expect(yield* request("GET", `/api/runs/${first.id}`, { token: viewer }), 200)
      for (let i = 0; i < 4; i++) yield* create(body, viewer)
      yield* expect(yield* request("POST", `/api/runs/${first.id}/start`, { token: viewer }), 200)
      const limited = yield* request("POST", "/api/runs", { token: viewer, body })
      assert.strictEqual(limited.status, 429)
      const problem = yield* expect<Problem>(limited, 429)
      assert.strictEqual(problem.code, "RATE_LIMITED")
      // A viewer may not approve (editor and up).
      const waiting = yield* waitingApproval("viewer approve")
      assert.strictEqual((yield* expect<Problem>(yield* request("POST", `/api/runs/${waiting.id}/approve`, { token: viewer }), 403)).code, "insufficient_role")
    }), T)
})
