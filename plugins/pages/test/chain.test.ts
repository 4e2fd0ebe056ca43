/**
 * The approval chain's transition table (`Chain.ts`), row by row: sequential and parallel
 * chains, quorum, rejection, escalation and timeouts, refusals of late, duplicate and
 * unassigned decisions.
 */
import { assert, describe, it } from "vitest"
import * as Chain from "../Chain.ts"
import type { ApprovalChain } from "../Domain.ts"

/** An email address (built, so that no address is written out whole). */
const mail = (name: string): string => [name, "example.com"].join("@")

const at = new Date("2026-01-01T00:00:00.000Z")

const sequential: ApprovalChain = {
  mode: "sequential",
  steps: [
    { step_id: "manager", name: "Manager", assignees: [mail("ann"), mail("bob")], quorum: 2 },
    { step_id: "finance", assignees: [mail("fin")], timeout_minutes: 30, escalate_to: [mail("cfo")] }
  ]
}

const parallel: ApprovalChain = {
  mode: "parallel",
  steps: [
    { step_id: "legal", assignees: [mail("lee")] },
    { step_id: "security", assignees: [mail("sec1"), mail("sec2")] }
  ]
}

/** Applies decisions one after another, failing the test on a refusal. */
const apply = (chain: ApprovalChain, decisions: ReadonlyArray<[string, Chain.Verdict]>): Array<Chain.Fact> => {
  const facts: Array<Chain.Fact> = []
  for (const [identity, verdict] of decisions) {
    const outcome = Chain.decide(chain, facts, identity, verdict, at)
    if (outcome._tag === "Refused") throw new Error(`${identity} refused: ${outcome.refusal._tag}`)
    facts.push({ stepId: outcome.stepId, identity: Chain.normalize(identity), decision: verdict, comment: null, decidedAt: at })
  }
  return facts
}

const statuses = (state: Chain.ChainState) => state.steps.map((step) => step.status)

describe("Chain: sequential", () => {
  it("starts with the first step pending and the rest waiting", () => {
    const state = Chain.state(sequential, [])
    assert.deepStrictEqual(statuses(state), ["pending", "waiting"])
    assert.strictEqual(state.status, "in_progress")
    assert.strictEqual(state.current, "manager")
    assert.deepStrictEqual(Chain.initiallyOpen(sequential).map((s) => s.stepId), ["manager"])
  })

  it("keeps a step pending below its quorum, and completes it at the quorum, opening the next", () => {
    const one = apply(sequential, [[mail("ann"), "approved"]])
    assert.deepStrictEqual(statuses(Chain.state(sequential, one)), ["pending", "waiting"])
    const outcome = Chain.decide(sequential, one, mail("bob"), "approved", at)
    assert.strictEqual(outcome._tag, "Accepted")
    if (outcome._tag !== "Accepted") return
    assert.deepStrictEqual(statuses(outcome.after), ["completed", "pending"])
    assert.strictEqual(outcome.after.current, "finance")
    assert.deepStrictEqual(outcome.opened.map((s) => s.stepId), ["finance"])
    assert.strictEqual(outcome.after.steps[0]!.settledBy?.identity, mail("bob"))
  })

  it("approves the chain when the last step completes", () => {
    const facts = apply(sequential, [[mail("ann"), "approved"], [mail("bob"), "approved"], [mail("fin"), "approved"]])
    const state = Chain.state(sequential, facts)
    assert.strictEqual(state.status, "approved")
    assert.strictEqual(state.current, null)
    assert.deepStrictEqual(statuses(state), ["completed", "completed"])
  })

  it("rejects the step and the chain on one rejection, skipping the steps after", () => {
    const facts = apply(sequential, [[mail("ann"), "approved"], [mail("bob"), "rejected"]])
    const state = Chain.state(sequential, facts)
    assert.strictEqual(state.status, "rejected")
    assert.deepStrictEqual(statuses(state), ["rejected", "skipped"])
    assert.strictEqual(state.current, null)
  })

  it("refuses someone who is no assignee of the current step (a later step's assignee too)", () => {
    const outcome = Chain.decide(sequential, [], mail("fin"), "approved", at)
    assert.deepStrictEqual(outcome._tag === "Refused" && outcome.refusal._tag, "NotAssignee")
    const stranger = Chain.decide(sequential, [], mail("eve"), "approved", at)
    assert.deepStrictEqual(stranger._tag === "Refused" && stranger.refusal._tag, "NotAssignee")
  })

  it("counts a person once: a second decision on the same step is refused", () => {
    const facts = apply(sequential, [[mail("ann"), "approved"]])
    const again = Chain.decide(sequential, facts, mail("ann"), "approved", at)
    assert.deepStrictEqual(again._tag === "Refused" && again.refusal, { _tag: "AlreadyDecided", stepId: "manager" })
  })

  it("refuses a decision on a settled chain", () => {
    const facts = apply(sequential, [[mail("ann"), "rejected"]])
    const late = Chain.decide(sequential, facts, mail("bob"), "approved", at)
    assert.deepStrictEqual(late._tag === "Refused" && late.refusal, { _tag: "ChainSettled", status: "rejected" })
  })

  it("compares identities case-insensitively", () => {
    const facts = apply(sequential, [[mail("ann"), "approved"]])
    const again = Chain.decide(sequential, facts, mail("ANN"), "approved", at)
    assert.strictEqual(again._tag, "Refused")
  })
})

describe("Chain: parallel", () => {
  it("opens every step at once", () => {
    const state = Chain.state(parallel, [])
    assert.deepStrictEqual(statuses(state), ["pending", "pending"])
    assert.strictEqual(state.current, "legal")
    assert.strictEqual(Chain.initiallyOpen(parallel).length, 2)
  })

  it("is approved when every step is, in any order", () => {
    const facts = apply(parallel, [[mail("lee"), "approved"], [mail("sec2"), "approved"]])
    assert.strictEqual(Chain.state(parallel, facts).status, "approved")
  })

  it("is rejected on the first rejection; the other open steps are skipped", () => {
    const facts = apply(parallel, [[mail("sec1"), "rejected"]])
    const state = Chain.state(parallel, facts)
    assert.strictEqual(state.status, "rejected")
    assert.deepStrictEqual(statuses(state), ["skipped", "rejected"])
  })

  it("counts an assignee of two steps on each in turn", () => {
    const both: ApprovalChain = { mode: "parallel", steps: [{ step_id: "a", assignees: [mail("x")] }, { step_id: "b", assignees: [mail("x")] }] }
    const facts = apply(both, [[mail("x"), "approved"], [mail("x"), "approved"]])
    assert.deepStrictEqual(facts.map((f) => f.stepId), ["a", "b"])
    assert.strictEqual(Chain.state(both, facts).status, "approved")
  })
})

describe("Chain: timeouts and escalation", () => {
  const reachFinance = () => apply(sequential, [[mail("ann"), "approved"], [mail("bob"), "approved"]])

  it("escalates a pending step with escalate_to: the new assignees may decide", () => {
    const facts = reachFinance()
    const outcome = Chain.timeout(sequential, facts, "finance", at)
    assert.strictEqual(outcome._tag, "Escalate")
    if (outcome._tag !== "Escalate") return
    assert.deepStrictEqual(outcome.added, [mail("cfo")])
    const step = outcome.after.steps[1]!
    assert.strictEqual(step.status, "escalated")
    assert.deepStrictEqual(step.assignees, [mail("fin"), mail("cfo")])
    assert.deepStrictEqual(step.decisions, [])
    const decided = Chain.decide(sequential, [...facts, outcome.fact], mail("cfo"), "approved", at)
    assert.strictEqual(decided._tag === "Accepted" && decided.after.status, "approved")
    assert.strictEqual(Chain.timeout(sequential, [...facts, outcome.fact], "finance", at)._tag, "Ignore")
  })

  it("rejects a pending step without escalate_to, and the chain with it", () => {
    const outcome = Chain.timeout(sequential, [], "manager", at)
    assert.strictEqual(outcome._tag, "Reject")
    if (outcome._tag !== "Reject") return
    assert.strictEqual(outcome.fact.identity, Chain.timeoutIdentity)
    assert.strictEqual(outcome.after.status, "rejected")
  })

  it("ignores the timeout of a step that is settled or not open", () => {
    assert.strictEqual(Chain.timeout(sequential, [], "finance", at)._tag, "Ignore")
    assert.strictEqual(Chain.timeout(sequential, reachFinance(), "manager", at)._tag, "Ignore")
    assert.strictEqual(Chain.timeout(sequential, [], "nope", at)._tag, "Ignore")
  })
})
