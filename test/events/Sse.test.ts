/**
 * `Sse.response` on the embedded database: the frames it writes, resuming after an event id
 * (header, query, option), the heartbeat, and a clean end when shutdown begins, both on the
 * body stream itself and through a real Node HTTP server (the body must end with the chunked
 * terminator, which `fetch` reports as a normal end, not be cut).
 */
import { assert, layer } from "@effect/vitest"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Exit, Fiber, Layer, Queue, Stream } from "effect"
import type { Scope } from "effect"
import { HttpRouter, HttpServer, HttpServerRequest } from "effect/http"
import type { HttpServerResponse } from "effect/http"
import { TrellisConfig } from "../../src/config/TrellisConfig.ts"
import { EventLog } from "../../src/events/EventLog.ts"
import * as Sse from "../../src/events/Sse.ts"
import { Lifecycle } from "../../src/runtime/Lifecycle.ts"
import { embeddedDatabase, uniqueStream, withEventLog } from "./support.ts"

const T = 60_000

const config = Layer.unwrap(
  Effect.map(Effect.orDie(TrellisConfig.fromRecord({ TRELLIS_SSE_HEARTBEAT_SECONDS: "1" })), TrellisConfig.layer)
)

const request = (url: string, headers: Record<string, string> = {}) =>
  HttpServerRequest.fromWeb(new Request(`http://localhost${url}`, { headers }))

/** Runs a response body in the background, splitting it into SSE frames (without the blank line). */
const frames = (response: HttpServerResponse.HttpServerResponse) =>
  Effect.gen(function*() {
    assert.strictEqual(response.body._tag, "Stream")
    const body = response.body._tag === "Stream" ? response.body.stream : Stream.empty
    const queue = yield* Queue.unbounded<string>()
    let buffer = ""
    const fiber = yield* body.pipe(
      Stream.decodeText,
      Stream.runForEach((text) =>
        Effect.suspend(() => {
          buffer += text
          const parts = buffer.split("\n\n")
          buffer = parts.pop() ?? ""
          return Queue.offerAll(queue, parts)
        })
      ),
      Effect.forkScoped
    )
    return { queue, fiber } as const
  })

const take = (queue: Queue.Queue<string>, n: number) =>
  Effect.gen(function*() {
    const out: Array<string> = []
    for (let i = 0; i < n; i++) out.push(yield* Queue.take(queue))
    return out
  }).pipe(Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.die(new Error(`fewer than ${n} frames`)) }))

const eventFrame = (seq: number, event: string, data: unknown) => `id: ${seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}`

const openFrame = Sse.openFrame.trimEnd()
const ping = Sse.heartbeatFrame.trimEnd()
const shutdown = Sse.shutdownFrame.trimEnd()

/** Frames other than heartbeats (a slow machine may interleave one). */
const takeEvents = (queue: Queue.Queue<string>, n: number): Effect.Effect<ReadonlyArray<string>> =>
  Effect.gen(function*() {
    const out: Array<string> = []
    while (out.length < n) {
      const [frame] = yield* take(queue, 1)
      if (frame !== undefined && frame !== ping) out.push(frame)
    }
    return out
  })

const appendAll = (stream: string, count: number) =>
  Effect.gen(function*() {
    const log = yield* EventLog
    for (let i = 1; i <= count; i++) yield* log.append(stream, "step", { i })
  })

/** Each test gets its own Lifecycle, so that one can begin shutdown without ending the others. */
const withLifecycle = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, Lifecycle.layer)

layer(Layer.mergeAll(withEventLog(embeddedDatabase), config), { excludeTestServices: true, timeout: "120 seconds" })(
  "Sse",
  (it) => {
    it.effect("writes event frames after Last-Event-ID, follows live, and ends cleanly on shutdown", () =>
      withLifecycle(Effect.gen(function*() {
        const stream = uniqueStream("sse")
        yield* appendAll(stream, 3)
        const response = yield* Sse.response(stream).pipe(
          Effect.provideService(HttpServerRequest.HttpServerRequest, request("/events", { "last-event-id": "1" }))
        )
        assert.strictEqual(response.status, 200)
        assert.strictEqual(response.body._tag === "Stream" ? response.body.contentType : "", "text/event-stream")
        assert.strictEqual(response.headers["cache-control"], "no-cache")
        assert.strictEqual(response.headers["x-accel-buffering"], "no")
        const { queue, fiber } = yield* frames(response)
        assert.deepStrictEqual(yield* take(queue, 1), [openFrame])
        assert.deepStrictEqual(yield* takeEvents(queue, 2), [eventFrame(2, "step", { i: 2 }), eventFrame(3, "step", { i: 3 })])
        yield* (yield* EventLog).append(stream, "done", { ok: true, text: "line\nbreak" })
        assert.deepStrictEqual(yield* takeEvents(queue, 1), [eventFrame(4, "done", { ok: true, text: "line\nbreak" })])
        yield* (yield* Lifecycle).beginShutdown
        assert.deepStrictEqual(yield* takeEvents(queue, 1), [shutdown])
        // The body ends by itself, successfully.
        yield* Fiber.join(fiber).pipe(Effect.timeoutOrElse({ duration: "1 second", orElse: () => Effect.die(new Error("body did not end")) }))
        assert.deepStrictEqual(yield* Queue.clear(queue), [])
      })), T)

    it.effect("resumes from ?after=, ?lastEventId=, the lastEventId option, or (start: end) only new events", () =>
      withLifecycle(Effect.gen(function*() {
        const stream = uniqueStream("sse-resume")
        yield* appendAll(stream, 4)
        const firstAfter = (req: HttpServerRequest.HttpServerRequest, options?: Sse.Options) =>
          Effect.gen(function*() {
            const response = yield* Sse.response(stream, options).pipe(
              Effect.provideService(HttpServerRequest.HttpServerRequest, req)
            )
            const { queue, fiber } = yield* frames(response)
            const [, first] = yield* take(queue, 2)
            yield* Fiber.interrupt(fiber)
            return first
          }).pipe(Effect.scoped)
        assert.strictEqual(yield* firstAfter(request("/e?after=2")), eventFrame(3, "step", { i: 3 }))
        assert.strictEqual(yield* firstAfter(request("/e?lastEventId=3")), eventFrame(4, "step", { i: 4 }))
        assert.strictEqual(yield* firstAfter(request("/e")), eventFrame(1, "step", { i: 1 }))
        assert.strictEqual(yield* firstAfter(request("/e?after=junk")), eventFrame(1, "step", { i: 1 }))
        // The header wins over the query; the option wins over both.
        assert.strictEqual(
          yield* firstAfter(request("/e?after=1", { "last-event-id": "2" })),
          eventFrame(3, "step", { i: 3 })
        )
        assert.strictEqual(
          yield* firstAfter(request("/e", { "last-event-id": "1" }), { lastEventId: "3" }),
          eventFrame(4, "step", { i: 4 })
        )
        // `format` names the frame's event and shapes its data; the id stays the event's number.
        assert.strictEqual(
          yield* firstAfter(request("/e?after=1"), { format: (event) => ({ event: "agent_event", data: { id: event.seq, kind: event.event } }) }),
          eventFrame(2, "agent_event", { id: 2, kind: "step" })
        )
        // start: "end" skips history; a Last-Event-ID still resumes.
        const fork = (req: HttpServerRequest.HttpServerRequest) =>
          Effect.flatMap(
            Sse.response(stream, { start: "end" }).pipe(Effect.provideService(HttpServerRequest.HttpServerRequest, req)),
            frames
          )
        const fresh = yield* fork(request("/e"))
        const resumed = yield* fork(request("/e", { "last-event-id": "3" }))
        assert.deepStrictEqual(yield* take(fresh.queue, 1), [openFrame])
        // No wait: "end" is fixed before the response exists, so this event comes after it.
        yield* (yield* EventLog).append(stream, "step", { i: 5 })
        assert.deepStrictEqual(yield* takeEvents(fresh.queue, 1), [eventFrame(5, "step", { i: 5 })])
        assert.deepStrictEqual(yield* takeEvents(resumed.queue, 3), [
          openFrame,
          eventFrame(4, "step", { i: 4 }),
          eventFrame(5, "step", { i: 5 })
        ])
      })), T)

    it.effect("sends the intro first, leaves the event name out when format gives none, and only the events filter keeps", () =>
      withLifecycle(Effect.gen(function*() {
        const stream = uniqueStream("sse-intro")
        const log = yield* EventLog
        yield* log.append(stream, "note", { i: 1 })
        yield* log.append(stream, "comment.added", { i: 2 })
        yield* log.append(stream, "note", { i: 3 })
        yield* log.append(stream, "comment.deleted", { i: 4 })
        const response = yield* Sse.response(stream, {
          intro: "data: {\"type\":\"connected\"}\n\n",
          format: (event) => ({ event: undefined, data: { type: event.event } }),
          filter: (event) => event.event.startsWith("comment.")
        }).pipe(Effect.provideService(HttpServerRequest.HttpServerRequest, request("/e")))
        const { queue } = yield* frames(response)
        assert.deepStrictEqual(yield* takeEvents(queue, 4), [
          openFrame,
          `data: {"type":"connected"}`,
          `id: 2\ndata: {"type":"comment.added"}`,
          `id: 4\ndata: {"type":"comment.deleted"}`
        ])
      }).pipe(Effect.scoped)), T)

    it.effect("refuses an invalid stream name with a defect (a 500), not an empty stream", () =>
      withLifecycle(Effect.gen(function*() {
        const exit = yield* Effect.exit(
          Sse.response("").pipe(Effect.provideService(HttpServerRequest.HttpServerRequest, request("/e")))
        )
        assert.isTrue(Exit.hasDies(exit))
      })), T)

    it.effect("sends a heartbeat comment every sseHeartbeatSeconds (1 s here)", () =>
      withLifecycle(Effect.gen(function*() {
        const stream = uniqueStream("sse-idle")
        const response = yield* Sse.response(stream).pipe(
          Effect.provideService(HttpServerRequest.HttpServerRequest, request("/e"))
        )
        const started = Date.now()
        const { queue } = yield* frames(response)
        assert.deepStrictEqual(yield* take(queue, 1), [openFrame])
        assert.deepStrictEqual(yield* take(queue, 1), [ping])
        const first = Date.now() - started
        assert.deepStrictEqual(yield* take(queue, 1), [ping])
        const second = Date.now() - started
        assert.isAtLeast(first, 900)
        assert.isBelow(first, 1600)
        assert.isAtLeast(second - first, 900)
        assert.isBelow(second - first, 1600)
      })), T)

    it.effect("a stream that is open when shutdown begins ends at once; one opened after ends immediately", () =>
      withLifecycle(Effect.gen(function*() {
        const stream = uniqueStream("sse-shutdown")
        const lifecycle = yield* Lifecycle
        yield* lifecycle.beginShutdown
        const response = yield* Sse.response(stream).pipe(
          Effect.provideService(HttpServerRequest.HttpServerRequest, request("/e"))
        )
        const { queue, fiber } = yield* frames(response)
        yield* Fiber.join(fiber).pipe(Effect.timeoutOrElse({ duration: "1 second", orElse: () => Effect.die(new Error("body did not end")) }))
        assert.deepStrictEqual(yield* Queue.clear(queue), [openFrame, shutdown])
      })), T)

    it.effect("over real HTTP: resume after a disconnect yields exactly the missed events; shutdown ends the body normally", () =>
      withLifecycle(Effect.gen(function*() {
        const stream = uniqueStream("sse-http")
        const base = yield* serve
        const log = yield* EventLog
        yield* appendAll(stream, 3)
        const url = `${base}/events?stream=${encodeURIComponent(stream)}`

        const first = yield* open(url, {})
        assert.strictEqual(first.response.headers.get("content-type"), "text/event-stream")
        assert.deepStrictEqual(seqsOf(yield* first.next(4)), [undefined, 1, 2, 3])
        first.abort()

        // Missed while disconnected.
        yield* log.append(stream, "step", { i: 4 })
        yield* log.append(stream, "step", { i: 5 })

        const second = yield* open(url, { "last-event-id": "3" })
        assert.deepStrictEqual(seqsOf(yield* second.next(3)), [undefined, 4, 5])
        yield* log.append(stream, "step", { i: 6 })
        assert.deepStrictEqual(seqsOf(yield* second.next(1)), [6])

        yield* (yield* Lifecycle).beginShutdown
        const rest = yield* second.rest
        assert.deepStrictEqual(rest.filter((f) => f !== ping), [shutdown])
      })), T)
  }
)

const seqsOf = (frames: ReadonlyArray<string>) => frames.map((f) => /^id: (\d+)/.exec(f)?.[1]).map((s) => s === undefined ? undefined : Number(s))

/**
 * Serves `Sse.response(?stream=)` on a random port with the test's services, for the life of
 * the test's scope. Returns the base URL.
 */
const serve: Effect.Effect<string, unknown, EventLog | Lifecycle | TrellisConfig | Scope.Scope> = Effect.gen(function*() {
  const route = HttpRouter.add(
    "GET",
    "/events",
    (req) => Sse.response(new URL(req.url, "http://x").searchParams.get("stream") ?? "")
  )
  const context = yield* Layer.build(
    HttpRouter.serve(route, { disableLogger: true, disableListenLog: true }).pipe(
      Layer.provideMerge(NodeHttpServer.layerTest),
      Layer.provide(Layer.succeedContext(yield* Effect.context<EventLog | Lifecycle | TrellisConfig>()))
    )
  )
  return yield* HttpServer.addressFormattedWith((address) => Effect.succeed(address)).pipe(Effect.provideContext(context))
})

/** A streaming `fetch` of an SSE URL, read frame by frame. */
const open = (url: string, headers: Record<string, string>) =>
  Effect.gen(function*() {
    const controller = new AbortController()
    yield* Effect.addFinalizer(() => Effect.sync(() => controller.abort()))
    const response = yield* Effect.promise(() => fetch(url, { headers, signal: controller.signal }))
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ""
    const pending: Array<string> = []
    const fill = async (): Promise<boolean> => {
      const { done, value } = await reader.read()
      if (done) return false
      buffer += value
      const parts = buffer.split("\n\n")
      buffer = parts.pop() ?? ""
      pending.push(...parts)
      return true
    }
    const nonPing = () => {
      let i
      while ((i = pending.indexOf(ping)) !== -1) pending.splice(i, 1)
    }
    const next = (n: number) =>
      Effect.promise(async () => {
        nonPing()
        while (pending.length < n) {
          if (!(await fill())) throw new Error("the body ended early")
          nonPing()
        }
        return pending.splice(0, n)
      }).pipe(Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.die(new Error(`fewer than ${n} frames`)) }))
    // Reads to the end; rejects (a defect) if the connection is cut instead of ended.
    const rest = Effect.promise(async () => {
      while (await fill()) {
        // keep reading
      }
      assert.strictEqual(buffer, "", "no partial frame at the end")
      return pending.splice(0)
    }).pipe(Effect.timeoutOrElse({ duration: "3 seconds", orElse: () => Effect.die(new Error("the body did not end")) }))
    return { response, next, rest, abort: () => controller.abort() } as const
  })
