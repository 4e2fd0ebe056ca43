/**
 * PostgreSQL over the network: the production and scale-out database, chosen
 * by setting DATABASE_URL. A plain `@effect/sql-pg` pool; nothing embedded-
 * specific, so the same migrations and queries run here and on PGlite.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import type { Effect, Layer, Redacted, Scope } from "effect"
import type * as Reactivity from "effect/reactivity/Reactivity"
import type * as SqlClient from "effect/sql/SqlClient"
import type { SqlError } from "effect/sql/SqlError"

/** Pool size. Every open `PgClient.listen` and every transaction holds one connection while it lasts. */
export const maxConnections = 10

const config = (databaseUrl: Redacted.Redacted): PgClient.PgPoolConfig => ({
  url: databaseUrl,
  maxConnections,
  applicationName: "trellis"
})

/** A pooled client for `databaseUrl` (opened lazily: the first query connects). */
export const make = (
  databaseUrl: Redacted.Redacted
): Effect.Effect<PgClient.PgClient, SqlError, Scope.Scope | Reactivity.Reactivity> => PgClient.make(config(databaseUrl))

/** `make` as a layer providing `PgClient` and `SqlClient`. */
export const layer = (databaseUrl: Redacted.Redacted): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError> =>
  PgClient.layer(config(databaseUrl))

/**
 * The URL without credentials or query parameters, safe for logs and the
 * status page: `postgresql://host:port/database`.
 */
export const describeUrl = (databaseUrl: string): string => {
  try {
    const url = new URL(databaseUrl)
    const host = url.hostname === "" ? (url.searchParams.get("host") ?? "localhost") : url.hostname
    const port = url.port === "" ? "5432" : url.port
    const database = decodeURIComponent(url.pathname.replace(/^\//, "")) || "postgres"
    return `postgresql://${host}:${port}/${database}`
  } catch {
    return "postgresql://(unparseable URL)"
  }
}
