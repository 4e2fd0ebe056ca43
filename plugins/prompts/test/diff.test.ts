/**
 * Version diffs are bounded work: four concurrent diffs of two 200 KB versions do not stall the
 * server (every `/health` request sent meanwhile is answered), and texts over the line limit
 * answer 422 `DIFF_TOO_LARGE` instead of being diffed.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"
import { lineDiff, maxDiffLines } from "../Diff.ts"
import { PromptsPlugin } from "../Plugin.ts"
import { call, createPrompt, publish, uniqueKey } from "./support.ts"

/** About 198 KB in 9,000 lines; `salt` makes the lines of two texts differ, in a pattern. */
const big = (salt: number) =>
  Array.from({ length: 9_000 }, (_, i) => `line ${String(i).padStart(5, "0")} ${(i * salt) % 7 === 0 ? "same" : `v${salt}`}`.padEnd(21, ".") + "\n")
    .join("")

describe("prompts plugin: bounded version diffs", () => {
  layer(TestKit.layer({ plugins: [PromptsPlugin] }), { timeout: 120_000 })((it) => {
    it.effect("keeps answering /health while four diffs of two 200 KB versions run", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const before = big(3)
        const after = big(5)
        assert.isAbove(before.length, 150_000)
        const id = yield* createPrompt({ key: uniqueKey("diff.big"), content: before, env: "prod" })
        yield* publish(id)
        const updated = yield* call("PUT", `/api/prompts/${id}`, { body: { content: after } })
        assert.strictEqual(updated.status, 200)
        yield* publish(id)

        const diff = (n: number) =>
          Effect.gen(function*() {
            const response = yield* kit.request("GET", `/api/prompts/${id}/versions/diff?from=v1&to=v2&n=${n}`)
            const text = yield* response.text
            return { status: response.status, body: JSON.parse(text) as { data: { added: number; removed: number } } }
          })
        const health = Effect.gen(function*() {
          const answers: Array<number> = []
          for (let i = 0; i < 8; i++) {
            const response = yield* kit.request("GET", "/health")
            answers.push(response.status)
          }
          return answers
        })
        const [diffs, healthAnswers] = yield* Effect.all(
          [Effect.all([diff(1), diff(2), diff(3), diff(4)], { concurrency: "unbounded" }), health],
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(healthAnswers, Array.from({ length: 8 }, () => 200))
        for (const answer of diffs) {
          assert.strictEqual(answer.status, 200)
          assert.isAbove(answer.body.data.added, 0)
          assert.strictEqual(answer.body.data.added, answer.body.data.removed)
        }
      }))

    it.effect("answers 422 DIFF_TOO_LARGE past the line limit, and diffs what is under it", () =>
      Effect.gen(function*() {
        const short = Array.from({ length: 12_000 }, (_, i) => `${i % 10}\n`).join("")
        const id = yield* createPrompt({ key: uniqueKey("diff.lines"), content: short, env: "prod" })
        yield* publish(id)
        yield* call("PUT", `/api/prompts/${id}`, { body: { content: short.replace("5\n", "five\n") } })
        const refused = yield* call<{ code: string; lines: number; max_lines: number }>(
          "GET",
          `/api/prompts/${id}/versions/diff?from=v1&to=current`
        )
        assert.strictEqual(refused.status, 422)
        assert.strictEqual(refused.headers["content-type"], "application/problem+json")
        assert.strictEqual(refused.body.code, "DIFF_TOO_LARGE")
        assert.deepStrictEqual([refused.body.lines, refused.body.max_lines], [24_000, maxDiffLines])
      }))

    it("is a valid edit script: applying it gives the new text, also past the search budget", () => {
      const before = big(3)
      const after = big(5) + "tail\n"
      const edits = lineDiff(before, after)
      assert.isDefined(edits)
      const rebuilt = (edits ?? []).filter((e) => e._tag !== "Delete").flatMap((e) => e.items).join("")
      const original = (edits ?? []).filter((e) => e._tag !== "Insert").flatMap((e) => e.items).join("")
      assert.strictEqual(rebuilt, after)
      assert.strictEqual(original, before)
      assert.deepStrictEqual(lineDiff("a\nb\nc", "a\nx\nc"), [
        { _tag: "Equal", items: ["a\n"] },
        { _tag: "Delete", items: ["b\n"] },
        { _tag: "Insert", items: ["x\n"] },
        { _tag: "Equal", items: ["c"] }
      ])
    })
  })
})
