/**
 * Typed event streams: a stream declares the Schema of its events' data once, and every
 * append encodes through it and every subscriber gets decoded values. No `event.data as X`.
 *
 * ```ts
 * export const Changes = EventStream.make("prompts.changes", ChangeData)  // one stream per key
 * yield* Changes.at(organizationId).append(events, "prompt.updated", change)
 * Changes.at(organizationId).subscribeWithGaps(events, since)            // Stream of typed deliveries
 * return yield* Sse.response(Changes.at(organizationId))                 // SSE over the same stream
 * ```
 *
 * Data is stored in the Schema's canonical JSON form (`Schema.toCodecJson`): a `Date` field
 * is stored as an ISO string and decoded back to a `Date`.
 *
 * `at(key)` names the stream `<prefix>.<key>`; `at()` names it `<prefix>` (a single stream).
 * An event whose stored data does not decode (written by an older version with another shape)
 * is not delivered as a value: subscribers get it as a `Gap` of that one event (so they
 * refetch, as after pruning), and a warning is logged.
 */
import { Effect, Schema, Stream } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import type { EventLog, Gap, StoredEvent } from "./EventLog.ts"
import { InvalidEvent } from "./EventLog.ts"

/** An event with its data decoded. */
export interface TypedEvent<A> extends Omit<StoredEvent, "data"> {
  readonly data: A
}

export type TypedDelivery<A> = { readonly _tag: "Event"; readonly event: TypedEvent<A> } | Gap

/** One concrete stream of a declaration. */
export interface Handle<A> {
  /** The stream's name in the event log. */
  readonly name: string
  /** Appends one event (in the caller's transaction, if any); the data is encoded by the stream's Schema. */
  readonly append: (log: EventLog["Service"], event: string, data: A) => Effect.Effect<TypedEvent<A>, InvalidEvent | SqlError>
  /** Events after `afterSeq`, then live ones, decoded (see `EventLog.subscribe`). */
  readonly subscribe: (log: EventLog["Service"], afterSeq: number) => Stream.Stream<TypedEvent<A>, InvalidEvent | SqlError>
  /** As `subscribe`, with gaps where events were pruned (see `EventLog.subscribeWithGaps`). */
  readonly subscribeWithGaps: (log: EventLog["Service"], afterSeq: number) => Stream.Stream<TypedDelivery<A>, InvalidEvent | SqlError>
}

export interface EventStream<A> {
  readonly prefix: string
  readonly schema: Schema.Codec<A, unknown>
  /** The stream `<prefix>.<key>`, or `<prefix>` without a key. */
  readonly at: (key?: string) => Handle<A>
}

export const make = <S extends Schema.Codec<unknown, unknown>>(prefix: string, schema: S): EventStream<S["Type"]> => {
  type A = S["Type"]
  const codec = schema as unknown as Schema.Codec<A, unknown>
  // The JSON form of the schema (a `Date` becomes an ISO string...): what the log stores.
  const json = Schema.toCodecJson(codec) as unknown as Schema.Codec<A, unknown>
  const encode = Schema.encodeUnknownEffect(json)
  const decode = Schema.decodeUnknownEffect(json)

  const decoded = (event: StoredEvent): Effect.Effect<TypedDelivery<A>> =>
    decode(event.data).pipe(
      Effect.map((data): TypedDelivery<A> => ({ _tag: "Event", event: { ...event, data } })),
      Effect.catch((error) =>
        Effect.as(
          Effect.logWarning(`Event ${event.stream}#${event.seq} (${event.event}) does not match its stream's schema: ${error.message}`),
          { _tag: "Gap", stream: event.stream, from: event.seq, to: event.seq } satisfies Gap
        )
      )
    )

  const at = (key?: string): Handle<A> => {
    const name = key === undefined ? prefix : `${prefix}.${key}`
    const subscribeWithGaps = (log: EventLog["Service"], afterSeq: number) =>
      log.subscribeWithGaps(name, afterSeq).pipe(
        Stream.mapEffect((delivery) => delivery._tag === "Gap" ? Effect.succeed<TypedDelivery<A>>(delivery) : decoded(delivery.event))
      )
    return {
      name,
      append: (log, event, data) =>
        encode(data).pipe(
          Effect.mapError((error) => new InvalidEvent({ stream: name, event, message: `Event data does not match the stream's schema: ${error.message}` })),
          Effect.flatMap((encoded) => log.append(name, event, encoded)),
          Effect.map((stored) => ({ ...stored, data }))
        ),
      subscribe: (log, afterSeq) =>
        subscribeWithGaps(log, afterSeq).pipe(
          Stream.filter((delivery): delivery is Extract<TypedDelivery<A>, { _tag: "Event" }> => delivery._tag === "Event"),
          Stream.map((delivery) => delivery.event)
        ),
      subscribeWithGaps
    }
  }
  return { prefix, schema: codec, at }
}
