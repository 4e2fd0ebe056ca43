/**
 * The example plugin's service: greetings stored in `hello.greetings`. Other plugins could
 * depend on this service (never on the table).
 *
 * Every greeting belongs to the caller's organization, and every query says so in SQL: another
 * organization's greeting is simply not found (404), and each organization has its own event
 * stream.
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { AuditLog, CurrentPrincipal, EventLog, EventStream } from "trellis/plugin"
import { Greeting, GreetingId } from "./Domain.ts"
import { GreetingNotFound } from "./Errors.ts"

const Row = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  message: Schema.String,
  created_at: Schema.Union([Schema.String, Schema.Date])
})

const toGreeting = (row: typeof Row.Type) =>
  new Greeting({
    id: GreetingId.make(row.id),
    name: row.name,
    message: row.message,
    createdAt: typeof row.created_at === "string" ? new Date(row.created_at).toISOString() : row.created_at.toISOString()
  })

export class Greetings extends Context.Service<Greetings, {
  readonly create: (name: string) => Effect.Effect<Greeting, never, CurrentPrincipal>
  readonly get: (id: string) => Effect.Effect<Greeting, GreetingNotFound, CurrentPrincipal>
  readonly list: Effect.Effect<ReadonlyArray<Greeting>, never, CurrentPrincipal>
}>()("hello/Greetings") {
  /** The typed event stream of an organization's new greetings (`GET /api/hello/events`). */
  static readonly events = EventStream.make("hello.greetings", Greeting)

  /** The stream of one organization. */
  static readonly stream = (organizationId: string) => Greetings.events.at(organizationId)

  static readonly layer = Layer.effect(
    Greetings,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const events = yield* EventLog
      const audit = yield* AuditLog
      const decodeRows = Schema.decodeUnknownEffect(Schema.Array(Row))

      // The row, its event and its audit entry commit together: a subscriber never sees an
      // event for a greeting that does not exist, and no greeting goes unaudited.
      const create = Effect.fn("Greetings.create")(function*(name: string) {
        const { organizationId } = yield* CurrentPrincipal
        return yield* sql.withTransaction(Effect.gen(function*() {
          const rows = yield* sql`
            INSERT INTO hello.greetings (id, organization_id, name, message)
            VALUES (${crypto.randomUUID()}, ${organizationId}, ${name}, ${`Hello, ${name}!`})
            RETURNING id, name, message, created_at
          `.pipe(Effect.flatMap(decodeRows))
          const greeting = toGreeting(rows[0])
          yield* Greetings.stream(organizationId).append(events, "greeting.created", greeting)
          yield* audit.record("hello.greeting.create", { type: "greeting", id: greeting.id }, { name })
          return greeting
        })).pipe(Effect.orDie)
      })

      const get = Effect.fn("Greetings.get")(function*(id: string) {
        const { organizationId } = yield* CurrentPrincipal
        const rows = yield* sql`
          SELECT id, name, message, created_at FROM hello.greetings
          WHERE id = ${id} AND organization_id = ${organizationId}
        `.pipe(Effect.flatMap(decodeRows), Effect.orDie)
        return yield* Option.match(Option.fromNullishOr(rows[0]), {
          onNone: () => Effect.fail(new GreetingNotFound({ greetingId: id, detail: `No greeting with id ${id}.` })),
          onSome: (row) => Effect.succeed(toGreeting(row))
        })
      })

      const list = Effect.flatMap(CurrentPrincipal, ({ organizationId }) =>
        sql`
          SELECT id, name, message, created_at FROM hello.greetings
          WHERE organization_id = ${organizationId} ORDER BY created_at, id
        `.pipe(Effect.flatMap(decodeRows), Effect.map((rows) => rows.map(toGreeting)), Effect.orDie))

      return Greetings.of({ create, get, list })
    })
  )
}
