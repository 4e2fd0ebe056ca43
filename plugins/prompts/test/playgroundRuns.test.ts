/**
 * The playground records each call as a finished run through the runs plugin's `Runs.record`
 * when that service is in reach: the runs plugin is composed before prompts (as in
 * `plugins/index.ts`). Without it, `run_id` is the usage record's id.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"
import { RunsPlugin } from "../../runs/Plugin.ts"
import { PromptsPlugin } from "../Plugin.ts"
import { call } from "./support.ts"

describe("prompts plugin: playground calls recorded as runs", () => {
  layer(TestKit.layer({ plugins: [RunsPlugin, PromptsPlugin] }), { timeout: 120_000 })((it) => {
    it.effect("a playground call is a finished run with source playground; its run_id is the run's", () =>
      Effect.gen(function*() {
        const ran = yield* call<{ run_id: string }>("POST", "/api/playground/run", { body: { content: "record me", model: "mock-runs" } })
        assert.strictEqual(ran.status, 200)
        const runs = yield* call<{ data: ReadonlyArray<{ id: string | number; source: string; model: string; status: string }> }>("GET", "/api/runs?limit=20")
        const run = runs.body.data.find((r) => String(r.id) === ran.body.run_id)
        assert.strictEqual(run?.source, "playground")
        assert.strictEqual(run?.model, "mock-runs")
      }))
  })
})
