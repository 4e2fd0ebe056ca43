/**
 * Where log lines go: a buffer written to the output (stdout) in batches.
 *
 * Writing each line on its own costs a system call per line, and with the access log on that
 * is one per request. The sink collects the lines written during one turn of the event loop
 * and writes them together on the next (`setImmediate`), or at once when the buffer grows past
 * a limit. Nothing is lost on the way out: `close` (the logger layer's finalizer) writes what
 * is left, and so does the process's `exit` event, which also covers `process.exit` and a
 * failure that ends the process before the layers close.
 */
import process from "node:process"
import { setImmediate } from "node:timers"

export interface LogSink {
  /** Queues one line (without its newline). */
  readonly write: (line: string) => void
  /** Writes out everything queued, now. */
  readonly flush: () => void
  /** Flushes and detaches from the process; later writes go straight to the output. */
  readonly close: () => void
}

export interface SinkOptions {
  /** Flush at once when this many characters are queued (default 64 KiB). */
  readonly maxBufferedChars?: number | undefined
}

const ignore = () => {}

/**
 * Writes to stdout. Like `console.log`, a closed stdout (EPIPE) is ignored rather than crashing
 * the server: logging must never take the process down.
 */
export const stdout = (chunk: string): void => {
  const stream = process.stdout
  stream.once("error", ignore)
  try {
    stream.write(chunk)
  } catch {
    // the stream is gone: nothing to log to
  } finally {
    stream.removeListener("error", ignore)
  }
}

export const make = (output: (chunk: string) => void = stdout, options?: SinkOptions): LogSink => {
  const maxBufferedChars = options?.maxBufferedChars ?? 64 * 1024
  let buffer = ""
  let scheduled = false
  let closed = false

  const flush = (): void => {
    if (buffer === "") return
    const chunk = buffer
    buffer = ""
    output(chunk)
  }
  const onImmediate = (): void => {
    scheduled = false
    flush()
  }
  const write = (line: string): void => {
    if (closed) {
      output(line + "\n")
      return
    }
    buffer += line + "\n"
    if (buffer.length >= maxBufferedChars) flush()
    else if (!scheduled) {
      scheduled = true
      setImmediate(onImmediate)
    }
  }
  const close = (): void => {
    if (closed) return
    closed = true
    process.removeListener("exit", flush)
    flush()
  }
  process.on("exit", flush)
  return { write, flush, close }
}
