/**
 * The row helpers of `trellis/plugin` on each database: timestamps come back as ISO text with
 * milliseconds whatever the driver hands over, `jsonb` columns decode with a Schema whether
 * parsed or text, rows are schema-decoded, and infrastructure failures become defects while
 * domain errors stay typed.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Cause, Effect, Exit, Schema } from "effect"
import { SqlClient } from "effect/sql"
import * as Row from "../../src/database/Row.ts"
import { backends, uniqueName } from "./backends.ts"

const Item = Schema.Struct({
  id: Schema.String,
  created_at: Row.Timestamp,
  tags: Row.Json(Schema.Array(Schema.String)),
  meta: Row.Json(Schema.NullOr(Schema.Struct({ n: Schema.Number })))
})

class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {}) {}

for (const backend of backends("row")) {
  describe(`Row helpers (${backend.name})`, () => {
    layer(backend.layer, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect("timestamps: one precision (milliseconds), from a Date or from text", () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const rows = yield* sql<{ at: unknown; text: unknown }>`
            SELECT '2026-01-02T03:04:05.678912Z'::timestamptz AS at,
                   '2026-01-02T03:04:05.678912Z'::timestamptz::text AS text`
          const decode = Schema.decodeUnknownSync(Row.Timestamp)
          assert.strictEqual(decode(rows[0].at), "2026-01-02T03:04:05.678Z")
          assert.strictEqual(decode(rows[0].text), "2026-01-02T03:04:05.678Z")
          assert.strictEqual(Row.iso(new Date(Date.UTC(2026, 0, 2))), "2026-01-02T00:00:00.000Z")
          assert.isNull(Row.isoOrNull(null))
          assert.isTrue(Exit.isFailure(Schema.decodeUnknownExit(Row.Timestamp)("yesterday")))
        }))

      it.effect("jsonb: written with Row.jsonb, read back parsed or as text, decoded with a Schema", () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const table = uniqueName("row_items")
          yield* sql.unsafe(`CREATE TABLE ${table} (id text PRIMARY KEY, created_at timestamptz(3) NOT NULL DEFAULT now(), tags jsonb NOT NULL, meta jsonb)`)
          yield* sql`INSERT INTO ${sql(table)} (id, tags, meta) VALUES ('a', ${Row.jsonb(["x", "y"])}::jsonb, ${Row.jsonb({ n: 1 })}::jsonb)`
          yield* sql`INSERT INTO ${sql(table)} (id, tags, meta) VALUES ('b', ${Row.jsonb([])}::jsonb, NULL)`
          const decodeItems = Row.decode(Item)
          const parsed = yield* decodeItems(yield* sql`SELECT id, created_at, tags, meta FROM ${sql(table)} ORDER BY id`)
          const asText = yield* decodeItems(yield* sql`SELECT id, created_at::text AS created_at, tags::text AS tags, meta::text AS meta FROM ${sql(table)} ORDER BY id`)
          assert.deepStrictEqual(parsed.map((r) => [r.id, r.tags, r.meta]), [["a", ["x", "y"], { n: 1 }], ["b", [], null]])
          assert.deepStrictEqual(asText, parsed)
          assert.match(parsed[0].created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
          yield* sql.unsafe(`DROP TABLE ${table}`)
        }))

      it.effect("a row that does not match its Schema is a defect", () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const exit = yield* Effect.exit(Effect.flatMap(sql`SELECT 1 AS id`, Row.decode(Schema.Struct({ id: Schema.String }))))
          assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
        }))

      it.effect("dieOnInfrastructure: a SQL failure is a defect, a domain error stays typed", () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const broken = yield* Effect.exit(Row.dieOnInfrastructure(sql`SELECT * FROM no_such_table_here`))
          assert.isTrue(Exit.isFailure(broken) && Cause.hasDies(broken.cause) && !Cause.hasFails(broken.cause))
          const domain = yield* Effect.flip(Row.dieOnInfrastructure(
            Effect.flatMap(sql`SELECT 1 AS n`, () => Effect.fail(new NotFound()))
          ))
          assert.instanceOf(domain, NotFound)
        }))
    })
  })
}
