import { assert, describe, layer } from "@effect/vitest"
import { Effect, Exit, Ref } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import * as Migrations from "../../src/database/Migrations.ts"
import { backends, uniqueName } from "./backends.ts"

const tablesIn = (schema: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = ${schema} ORDER BY table_name`
    return rows.map((r) => r.table_name)
  })

const dropAfter = (...schemas: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* Effect.addFinalizer(() =>
      Effect.forEach(schemas, (schema) => Effect.ignore(sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)), { discard: true })
    )
  })

const createItems: Migrations.Migration = {
  id: 1,
  name: "create_items",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // Unqualified on purpose: it must land in the plugin's schema.
    yield* sql`CREATE TABLE items (id serial PRIMARY KEY, title text NOT NULL)`
  })
}

const addDone: Migrations.Migration = {
  id: 2,
  name: "add_done",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`ALTER TABLE items ADD COLUMN done boolean NOT NULL DEFAULT false`
    yield* sql`INSERT INTO items (title) VALUES ('seeded')`
  })
}

for (const backend of backends("migrations")) {
  describe(`Migrations (${backend.name})`, () => {
    layer(backend.layer, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect("applies once into the plugin's own schema, then is idempotent", () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const schema = uniqueName("p")
          yield* dropAfter(schema)
          // Listed out of order: they still apply by id.
          const plan = [{ pluginId: "items", schema, migrations: [addDone, createItems] }]

          assert.deepStrictEqual(yield* Migrations.pending(plan), [{ pluginId: "items", pending: ["1_create_items", "2_add_done"] }])
          assert.deepStrictEqual(yield* Migrations.run(plan), [{ pluginId: "items", applied: ["1_create_items", "2_add_done"] }])
          assert.deepStrictEqual(yield* tablesIn(schema), ["items", "trellis_migrations"])
          const publicItems = yield* sql`SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'items'`
          assert.strictEqual(publicItems.length, 0)
          const recorded = yield* sql<{ readonly id: number; readonly name: string }>`SELECT id, name FROM ${sql(schema)}.trellis_migrations ORDER BY id`
          assert.deepStrictEqual(recorded, [{ id: 1, name: "create_items" }, { id: 2, name: "add_done" }])

          assert.deepStrictEqual(yield* Migrations.run(plan), [{ pluginId: "items", applied: [] }])
          assert.deepStrictEqual(yield* Migrations.pending(plan), [{ pluginId: "items", pending: [] }])
          const seeded = yield* sql`SELECT title FROM ${sql(schema)}.items`
          assert.strictEqual(seeded.length, 1, "migration bodies ran exactly once")
        }))

      it.effect("rolls back a failing migration alone and names the plugin and migration", () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const schema = uniqueName("p")
          const otherSchema = uniqueName("q")
          yield* dropAfter(schema, otherSchema)
          const broken: Migrations.Migration = {
            id: 3,
            name: "broken",
            up: Effect.gen(function*() {
              const sql = yield* SqlClient.SqlClient
              yield* sql`CREATE TABLE half_done (id int)`
              yield* sql`INSERT INTO items (no_such_column) VALUES (1)`
            })
          }
          const other = { pluginId: "other", schema: otherSchema, migrations: [{ ...createItems }] }
          const plan = [{ pluginId: "items", schema, migrations: [createItems, addDone, broken] }, other]

          const exit = yield* Migrations.run(plan).pipe(Effect.exit)
          assert.isTrue(Exit.isFailure(exit))
          if (Exit.isSuccess(exit)) return
          const reason = exit.cause.reasons[0]
          if (reason?._tag !== "Fail") throw new Error(`expected a failure, got ${String(exit)}`)
          const error = reason.error
          assert.strictEqual(error._tag, "MigrationError")
          assert.strictEqual(error.pluginId, "items")
          assert.strictEqual(error.migration, "3_broken")
          assert.include(error.message, "items/3_broken")
          assert.include(error.message, "no_such_column")

          // Steps 1 and 2 stay applied; step 3 left nothing behind; later plugins did not run.
          assert.deepStrictEqual(yield* tablesIn(schema), ["items", "trellis_migrations"])
          const recorded = yield* sql<{ readonly id: number }>`SELECT id FROM ${sql(schema)}.trellis_migrations ORDER BY id`
          assert.deepStrictEqual(recorded.map((r) => r.id), [1, 2])
          assert.deepStrictEqual(yield* Migrations.pending(plan), [
            { pluginId: "items", pending: ["3_broken"] },
            { pluginId: "other", pending: ["1_create_items"] }
          ])

          // Fixed, the next run picks up where it stopped.
          const fixed: Migrations.Migration = {
            ...broken,
            up: Effect.asVoid(SqlClient.SqlClient.use((sql) => sql`CREATE TABLE half_done (id int)`))
          }
          assert.deepStrictEqual(yield* Migrations.run([{ pluginId: "items", schema, migrations: [createItems, addDone, fixed] }, other]), [
            { pluginId: "items", applied: ["3_broken"] },
            { pluginId: "other", applied: ["1_create_items"] }
          ])
        }))

      it.effect("applies each migration exactly once when runs race", () =>
        Effect.gen(function*() {
          const schema = uniqueName("p")
          yield* dropAfter(schema)
          const runs = yield* Ref.make(0)
          const counted = (m: Migrations.Migration): Migrations.Migration => ({ ...m, up: Effect.andThen(Ref.update(runs, (n) => n + 1), m.up) })
          const plan = [{ pluginId: "items", schema, migrations: [counted(createItems), counted(addDone)] }]
          const results = yield* Effect.all([Migrations.run(plan), Migrations.run(plan), Migrations.run(plan)], { concurrency: "unbounded" })
          assert.strictEqual(yield* Ref.get(runs), 2)
          assert.deepStrictEqual(results.flatMap((r) => r[0].applied).sort(), ["1_create_items", "2_add_done"])
        }))

      it.effect("rejects invalid plans before touching the database", () =>
        Effect.gen(function*() {
          const invalid = [
            [{ pluginId: "a", schema: "Bad-Name", migrations: [] }],
            [{ pluginId: "a", schema: "a; DROP SCHEMA public", migrations: [] }],
            [{ pluginId: "a", schema: "a", migrations: [createItems, { ...createItems, name: "again" }] }],
            [{ pluginId: "a", schema: "a", migrations: [] }, { pluginId: "b", schema: "a", migrations: [] }],
            [{ pluginId: "a", schema: "a", migrations: [{ ...createItems, id: 0 }] }]
          ]
          for (const plan of invalid) {
            const error = yield* Effect.flip(Migrations.run(plan))
            assert.strictEqual(error._tag, "MigrationError")
            assert.isNull(error.migration)
          }
        }))
    })
  })
}
