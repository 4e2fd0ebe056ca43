/**
 * Reading and writing rows the same way in every plugin, on PGlite and PostgreSQL alike
 * (`import { Row } from "trellis/plugin"`):
 *
 * - Timestamps have one precision, milliseconds: what a JavaScript `Date` holds and what
 *   `toISOString` prints (`2026-01-02T03:04:05.678Z`). Drivers hand a `timestamptz` back as a
 *   `Date` or as text; `Row.Timestamp` / `Row.iso` accept both. A column that serves as a
 *   polling cursor is declared `timestamptz(3)`, so what is stored is what is shown.
 * - `jsonb` columns: drivers hand them back parsed or as text; `Row.Json(schema)` accepts both
 *   and decodes with the schema; `Row.jsonb(value)` is the text to bind (`${...}::jsonb`).
 * - Rows are decoded with a Schema (`Row.decode`), whose failure is a defect like a SQL one.
 * - `Row.dieOnInfrastructure`: the one way to turn infrastructure failures (`SqlError`, a
 *   row's `SchemaError`) into defects (a 500 with a reference), leaving domain errors typed.
 */
import { Effect, Schema, SchemaTransformation } from "effect"
import { isSqlError } from "effect/sql/SqlError"
import type { SqlError } from "effect/sql/SqlError"

/** Failures that are bugs or outages, not answers: they become defects. */
export type Infrastructure = SqlError | Schema.SchemaError

/** Whether `u` is an infrastructure failure (see {@link Infrastructure}). */
export const isInfrastructure = (u: unknown): u is Infrastructure => isSqlError(u) || Schema.isSchemaError(u)

/** Turns `SqlError` and `SchemaError` into defects; every other error stays in the error channel. */
export const dieOnInfrastructure = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, Infrastructure>, R> =>
  Effect.catchIf(self, isInfrastructure, Effect.die) as Effect.Effect<A, Exclude<E, Infrastructure>, R>

/** ISO 8601 UTC text, millisecond precision, of a timestamp value (a `Date` or the driver's text). */
export const iso = (value: Date | string): string => (value instanceof Date ? value : new Date(value)).toISOString()

/** Like {@link iso} for a nullable column (typed loosely, as raw rows are): `null` stays `null`. */
export const isoOrNull = (value: unknown): string | null =>
  value === null || value === undefined ? null : iso(value instanceof Date ? value : String(value))

/**
 * A timestamp column rendered by the database as {@link iso} would print it, for select lists
 * (`SELECT ${Row.isoColumn("t.created_at")} AS created_at`): the same text whichever driver.
 */
export const isoColumn = (column: string): string =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

const validTime = Schema.makeFilter((value: Date | string) => !Number.isNaN((value instanceof Date ? value : new Date(value)).getTime()))

/** A `timestamptz` column, decoded to ISO 8601 UTC text with milliseconds. */
export const Timestamp = Schema.Union([Schema.Date, Schema.String]).check(validTime).pipe(
  Schema.decodeTo(Schema.String, SchemaTransformation.transform({ decode: iso, encode: (text: string): Date | string => text }))
)

/**
 * A `jsonb` column holding `schema`'s encoded form: accepts the parsed value (PGlite,
 * postgres.js) or its text (some drivers and `::text` casts), and decodes it with the schema.
 */
export const Json = <S extends Schema.Constraint>(schema: S) =>
  Schema.Union([Schema.fromJsonString(schema), schema])

/** The text to bind for a `jsonb` parameter: `sql\`... ${Row.jsonb(value)}::jsonb\``. */
export const jsonb = (value: unknown): string => JSON.stringify(value)

/** Decodes query results with `schema`; a row that does not match is a defect (a bug), not an answer. */
export const decode = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S) => {
  const decodeRows = Schema.decodeUnknownEffect(Schema.Array(schema))
  return (rows: unknown): Effect.Effect<ReadonlyArray<S["Type"]>> => Effect.orDie(decodeRows(rows))
}
