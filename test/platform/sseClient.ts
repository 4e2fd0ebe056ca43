/** A minimal SSE reader over `fetch` for tests: frames as they arrive, and how the body ended. */
export interface Frame {
  readonly id?: string
  readonly event?: string
  readonly data?: string
  readonly comment?: string
}

export interface SseConnection {
  readonly status: number
  readonly contentType: string | null
  /** Waits until `predicate` holds for the frames received so far (or the body ends). */
  readonly until: (predicate: (frames: ReadonlyArray<Frame>) => boolean, timeoutMs?: number) => Promise<ReadonlyArray<Frame>>
  /** Resolves when the body ends: "end" for a clean end, "error" when the connection was cut. */
  readonly ended: Promise<"end" | "error">
  readonly frames: () => ReadonlyArray<Frame>
  readonly close: () => void
}

export const connect = async (url: string, headers: Record<string, string>): Promise<SseConnection> => {
  const controller = new AbortController()
  const response = await fetch(url, { headers, signal: controller.signal })
  const frames: Array<Frame> = []
  let buffer = ""
  let waiters: Array<() => void> = []
  const notify = () => {
    const current = waiters
    waiters = []
    for (const w of current) w()
  }
  const parse = (block: string) => {
    const frame: { id?: string; event?: string; data?: string; comment?: string } = {}
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) frame.comment = line.slice(1)
      else if (line.startsWith("id: ")) frame.id = line.slice(4)
      else if (line.startsWith("event: ")) frame.event = line.slice(7)
      else if (line.startsWith("data: ")) frame.data = line.slice(6)
    }
    frames.push(frame)
  }
  const ended = (async (): Promise<"end" | "error"> => {
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return "end"
        buffer += decoder.decode(value, { stream: true })
        let index = buffer.indexOf("\n\n")
        while (index !== -1) {
          parse(buffer.slice(0, index))
          buffer = buffer.slice(index + 2)
          index = buffer.indexOf("\n\n")
        }
        notify()
      }
    } catch {
      return "error"
    } finally {
      notify()
    }
  })()
  let finished = false
  void ended.then(() => { finished = true })
  const until = async (predicate: (frames: ReadonlyArray<Frame>) => boolean, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs
    while (!predicate(frames)) {
      if (finished) throw new Error(`stream ended before the expected frames: ${JSON.stringify(frames)}`)
      if (Date.now() > deadline) throw new Error(`timed out waiting for frames: ${JSON.stringify(frames)}`)
      await Promise.race([
        new Promise<void>((resolve) => waiters.push(resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, 100))
      ])
    }
    return frames
  }
  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    until,
    ended,
    frames: () => frames,
    close: () => controller.abort()
  }
}

export const eventIds = (frames: ReadonlyArray<Frame>): Array<number> =>
  frames.filter((f) => f.id !== undefined).map((f) => Number(f.id))
