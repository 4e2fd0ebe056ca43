/**
 * The pure parts, on their own: the review state derivation (SessionFS
 * `services/review_state.py`), the cycle finder, the lifecycle table.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { findCycle } from "../DependencyGraph.ts"
import * as Lifecycle from "../Lifecycle.ts"
import * as ReviewState from "../ReviewState.ts"
import { TicketsConfig } from "../TicketsConfig.ts"

const at = (second: number) => `2026-11-23T12:00:${String(second).padStart(2, "0")}.000000Z`

describe("review state", () => {
  it("is null without a reviewer round, even when the reviewer wrote something else", () => {
    assert.isNull(ReviewState.derive([]))
    assert.isNull(ReviewState.derive([
      { id: "c1", author_persona: "atlas", content: "Codex R1 review on tk_x: CHANGES REQUESTED", created_at: at(1) },
      { id: "c2", author_persona: "codex-reviewer", content: "looking now", created_at: at(2) }
    ]))
  })

  it("keeps findings open until a later clean round, counts only open ones, ignores bullets after the findings", () => {
    const state = ReviewState.derive([
      {
        id: "r1",
        author_persona: "codex-reviewer",
        content: "Codex R1 review on tk_abc: CHANGES_REQUESTED\nFindings:\n • HIGH — race in claim\n - LOW: naming\n" +
          "Verified clean / no change needed:\n - MEDIUM - not a finding\n",
        created_at: at(1)
      },
      { id: "a1", author_persona: "atlas", content: "R1 closure — fixed in 1234", created_at: at(2) },
      { id: "r2", author_persona: "codex-reviewer", content: "Codex R2 doc review on tk_abc: CHANGES REQUESTED\nFindings:\n * CRITICAL - data loss\n", created_at: at(3) }
    ])
    assert.isNotNull(state)
    assert.strictEqual(state?.last_verdict, ReviewState.verdictChanges)
    assert.deepStrictEqual(state?.open_findings.map((f) => [f.severity, f.text, f.round]), [
      ["HIGH", "race in claim", 1],
      ["LOW", "naming", 1],
      ["CRITICAL", "data loss", 2]
    ])
    assert.deepStrictEqual(state?.severity_counts, { CRITICAL: 1, HIGH: 1, MEDIUM: 0, LOW: 1 })
    assert.deepStrictEqual([state?.last_review_comment_id, state?.last_implementer_comment_id, state?.updated_at], ["r2", "a1", at(3)])

    const cleared = ReviewState.derive([
      ...[
        { id: "r1", author_persona: "codex-reviewer", content: "Codex R1 review on tk_abc: CHANGES REQUESTED\nFindings:\n - HIGH - x\n", created_at: at(1) },
        { id: "r2", author_persona: "codex-reviewer", content: "Codex R2 review on tk_abc: NO CHANGES NEEDED\n", created_at: at(2) }
      ]
    ])
    assert.deepStrictEqual(cleared?.closed_findings.map((f) => [f.round, f.closed_round, f.status]), [[1, 2, "closed"]])
    assert.strictEqual(cleared?.last_verdict, ReviewState.verdictClean)
  })
})

describe("cycle finder", () => {
  const edges = [
    { ticket_id: "b", depends_on_id: "a" },
    { ticket_id: "c", depends_on_id: "b" },
    { ticket_id: "d", depends_on_id: "c" },
    { ticket_id: "a", depends_on_id: "z" }
  ]

  it("names the cycle from the ticket through the new dependency back to itself", () => {
    assert.deepStrictEqual(findCycle("a", ["d"], edges), ["a", "d", "c", "b", "a"])
    assert.deepStrictEqual(findCycle("a", ["a"], edges), ["a", "a"])
    assert.deepStrictEqual(findCycle("b", ["c"], edges), ["b", "c", "b"])
  })

  it("ignores the ticket's own edges being replaced, and accepts diamonds", () => {
    assert.isUndefined(findCycle("a", ["z", "y"], edges))
    assert.isUndefined(findCycle("d", ["a", "b", "c"], edges))
    assert.isUndefined(findCycle("z", ["q"], edges))
  })
})

describe("lifecycle table", () => {
  it("reaches every status of a kind from its start, and gives each transition one target", () => {
    for (const row of Lifecycle.table) assert.strictEqual(row.to, Lifecycle.targetOf(row.transition))
    assert.deepStrictEqual(Lifecycle.sources("task", "start"), ["open"])
    assert.deepStrictEqual(Lifecycle.sources("issue", "dismiss"), ["open", "in_progress"])
    assert.deepStrictEqual(Lifecycle.sources("task", "close"), [])
    assert.isTrue(Lifecycle.isTerminal("task", "done"))
    assert.isTrue(Lifecycle.isTerminal("issue", "closed"))
    assert.isFalse(Lifecycle.isTerminal("task", "review"))
  })
})

describe("TRELLIS_TICKETS_LEASE_SECONDS", () => {
  const read = (env: Record<string, string>) =>
    Effect.gen(function*() {
      return (yield* TicketsConfig).leaseSeconds
    }).pipe(
      Effect.provide(TicketsConfig.layerFromConfig.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(env)))))
    )

  it.effect("defaults to 0 (leases never expire, as SessionFS's) and reads a whole number", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* read({}), 0)
      assert.strictEqual(yield* read({ TRELLIS_TICKETS_LEASE_SECONDS: "" }), 0)
      assert.strictEqual(yield* read({ TRELLIS_TICKETS_LEASE_SECONDS: "0" }), 0)
      assert.strictEqual(yield* read({ TRELLIS_TICKETS_LEASE_SECONDS: "90" }), 90)
    }))

  it.effect("refuses anything else, naming the variable", () =>
    Effect.gen(function*() {
      for (const value of ["abc", "1.5", "-3", "31536001"]) {
        const error = yield* Effect.flip(read({ TRELLIS_TICKETS_LEASE_SECONDS: value }))
        assert.include(error.message, "TRELLIS_TICKETS_LEASE_SECONDS", value)
      }
    }))
})
