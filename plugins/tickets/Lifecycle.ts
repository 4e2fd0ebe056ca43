/**
 * The ticket state machine, SessionFS's table (seed 001) keyed by kind. Every lifecycle route
 * consults it, both to build its atomic `UPDATE ... WHERE status IN (...)` and to name what is
 * allowed when a transition is refused.
 *
 * Tasks (executor work):
 *
 *     suggested --approve--> open --start--> in_progress --complete--> review --resolve--> done
 *         |                   |                 |    ^                   |
 *         +--dismiss--> cancelled <--dismiss----+    |                   +--reopen--> open
 *                                        block |    | unblock (or start?force=true)
 *                                              v    |
 *                                             blocked
 *
 * Issues (containers, closed by hand): open --start--> in_progress --close--> closed, with
 * reopen (in_progress -> open) and dismiss (open or in_progress -> cancelled).
 *
 * Re-claiming an `in_progress` ticket whose lease expired is `start` too; the claim statement
 * handles it (it is not a status change).
 *
 * Client-safe: imports only the domain.
 */
import type { Kind, Status } from "./Domain.ts"

export type Transition = "approve" | "start" | "block" | "unblock" | "complete" | "resolve" | "reopen" | "dismiss" | "close"

type Table = { readonly [S in Status]: { readonly [T in Transition]?: Status } }

const task: Table = {
  suggested: { approve: "open", dismiss: "cancelled" },
  open: { start: "in_progress", dismiss: "cancelled" },
  in_progress: { block: "blocked", complete: "review" },
  blocked: { unblock: "in_progress" },
  review: { resolve: "done", reopen: "open" },
  done: {},
  closed: {},
  cancelled: {}
}

const issue: Table = {
  suggested: {},
  open: { start: "in_progress", dismiss: "cancelled" },
  in_progress: { close: "closed", reopen: "open", dismiss: "cancelled" },
  blocked: {},
  review: {},
  done: {},
  closed: {},
  cancelled: {}
}

const tableOf = (kind: Kind): Table => (kind === "issue" ? issue : task)

/** The status `transition` leads to from `status`, if the table has it. */
export const next = (kind: Kind, status: Status, transition: Transition): Status | undefined =>
  tableOf(kind)[status][transition]

/** The statuses `transition` may start from, for a kind. */
export const sources = (kind: Kind, transition: Transition): ReadonlyArray<Status> =>
  (Object.keys(tableOf(kind)) as Array<Status>).filter((s) => tableOf(kind)[s][transition] !== undefined)

/** The status a transition reaches (the same for every kind and source that has it). */
export const targetOf = (transition: Transition): Status => {
  switch (transition) {
    case "approve":
    case "reopen":
      return "open"
    case "start":
    case "unblock":
      return "in_progress"
    case "block":
      return "blocked"
    case "complete":
      return "review"
    case "resolve":
      return "done"
    case "close":
      return "closed"
    case "dismiss":
      return "cancelled"
  }
}

/** What may happen from `status`: the routes and the statuses they reach. */
export const allowedFrom = (
  kind: Kind,
  status: Status
): { readonly transitions: ReadonlyArray<Transition>; readonly statuses: ReadonlyArray<Status> } => {
  const row = tableOf(kind)[status]
  const transitions = Object.keys(row) as Array<Transition>
  const statuses = [...new Set(transitions.map((t) => row[t] as Status))]
  return { transitions, statuses }
}

/** Statuses in which nothing more happens. */
export const isTerminal = (kind: Kind, status: Status): boolean => allowedFrom(kind, status).transitions.length === 0

/** Every (kind, status, transition) triple, for tests and documentation. */
export const table: ReadonlyArray<{ readonly kind: Kind; readonly from: Status; readonly transition: Transition; readonly to: Status }> = (
  [["task", task], ["issue", issue]] as const
).flatMap(([kind, t]) =>
  (Object.keys(t) as Array<Status>).flatMap((from) =>
    (Object.keys(t[from]) as Array<Transition>).map((transition) => ({ kind, from, transition, to: t[from][transition] as Status }))
  )
)
