/** A minimal WebSocket test client (Node's built-in WebSocket) that collects JSON frames. */

export interface Frame {
  readonly type: string
  readonly key?: string
  readonly env?: string
  readonly version?: string | null
  readonly seq: number
  readonly served?: boolean
  readonly client_id?: string
}

export interface WsClient {
  readonly frames: () => ReadonlyArray<Frame>
  /** Resolves once a frame satisfies `predicate` (rejects after `timeoutMs`). */
  readonly until: (predicate: (frame: Frame) => boolean, timeoutMs?: number) => Promise<Frame>
  readonly closed: Promise<number>
  readonly close: () => void
}

/** Opens `url`; resolves when open, rejects when the handshake is refused. */
export const connect = (url: string): Promise<WsClient> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(url)
    const frames: Array<Frame> = []
    const waiters = new Set<() => void>()
    let opened = false
    const closed = new Promise<number>((done) => socket.addEventListener("close", (event) => done(event.code)))
    socket.addEventListener("message", (event) => {
      frames.push(JSON.parse(String(event.data)) as Frame)
      for (const wake of waiters) wake()
    })
    socket.addEventListener("error", () => {
      if (!opened) reject(new Error(`WebSocket handshake to ${url} failed`))
    })
    socket.addEventListener("open", () => {
      opened = true
      resolve({
        frames: () => frames,
        until: (predicate, timeoutMs = 5_000) =>
          new Promise((found, fail) => {
            const check = () => {
              const frame = frames.find(predicate)
              if (frame === undefined) return false
              waiters.delete(check)
              clearTimeout(timer)
              found(frame)
              return true
            }
            const timer = setTimeout(() => {
              waiters.delete(check)
              fail(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames)}`))
            }, timeoutMs)
            if (!check()) waiters.add(check)
          }),
        closed,
        close: () => socket.close()
      })
    })
  })
