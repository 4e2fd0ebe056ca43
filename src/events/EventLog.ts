/**
 * The platform's event log: durable, per-stream numbered events that plugins append (run
 * events, page events, prompt changes) and that live streams (SSE) replay and then follow.
 *
 * Why it is built this way:
 * - Sequence numbers are allocated from `trellis.event_streams` in the same statement (and so
 *   the same transaction) as the event row, so they are gap-free and unique per stream, and an
 *   append made inside a plugin's `sql.withTransaction` commits or rolls back with the plugin's
 *   own write.
 * - Live delivery never carries data in the wake-up: on PostgreSQL each append queues
 *   `pg_notify('trellis_events', '{"stream":..,"seq":..}')`, which PostgreSQL sends only on
 *   commit; one LISTEN connection per process reads the rows once and fans them out to
 *   in-process subscribers, so every process on the same database sees every event. The
 *   embedded database is one session in this process: there the append publishes in-process
 *   after commit, and no connection is held by a LISTEN.
 * - A subscriber joins the in-process fan-out before it replays from the table, then follows
 *   live, dropping numbers it already has and re-reading the table whenever it sees a gap
 *   (out-of-order commits, a slow subscriber whose buffer slid, a LISTEN reconnect). So a
 *   subscription never loses and never repeats an event.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import type * as PgConnection from "@effect/sql-pg/PgConnection"
import { Context, Deferred, Effect, Layer, PubSub, Queue, Schedule, Schema, Stream } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { DatabaseInfo } from "../database/Database.ts"

/** One event as stored. `seq` counts from 1 within its stream, with no gaps. */
export interface StoredEvent {
  readonly stream: string
  readonly seq: number
  readonly event: string
  readonly data: unknown
  readonly createdAt: Date
}

/** An append the log refuses before touching the database (bad stream or event name, data that is not JSON). */
export class InvalidEvent extends Schema.TaggedError<InvalidEvent>()("InvalidEvent", {
  stream: Schema.String,
  event: Schema.String,
  message: Schema.String
}) {}

/** How live events reach subscribers: in-process only (embedded) or through LISTEN/NOTIFY (PostgreSQL). */
export type Mode = "embedded" | "postgres"

/** The NOTIFY channel. */
export const channel = "trellis_events"

/** Longest stream and event names, in characters (keeps NOTIFY payloads far below PostgreSQL's 8000 bytes). */
export const maxNameLength = 200

/** Most rows one `read` returns, and the page size of a subscriber's replay. */
export const maxReadLimit = 1000

/** Live events buffered per stream per process before the oldest slide out (a lagging subscriber then re-reads the table). */
const hubCapacity = 256

// Control characters would break SSE framing (`event: <name>\n`); whitespace is also refused in
// event names because SSE strips a leading space.
const controlCharacter = /[\u0000-\u001f\u007f]/u
const whitespace = /\s/u

type Signal =
  | { readonly _tag: "Event"; readonly event: StoredEvent }
  /** Events may have been missed: re-read the table after the last delivered number. */
  | { readonly _tag: "Resync" }

const resync: Signal = { _tag: "Resync" }

interface Row {
  readonly stream: string
  readonly seq: bigint | number | string
  readonly event: string
  readonly data: unknown
  readonly createdAt: Date | string
}

const toStoredEvent = (row: Row): StoredEvent => ({
  stream: row.stream,
  seq: Number(row.seq),
  event: row.event,
  data: row.data,
  createdAt: row.createdAt instanceof Date ? row.createdAt : new Date(row.createdAt)
})

const Wakeup = Schema.fromJsonString(Schema.Struct({ stream: Schema.String, seq: Schema.Number }))
const decodeWakeup = Schema.decodeUnknownOption(Wakeup)

const invalid = (stream: string, event: string, message: string) => new InvalidEvent({ stream, event, message })

const checkStream = (stream: string, event: string): InvalidEvent | undefined => {
  if (stream.length === 0 || stream.length > maxNameLength) {
    return invalid(stream, event, `Stream name must be 1 to ${maxNameLength} characters`)
  }
  if (controlCharacter.test(stream)) return invalid(stream, event, "Stream name must not contain control characters")
  return undefined
}

/** Why `stream` is not a valid stream name, or `undefined` if it is. */
export const invalidStreamName = (stream: string): InvalidEvent | undefined => checkStream(stream, "")

const checkEvent = (stream: string, event: string): InvalidEvent | undefined => {
  if (event.length === 0 || event.length > maxNameLength) {
    return invalid(stream, event, `Event name must be 1 to ${maxNameLength} characters`)
  }
  if (controlCharacter.test(event) || whitespace.test(event)) {
    return invalid(stream, event, "Event name must not contain whitespace or control characters")
  }
  return undefined
}

const encodeData = (stream: string, event: string, data: unknown): string | InvalidEvent => {
  try {
    const text = JSON.stringify(data)
    return typeof text === "string" ? text : invalid(stream, event, "Event data must be a JSON value (got undefined or a function)")
  } catch (cause) {
    return invalid(stream, event, `Event data is not JSON-serializable: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
}

const clampSeq = (seq: number): number => Number.isFinite(seq) && seq > 0 ? Math.floor(seq) : 0

/**
 * Per-stream in-process fan-out, created on a stream's first subscriber and removed after its
 * last. Sliding: a publisher never waits for a slow subscriber; the newest event always stays
 * in the buffer, so the subscriber sees the gap and re-reads the table.
 */
const makeHubs = Effect.gen(function*() {
  const hubs = new Map<string, { readonly pubsub: PubSub.PubSub<Signal>; refs: number }>()

  yield* Effect.addFinalizer(() =>
    Effect.forEach(Array.from(hubs.values()), (hub) => PubSub.shutdown(hub.pubsub), { discard: true }).pipe(
      Effect.andThen(Effect.sync(() => hubs.clear()))
    )
  )

  const acquire = (stream: string) =>
    Effect.acquireRelease(
      Effect.gen(function*() {
        const created = yield* PubSub.sliding<Signal>(hubCapacity)
        // Re-check after the (effectful) creation: another fiber may have registered one.
        const existing = hubs.get(stream)
        if (existing !== undefined) {
          existing.refs++
          yield* PubSub.shutdown(created)
          return existing
        }
        const hub = { pubsub: created, refs: 1 }
        hubs.set(stream, hub)
        return hub
      }),
      (hub) =>
        Effect.suspend(() => {
          hub.refs--
          if (hub.refs > 0) return Effect.void
          if (hubs.get(stream) === hub) hubs.delete(stream)
          return PubSub.shutdown(hub.pubsub)
        })
    ).pipe(Effect.map((hub) => hub.pubsub))

  const publish = (events: ReadonlyArray<StoredEvent>): Effect.Effect<void> =>
    Effect.forEach(events, (event) => {
      const hub = hubs.get(event.stream)
      return hub === undefined ? Effect.void : PubSub.publish(hub.pubsub, { _tag: "Event", event })
    }, { discard: true })

  const resyncAll: Effect.Effect<void> = Effect.suspend(() =>
    Effect.forEach(Array.from(hubs.values()), (hub) => PubSub.publish(hub.pubsub, resync), { discard: true })
  )

  const has = (stream: string): boolean => hubs.has(stream)

  return { acquire, publish, resyncAll, has } as const
})

const columns = `stream, seq, event, data, created_at AS "createdAt"`

/** Builds the log for one mode; on PostgreSQL, `follow` must also run (see `layerPostgres`). */
const make = Effect.fnUntraced(function*(mode: Mode) {
  const sql = yield* SqlClient.SqlClient
  const hubs = yield* makeHubs

  const readRows = (stream: string, afterSeq: number, limit: number) =>
    sql<Row>`SELECT ${sql.literal(columns)} FROM trellis.events
      WHERE stream = ${stream} AND seq > ${afterSeq}
      ORDER BY seq LIMIT ${limit}`.pipe(Effect.map((rows) => rows.map(toStoredEvent)))

  // One statement: allocate the number, insert the event and (PostgreSQL) queue the wake-up.
  // Being one statement it is atomic on its own, and inside a caller's transaction it runs on
  // the transaction's connection, so it commits or rolls back with the caller's writes.
  const insert = (stream: string, event: string, json: string) => {
    const notify = mode === "postgres"
      ? sql.literal(`, pg_notify('${channel}', json_build_object('stream', stream, 'seq', seq)::text) AS "notified"`)
      : sql.literal("")
    return sql<Row>`WITH next AS (
        INSERT INTO trellis.event_streams AS s (stream, last_seq) VALUES (${stream}::text, 1)
        ON CONFLICT (stream) DO UPDATE SET last_seq = s.last_seq + 1
        RETURNING last_seq
      ), inserted AS (
        INSERT INTO trellis.events (stream, seq, event, data)
        SELECT ${stream}::text, next.last_seq, ${event}::text, ${json}::jsonb FROM next
        RETURNING stream, seq, event, data, created_at
      )
      SELECT ${sql.literal(columns)}${notify} FROM inserted`
  }

  const append = Effect.fn("EventLog.append")(function*(stream: string, event: string, data: unknown) {
    const bad = checkStream(stream, event) ?? checkEvent(stream, event)
    if (bad !== undefined) return yield* bad
    const json = encodeData(stream, event, data)
    if (typeof json !== "string") return yield* json
    // Uninterruptible, so that an insert that committed is always also published (embedded).
    return yield* Effect.uninterruptible(Effect.gen(function*() {
      const rows = yield* insert(stream, event, json)
      const row = rows[0]
      if (row === undefined) return yield* Effect.die(new Error("EventLog.append: the insert returned no row"))
      const stored = toStoredEvent(row)
      // Embedded: publish once the caller's transaction (if any) commits; dropped on rollback.
      if (mode === "embedded") yield* sql.afterCommit(hubs.publish([stored]))
      return stored
    }))
  })

  const read = Effect.fn("EventLog.read")(function*(stream: string, afterSeq: number, limit: number = maxReadLimit) {
    return yield* readRows(stream, clampSeq(afterSeq), Math.min(Math.max(1, Math.floor(limit)), maxReadLimit))
  })

  const lastSeq = Effect.fn("EventLog.lastSeq")(function*(stream: string) {
    const rows = yield* sql<{ readonly lastSeq: bigint | number | string }>`
      SELECT last_seq AS "lastSeq" FROM trellis.event_streams WHERE stream = ${stream}`
    return rows[0] === undefined ? 0 : Number(rows[0].lastSeq)
  })

  const subscribe = (stream: string, afterSeq: number): Stream.Stream<StoredEvent, SqlError | InvalidEvent> =>
    Stream.unwrap(Effect.gen(function*() {
      const bad = checkStream(stream, "-")
      if (bad !== undefined) return yield* bad
      // Join the live fan-out first, then replay: anything committed from now on is either in
      // the replay or in the subscription (or both, and then dropped by number).
      const subscription = yield* PubSub.subscribe(yield* hubs.acquire(stream))
      let last = clampSeq(afterSeq)
      let catchingUp = true
      const next: Effect.Effect<ReadonlyArray<StoredEvent>, SqlError> = Effect.suspend(() => {
        if (catchingUp) {
          return Effect.map(readRows(stream, last, maxReadLimit), (rows) => {
            if (rows.length < maxReadLimit) catchingUp = false
            const tail = rows[rows.length - 1]
            if (tail !== undefined) last = tail.seq
            return rows
          })
        }
        return Effect.map(PubSub.takeAll(subscription), (signals) => {
          const out: Array<StoredEvent> = []
          for (const signal of signals) {
            if (signal._tag === "Resync") {
              catchingUp = true
              break
            }
            const { event } = signal
            if (event.seq <= last) continue
            if (event.seq !== last + 1) {
              // A gap: the missing rows are committed (numbers are allocated under the
              // stream's row lock), so the table has them; this event comes with them.
              catchingUp = true
              break
            }
            out.push(event)
            last = event.seq
          }
          return out
        })
      })
      return Stream.fromEffectRepeat(next).pipe(Stream.flattenIterable)
    }))

  const readRange = (stream: string, from: number, to: number) =>
    sql<Row>`SELECT ${sql.literal(columns)} FROM trellis.events
      WHERE stream = ${stream} AND seq >= ${from} AND seq <= ${to}
      ORDER BY seq`.pipe(Effect.map((rows) => rows.map(toStoredEvent)))

  return { log: EventLog.of({ mode, append, read, lastSeq, subscribe }), hubs, readRange } as const
})

type Hubs = Effect.Success<typeof makeHubs>

/**
 * The process's LISTEN follower (PostgreSQL). Holds one pooled connection. For each batch of
 * wake-ups it reads the rows of streams that have local subscribers, once, and publishes them.
 */
const follow = Effect.fnUntraced(function*(
  pg: PgClient.PgClient,
  hubs: Hubs,
  readRange: (stream: string, from: number, to: number) => Effect.Effect<ReadonlyArray<StoredEvent>, SqlError>
) {
  const ready = yield* Deferred.make<void, SqlError>()
  let connected = false

  const dispatch = (batch: ReadonlyArray<PgConnection.Notification>) =>
    Effect.gen(function*() {
      const ranges = new Map<string, { from: number; to: number }>()
      for (const notification of batch) {
        const wakeup = decodeWakeup(notification.payload)
        if (wakeup._tag === "None" || !hubs.has(wakeup.value.stream)) continue
        const { stream, seq } = wakeup.value
        const range = ranges.get(stream)
        if (range === undefined) ranges.set(stream, { from: seq, to: seq })
        else {
          range.from = Math.min(range.from, seq)
          range.to = Math.max(range.to, seq)
        }
      }
      for (const [stream, range] of ranges) {
        yield* Effect.flatMap(readRange(stream, range.from, range.to), hubs.publish)
      }
    })

  const session = Effect.scoped(Effect.gen(function*() {
    const queue = yield* pg.listen(channel)
    // Wake-ups sent while we were not listening are lost: subscribers re-read the table.
    if (connected) {
      yield* Effect.logInfo("Event log: LISTEN re-established")
      yield* hubs.resyncAll
    }
    connected = true
    yield* Deferred.succeed(ready, undefined)
    return yield* Effect.forever(Effect.flatMap(Queue.takeAll(queue), dispatch))
  }))

  yield* session.pipe(
    Effect.tapError((error) =>
      connected
        ? Effect.logWarning(`Event log: LISTEN connection lost, reconnecting: ${error.message}`)
        : Deferred.fail(ready, error)
    ),
    Effect.retry({
      schedule: Schedule.min([Schedule.exponential("200 millis", 1.5), Schedule.spaced("5 seconds")]),
      while: () => connected
    }),
    Effect.ignore,
    Effect.forkScoped
  )
  yield* Deferred.await(ready)
})

export class EventLog extends Context.Service<EventLog, {
  readonly mode: Mode
  /**
   * Appends an event and returns it with its number. Inside the caller's
   * `sql.withTransaction` (same `SqlClient`) it joins that transaction: the event and its
   * live delivery happen only if the transaction commits. Holds the stream's counter row lock
   * until commit, so appends to one stream are serialized.
   */
  append(stream: string, event: string, data: unknown): Effect.Effect<StoredEvent, InvalidEvent | SqlError>
  /** Events of `stream` with `seq > afterSeq`, oldest first, at most `limit` (default and cap: 1000). */
  read(stream: string, afterSeq: number, limit?: number): Effect.Effect<ReadonlyArray<StoredEvent>, SqlError>
  /** The stream's last number, 0 when it has no events. */
  lastSeq(stream: string): Effect.Effect<number, SqlError>
  /**
   * Every event of `stream` with `seq > afterSeq`: the stored ones, then live ones as they
   * commit, in order, with no gap and no duplicate. Never ends by itself.
   */
  subscribe(stream: string, afterSeq: number): Stream.Stream<StoredEvent, SqlError | InvalidEvent>
}>()("trellis/events/EventLog") {
  /** In-process live delivery only: for the embedded database (one process, one session). */
  static readonly layerEmbedded: Layer.Layer<EventLog, never, SqlClient.SqlClient> = Layer.effect(
    EventLog,
    Effect.map(make("embedded"), (built) => built.log)
  )

  /**
   * LISTEN/NOTIFY live delivery across processes: for PostgreSQL. Holds one pooled connection
   * for its LISTEN. Fails if the first LISTEN fails; later connection losses are retried, and
   * subscribers re-read the table after each reconnect.
   */
  static readonly layerPostgres: Layer.Layer<EventLog, SqlError, PgClient.PgClient | SqlClient.SqlClient> = Layer.effect(
    EventLog,
    Effect.gen(function*() {
      const built = yield* make("postgres")
      yield* follow(yield* PgClient.PgClient, built.hubs, built.readRange)
      return built.log
    })
  )

  /** Picks the mode from `DatabaseInfo.kind`. */
  static readonly layer: Layer.Layer<EventLog, SqlError, PgClient.PgClient | SqlClient.SqlClient | DatabaseInfo> = Layer.unwrap(
    Effect.gen(function*() {
      const info = yield* DatabaseInfo
      return info.kind === "embedded" ? EventLog.layerEmbedded : EventLog.layerPostgres
    })
  )
}
