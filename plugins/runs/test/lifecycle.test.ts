/**
 * The run state machine as a pure table: seed 002's controls written out independently here
 * (start: draft -> queued; pause: running -> paused; resume: paused -> queued; cancel: any
 * non-terminal -> cancelled; retry: failed -> queued; approve/reject from awaiting_approval)
 * and compared with `Lifecycle.ts`, plus the engine's moves.
 */
import { assert, describe, it } from "@effect/vitest"
import type { RunStatus } from "../Domain.ts"
import * as Lifecycle from "../Lifecycle.ts"

const expected: Record<RunStatus, Partial<Record<Lifecycle.Transition, RunStatus>>> = {
  draft: { start: "queued", cancel: "cancelled" },
  queued: { claim: "running", pause: "paused", cancel: "cancelled", fail: "failed", expire: "failed" },
  running: { claim: "running", pause: "paused", cancel: "cancelled", succeed: "succeeded", fail: "failed", expire: "failed", sleep: "waiting", await: "awaiting_approval" },
  paused: { resume: "queued", cancel: "cancelled", expire: "failed" },
  waiting: { claim: "running", pause: "paused", cancel: "cancelled", fail: "failed", expire: "failed", complete: "queued" },
  awaiting_approval: { approve: "queued", reject: "failed", cancel: "cancelled", expire: "failed" },
  succeeded: {},
  failed: { retry: "queued" },
  cancelled: {}
}

describe("runs lifecycle", () => {
  it("is the expected table, exactly", () => {
    const actual: Record<string, Record<string, string>> = {}
    for (const row of Lifecycle.table) actual[row.from] = { ...actual[row.from], [row.transition]: row.to }
    for (const status of Lifecycle.statuses) actual[status] ??= {}
    assert.deepStrictEqual(actual, expected)
  })

  it("every transition reaches one status from all its sources", () => {
    for (const row of Lifecycle.table) {
      assert.strictEqual(Lifecycle.targetOf(row.transition), row.to)
      assert.include(Lifecycle.sources(row.transition), row.from)
      assert.strictEqual(Lifecycle.next(row.from, row.transition), row.to)
    }
  })

  it("cancel leaves every status that is not terminal; nothing leaves succeeded or cancelled", () => {
    assert.sameMembers([...Lifecycle.sources("cancel")], ["draft", "queued", "running", "paused", "waiting", "awaiting_approval"])
    assert.deepStrictEqual(Lifecycle.allowedControls("succeeded"), [])
    assert.deepStrictEqual(Lifecycle.allowedControls("cancelled"), [])
    assert.deepStrictEqual(Lifecycle.allowedControls("failed"), ["retry"])
    assert.isTrue(Lifecycle.isTerminal("failed"))
    assert.isFalse(Lifecycle.isActive("draft"))
    assert.isTrue(Lifecycle.isActive("awaiting_approval"))
  })

  it("controls are what callers may use; the engine's moves are not controls", () => {
    assert.deepStrictEqual(Lifecycle.allowedControls("running"), ["pause", "cancel"])
    assert.deepStrictEqual(Lifecycle.allowedControls("awaiting_approval"), ["cancel", "approve", "reject"])
    assert.isUndefined(Lifecycle.next("draft", "claim"))
    assert.isUndefined(Lifecycle.next("paused", "claim"))
  })
})
