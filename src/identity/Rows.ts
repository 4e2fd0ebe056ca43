/** Small helpers for reading identity rows (timestamps: `src/database/Row.ts`, re-exported). */
import type { SqlError } from "effect/sql/SqlError"

/** ISO 8601 text (milliseconds) of a timestamp column, or `null`: the platform's one helper. */
export { isoOrNull as iso } from "../database/Row.ts"

/** Milliseconds since the epoch of a timestamp column, or `null`. */
export const millis = (value: unknown): number | null =>
  value === null || value === undefined ? null : value instanceof Date ? value.getTime() : new Date(String(value)).getTime()

/** A `jsonb` column that holds a string array (drivers hand back parsed JSON or text). */
export const stringArray = (value: unknown): ReadonlyArray<string> | null => {
  if (value === null || value === undefined) return null
  const parsed: unknown = typeof value === "string" ? JSON.parse(value) : value
  return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === "string") : null
}

/** The constraint a unique violation broke, when that is what this SQL failure is. */
export const uniqueViolation = (error: SqlError): string | undefined =>
  error.reason._tag === "UniqueViolation" ? error.reason.constraint : undefined
