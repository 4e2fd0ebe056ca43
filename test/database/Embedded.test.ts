import { assert, describe, it } from "@effect/vitest"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect, Exit, Layer, Queue } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Database from "../../src/database/Database.ts"
import { lockFileName } from "../../src/database/DataDirLock.ts"
import { tempDir } from "./backends.ts"

const embedded = (dataDir: string) => Database.layer({ databaseUrl: undefined, dataDir })

describe("embedded database", () => {
  it.live("keeps data across close and reopen of the same directory, and holds the lock while open", () =>
    Effect.gen(function*() {
      const dataDir = Path.join(tempDir("embedded"), "data") // does not exist yet
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE kept (v text)`
        yield* sql`INSERT INTO kept VALUES ('survives restart')`
        assert.isTrue(Fs.existsSync(Path.join(dataDir, lockFileName)))
        // A second open of the same directory is refused while this one holds it.
        const second = yield* Layer.build(embedded(dataDir)).pipe(Effect.scoped, Effect.exit)
        assert.isTrue(Exit.isFailure(second))
        if (Exit.isFailure(second)) {
          const reason = second.cause.reasons[0]
          assert.strictEqual(reason?._tag === "Fail" ? reason.error._tag : undefined, "DataDirLocked")
        }
      }).pipe(Effect.provide(embedded(dataDir)))
      assert.isFalse(Fs.existsSync(Path.join(dataDir, lockFileName)), "lock released on close")

      const rows = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        return yield* sql<{ readonly v: string }>`SELECT v FROM kept`
      }).pipe(Effect.provide(embedded(dataDir)))
      assert.deepStrictEqual(rows, [{ v: "survives restart" }])
    }))

  it.live("replaces a dead connection with a clean session, keeping listeners", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const pg = yield* PgClient.PgClient
      yield* sql`CREATE TABLE r (v text)`
      const queue = yield* pg.listen("survivor")
      // A row over sql-pg's 16 MiB message limit kills the connection mid-transaction.
      const exit = yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`INSERT INTO r VALUES ('lost')`
        yield* sql`SELECT pg_advisory_lock(7)`
        yield* sql`SET LOCAL search_path TO nowhere`
        return yield* sql`SELECT repeat('x', 20000000) AS s`
      })).pipe(Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      // The next connection starts clean: the transaction rolled back, the
      // session-level lock released, no transaction open.
      const [count] = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM r`
      assert.strictEqual(count.n, 0)
      const [locks] = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'`
      assert.strictEqual(locks.n, 0)
      const savepoint = yield* sql`SAVEPOINT outside`.pipe(Effect.flip)
      assert.include(String(savepoint.reason.cause), "can only be used in transaction blocks")
      yield* pg.notify("survivor", "still here")
      assert.strictEqual((yield* Queue.take(queue)).payload, "still here")
    }).pipe(Effect.scoped, Effect.provide(embedded(tempDir("embedded")))))

  it.live("fails with a clear error when the data directory cannot be created", () =>
    Effect.gen(function*() {
      const file = Path.join(tempDir("embedded"), "not-a-dir")
      Fs.writeFileSync(file, "")
      const exit = yield* Layer.build(embedded(Path.join(file, "data"))).pipe(Effect.scoped, Effect.exit)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const reason = exit.cause.reasons[0]
        assert.strictEqual(reason?._tag === "Fail" ? reason.error._tag : undefined, "DataDirLockError")
      }
    }))
})
