/**
 * The server's logger: every Effect log line, formatted as JSON or pretty (`LogFormat`) and
 * written to stdout in batches (`LogSink`), at the configured minimum level.
 *
 * It replaces Effect's console loggers, which format with more machinery and write each line
 * with its own `console.log`: with the access log on (one line per request) those cost about
 * a third of the server's throughput. The layer's finalizer flushes what is still buffered,
 * so the last lines of a shutdown are written.
 */
import { Effect, Layer, Logger, References } from "effect"
import type { Scope } from "effect"
import { formatters } from "./LogFormat.ts"
import type { LogFormat } from "./LogFormat.ts"
import * as LogSink from "./LogSink.ts"

/** The levels of `TRELLIS_LOG_LEVEL`. */
export type Level = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "none"

const minimumLevels = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  error: "Error",
  fatal: "Fatal",
  none: "None"
} as const

export interface Options {
  readonly format: LogFormat
  readonly level: Level
  /** Where the batches go (default: stdout). Tests capture them here. */
  readonly output?: ((chunk: string) => void) | undefined
}

/** A logger writing `format` lines to a batched sink that is flushed when the scope closes. */
export const make = (options: Pick<Options, "format" | "output">): Effect.Effect<Logger.Logger<unknown, void>, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => LogSink.make(options.output)),
      (sink) => Effect.sync(() => sink.close())
    ),
    (sink) => {
      const format = formatters[options.format]
      return Logger.make((entry) => sink.write(format(entry)))
    }
  )

/** Installs the logger (replacing Effect's default ones) and the minimum level. */
export const layer = (options: Options): Layer.Layer<never> =>
  Layer.mergeAll(
    Logger.layer([make(options)]),
    Layer.succeed(References.MinimumLogLevel, minimumLevels[options.level])
  )
