import { assert, describe, layer } from "@effect/vitest"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect, Exit, Fiber, Queue, Stream } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import * as Database from "../../src/database/Database.ts"
import { backends, uniqueName } from "./backends.ts"

for (const backend of backends("db")) {
  describe(`Database (${backend.name})`, () => {
    layer(backend.layer, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect("reports what it is and answers a ping", () =>
        Effect.gen(function*() {
          const info = yield* Database.DatabaseInfo
          assert.strictEqual(info.kind, backend.kind)
          assert.isFalse(info.description.includes("secret"))
          assert.isTrue(yield* info.ping)
        }))

      it.effect("round-trips parameters and decodes PostgreSQL types", () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const pg = yield* PgClient.PgClient
          const table = uniqueName("rt")
          yield* Effect.addFinalizer(() => Effect.ignore(sql`DROP TABLE IF EXISTS ${sql(table)}`))
          yield* sql`CREATE TABLE ${sql(table)} (id serial PRIMARY KEY, name text NOT NULL, n int8, amount numeric, flag boolean, doc jsonb, at timestamptz)`
          const at = new Date("2026-01-02T03:04:05.678Z")
          const [inserted] = yield* sql<{ readonly id: number }>`INSERT INTO ${sql(table)} (name, n, amount, flag, doc, at) VALUES (${"Zoë"}, ${9007199254740993n}, ${"12.50"}, ${true}, ${pg.json({ a: [1, 2] })}, ${at}) RETURNING id`
          assert.strictEqual(inserted.id, 1)
          const rows = yield* sql`SELECT name, n, amount, flag, doc, at, count(*) OVER () AS total FROM ${sql(table)} WHERE name = ${"Zoë"}`
          assert.deepStrictEqual(rows, [{
            name: "Zoë",
            n: 9007199254740993n, // int8 decodes as bigint
            amount: "12.50", // numeric decodes as string
            flag: true,
            doc: { a: [1, 2] },
            at,
            total: 1n // count(*) is int8 too
          }])
        }))

      it.effect("rolls a failed transaction back, and nested savepoints independently", () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const table = uniqueName("tx")
          yield* Effect.addFinalizer(() => Effect.ignore(sql`DROP TABLE IF EXISTS ${sql(table)}`))
          yield* sql`CREATE TABLE ${sql(table)} (v text)`
          const failed = yield* sql.withTransaction(
            Effect.gen(function*() {
              yield* sql`INSERT INTO ${sql(table)} VALUES ('rolled back')`
              return yield* Effect.fail("boom" as const)
            })
          ).pipe(Effect.exit)
          assert.isTrue(Exit.isFailure(failed))
          yield* sql.withTransaction(
            Effect.gen(function*() {
              yield* sql`INSERT INTO ${sql(table)} VALUES ('outer')`
              yield* sql.withTransaction(
                Effect.andThen(sql`INSERT INTO ${sql(table)} VALUES ('inner')`, Effect.fail("inner" as const))
              ).pipe(Effect.ignore)
            })
          )
          const rows = yield* sql<{ readonly v: string }>`SELECT v FROM ${sql(table)}`
          assert.deepStrictEqual(rows.map((r) => r.v), ["outer"])
        }))

      it.effect("keeps serving queries from other fibers during a transaction", () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const fibers = yield* Effect.forEach(
            [1, 2, 3, 4, 5],
            (i) => Effect.forkChild(i % 2 === 0 ? sql.withTransaction(sql`SELECT ${i}::int AS i`) : sql`SELECT ${i}::int AS i`)
          )
          const results = yield* Effect.forEach(fibers, Fiber.join)
          assert.deepStrictEqual(results.map((rows) => rows[0].i), [1, 2, 3, 4, 5])
        }))

      it.effect("stays usable after a failing statement, an interrupted query and a stream", () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const failed = yield* sql`SELECT * FROM no_such_table_anywhere`.pipe(Effect.flip)
          assert.strictEqual(failed._tag, "SqlError")
          assert.include(String(failed.reason.cause), "no_such_table_anywhere")
          const aborted = yield* sql`SELECT pg_sleep(0.3)`.pipe(Effect.timeout("50 millis"), Effect.exit)
          // PGlite runs a statement synchronously on the JS thread: the timer
          // cannot fire until it is done, so only PostgreSQL gets cancelled.
          assert.strictEqual(Exit.isFailure(aborted), backend.kind === "postgres")
          const count = yield* sql`SELECT g FROM generate_series(1, 20000) AS g`.stream.pipe(Stream.runCount)
          assert.strictEqual(count, 20000)
          const big = yield* sql<{ readonly s: string }>`SELECT repeat('x', 4000000) AS s`
          assert.strictEqual(big[0].s.length, 4000000)
          const [row] = yield* sql<{ readonly ok: number }>`SELECT 1 AS ok`
          assert.strictEqual(row.ok, 1)
        }))

      it.effect("delivers NOTIFY payloads to every listener and keeps queries running", () =>
        Effect.gen(function*() {
          const pg = yield* PgClient.PgClient
          const sql = yield* SqlClient.SqlClient
          const channel = uniqueName("chan")
          const first = yield* pg.listen(channel)
          const second = yield* pg.listen(channel)
          // A listener must not hold the (embedded: only) connection.
          const [row] = yield* sql<{ readonly x: number }>`SELECT 42 AS x`
          assert.strictEqual(row.x, 42)
          yield* pg.notify(channel, "hello")
          yield* sql.withTransaction(sql`SELECT pg_notify(${channel}, ${"from a transaction"})`)
          const a = yield* Queue.take(first)
          const b = yield* Queue.take(second)
          assert.strictEqual(a.channel, channel)
          assert.strictEqual(a.payload, "hello")
          assert.strictEqual(b.payload, "hello")
          assert.strictEqual((yield* Queue.take(first)).payload, "from a transaction")
          // A rolled-back NOTIFY is never delivered.
          yield* sql.withTransaction(Effect.andThen(sql`SELECT pg_notify(${channel}, 'dropped')`, Effect.fail("no"))).pipe(Effect.ignore)
          yield* pg.notify(channel, "last")
          assert.strictEqual((yield* Queue.take(first)).payload, "last")
        }).pipe(Effect.timeout("20 seconds")))

      it.effect("stops listening when the listener's scope closes", () =>
        Effect.gen(function*() {
          const pg = yield* PgClient.PgClient
          const sql = yield* SqlClient.SqlClient
          const channel = uniqueName("gone")
          yield* Effect.scoped(pg.listen(channel))
          if (backend.kind === "embedded") {
            const rows = yield* sql<{ readonly c: string }>`SELECT pg_listening_channels() AS c`
            assert.isFalse(rows.some((r) => r.c === channel))
          }
          yield* pg.notify(channel, "nobody hears this")
        }))
    })
  })
}
