/**
 * The in-process cache of resolved credentials, and its invalidation.
 *
 * Resolving a session or key costs a database round trip; a cache entry saves it for a few
 * seconds. Anything that changes what a credential may do (revoke, rotate, logout, role or
 * membership change, user deactivation) calls `changed` inside its transaction: that appends
 * an event to the `identity.credentials` stream, which reaches every server process (through
 * LISTEN/NOTIFY on PostgreSQL) and clears their caches; `clear` then empties this process's
 * cache at once, so the very next request here sees the change.
 */
import { Context, Effect, Layer, Stream } from "effect"
import { EventLog } from "../events/EventLog.ts"

/** The event stream that announces credential changes. */
export const stream = "identity.credentials"

/** How long a resolved credential is trusted without a database read (a safety net under the events). */
export const ttlMillis = 10_000

export interface Entry<A> {
  readonly value: A
  readonly until: number
}

export class CredentialCache extends Context.Service<CredentialCache, {
  readonly get: <A>(key: string) => A | undefined
  readonly set: <A>(key: string, value: A) => void
  /** Empties this process's cache. */
  readonly clear: Effect.Effect<void>
  /** Announces a credential change to every process; call inside the change's transaction. */
  readonly changed: (reason: string, subject: string) => Effect.Effect<void>
}>()("trellis/identity/CredentialCache") {
  static readonly layer = Layer.effect(
    CredentialCache,
    Effect.gen(function*() {
      const events = yield* EventLog
      const entries = new Map<string, Entry<unknown>>()
      const clear = Effect.sync(() => entries.clear())
      const from = yield* Effect.orDie(events.lastSeq(stream))
      // Any event, or a gap of pruned ones, means some credential changed: forget them all.
      yield* events.subscribeWithGaps(stream, from).pipe(
        Stream.runForEach(() => clear),
        Effect.retry({ times: 1000 }),
        Effect.ignore,
        Effect.forkScoped
      )
      return CredentialCache.of({
        get: <A>(key: string) => {
          const entry = entries.get(key)
          if (entry === undefined) return undefined
          if (entry.until < Date.now()) {
            entries.delete(key)
            return undefined
          }
          return entry.value as A
        },
        set: (key, value) => {
          if (entries.size > 10_000) entries.clear()
          entries.set(key, { value, until: Date.now() + ttlMillis })
        },
        clear,
        changed: (reason, subject) =>
          events.append(stream, "credentials.changed", { reason, subject }).pipe(
            Effect.andThen(clear),
            Effect.orDie
          )
      })
    })
  )
}
