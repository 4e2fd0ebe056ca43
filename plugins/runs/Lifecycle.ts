/**
 * The run state machine (seed 002's statuses and controls, completed with the engine's own
 * moves) as a pure table. Every status change is one guarded `UPDATE ... WHERE status IN
 * (sources(transition))`, built from this table; a refused control names the current status
 * and what is allowed from it.
 *
 *     draft --start--> queued --claim--> running --succeed--> succeeded
 *                        ^  ^              |  |  \--fail--> failed --retry--> queued
 *                        |  |       pause  |  |   \--sleep--> waiting --claim--> running
 *                        |  +--resume-- paused |
 *                        |                     +--await--> awaiting_approval
 *                        +------approve-------------------------+   |
 *                                                    reject --> failed
 *
 *  cancel: every status that is not terminal -> cancelled.
 *
 * `complete` is an outside callback (`Runs.complete`) ending a `callback` wait: waiting -> queued.
 * `claim` is the engine taking a run to execute it: from `queued`, from `waiting` (the delayed
 * job of a sleep), and from `running` (a job retried after its process died takes the run
 * over; the claim bumps the run's epoch so the dead attempt can never write again).
 * Controls are what callers may do (`start`, `pause`, `resume`, `cancel`, `retry`, `approve`,
 * `reject`); the rest are the engine's.
 *
 * Client-safe: imports only the domain.
 */
import type { RunStatus } from "./Domain.ts"

export type Control = "start" | "pause" | "resume" | "cancel" | "retry" | "approve" | "reject"
export type EngineMove = "claim" | "succeed" | "fail" | "sleep" | "await" | "complete" | "expire"
export type Transition = Control | EngineMove

export const controls: ReadonlyArray<Control> = ["start", "pause", "resume", "cancel", "retry", "approve", "reject"]

type Table = { readonly [S in RunStatus]: { readonly [T in Transition]?: RunStatus } }

const machine: Table = {
  draft: { start: "queued", cancel: "cancelled" },
  // `fail` from queued and waiting: the run's job ran out of retries, or is gone, before a claim.
  // `expire`: the run outlived its run-level timeout (`timeoutMs`), in any status before an end.
  queued: { claim: "running", pause: "paused", cancel: "cancelled", fail: "failed", expire: "failed" },
  running: {
    claim: "running",
    pause: "paused",
    cancel: "cancelled",
    succeed: "succeeded",
    fail: "failed",
    expire: "failed",
    sleep: "waiting",
    await: "awaiting_approval"
  },
  paused: { resume: "queued", cancel: "cancelled", expire: "failed" },
  // complete: `Runs.complete` ended a callback wait; the next job continues.
  waiting: { claim: "running", pause: "paused", cancel: "cancelled", fail: "failed", expire: "failed", complete: "queued" },
  awaiting_approval: { approve: "queued", reject: "failed", cancel: "cancelled", expire: "failed" },
  succeeded: {},
  failed: { retry: "queued" },
  cancelled: {}
}

export const statuses = Object.keys(machine) as ReadonlyArray<RunStatus>

/** The status `transition` leads to from `status`, if the table has it. */
export const next = (status: RunStatus, transition: Transition): RunStatus | undefined => machine[status][transition]

/** The statuses `transition` may start from. */
export const sources = (transition: Transition): ReadonlyArray<RunStatus> =>
  statuses.filter((s) => machine[s][transition] !== undefined)

/** The status a transition reaches (the same from every source that has it). */
export const targetOf = (transition: Transition): RunStatus => {
  const target = statuses.map((s) => machine[s][transition]).find((t) => t !== undefined)
  if (target === undefined) throw new Error(`no transition ${transition}`)
  return target
}

/** The controls a caller may use from `status`. */
export const allowedControls = (status: RunStatus): ReadonlyArray<Control> =>
  controls.filter((c) => machine[status][c] !== undefined)

/** Statuses in which nothing more happens (`failed` is final unless retried). */
export const isTerminal = (status: RunStatus): boolean => status === "succeeded" || status === "cancelled" || status === "failed"

/** Statuses in which the run may still do work (the engine or a control moves it on). */
export const isActive = (status: RunStatus): boolean => !isTerminal(status) && status !== "draft"

/** Every (from, transition, to) triple, for tests and documentation. */
export const table: ReadonlyArray<{ readonly from: RunStatus; readonly transition: Transition; readonly to: RunStatus }> = statuses.flatMap((from) =>
  (Object.keys(machine[from]) as Array<Transition>).map((transition) => ({ from, transition, to: machine[from][transition] as RunStatus }))
)
