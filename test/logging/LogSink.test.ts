/**
 * The batched log sink: lines written in one turn of the event loop reach the output together
 * on the next, a full buffer is written at once, and nothing is lost when the scope closes or
 * the process exits.
 */
import { afterEach, assert, describe, it } from "vitest"
import { execFile } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { pathToFileURL } from "node:url"
import * as LogSink from "../../src/logging/LogSink.ts"

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

const capture = () => {
  const chunks: Array<string> = []
  return { chunks, output: (chunk: string) => { chunks.push(chunk) } }
}

const sinks: Array<LogSink.LogSink> = []
afterEach(() => {
  for (const sink of sinks.splice(0)) sink.close()
})
const make = (output: (chunk: string) => void, options?: LogSink.SinkOptions) => {
  const sink = LogSink.make(output, options)
  sinks.push(sink)
  return sink
}

describe("LogSink", () => {
  it("writes the lines of one turn together, on the next turn", async () => {
    const { chunks, output } = capture()
    const sink = make(output)
    sink.write("one")
    sink.write("two")
    sink.write("three")
    assert.deepStrictEqual(chunks, [], "nothing is written synchronously")
    await nextTurn()
    assert.deepStrictEqual(chunks, ["one\ntwo\nthree\n"])
    sink.write("four")
    await nextTurn()
    assert.deepStrictEqual(chunks, ["one\ntwo\nthree\n", "four\n"])
  })

  it("writes at once when the buffer is full", () => {
    const { chunks, output } = capture()
    const sink = make(output, { maxBufferedChars: 10 })
    sink.write("abc")
    assert.deepStrictEqual(chunks, [])
    sink.write("defghij")
    assert.deepStrictEqual(chunks, ["abc\ndefghij\n"])
  })

  it("close writes what is left, detaches from the process, and later lines go straight out", () => {
    const listeners = process.listenerCount("exit")
    const { chunks, output } = capture()
    const sink = LogSink.make(output)
    assert.strictEqual(process.listenerCount("exit"), listeners + 1)
    sink.write("last words")
    sink.close()
    assert.deepStrictEqual(chunks, ["last words\n"])
    assert.strictEqual(process.listenerCount("exit"), listeners)
    sink.write("after close")
    assert.deepStrictEqual(chunks, ["last words\n", "after close\n"])
  })

  it("a process that exits before the next turn still writes its buffered lines", async () => {
    const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "trellis-logsink-"))
    try {
      const script = NodePath.join(dir, "exit.ts")
      const module = pathToFileURL(NodePath.resolve("src/logging/LogSink.ts")).href
      NodeFs.writeFileSync(script, [
        `import * as LogSink from ${JSON.stringify(module)}`,
        `const sink = LogSink.make()`,
        `sink.write("buffered 1")`,
        `sink.write("buffered 2")`,
        `process.exit(3)`
      ].join("\n"))
      const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
        execFile(process.execPath, [script], (error, stdout) => {
          resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout })
        })
      })
      assert.strictEqual(result.code, 3)
      assert.strictEqual(result.stdout, "buffered 1\nbuffered 2\n")
    } finally {
      NodeFs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
