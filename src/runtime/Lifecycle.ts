/**
 * The server's lifecycle state: whether it is shutting down, and a signal long-lived work
 * (live streams) waits on so that it ends cleanly before the HTTP server closes, instead of
 * holding the process for the whole grace period and then being cut mid-chunk.
 *
 * It lives below `src/server/` so that the HTTP fast path, SSE and plugins can wait on it
 * without importing the server that composes them (the server provides the layer).
 */
import { Context, Deferred, Effect, Layer } from "effect"

export class Lifecycle extends Context.Service<Lifecycle, {
  readonly isShuttingDown: Effect.Effect<boolean>
  /** Completes when shutdown begins. */
  readonly shutdownStarted: Effect.Effect<void>
  readonly beginShutdown: Effect.Effect<void>
}>()("trellis/runtime/Lifecycle") {
  static readonly layer = Layer.effect(
    Lifecycle,
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      return Lifecycle.of({
        isShuttingDown: Deferred.isDone(started),
        shutdownStarted: Deferred.await(started),
        beginShutdown: Effect.asVoid(Deferred.succeed(started, undefined))
      })
    })
  )
}
