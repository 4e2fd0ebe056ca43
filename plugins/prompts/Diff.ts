/**
 * Bounded line diffs of prompt versions. A version may hold 200,000 characters, and a minimal
 * diff of two unrelated ones costs time quadratic in their line counts: one request held the
 * event loop for seconds. So the work is bounded:
 *
 * - two texts of more than {@link maxDiffLines} lines together are not diffed (the caller
 *   answers 422 `DIFF_TOO_LARGE`): the answer alone (every line, twice) would be megabytes;
 * - the common prefix and suffix are matched first (linear, and usually all there is);
 * - the changed middle is searched with `TextDiff`'s edit cap, chosen so the search stays near
 *   a fixed budget of line comparisons: the script is always valid, and minimal whenever the
 *   middle needs no more edits than the cap (past it, unmatched parts show as deleted and
 *   inserted whole).
 *
 * Pure and client-safe.
 */
import { TextDiff } from "effect"

/** Most lines (both sides together) a diff is computed for. */
export const maxDiffLines = 20_000

/** Budget of the search: the edit cap is this divided by the changed lines. */
const searchBudget = 400_000

const splitLines = (text: string): Array<string> => text.match(/[^\n]*\n|[^\n]+$/g) ?? []

/** The number of lines of `text`, as the diff counts them. */
export const lineCount = (text: string): number => {
  let count = 0
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) count++
  return text.length > 0 && !text.endsWith("\n") ? count + 1 : count
}

/** The line edit script of `before` → `after`; `undefined` past {@link maxDiffLines}. */
export const lineDiff = (before: string, after: string): ReadonlyArray<TextDiff.Edit<string>> | undefined => {
  if (lineCount(before) + lineCount(after) > maxDiffLines) return undefined
  const a = splitLines(before)
  const b = splitLines(after)
  let prefix = 0
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++
  let suffix = 0
  while (
    suffix < a.length - prefix && suffix < b.length - prefix && a[a.length - 1 - suffix] === b[b.length - 1 - suffix]
  ) suffix++
  const middleA = a.slice(prefix, a.length - suffix)
  const middleB = b.slice(prefix, b.length - suffix)
  const changed = middleA.length + middleB.length
  const edits: Array<TextDiff.Edit<string>> = []
  if (prefix > 0) edits.push({ _tag: "Equal", items: a.slice(0, prefix) })
  if (changed > 0) {
    const maxEdits = Math.max(16, Math.floor(searchBudget / changed))
    // `lines` interns the lines (integer comparisons); rejoined lines split back the same way.
    edits.push(...TextDiff.lines(middleA.join(""), middleB.join(""), { maxEdits }))
  }
  if (suffix > 0) edits.push({ _tag: "Equal", items: a.slice(a.length - suffix) })
  return edits
}
