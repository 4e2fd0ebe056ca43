/**
 * Generates the published contract in `schema/` from the code, or (`--check`) fails when the
 * committed files differ from what the code generates:
 *
 * - `schema/openapi.json`: the OpenAPI document of the core and the first-party plugins.
 * - `schema/problems.json`: every problem type (code, status, title, owner).
 * - `schema/tables.json`: the SQL tables each plugin's migrations create, read back from a
 *   freshly migrated embedded database.
 *
 * Usage: `npm run schema` (write) or `npm run schema -- --check`.
 */
import { Effect, Layer } from "effect"
import { OpenApi } from "effect/http-api"
import { SqlClient } from "effect/sql"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as Database from "../src/database/Database.ts"
import * as Migrations from "../src/database/Migrations.ts"
import * as Server from "../src/server/Server.ts"
import { firstParty } from "../plugins/index.ts"

const check = process.argv.includes("--check")
const outDir = NodePath.resolve(import.meta.dirname, "..", "schema")

interface Column {
  readonly table_schema: string
  readonly table_name: string
  readonly column_name: string
  readonly data_type: string
  readonly is_nullable: string
  readonly column_default: string | null
}

const tablesOf = (schemas: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const columns = yield* sql<Column>`
      SELECT table_schema, table_name, column_name, data_type, is_nullable, column_default
      FROM information_schema.columns
      WHERE table_schema IN ${sql.in(schemas)}
      ORDER BY table_schema, table_name, ordinal_position`
    const keys = yield* sql<{ table_schema: string; table_name: string; column_name: string }>`
      SELECT k.table_schema, k.table_name, k.column_name
      FROM information_schema.table_constraints c
      JOIN information_schema.key_column_usage k
        ON k.constraint_name = c.constraint_name AND k.table_schema = c.table_schema
      WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema IN ${sql.in(schemas)}
      ORDER BY k.table_schema, k.table_name, k.ordinal_position`
    const result: Record<string, Record<string, { columns: Array<Record<string, unknown>>; primaryKey: Array<string> }>> = {}
    for (const schema of schemas) result[schema] = {}
    for (const c of columns) {
      const table = (result[c.table_schema][c.table_name] ??= { columns: [], primaryKey: [] })
      table.columns.push({ name: c.column_name, type: c.data_type, nullable: c.is_nullable === "YES", default: c.column_default })
    }
    for (const k of keys) result[k.table_schema][k.table_name]?.primaryKey.push(k.column_name)
    return result
  })

const program = Effect.gen(function*() {
  const composition = yield* Server.compose(firstParty)
  const openapi = OpenApi.fromApi(composition.api)
  const problems = [...composition.problems].sort((a, b) => a.owner.localeCompare(b.owner) || a.code.localeCompare(b.code))
  const dataDir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "trellis-schema-"))
  const plan = Server.migrationPlan(composition)
  const tables = yield* Effect.gen(function*() {
    yield* Migrations.run(plan)
    return yield* tablesOf(plan.map((p) => p.schema))
  }).pipe(
    Effect.provide(Layer.fresh(Database.layer({ databaseUrl: undefined, dataDir }))),
    Effect.ensuring(Effect.sync(() => NodeFs.rmSync(dataDir, { recursive: true, force: true })))
  )
  const files: Record<string, unknown> = {
    "openapi.json": openapi,
    "problems.json": { problems },
    "tables.json": tables
  }
  const stale: Array<string> = []
  for (const [name, value] of Object.entries(files)) {
    const path = NodePath.join(outDir, name)
    const text = JSON.stringify(value, null, 2) + "\n"
    if (check) {
      const current = NodeFs.existsSync(path) ? NodeFs.readFileSync(path, "utf8") : ""
      if (current !== text) stale.push(`schema/${name}`)
    } else {
      NodeFs.mkdirSync(outDir, { recursive: true })
      NodeFs.writeFileSync(path, text)
    }
  }
  if (stale.length > 0) {
    process.stderr.write(`schema is stale: ${stale.join(", ")}. Run \`npm run schema\` and commit the result.\n`)
    process.exitCode = 1
  } else {
    process.stdout.write(check ? "schema/ is current\n" : `wrote ${Object.keys(files).map((f) => `schema/${f}`).join(", ")}\n`)
  }
})

Effect.runPromise(program.pipe(Effect.provide(Server.loggingLayer({ logFormat: "pretty", logLevel: "warn" })))).catch((error: unknown) => {
  process.stderr.write(`schema generation failed: ${String(error)}\n`)
  process.exitCode = 1
})

