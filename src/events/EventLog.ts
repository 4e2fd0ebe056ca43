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
 * - Retention: a background fiber in each process deletes events older than
 *   `TRELLIS_EVENTS_RETENTION_HOURS`, in small batches, always keeping each stream's newest
 *   event. Numbers come from `event_streams`, which pruning never touches, so they keep
 *   increasing. Appends commit in number order (the counter row lock), so the table always
 *   holds an unbroken run of each stream's numbers; a replay whose first row is not the next
 *   number therefore met pruned events, and says so with a `Gap` instead of skipping them.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import type * as PgConnection from "@effect/sql-pg/PgConnection"
import { Cause, Clock, Context, Deferred, Duration, Effect, Layer, PubSub, Queue, Schedule, Schema, Stream } from "effect"
import type { Scope } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"
import { TrellisConfig } from "../config/TrellisConfig.ts"
import { DatabaseInfo } from "../database/Database.ts"

/** One event as stored. `seq` counts from 1 within its stream, with no gaps. */
export interface StoredEvent {
  readonly stream: string
  readonly seq: number
  readonly event: string
  readonly data: unknown
  readonly createdAt: Date
}

/**
 * Events `from..to` of `stream` that a subscriber asked for but retention already deleted.
 * Whoever follows the stream has missed them for good: it should rebuild what it derives from
 * the stream (refetch), then carry on with the events that follow (from `to + 1`).
 */
export interface Gap {
  readonly _tag: "Gap"
  readonly stream: string
  readonly from: number
  readonly to: number
}

/** What `subscribeWithGaps` yields: an event, or a gap where pruned events were. */
export type Delivery = { readonly _tag: "Event"; readonly event: StoredEvent } | Gap

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

/** Rows one pruning statement deletes at most (short statements, short locks). */
export const pruneBatchSize = 1000

/** Retention: how long events are kept and how often the background job prunes. */
export interface Retention {
  /** Events older than this many hours are deleted, except each stream's newest; 0 keeps all. */
  readonly hours: number
  /** Pause between two prune passes (the first pass runs after at most 30 seconds). */
  readonly interval: Duration.Input
}

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

/** Builds the log for one mode; on PostgreSQL, `listen` must also run (see `layerPostgres`). */
const make = Effect.fnUntraced(function*(mode: Mode, retention: Retention) {
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

  // The pull of one subscription: each call returns the next deliveries (waiting for live
  // events once caught up). Joins the live fan-out before it replays from the table: anything
  // committed from now on is either in the replay or in the subscription (or both, and then
  // dropped by number).
  const open = Effect.fnUntraced(function*(stream: string, afterSeq: number) {
    const bad = checkStream(stream, "-")
    if (bad !== undefined) return yield* bad
    const subscription = yield* PubSub.subscribe(yield* hubs.acquire(stream))
    let last = clampSeq(afterSeq)
    let catchingUp = true
    const next: Effect.Effect<ReadonlyArray<Delivery>, SqlError> = Effect.suspend(() => {
      if (catchingUp) {
        return Effect.map(readRows(stream, last, maxReadLimit), (rows) => {
          if (rows.length < maxReadLimit) catchingUp = false
          const out: Array<Delivery> = []
          // The table holds an unbroken run of numbers: a first row past the next number means
          // retention deleted the ones in between.
          const first = rows[0]
          if (first !== undefined && first.seq > last + 1) out.push({ _tag: "Gap", stream, from: last + 1, to: first.seq - 1 })
          for (const event of rows) out.push({ _tag: "Event", event })
          const tail = rows[rows.length - 1]
          if (tail !== undefined) last = tail.seq
          return out
        })
      }
      return Effect.map(PubSub.takeAll(subscription), (signals) => {
        const out: Array<Delivery> = []
        for (const signal of signals) {
          if (signal._tag === "Resync") {
            catchingUp = true
            break
          }
          const { event } = signal
          if (event.seq <= last) continue
          if (event.seq !== last + 1) {
            // A gap: the missing rows are committed (numbers are allocated under the
            // stream's row lock), so the table has them (unless pruned: the replay says so).
            catchingUp = true
            break
          }
          out.push({ _tag: "Event", event })
          last = event.seq
        }
        return out
      })
    })
    return next
  })

  const subscribeWithGaps = (stream: string, afterSeq: number): Stream.Stream<Delivery, SqlError | InvalidEvent> =>
    Stream.unwrap(Effect.map(open(stream, afterSeq), (next) => Stream.fromEffectRepeat(next).pipe(Stream.flattenIterable)))

  const subscribe = (stream: string, afterSeq: number): Stream.Stream<StoredEvent, SqlError | InvalidEvent> =>
    Stream.unwrap(Effect.map(open(stream, afterSeq), (next) =>
      Stream.fromEffectRepeat(Effect.flatMap(next, (deliveries) => {
        const events: Array<StoredEvent> = []
        const gaps: Array<Gap> = []
        for (const d of deliveries) {
          if (d._tag === "Event") events.push(d.event)
          else gaps.push(d)
        }
        return gaps.length === 0 ? Effect.succeed(events) : Effect.as(
          Effect.forEach(gaps, (gap) =>
            Effect.logWarning(`Event log: events ${gap.from}..${gap.to} of ${gap.stream} were pruned before this subscriber read them`), {
            discard: true
          }),
          events
        )
      })).pipe(Stream.flattenIterable)))

  // One batch: the oldest expired rows that are not their stream's newest. Rows another
  // process is deleting right now are skipped (it deletes them), so concurrent pruners on
  // one PostgreSQL neither wait on each other nor hold locks that appends wait for: only
  // event rows are locked, never the `event_streams` counters.
  const pruneBatch = (horizon: string) =>
    sql<{ readonly count: number | string | bigint }>`WITH victims AS (
        SELECT e.stream, e.seq FROM trellis.events e
        JOIN trellis.event_streams s ON s.stream = e.stream
        WHERE e.created_at < ${horizon}::timestamptz AND e.seq < s.last_seq
        LIMIT ${pruneBatchSize}
        FOR UPDATE OF e SKIP LOCKED
      ), deleted AS (
        DELETE FROM trellis.events d USING victims v
        WHERE d.stream = v.stream AND d.seq = v.seq
        RETURNING 1
      )
      SELECT count(*) AS "count" FROM deleted`.pipe(Effect.map((rows) => Number(rows[0]?.count ?? 0)))

  const prune = Effect.fn("EventLog.prune")(function*(now?: Date) {
    if (retention.hours <= 0) return 0
    const at = now === undefined ? yield* Clock.currentTimeMillis : now.getTime()
    const horizon = new Date(at - retention.hours * 3_600_000).toISOString()
    let total = 0
    while (true) {
      const deleted = yield* pruneBatch(horizon)
      total += deleted
      if (deleted < pruneBatchSize) return total
      // Let other work have the (embedded: only) connection between batches.
      yield* Effect.sleep("5 millis")
    }
  })

  const readRange = (stream: string, from: number, to: number) =>
    sql<Row>`SELECT ${sql.literal(columns)} FROM trellis.events
      WHERE stream = ${stream} AND seq >= ${from} AND seq <= ${to}
      ORDER BY seq`.pipe(Effect.map((rows) => rows.map(toStoredEvent)))

  return { log: EventLog.of({ mode, append, read, lastSeq, subscribe, subscribeWithGaps, prune }), hubs, readRange } as const
})

/**
 * The background pruner: one pass at most 30 seconds after start, then one every
 * `retention.interval`. A failed pass is logged and the next tick tries again; the fiber stops
 * with the layer's scope. Every process runs one: passes are idempotent deletes.
 */
const pruneInBackground = (
  prune: (now?: Date) => Effect.Effect<number, SqlError>,
  retention: Retention
): Effect.Effect<void, never, Scope.Scope> => {
  if (retention.hours <= 0) return Effect.void
  const interval = Duration.fromInputUnsafe(retention.interval)
  const pass = prune().pipe(
    Effect.tap((count) => count > 0 ? Effect.logDebug(`Event log: pruned ${count} expired events`) : Effect.void),
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.void
        : Effect.logWarning("Event log: pruning expired events failed; trying again at the next tick", cause)
    )
  )
  const first = Duration.min(interval, Duration.seconds(30))
  return Effect.delay(pass, first).pipe(
    Effect.andThen(Effect.forever(Effect.delay(pass, interval))),
    Effect.forkScoped,
    Effect.asVoid
  )
}

/** Retention as configured (`TRELLIS_EVENTS_RETENTION_HOURS`, `TRELLIS_EVENTS_PRUNE_INTERVAL_SECONDS`). */
const configuredRetention = Effect.gen(function*() {
  const config = yield* TrellisConfig
  return { hours: config.eventRetentionHours, interval: Duration.seconds(config.eventPruneIntervalSeconds) } satisfies Retention
})

type Hubs = Effect.Success<typeof makeHubs>

/**
 * The process's LISTEN follower (PostgreSQL). Holds one pooled connection. For each batch of
 * wake-ups it reads the rows of streams that have local subscribers, once, and publishes them.
 */
const listen = Effect.fnUntraced(function*(
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
   * commit, in order, with no gap and no duplicate. Never ends by itself. Events retention
   * deleted before they were read are skipped (with a warning in the log); a subscriber that
   * must know (a client resuming from an old position) uses `subscribeWithGaps`.
   */
  subscribe(stream: string, afterSeq: number): Stream.Stream<StoredEvent, SqlError | InvalidEvent>
  /**
   * `subscribe`, with a `Gap` in place of events retention already deleted: when `afterSeq`
   * is older than what is kept, the first delivery is a `Gap` from `afterSeq + 1` to just
   * before the oldest kept event.
   */
  subscribeWithGaps(stream: string, afterSeq: number): Stream.Stream<Delivery, SqlError | InvalidEvent>
  /**
   * Deletes the events that retention has expired at `now` (default: the clock), in batches
   * of `pruneBatchSize`, keeping each stream's newest; returns how many. Does nothing when
   * retention is off (0 hours). The background job calls it every interval; tests call it.
   */
  prune(now?: Date): Effect.Effect<number, SqlError>
}>()("trellis/events/EventLog") {
  /** In-process live delivery only: for the embedded database (one process, one session). */
  static readonly layerEmbedded: Layer.Layer<EventLog, never, SqlClient.SqlClient | TrellisConfig> = Layer.effect(
    EventLog,
    Effect.gen(function*() {
      const retention = yield* configuredRetention
      const built = yield* make("embedded", retention)
      yield* pruneInBackground(built.log.prune, retention)
      return built.log
    })
  )

  /**
   * LISTEN/NOTIFY live delivery across processes: for PostgreSQL. Holds one pooled connection
   * for its LISTEN. Fails if the first LISTEN fails; later connection losses are retried, and
   * subscribers re-read the table after each reconnect.
   */
  static readonly layerPostgres: Layer.Layer<EventLog, SqlError, PgClient.PgClient | SqlClient.SqlClient | TrellisConfig> = Layer.effect(
    EventLog,
    Effect.gen(function*() {
      const retention = yield* configuredRetention
      const built = yield* make("postgres", retention)
      yield* listen(yield* PgClient.PgClient, built.hubs, built.readRange)
      yield* pruneInBackground(built.log.prune, retention)
      return built.log
    })
  )

  /** Picks the mode from `DatabaseInfo.kind`; retention from `TrellisConfig`. */
  static readonly layer: Layer.Layer<EventLog, SqlError, PgClient.PgClient | SqlClient.SqlClient | DatabaseInfo | TrellisConfig> = Layer.unwrap(
    Effect.gen(function*() {
      const info = yield* DatabaseInfo
      return info.kind === "embedded" ? EventLog.layerEmbedded : EventLog.layerPostgres
    })
  )
}
