/**
 * A loop resumed after its process went away (embedded database: a restart; PostgreSQL: the
 * same database, a new process) does not repeat a finished call: the first process finishes
 * two model calls and one HTTP tool call, and dies with the second tool call in flight. The
 * next process takes the run over: the finished model and tool calls replay from the loop's
 * checkpoints (the sink counts one call of the first tool, the model calls are reported once
 * each), and the in-flight call is sent again with the same idempotency key.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { as, eventually, restartable, sink, statusOf, tester } from "./support.ts"

const T = 180_000

const tool = (name: string, url: string) => ({ name, url, method: "POST", inputSchema: { type: "object" } })

describe("agents across restarts", () => {
  it.live("a resumed loop replays its finished model and tool calls and re-sends the in-flight one with its key", () =>
    Effect.gen(function*() {
      const server = yield* restartable
      const http = yield* sink
      http.setMode("/second", "hang")
      const runId = yield* Effect.scoped(Effect.gen(function*() {
        const { agents, runs } = yield* server.boot
        const agent = yield* agents.create({
          key: `restart-${Date.now().toString(36)}`,
          prompt: "resume me",
          tools: [tool("first", http.url("/first")), tool("second", http.url("/second"))],
          mock: {
            turns: [
              { toolCalls: [{ name: "first", input: { n: 1 } }] },
              { toolCalls: [{ name: "second", input: { n: 2 } }] },
              { text: "all done" }
            ]
          }
        }).pipe(as(tester))
        const started = yield* runs.run({ steps: [{ name: "agent", type: "agent", agent: agent.id }] }).pipe(as(tester))
        yield* http.arrived("/second", 1)
        return started.id
      }))
      yield* eventually(Effect.sync(() => http.aborted("/second") === 1))
      http.setMode("/second", "ok")
      yield* Effect.scoped(Effect.gen(function*() {
        const { runs } = yield* server.boot
        const detail = yield* statusOf(runs, runId, ["succeeded", "failed", "cancelled"])
        assert.strictEqual(detail.run.status, "succeeded", JSON.stringify(detail.run.error))
        assert.strictEqual((detail.run.output as { output: string }).output, "all done")
        assert.deepStrictEqual(http.hits("/first").map((h) => h.key), [`${runId}:0:0:1`])
        assert.deepStrictEqual(http.hits("/second").map((h) => h.key), [`${runId}:0:1:1`, `${runId}:0:1:1`])
        const events = yield* runs.events(runId, { limit: 1000 }).pipe(as(tester))
        assert.deepStrictEqual(events.map((e) => e.seq), events.map((_, i) => i + 1), "no gap, no duplicate")
        assert.strictEqual(events.filter((e) => e.data._tag === "model_call").length, 3, "each model call reported once")
        assert.deepStrictEqual(events.flatMap((e) => e.data._tag === "tool_call" ? [e.data.tool] : []), ["first", "second"])
      }))
    }), T)
})
