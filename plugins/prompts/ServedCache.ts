/**
 * The in-process cache behind SDK fetch: what each (organization, environment, key) is served,
 * with its response bodies and ETags computed once.
 *
 * It is never stale for longer than an event takes to arrive:
 * - a write drops its entries in this process right after its transaction commits (before
 *   the write's response is sent), so a caller reads its own writes;
 * - every write also appends to the `prompts.cache` event stream in its transaction, which
 *   every process follows (LISTEN/NOTIFY on PostgreSQL), so other processes drop theirs;
 * - a fill that started before an invalidation is not stored (an epoch counter), and while the
 *   stream is not being followed nothing is stored at all.
 */
import { Cause, Context, Effect, Layer, Schedule, Stream } from "effect"
import { EventLog } from "trellis/plugin"
import { Cache } from "./Streams.ts"

/** Most (environment, key) slots kept per process; past it the cache starts over. */
const maxSlots = 20_000

export interface Coordinates {
  readonly key: string
  readonly env: string
}

export class ServedCache extends Context.Service<ServedCache, {
  /** The cached value for a slot (`workspace` as requested: `undefined` is "no preference"). */
  readonly get: <A>(organizationId: string, env: string, key: string, workspace: string | undefined) => A | undefined
  /** The current epoch: read it before loading, and pass it to `set`. */
  readonly epoch: () => number
  /** Stores a loaded value unless something was invalidated since `epoch` (or the cache is not live). */
  readonly set: <A>(
    organizationId: string,
    env: string,
    key: string,
    workspace: string | undefined,
    value: A,
    epoch: number
  ) => void
  /** Drops the slots of these coordinates. */
  readonly invalidate: (organizationId: string, coordinates: ReadonlyArray<Coordinates>) => Effect.Effect<void>
  /** Number of cached slots (for tests and metrics). */
  readonly size: () => number
}>()("prompts/ServedCache") {
  static readonly layer = Layer.effect(
    ServedCache,
    Effect.gen(function*() {
      const events = yield* EventLog
      const slots = new Map<string, Map<string, unknown>>()
      let epoch = 0
      let live = false

      const slotKey = (organizationId: string, env: string, key: string) => `${organizationId}\u0000${env}\u0000${key}`
      const workspaceKey = (workspace: string | undefined) => workspace === undefined ? "\u0001" : workspace

      const clear = () => {
        slots.clear()
        epoch++
      }

      const invalidate = (organizationId: string, coordinates: ReadonlyArray<Coordinates>) =>
        Effect.sync(() => {
          for (const c of coordinates) slots.delete(slotKey(organizationId, c.env, c.key))
          epoch++
        })

      // Follow the cache stream from its current end. A failure clears the cache and stops
      // storing until the subscription is back (it resumes after the last event it saw).
      const cacheStream = Cache.at()
      let lastSeen = yield* Effect.orDie(events.lastSeq(cacheStream.name))
      const follow = Effect.suspend(() => {
        live = true
        return cacheStream.subscribeWithGaps(events, lastSeen).pipe(
          Stream.runForEach((delivery) =>
            Effect.gen(function*() {
              // Missed invalidations (pruned while this process lagged): drop everything.
              if (delivery._tag === "Gap") {
                lastSeen = delivery.to
                return clear()
              }
              const event = delivery.event
              lastSeen = event.seq
              // An event that does not decode arrives as a one-event gap (cleared above).
              yield* invalidate(event.data.organizationId, event.data.coordinates)
            })
          )
        )
      }).pipe(
        Effect.onExit(() =>
          Effect.sync(() => {
            live = false
            clear()
          })
        ),
        Effect.tapCause((cause) =>
          Cause.hasInterruptsOnly(cause)
            ? Effect.void
            : Effect.logWarning("prompts: the SDK cache lost its event subscription; retrying", cause)
        ),
        Effect.retry(Schedule.spaced("1 second")),
        Effect.ignore
      )
      yield* Effect.forkScoped(follow)

      return ServedCache.of({
        get: <A>(organizationId: string, env: string, key: string, workspace: string | undefined) =>
          slots.get(slotKey(organizationId, env, key))?.get(workspaceKey(workspace)) as A | undefined,
        epoch: () => epoch,
        set: (organizationId, env, key, workspace, value, at) => {
          if (!live || at !== epoch) return
          if (slots.size >= maxSlots) clear()
          const k = slotKey(organizationId, env, key)
          let slot = slots.get(k)
          if (slot === undefined) {
            slot = new Map()
            slots.set(k, slot)
          }
          slot.set(workspaceKey(workspace), value)
        },
        invalidate,
        size: () => slots.size
      })
    })
  )
}
