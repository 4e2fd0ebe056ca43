/**
 * Exact sliding-window counters, in process memory: "at most `limit` events in any `windowMs`".
 *
 * Why a log of timestamps rather than a token bucket or GCRA: those refill continuously, so
 * "60 a minute" lets a 61st request through as soon as one second has passed, which is not what
 * people reading the limit expect. A log holds at most `limit` numbers per key (60 for the
 * default budget), answers exactly, and says precisely when the next unit frees up.
 *
 * Several budgets are checked and spent together (`take`): either all have room and each
 * records the event, or none does, so a refused run call does not also eat the general budget.
 * Keys whose events have all left their window are swept, so memory follows active callers only.
 *
 * Effect's `effect/persistence` `RateLimiter` memory store was considered: its maps never drop a
 * key (a login limit keyed by client address would grow without bound) and it cannot spend two
 * budgets atomically.
 */

/** One budget to spend: a key and its limit. `limit` 0 means unlimited (nothing is recorded). */
export interface Budget {
  readonly key: string
  readonly limit: number
  readonly windowMs: number
}

/** The state of one budget after a `take`. */
export interface BudgetState {
  readonly budget: Budget
  /** Units still available in the window after this call. */
  readonly remaining: number
  /** Milliseconds until every unit spent so far has left the window (the quota is whole again). */
  readonly resetMs: number
  /** Milliseconds until the next unit frees up; 0 when one is available now. */
  readonly retryMs: number
}

export interface Outcome {
  readonly allowed: boolean
  readonly states: ReadonlyArray<BudgetState>
}

/** How many `take` calls between sweeps of idle keys. */
const sweepEvery = 1024

export class SlidingWindow {
  /** Per key: its window and its events inside it, oldest first. */
  private readonly logs = new Map<string, { windowMs: number; events: Array<number> }>()
  private calls = 0

  /** Spends one unit of every budget at `now`, or none if any budget is exhausted. */
  take(budgets: ReadonlyArray<Budget>, now: number): Outcome {
    if (++this.calls % sweepEvery === 0) this.sweep(now)
    const active = budgets.filter((b) => b.limit > 0)
    const logs = active.map((b) => this.current(b, now))
    const allowed = logs.every((log, i) => log.length < active[i].limit)
    if (allowed) {
      for (let i = 0; i < active.length; i++) {
        logs[i].push(now)
        this.logs.set(active[i].key, { windowMs: active[i].windowMs, events: logs[i] })
      }
    }
    return {
      allowed,
      states: active.map((budget, i) => stateOf(budget, logs[i], now))
    }
  }

  /** The key's events still inside the window, oldest first (expired ones are dropped). */
  private current(budget: Budget, now: number): Array<number> {
    const entry = this.logs.get(budget.key)
    if (entry === undefined) return []
    const log = entry.events
    const horizon = now - budget.windowMs
    let expired = 0
    while (expired < log.length && log[expired] <= horizon) expired++
    if (expired > 0) log.splice(0, expired)
    // Never more than `limit` events per key: memory stays bounded by the limit.
    if (log.length > budget.limit) log.splice(0, log.length - budget.limit)
    if (log.length === 0) this.logs.delete(budget.key)
    return log
  }

  /** Drops keys whose newest event has left its window. */
  private sweep(now: number): void {
    for (const [key, { windowMs, events }] of this.logs) {
      const newest = events[events.length - 1]
      if (newest === undefined || newest <= now - windowMs) this.logs.delete(key)
    }
  }
}

const stateOf = (budget: Budget, log: ReadonlyArray<number>, now: number): BudgetState => {
  const oldest = log[0]
  const newest = log[log.length - 1]
  const remaining = Math.max(0, budget.limit - log.length)
  return {
    budget,
    remaining,
    resetMs: newest === undefined ? 0 : Math.max(0, newest + budget.windowMs - now),
    retryMs: remaining > 0 || oldest === undefined ? 0 : Math.max(1, oldest + budget.windowMs - now)
  }
}
