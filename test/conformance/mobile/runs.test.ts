/**
 * Seed 002 (the mobile client's runs API) against Trellis: the runs calls as the reference
 * documents them, with their bodies and the members the client reads. JSON in camelCase; run
 * ids are numbers; errors are RFC 7807 with `runId` and `currentStatus` on a 409 (the
 * reference's example problem, exactly); events page as `{data, meta: {nextCursor}}`; the
 * stream is SSE (`id: N`, `event: agent_event`, `data: {id, runId, eventType, ...}`, `:ping`,
 * `Last-Event-ID`); rate limits: 6 run starts a minute and 4 concurrent streams per user.
 *
 * The run's one `agent` step is a scripted stand-in registered by the test (the agents plugin
 * serves the real one): its prompt says what it does (`fail:`, `slow:`, else it answers).
 * The files, diff, snapshots, commands, commit and push routes are outside Trellis and not
 * served (see plugins/runs/README.md).
 */
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import * as TestKit from "trellis/testing"
import { RunsPlugin } from "../../../plugins/runs/Plugin.ts"
import { expect, member, request, stepsPlugin, untilStatus } from "../../../plugins/runs/test/httpSupport.ts"
import type { EventBody, Problem, RunBody } from "../../../plugins/runs/test/httpSupport.ts"
import type { Services } from "../../../plugins/runs/test/support.ts"
import { connect } from "../../platform/sseClient.ts"

const services = Effect.runSync(Deferred.make<Services>())
const T = 120_000

/** The documented draft body. */
const draftBody = (prompt: string) => ({
  projectId: 7,
  title: "Add a health check",
  prompt,
  selectedAgent: "claude-code",
  selectedModel: "mock-large",
  ragEnabled: false,
  safeMode: true
})

layer(TestKit.layer({ plugins: [RunsPlugin, stepsPlugin(services)], config: { sseHeartbeatSeconds: 1 } }), {
  timeout: T,
  excludeTestServices: true
})("seed 002: the mobile runs API", (it) => {
  it.effect("POST /api/runs creates a draft; start, the detail with its timeline, events and summary", () =>
    Effect.gen(function*() {
      const draft = yield* expect<RunBody>(yield* request("POST", "/api/runs", { body: draftBody("add GET /health") }), 201)
      assert.strictEqual(typeof draft.id, "number")
      assert.strictEqual(draft.status, "draft")
      assert.deepStrictEqual([draft.projectId, draft.selectedAgent, draft.safeMode], ["7", "claude-code", true])
      const queued = yield* expect<RunBody>(yield* request("POST", `/api/runs/${draft.id}/start`), 200)
      assert.include(["queued", "running", "succeeded"], queued.status)
      const done = yield* untilStatus(draft.id, ["succeeded"])
      assert.isArray(done.timeline)
      assert.deepStrictEqual(Object.keys(done.timeline[0] ?? {}).sort(), ["attempts", "finishedAt", "index", "name", "startedAt", "status", "type"])
      for (const key of ["createdAt", "updatedAt", "startedAt", "finishedAt"]) assert.match(String(done[key]), /^\d{4}-\d{2}-\d{2}T.*Z$/, key)

      const page = yield* expect<{ data: ReadonlyArray<EventBody>; meta: { nextCursor: string | null } }>(
        yield* request("GET", `/api/runs/${draft.id}/events?since=0&eventTypes=status&severity=info&limit=2`),
        200
      )
      assert.deepStrictEqual(page.data.map((e) => [e.eventType, e.runId]), [["status", draft.id], ["status", draft.id]])
      assert.isString(page.meta.nextCursor)
      const rest = yield* expect<{ data: ReadonlyArray<EventBody>; meta: { nextCursor: string | null } }>(
        yield* request("GET", `/api/runs/${draft.id}/events?eventTypes=status&cursor=${page.meta.nextCursor}`),
        200
      )
      assert.deepStrictEqual([...page.data, ...rest.data].map((e) => e.to), ["draft", "queued", "running", "succeeded"])

      const summary = yield* expect<Record<string, unknown>>(yield* request("GET", `/api/runs/${draft.id}/summary`), 200)
      assert.strictEqual(summary.runId, draft.id)
      assert.strictEqual(summary.status, "succeeded")
      for (const list of ["changedFiles", "risks", "tests", "docs"]) assert.deepStrictEqual(summary[list], [], list)
    }), T)

  it.effect("the error model: starting a running run answers the reference's example problem", () =>
    Effect.gen(function*() {
      const draft = yield* expect<RunBody>(yield* request("POST", "/api/runs", { body: draftBody("slow: a long task") }), 201)
      yield* expect(yield* request("POST", `/api/runs/${draft.id}/start`), 200)
      yield* untilStatus(draft.id, ["running"])
      const response = yield* request("POST", `/api/runs/${draft.id}/start`)
      assert.strictEqual(response.headers["content-type"], "application/problem+json")
      const problem = yield* expect<Problem>(response, 409)
      assert.deepStrictEqual(
        { type: problem.type, title: problem.title, status: problem.status, instance: problem.instance, runId: problem.runId, currentStatus: problem.currentStatus },
        {
          type: "https://docs.example.com/errors/run-not-startable",
          title: "Run is not in a startable state",
          status: 409,
          instance: `/api/runs/${draft.id}/start`,
          runId: draft.id,
          currentStatus: "running"
        }
      )
      assert.isString(problem.detail)
      // running -> paused; paused -> queued; any non-terminal -> cancelled.
      assert.strictEqual((yield* expect<RunBody>(yield* request("POST", `/api/runs/${draft.id}/pause`), 200)).status, "paused")
      assert.strictEqual((yield* expect<RunBody>(yield* request("POST", `/api/runs/${draft.id}/resume`), 200)).status, "queued")
      assert.strictEqual((yield* expect<RunBody>(yield* request("POST", `/api/runs/${draft.id}/cancel`), 200)).status, "cancelled")
      const refused = yield* expect<Problem>(yield* request("POST", `/api/runs/${draft.id}/resume`), 409)
      assert.deepStrictEqual([refused.runId, refused.currentStatus], [draft.id, "cancelled"])
    }), T)

  it.effect("failed -> queued by retry; approve {notes, commit} and reject {notes} write review rows", () =>
    Effect.gen(function*() {
      const draft = yield* expect<RunBody>(yield* request("POST", "/api/runs", { body: draftBody("fail: the provider is down") }), 201)
      yield* expect(yield* request("POST", `/api/runs/${draft.id}/start`), 200)
      const failed = yield* untilStatus(draft.id, ["failed"])
      assert.deepStrictEqual(failed.error, { stepIndex: 0, step: "agent", message: "the provider is down" })
      assert.strictEqual((yield* expect<RunBody>(yield* request("POST", `/api/runs/${draft.id}/retry`), 200)).status, "queued")
      yield* untilStatus(draft.id, ["failed"])

      const gated = yield* expect<RunBody>(yield* request("POST", "/api/runs", {
        body: { title: "gated", steps: [{ name: "review", type: "approval" }], input: {} }
      }), 201)
      yield* expect(yield* request("POST", `/api/runs/${gated.id}/start`), 200)
      yield* untilStatus(gated.id, ["awaiting_approval"])
      yield* expect(yield* request("POST", `/api/runs/${gated.id}/reject`, { body: { notes: "tests missing" } }), 200)
      yield* expect(yield* request("POST", `/api/runs/${gated.id}/retry`), 200)
      yield* untilStatus(gated.id, ["awaiting_approval"])
      yield* expect(yield* request("POST", `/api/runs/${gated.id}/approve`, { body: { notes: "good", commit: true } }), 200)
      yield* untilStatus(gated.id, ["succeeded"])
      const summary = yield* expect<{ reviews: ReadonlyArray<{ decision: string; notes: string; commit: boolean }> }>(
        yield* request("GET", `/api/runs/${gated.id}/summary`),
        200
      )
      assert.deepStrictEqual(summary.reviews.map((r) => [r.decision, r.notes, r.commit]), [["rejected", "tests missing", false], ["approved", "good", true]])
    }), T)

  it.effect("SSE: id, event agent_event, data {id, runId, eventType}, :ping, Last-Event-ID", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const draft = yield* expect<RunBody>(yield* request("POST", "/api/runs", { body: draftBody("say hello") }), 201)
      yield* expect(yield* request("POST", `/api/runs/${draft.id}/start`), 200)
      yield* untilStatus(draft.id, ["succeeded"])
      const url = `${kit.baseUrl}/api/runs/${draft.id}/events/stream`
      const stream = yield* Effect.promise(() => connect(url, { authorization: `Bearer ${kit.adminToken}`, "last-event-id": "2" }))
      assert.strictEqual(stream.contentType, "text/event-stream")
      const frames = yield* Effect.promise(() =>
        stream.until((fs) => fs.some((f) => f.data?.includes("\"succeeded\"") === true) && fs.some((f) => f.comment === "ping"))
      )
      stream.close()
      const events = frames.filter((f) => f.event !== undefined)
      assert.strictEqual(events[0]?.id, "3", "resumes after Last-Event-ID")
      for (const frame of events) {
        assert.strictEqual(frame.event, "agent_event")
        const data = JSON.parse(frame.data ?? "{}") as EventBody
        assert.strictEqual(data.id, Number(frame.id))
        assert.strictEqual(data.runId, draft.id)
        assert.isString(data.eventType)
      }
    }), T)

  it.effect("rate limits: 6 run starts a minute, 4 concurrent streams per user", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const token = yield* member("viewer")
      const body = draftBody("hello")
      const ids: Array<number> = []
      for (let i = 0; i < 6; i++) ids.push((yield* expect<RunBody>(yield* request("POST", "/api/runs", { token, body }), 201)).id)
      const limited = yield* expect<Problem>(yield* request("POST", `/api/runs/${ids[0]}/start`, { token }), 429)
      assert.strictEqual(limited.code, "RATE_LIMITED")
      const url = `${kit.baseUrl}/api/runs/${ids[0]}/events/stream`
      const open = yield* Effect.promise(() => Promise.all([1, 2, 3, 4].map(() => connect(url, { authorization: `Bearer ${token}` }))))
      assert.deepStrictEqual(open.map((s) => s.status), [200, 200, 200, 200])
      const fifth = yield* Effect.promise(() => connect(url, { authorization: `Bearer ${token}` }))
      assert.strictEqual(fifth.status, 429)
      for (const s of [...open, fifth]) s.close()
    }), T)
})
