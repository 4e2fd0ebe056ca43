/**
 * How long one version diff holds the event loop: the synchronous part of
 * `GET /api/prompts/:id/versions/diff` (the bounded line diff of `plugins/prompts/Diff.ts`, the
 * unified text and the JSON answer), for texts of growing size and for the worst shapes (every
 * line changed; lines changed in an interleaved pattern). The goal is that no single request
 * blocks the others for more than 100 ms. Prints milliseconds (median and worst of the runs).
 *
 *   node bench/diff.ts            # BENCH_DIFF_RUNS=7 by default
 */
import { TextDiff } from "effect"
import { lineDiff } from "../plugins/prompts/Diff.ts"

const runs = Number(process.env.BENCH_DIFF_RUNS ?? "7")

const patterned = (lines: number, salt: number) =>
  Array.from({ length: lines }, (_, i) => `line ${String(i).padStart(5, "0")} ${(i * salt) % 7 === 0 ? "same" : `v${salt}`}`.padEnd(21, ".") + "\n").join("")
const unrelated = (lines: number, tag: string) =>
  Array.from({ length: lines }, (_, i) => `${tag} ${i} ${"x".repeat(12)}\n`).join("")

/** The synchronous work of one diff request, as the handler does it. */
const oneRequest = (before: string, after: string): number => {
  const started = performance.now()
  const edits = lineDiff(before, after)
  if (edits !== undefined) {
    const changes = edits.map((edit) => ({ op: edit._tag, lines: edit.items }))
    const unified = TextDiff.unified(edits, { fromFile: "v1", toFile: "v2" })
    JSON.stringify({ data: { unified, changes } })
  }
  return performance.now() - started
}

const cases: ReadonlyArray<readonly [string, string, string]> = [
  ["patterned, 2,000 lines (~44 KB)", patterned(2_000, 3), patterned(2_000, 5)],
  ["patterned, 9,000 lines (~198 KB)", patterned(9_000, 3), patterned(9_000, 5)],
  ["unrelated, 9,000 lines (~200 KB)", unrelated(9_000, "a"), unrelated(9_000, "b")],
  ["one line changed, 10,000 lines", patterned(10_000, 3), patterned(10_000, 3).replace("line 05000", "line 5000!")],
  ["at the line limit, 10,000 + 10,000 unrelated", unrelated(10_000, "a"), unrelated(10_000, "b")]
]

console.log(`version diff: synchronous time per request (${runs} runs each), Node ${process.version}`)
for (const [name, before, after] of cases) {
  const times = Array.from({ length: runs }, () => oneRequest(before, after)).sort((a, b) => a - b)
  const median = times[Math.floor(times.length / 2)]
  const worst = times[times.length - 1]
  console.log(`  ${name.padEnd(46)} median ${median.toFixed(1).padStart(6)} ms   worst ${worst.toFixed(1).padStart(6)} ms`)
}
