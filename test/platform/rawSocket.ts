/** A raw TCP client for tests that must control exactly what reaches the server, byte by byte. */
import * as NodeNet from "node:net"

export interface RawClient {
  readonly socket: NodeNet.Socket
  /** Everything received so far. */
  readonly received: () => string
  /** Resolves when the server ends or cuts the connection. */
  readonly closed: Promise<void>
  readonly isClosed: () => boolean
  readonly write: (data: string) => void
  /** Resolves once `received()` satisfies `predicate` (rejects if the connection closes first). */
  readonly until: (predicate: (received: string) => boolean) => Promise<string>
  /** Writes `chunks` one after another, `intervalMs` apart, until they run out or the connection closes. */
  readonly dribble: (chunks: ReadonlyArray<string>, intervalMs: number) => Promise<"sent" | "closed">
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Connects to `port` on 127.0.0.1; resolves once connected. */
export const connectRaw = (port: number): Promise<RawClient> =>
  new Promise((resolve, reject) => {
    const socket = NodeNet.connect(port, "127.0.0.1")
    let data = ""
    let isClosed = false
    const waiters = new Set<() => void>()
    const wake = () => {
      for (const w of [...waiters]) w()
    }
    socket.on("data", (chunk: Buffer) => {
      data += chunk.toString("latin1")
      wake()
    })
    // A reset from the server is a way of closing too.
    socket.on("error", () => {})
    const closed = new Promise<void>((done) =>
      socket.once("close", () => {
        isClosed = true
        wake()
        done()
      })
    )
    socket.once("connect", () => {
      resolve({
        socket,
        received: () => data,
        closed,
        isClosed: () => isClosed,
        write: (chunk) => {
          if (!isClosed) socket.write(chunk)
        },
        until: (predicate) =>
          new Promise((found, fail) => {
            const check = () => {
              if (predicate(data)) {
                waiters.delete(check)
                found(data)
              } else if (isClosed) {
                waiters.delete(check)
                fail(new Error(`connection closed; received ${JSON.stringify(data)}`))
              }
            }
            waiters.add(check)
            check()
          }),
        dribble: async (chunks, intervalMs) => {
          for (const chunk of chunks) {
            if (isClosed) return "closed"
            socket.write(chunk)
            await Promise.race([sleep(intervalMs), closed])
          }
          return isClosed ? "closed" : "sent"
        }
      })
    })
    socket.once("error", reject)
  })
