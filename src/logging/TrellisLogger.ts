/**
 * The server's logger: every Effect log line, formatted as JSON or pretty (`LogFormat`) and
 * written to stdout in batches (`LogSink`), at the configured minimum level.
 *
 * It replaces Effect's console loggers, which format with more machinery and write each line
 * with its own `console.log`: with the access log on (one line per request) those cost about
 * a third of the server's throughput. The layer's finalizer flushes what is still buffered,
 * so the last lines of a shutdown are written.
 *
 * The layer also provides `LogWriter`: the same sink, format and minimum level for code that
 * runs outside any fiber (the HTTP fast path writes its access-log lines through it).
 */
import { Context, Effect, Layer, Logger, LogLevel, References } from "effect"
import type { Scope } from "effect"
import { formatters, renderers } from "./LogFormat.ts"
import type { Line, LogFormat } from "./LogFormat.ts"
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

/** Writes log lines without a fiber, in the server log's format and at its minimum level. */
export class LogWriter extends Context.Service<LogWriter, {
  /** Whether a line at this level is written at all (check before building one). */
  readonly enabled: (level: LogLevel.LogLevel) => boolean
  readonly write: (line: Line) => void
}>()("trellis/logging/LogWriter") {}

const acquireSink = (output: Options["output"]): Effect.Effect<LogSink.LogSink, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => LogSink.make(output)),
    (sink) => Effect.sync(() => sink.close())
  )

/** A logger writing `format` lines to a batched sink that is flushed when the scope closes. */
export const make = (options: Pick<Options, "format" | "output">): Effect.Effect<Logger.Logger<unknown, void>, never, Scope.Scope> =>
  Effect.map(acquireSink(options.output), (sink) => {
    const format = formatters[options.format]
    return Logger.make((entry) => sink.write(format(entry)))
  })

/** Installs the logger (replacing Effect's default ones) and the minimum level, and provides `LogWriter`. */
export const layer = (options: Options): Layer.Layer<LogWriter> =>
  Layer.unwrap(Effect.map(acquireSink(options.output), (sink) => {
    const format = formatters[options.format]
    const render = renderers[options.format]
    const minimum = minimumLevels[options.level]
    return Layer.mergeAll(
      Logger.layer([Logger.make((entry) => sink.write(format(entry)))]),
      Layer.succeed(References.MinimumLogLevel, minimum),
      Layer.succeed(LogWriter, {
        enabled: (level) => LogLevel.isGreaterThanOrEqualTo(level, minimum),
        write: (line) => sink.write(render(line))
      })
    )
  }))
