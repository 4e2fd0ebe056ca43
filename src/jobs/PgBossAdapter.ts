/**
 * pg-boss's database adapter over the app's one Effect SqlClient (no second pool, and the
 * embedded database has only one connection anyway).
 *
 * Why each step (DESIGN §5): sql-pg speaks only the extended protocol, one statement per
 * query, so pg-boss's multi-statement scripts are split, and a `BEGIN; ...; COMMIT;` script runs
 * its statements in `sql.withTransaction`; parameters go as text the way `pg` sends them
 * (objects as JSON, arrays as PostgreSQL array literals); `int8` comes back as a string, as
 * `pg` returns it; a server error is rethrown with its SQLSTATE `code`, which pg-boss inspects.
 * The adapter runs with a given Effect context: a context taken inside an app transaction
 * binds pg-boss's statements to that transaction.
 */
import { Context, Effect } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { Db as IDatabase } from "pg-boss"

/** Splits a script into statements, respecting quotes, dollar quotes and comments. */
export const splitStatements = (script: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  let start = 0
  let i = 0
  const n = script.length
  while (i < n) {
    const c = script[i]
    if (c === "'" || c === "\"") {
      const end = script.indexOf(c, i + 1)
      i = end === -1 ? n : end + 1
    } else if (c === "-" && script[i + 1] === "-") {
      const end = script.indexOf("\n", i)
      i = end === -1 ? n : end + 1
    } else if (c === "/" && script[i + 1] === "*") {
      const end = script.indexOf("*/", i + 2)
      i = end === -1 ? n : end + 2
    } else if (c === "$") {
      const tag = /^\$[A-Za-z_]*\$/.exec(script.slice(i, i + 64))
      if (tag === null) {
        i++
      } else {
        const end = script.indexOf(tag[0], i + tag[0].length)
        i = end === -1 ? n : end + tag[0].length
      }
    } else if (c === ";") {
      out.push(script.slice(start, i))
      i++
      start = i
    } else {
      i++
    }
  }
  out.push(script.slice(start))
  return out.map((s) => s.trim()).filter((s) => s.length > 0)
}


/** A JS value as `pg` sends it: text, or null. */
export const prepareValue = (value: unknown): string | null => {
  if (value === null || value === undefined) return null
  if (value instanceof Date) return value.toISOString()
  if (Array.isArray(value)) return arrayLiteral(value)
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString("hex")}`
  if (typeof value === "object") return JSON.stringify(value)
  return String(value)
}

const arrayLiteral = (values: ReadonlyArray<unknown>): string =>
  `{${
    values.map((v) => {
      if (v === null || v === undefined) return "NULL"
      if (Array.isArray(v)) return arrayLiteral(v)
      const text = prepareValue(v) ?? ""
      return `"${text.replace(/\\/g, "\\\\").replace(/"/g, "\\\"")}"`
    }).join(",")
  }}`


const normalizeRow = (row: Record<string, unknown>): Record<string, unknown> => {
  let copy: Record<string, unknown> | undefined
  for (const key in row) {
    if (typeof row[key] === "bigint") {
      copy ??= { ...row }
      copy[key] = String(row[key])
    }
  }
  return copy ?? row
}

/** The first `code` (SQLSTATE) found along an error's cause chain. */
const findCode = (error: unknown, depth = 0): string | undefined => {
  if (error === null || typeof error !== "object" || depth > 6) return undefined
  const record = error as { code?: unknown; cause?: unknown; reason?: unknown }
  if (typeof record.code === "string" && /^[0-9A-Z]{5}$/.test(record.code)) return record.code
  return findCode(record.cause, depth + 1) ?? findCode(record.reason, depth + 1)
}

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error)

/** Turns an SqlError into the plain `Error` with `code` that pg-boss expects. */
const toPgError = (error: unknown): Error => {
  const out = new Error(messageOf(error), { cause: error }) as Error & { code?: string }
  const code = findCode(error)
  if (code !== undefined) out.code = code
  return out
}

const isBegin = (s: string) => /^BEGIN\b/i.test(s) || /^START\s+TRANSACTION\b/i.test(s)
const isCommit = (s: string) => /^(COMMIT|END)\b/i.test(s)

/** Runs one pg-boss call's SQL as an Effect. */
export const execute = (text: string, values: ReadonlyArray<unknown> | undefined) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const run = (statement: string, params: ReadonlyArray<unknown>) =>
      Effect.map(sql.unsafe<Record<string, unknown>>(statement, params.map(prepareValue)), (rows) => rows.map(normalizeRow))
    if (values !== undefined && values.length > 0) return { rows: yield* run(text, values) }
    const statements = splitStatements(text)
    const runAll = (list: ReadonlyArray<string>) =>
      Effect.map(Effect.forEach(list, (s) => run(s, [])), (results) => results.flat())
    if (statements.length > 1 && isBegin(statements[0]!) && isCommit(statements[statements.length - 1]!)) {
      return { rows: yield* sql.withTransaction(runAll(statements.slice(1, -1))) }
    }
    return { rows: yield* runAll(statements) }
  })

/** A pg-boss `db` running in `context` (the app's, or a transaction's). */
export const make = (context: Context.Context<SqlClient.SqlClient>, extra?: Pick<IDatabase, "listen">): IDatabase => {
  const runPromise = Effect.runPromiseWith(context)
  return {
    executeSql: (text: string, values?: Array<unknown>) =>
      runPromise(execute(text, values).pipe(Effect.mapError(toPgError))).catch((error: unknown) => {
        // runPromise wraps failures; pg-boss wants the error with `code` itself.
        throw findCode(error) !== undefined && error instanceof Error && "code" in error ? error : unwrap(error)
      }),
    ...(extra ?? {})
  }
}

const unwrap = (error: unknown): unknown => {
  if (error instanceof Error && error.cause instanceof Error && "code" in error.cause) return error.cause
  return error
}
