/**
 * The databases the database tests run against: always embedded PGlite in a
 * fresh temp directory, plus PostgreSQL when TRELLIS_TEST_DATABASE_URL is set.
 * The same assertions run on each.
 */
import type * as PgClient from "@effect/sql-pg/PgClient"
import { afterAll } from "vitest"
import { type Layer, Redacted } from "effect"
import type * as SqlClient from "effect/sql/SqlClient"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Database from "../../src/database/Database.ts"

export interface Backend {
  readonly name: string
  readonly kind: "embedded" | "postgres"
  readonly layer: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient | Database.DatabaseInfo, Database.DatabaseError>
}

const created: Array<string> = []

// Registered when a test file imports this module, so it runs after that
// file's layers (and their databases) have closed.
afterAll(() => {
  for (const dir of created.splice(0)) Fs.rmSync(dir, { recursive: true, force: true })
})

/** A fresh directory, removed after the test file (a PGlite database is ~40 MB). */
export const tempDir = (prefix: string): string => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), `trellis-${prefix}-`))
  created.push(dir)
  return dir
}

export const postgresUrl: string | undefined = process.env.TRELLIS_TEST_DATABASE_URL || undefined

export const backends = (prefix: string): ReadonlyArray<Backend> => [
  {
    name: "embedded",
    kind: "embedded",
    layer: Database.layer({ databaseUrl: undefined, dataDir: tempDir(prefix) })
  },
  ...(postgresUrl === undefined ? [] : [{
    name: "postgres",
    kind: "postgres" as const,
    layer: Database.layer({ databaseUrl: Redacted.make(postgresUrl), dataDir: tempDir(prefix) })
  }])
]

/** A name no other test run uses, for tables, schemas and channels on a shared PostgreSQL. */
export const uniqueName = (prefix: string): string => `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
