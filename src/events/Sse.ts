/**
 * Server-Sent Events over the event log, for plugin handlers: `return yield* Sse.response(stream)`.
 *
 * Why it exists: every live endpoint needs the same care. It resumes after the client's
 * `Last-Event-ID` (what browsers send when an EventSource reconnects) by replaying from the
 * table, sends a heartbeat comment so proxies do not close idle connections, and ends the body
 * normally as soon as the server starts shutting down. Without that last point an open stream
 * holds the process for the whole grace period and is then cut mid-chunk. A client resuming
 * from before what the log still keeps (see retention in `EventLog`) gets a `gap` event first,
 * never a silent jump.
 */
import { Duration, Effect, Stream } from "effect"
import { Headers, HttpServerRequest, HttpServerResponse } from "effect/http"
import { TrellisConfig } from "../config/TrellisConfig.ts"
import { Lifecycle } from "../runtime/Lifecycle.ts"
import { EventLog, invalidStreamName } from "./EventLog.ts"
import type { Delivery, Gap, StoredEvent } from "./EventLog.ts"

export interface Options {
  /** Resume after this event id, instead of the request's `Last-Event-ID` header or query. */
  readonly lastEventId?: string | number | undefined
  /**
   * Where a client that names no event id starts: `"beginning"` replays the whole stream
   * (the default), `"end"` sends only events appended from now on.
   */
  readonly start?: "beginning" | "end" | undefined
  /** Heartbeat interval; defaults to the server's `sseHeartbeatSeconds`. */
  readonly heartbeat?: Duration.Input | undefined
  /** Extra response headers. */
  readonly headers?: Headers.Input | undefined
  /**
   * How an event goes on the wire: its SSE `event:` name and its `data` (default: the
   * event's name and data as stored). The frame's `id:` is always the event's number.
   */
  readonly format?: Format | undefined
  /** Only the events it keeps go on the wire (their ids still count: a resume skips the others). */
  readonly filter?: Filter | undefined
  /**
   * Raw SSE text sent once right after the opening comment, before any event (a greeting such
   * as `data: {"type":"connected"}` whose clients expect one); end it with a blank line.
   */
  readonly intro?: string | undefined
  /**
   * Events retention deleted from the log that the stream's owner still keeps elsewhere (the
   * runs plugin keeps every run event in its own table): given a gap, the events `from..to`.
   * When it returns them all they are sent instead of the `gap` event; otherwise the `gap`
   * event is sent as without it.
   */
  readonly fill?: Fill | undefined
}

/** Events `from..to` of a gap, from where the stream's owner keeps them. */
export type Fill = (gap: Gap) => Effect.Effect<ReadonlyArray<StoredEvent>>
/**
 * An event's SSE `event:` name and `data`, for a stream whose clients expect their own framing.
 * `event: undefined` leaves the `event:` line out (an unnamed event: `EventSource.onmessage`).
 */
export type Format = (event: StoredEvent) => { readonly event: string | undefined; readonly data: unknown }
/** Which events a stream sends. */
export type Filter = (event: StoredEvent) => boolean

/** The comment sent first (so the response starts at once) and the heartbeat comment. */
export const openFrame = ":ok\n\n"
export const heartbeatFrame = ":ping\n\n"
/** Sent when the server starts shutting down, just before the body ends. */
export const shutdownFrame = "event: shutdown\ndata: {}\n\n"

/** One event as an SSE frame. JSON never contains a raw newline, so `data` is one line. */
export const frame = (event: StoredEvent): string =>
  `id: ${event.seq}\nevent: ${event.event}\ndata: ${JSON.stringify(event.data) ?? "null"}\n\n`

/**
 * Events `from..to` were deleted by retention before this client read them: its state may be
 * stale, so it should reload what it shows from the API, then keep following. The frame's id
 * is `to`, so a reconnect after it resumes with the events that follow.
 */
export const gapFrame = (gap: Gap): string =>
  `id: ${gap.to}\nevent: gap\ndata: ${JSON.stringify({ from: gap.from, to: gap.to })}\n\n`

const formattedFrame = (format: Format | undefined) => (event: StoredEvent): string => {
  if (format === undefined) return frame(event)
  const shown = format(event)
  const name = shown.event === undefined ? "" : `event: ${shown.event}\n`
  return `id: ${event.seq}\n${name}data: ${JSON.stringify(shown.data) ?? "null"}\n\n`
}

const deliveryFrame = (format: Format | undefined, fill: Fill | undefined, filter: Filter | undefined) => {
  const formatted = formattedFrame(format)
  const eventFrame = filter === undefined ? formatted : (event: StoredEvent) => filter(event) ? formatted(event) : ""
  return (delivery: Delivery): Effect.Effect<string> => {
    if (delivery._tag === "Event") return Effect.succeed(eventFrame(delivery.event))
    if (fill === undefined) return Effect.succeed(gapFrame(delivery))
    return fill(delivery).pipe(
      Effect.map((events) => {
        const complete = events.length === delivery.to - delivery.from + 1 && events.every((e, i) => e.seq === delivery.from + i)
        return complete ? events.map(eventFrame).join("") : gapFrame(delivery)
      })
    )
  }
}

const parseSeq = (value: string | number | undefined | null): number | undefined => {
  if (value === undefined || value === null) return undefined
  const text = String(value).trim()
  if (!/^\d{1,15}$/.test(text)) return undefined
  return Number(text)
}

/**
 * The event id the client already has: `Last-Event-ID`, else `?lastEventId=` or `?after=`
 * (for clients that cannot set headers). `undefined` when none is given or it is not a
 * non-negative integer.
 */
export const lastEventIdOf = (request: HttpServerRequest.HttpServerRequest): number | undefined => {
  const header = parseSeq(request.headers["last-event-id"])
  if (header !== undefined) return header
  const query = request.url.indexOf("?")
  if (query === -1) return undefined
  const params = new URLSearchParams(request.url.slice(query + 1))
  return parseSeq(params.get("lastEventId")) ?? parseSeq(params.get("after"))
}

/**
 * The SSE body for `stream`: an opening comment, the events after `afterSeq` (or, if
 * `afterSeq` is "end", after the stream's last event at the time the body starts), with a
 * `gap` event where retention already deleted some of them, heartbeat comments, and on
 * `shutdown` a final `shutdown` event and a normal end. A database failure ends the body
 * (logged); the client reconnects with its Last-Event-ID.
 */
export const body = (
  log: EventLog["Service"],
  stream: string,
  afterSeq: number | "end",
  options: {
    readonly heartbeat: Duration.Input
    readonly shutdown: Effect.Effect<void>
    readonly format?: Format | undefined
    readonly fill?: Fill | undefined
    readonly filter?: Filter | undefined
    readonly intro?: string | undefined
  }
): Stream.Stream<Uint8Array> =>
  Stream.suspend(() => {
    let shuttingDown = false
    const events = Stream.unwrap(
      Effect.map(afterSeq === "end" ? log.lastSeq(stream) : Effect.succeed(afterSeq), (after) => log.subscribeWithGaps(stream, after))
    ).pipe(
      Stream.mapEffect(deliveryFrame(options.format, options.fill, options.filter)),
      Stream.filter((text) => text !== ""),
      Stream.tapError((error) => Effect.logWarning(`Event stream ${stream} ended: ${error.message}`)),
      Stream.ignore({ log: false })
    )
    const heartbeat = Stream.tick(options.heartbeat).pipe(Stream.drop(1), Stream.map(() => heartbeatFrame))
    const live = Stream.merge(events, heartbeat, { haltStrategy: "left" }).pipe(
      Stream.interruptWhen(Effect.andThen(options.shutdown, Effect.sync(() => {
        shuttingDown = true
      })))
    )
    return Stream.succeed(options.intro === undefined ? openFrame : openFrame + options.intro).pipe(
      Stream.concat(live),
      Stream.concat(Stream.suspend(() => shuttingDown ? Stream.succeed(shutdownFrame) : Stream.empty)),
      Stream.encodeText
    )
  })

/**
 * A `text/event-stream` response following `stream` from the client's last event id. The
 * frames carry the events' data as stored (a typed stream's encoded form). Return
 * it from a handler; the body ends when the client goes away or the server shuts down.
 */
export const response = Effect.fn("Sse.response")(function*(
  /** The stream's name, or a typed stream (`EventStream.make(...).at(key)`). */
  streamOrHandle: string | { readonly name: string },
  options?: Options
): Effect.fn.Return<
  HttpServerResponse.HttpServerResponse,
  never,
  EventLog | Lifecycle | TrellisConfig | HttpServerRequest.HttpServerRequest
> {
  const stream = typeof streamOrHandle === "string" ? streamOrHandle : streamOrHandle.name
  // A bad stream name is the handler's bug: answer 500 rather than a body that ends at once
  // (which an EventSource would reconnect to forever).
  const invalid = invalidStreamName(stream)
  if (invalid !== undefined) return yield* Effect.die(invalid)
  const log = yield* EventLog
  const lifecycle = yield* Lifecycle
  const config = yield* TrellisConfig
  const request = yield* HttpServerRequest.HttpServerRequest
  const given = parseSeq(options?.lastEventId) ?? lastEventIdOf(request)
  // "end" is where the stream stands now, read before the response exists: an event that
  // commits once the client has its headers comes after it. (Should the read fail, the body
  // reads it again when it starts.)
  const afterSeq: number | "end" = given ?? (options?.start === "end"
    ? yield* log.lastSeq(stream).pipe(Effect.catch(() => Effect.succeed("end" as const)))
    : 0)
  return HttpServerResponse.stream(
    body(log, stream, afterSeq, {
      heartbeat: options?.heartbeat ?? Duration.seconds(config.sseHeartbeatSeconds),
      shutdown: lifecycle.shutdownStarted,
      format: options?.format,
      fill: options?.fill,
      filter: options?.filter,
      intro: options?.intro
    }),
    {
      contentType: "text/event-stream",
      headers: Headers.setAll(Headers.fromInput(options?.headers), {
        "cache-control": "no-cache",
        "x-accel-buffering": "no"
      })
    }
  )
})
