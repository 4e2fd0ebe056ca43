/**
 * An approval chain's state as a pure function of the declared chain and the decisions stored
 * so far (`pages.decisions`), in the manner of `plugins/tickets/Lifecycle.ts`: the action
 * route, the timeout job and `GET /v1/pages/:id/approval` all derive the state here, so they
 * cannot disagree, and the route only stores facts (one row per person per step).
 *
 * Transition table (per step):
 *
 *     waiting --(previous step completed, sequential)--> pending
 *     pending --(quorum distinct assignees approved)--> completed
 *     pending --(any assignee rejected, or timed out without escalate_to)--> rejected
 *     pending --(timed out with escalate_to)--> escalated  (assignees += escalate_to; decides as pending)
 *     waiting/pending/escalated --(another step rejected)--> skipped
 *
 * The chain: `sequential` runs its steps one after another (the current step is the first not
 * completed); `parallel` has every step pending at once. It is `approved` when every step
 * completed and `rejected` on the first rejected step.
 *
 * Facts are decisions (`approved` / `rejected`) by an identity, and escalation markers
 * (`escalated`, by the timeout job). A timeout without `escalate_to` is a `rejected` decision
 * by `system:timeout`. Identities compare case-insensitively (they are email addresses).
 *
 * Client-safe: imports only the domain.
 */
import type { ApprovalChain, ChainStep } from "./Domain.ts"

export type Verdict = "approved" | "rejected"

/** One stored fact about a step. */
export interface Fact {
  readonly stepId: string
  readonly identity: string
  readonly decision: Verdict | "escalated"
  readonly comment: string | null
  readonly decidedAt: Date
}

export type StepStatus = "waiting" | "pending" | "completed" | "rejected" | "escalated" | "skipped"
export type ChainStatus = "in_progress" | "approved" | "rejected"

export interface StepState {
  readonly stepId: string
  readonly name: string
  readonly status: StepStatus
  /** Declared assignees, plus `escalate_to` once escalated (normalized, deduplicated). */
  readonly assignees: ReadonlyArray<string>
  readonly quorum: number
  readonly decisions: ReadonlyArray<Fact>
  /** The decision that settled the step (the quorum-reaching approval or the rejection). */
  readonly settledBy: Fact | null
  readonly timeoutMinutes: number | null
}

export interface ChainState {
  readonly mode: "sequential" | "parallel"
  readonly status: ChainStatus
  /** The first step awaiting decisions (sequential: the one; parallel: the first pending), or null when settled. */
  readonly current: string | null
  readonly steps: ReadonlyArray<StepState>
}

/** The system identity of a timeout that rejects a step. */
export const timeoutIdentity = "system:timeout"
/** The system identity of an escalation marker. */
export const escalationIdentity = "system:escalation"

export const normalize = (identity: string): string => identity.trim().toLowerCase()

const unique = (values: ReadonlyArray<string>): Array<string> => [...new Set(values.map(normalize))]

/** The quorum a step needs: its declared one (default 1), at least 1. */
export const quorumOf = (step: ChainStep): number => Math.max(1, step.quorum ?? 1)

export const modeOf = (chain: ApprovalChain): "sequential" | "parallel" => chain.mode ?? "sequential"

const isOpen = (status: StepStatus): boolean => status === "pending" || status === "escalated"

/** Whether a step is settled by its facts alone (ignores order): the verdict and the fact that settled it. */
const settle = (step: ChainStep, assignees: ReadonlyArray<string>, facts: ReadonlyArray<Fact>): { verdict: Verdict; by: Fact } | null => {
  const quorum = quorumOf(step)
  const approvers = new Set<string>()
  for (const fact of facts) {
    if (fact.decision === "rejected") return { verdict: "rejected", by: fact }
    if (fact.decision === "approved" && assignees.includes(normalize(fact.identity))) {
      approvers.add(normalize(fact.identity))
      if (approvers.size >= quorum) return { verdict: "approved", by: fact }
    }
  }
  return null
}

/** The chain's state from its declaration and its facts (in the order they were stored). */
export const state = (chain: ApprovalChain, facts: ReadonlyArray<Fact>): ChainState => {
  const mode = modeOf(chain)
  let rejected = false
  let blocked = false // sequential: a step before is not completed yet
  const steps: Array<StepState> = []
  for (const step of chain.steps) {
    const own = facts.filter((fact) => fact.stepId === step.step_id)
    const escalated = own.some((fact) => fact.decision === "escalated")
    const assignees = unique([...step.assignees, ...(escalated ? step.escalate_to ?? [] : [])])
    const decisions = own.filter((fact) => fact.decision !== "escalated")
    const base = {
      stepId: step.step_id,
      name: step.name ?? step.step_id,
      assignees,
      quorum: quorumOf(step),
      decisions,
      timeoutMinutes: step.timeout_minutes ?? null
    }
    const settled = blocked ? null : settle(step, assignees, decisions)
    let status: StepStatus
    if (blocked) status = "waiting"
    else if (settled === null) status = escalated ? "escalated" : "pending"
    else status = settled.verdict === "approved" ? "completed" : "rejected"
    if (status === "rejected") rejected = true
    if (mode === "sequential" && status !== "completed") blocked = true
    steps.push({ ...base, status, settledBy: settled?.by ?? null })
  }
  const final = rejected
    ? steps.map((step): StepState => (isOpen(step.status) || step.status === "waiting" ? { ...step, status: "skipped" } : step))
    : steps
  const status: ChainStatus = rejected ? "rejected" : final.every((step) => step.status === "completed") ? "approved" : "in_progress"
  const current = status === "in_progress" ? final.find((step) => isOpen(step.status))?.stepId ?? null : null
  return { mode, status, current, steps: final }
}

export type Refusal =
  /** The chain is settled (approved or rejected): a late decision. */
  | { readonly _tag: "ChainSettled"; readonly status: ChainStatus }
  /** The identity is no assignee of any open step. */
  | { readonly _tag: "NotAssignee" }
  /** The identity already decided every open step it is assigned to. */
  | { readonly _tag: "AlreadyDecided"; readonly stepId: string }

export type Outcome =
  | { readonly _tag: "Refused"; readonly refusal: Refusal }
  | {
    readonly _tag: "Accepted"
    /** The step the decision counts on. */
    readonly stepId: string
    readonly before: ChainState
    readonly after: ChainState
    /** Steps that became open with this decision (sequential: the next one), for their timeouts and notices. */
    readonly opened: ReadonlyArray<StepState>
  }

/**
 * What `identity` deciding `verdict` does: the open step it counts on (sequential: the
 * current one; parallel: the first open step where the identity is an assignee and has not
 * decided), and the state after, or why it is refused.
 */
export const decide = (
  chain: ApprovalChain,
  facts: ReadonlyArray<Fact>,
  identity: string,
  verdict: Verdict,
  at: Date,
  comment: string | null = null
): Outcome => {
  const before = state(chain, facts)
  if (before.status !== "in_progress") return { _tag: "Refused", refusal: { _tag: "ChainSettled", status: before.status } }
  const who = normalize(identity)
  const open = before.steps.filter((step) => isOpen(step.status) && step.assignees.includes(who))
  if (open.length === 0) return { _tag: "Refused", refusal: { _tag: "NotAssignee" } }
  const target = open.find((step) => !step.decisions.some((fact) => normalize(fact.identity) === who))
  if (target === undefined) return { _tag: "Refused", refusal: { _tag: "AlreadyDecided", stepId: open[0]!.stepId } }
  const fact: Fact = { stepId: target.stepId, identity: who, decision: verdict, comment, decidedAt: at }
  const after = state(chain, [...facts, fact])
  return { _tag: "Accepted", stepId: target.stepId, before, after, opened: openedBetween(before, after) }
}

/** Steps open in `after` that were not open in `before`. */
export const openedBetween = (before: ChainState, after: ChainState): ReadonlyArray<StepState> =>
  after.steps.filter((step, index) => isOpen(step.status) && !isOpen(before.steps[index]?.status ?? "waiting"))

/** The steps open at the start (before any decision): what publishing makes pending. */
export const initiallyOpen = (chain: ApprovalChain): ReadonlyArray<StepState> =>
  state(chain, []).steps.filter((step) => isOpen(step.status))

export type TimeoutOutcome =
  /** Nothing to do: the step is settled, escalated already, or not open. */
  | { readonly _tag: "Ignore" }
  | { readonly _tag: "Escalate"; readonly fact: Fact; readonly after: ChainState; readonly added: ReadonlyArray<string> }
  | { readonly _tag: "Reject"; readonly fact: Fact; readonly after: ChainState }

/**
 * What a step's timeout does when it fires: a still-`pending` step escalates to its
 * `escalate_to` (once: an escalated step does not time out again), or, without `escalate_to`,
 * is rejected by `system:timeout` (which rejects the chain).
 */
export const timeout = (chain: ApprovalChain, facts: ReadonlyArray<Fact>, stepId: string, at: Date): TimeoutOutcome => {
  const before = state(chain, facts)
  const step = before.steps.find((s) => s.stepId === stepId)
  const declared = chain.steps.find((s) => s.step_id === stepId)
  if (before.status !== "in_progress" || step === undefined || declared === undefined || step.status !== "pending") {
    return { _tag: "Ignore" }
  }
  const escalateTo = unique(declared.escalate_to ?? [])
  if (escalateTo.length > 0) {
    const fact: Fact = { stepId, identity: escalationIdentity, decision: "escalated", comment: null, decidedAt: at }
    return {
      _tag: "Escalate",
      fact,
      after: state(chain, [...facts, fact]),
      added: escalateTo.filter((identity) => !step.assignees.includes(identity))
    }
  }
  const fact: Fact = { stepId, identity: timeoutIdentity, decision: "rejected", comment: "timed out", decidedAt: at }
  return { _tag: "Reject", fact, after: state(chain, [...facts, fact]) }
}
