/**
 * A test-only plugin that makes audited writes the way a domain plugin does: a row in its own
 * table and an audit entry in the same transaction. It can also fail after recording (to
 * prove the entry rolls back with the write), append for another organization, append many
 * entries at once, and verify any organization's chain.
 */
import { Effect, Schema } from "effect"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "effect/http-api"
import { SqlClient } from "effect/sql"
import { AuditVerifyResult } from "../../src/audit/AuditApi.ts"
import { toVerifyResult } from "../../src/audit/AuditHttp.ts"
import { AuditLog } from "../../src/audit/AuditLog.ts"
import { Authentication } from "../../src/auth/Authentication.ts"
import * as Requirement from "../../src/auth/Requirement.ts"
import { Requires } from "../../src/auth/Requirement.ts"
import type { Migration } from "../../src/plugin/Plugin.ts"
import * as Plugin from "../../src/plugin/Plugin.ts"
import { Problem } from "../../src/problem/Problem.ts"

export class FixtureRefused extends Problem<FixtureRefused>()("FixtureRefused", {
  code: "FIXTURE_REFUSED",
  status: 409,
  title: "Refused on purpose"
}) {}

const Created = Schema.Struct({ id: Schema.String, seq: Schema.Int, hash: Schema.String })

export class AuditFixtureGroup extends HttpApiGroup.make("auditFixture")
  .add(
    HttpApiEndpoint.post("create", "/api/audit-fixture/things", {
      payload: Schema.Struct({
        name: Schema.String,
        /** Fail after the row and its audit entry are written: both must roll back. */
        fail: Schema.optionalKey(Schema.Boolean),
        /** Append for this organization instead of the caller's (`AuditLog.append`). */
        organizationId: Schema.optionalKey(Schema.String),
        details: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
      }),
      success: Created.pipe(HttpApiSchema.status(201)),
      error: FixtureRefused
    }).annotate(Requires, Requirement.write("auditfixture")),
    HttpApiEndpoint.post("bulk", "/api/audit-fixture/bulk", {
      payload: Schema.Struct({ organizationId: Schema.String, count: Schema.Int }),
      success: Schema.Struct({ last: Schema.Int })
    }).annotate(Requires, Requirement.write("auditfixture")),
    HttpApiEndpoint.get("count", "/api/audit-fixture/things/count", {
      success: Schema.Struct({ count: Schema.Int })
    }).annotate(Requires, Requirement.read("auditfixture")),
    HttpApiEndpoint.get("verify", "/api/audit-fixture/verify/:organizationId", {
      params: { organizationId: Schema.String },
      success: AuditVerifyResult
    }).annotate(Requires, Requirement.read("auditfixture"))
  )
  .middleware(Authentication)
{}

export class AuditFixtureApi extends HttpApi.make("auditFixture").add(AuditFixtureGroup) {}

const createThings: Migration = {
  id: 1,
  name: "create_things",
  up: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE auditfixture.things (id text PRIMARY KEY, name text NOT NULL)`
  })
}

const AuditFixtureHttp = HttpApiBuilder.group(
  AuditFixtureApi,
  "auditFixture",
  Effect.fn(function*(handlers) {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* AuditLog
    return handlers
      .handle("create", ({ payload }) =>
        sql.withTransaction(Effect.gen(function*() {
          const id = crypto.randomUUID()
          yield* sql`INSERT INTO auditfixture.things (id, name) VALUES (${id}, ${payload.name})`
          const target = { type: "thing", id }
          const details = { key: payload.name, summary: `created ${payload.name}`, ...payload.details }
          const entry = payload.organizationId === undefined
            ? yield* audit.record("auditfixture.thing.create", target, details)
            : yield* audit.append({
              organizationId: payload.organizationId,
              actor: { id: "fixture", kind: "test" },
              action: "auditfixture.thing.create",
              target,
              details
            })
          if (payload.fail === true) return yield* new FixtureRefused({ detail: "Refused after writing, on purpose." })
          return { id, seq: entry.seq, hash: entry.hash }
        })).pipe(Effect.catchTag("SqlError", Effect.die)))
      .handle("bulk", ({ payload }) =>
        sql.withTransaction(Effect.gen(function*() {
          let last = 0
          for (let i = 0; i < payload.count; i++) {
            const entry = yield* audit.append({
              organizationId: payload.organizationId,
              actor: { id: "fixture", kind: "test" },
              action: "auditfixture.bulk.append",
              target: null,
              details: { i }
            })
            last = entry.seq
          }
          return { last }
        })).pipe(Effect.orDie))
      .handle("count", () =>
        sql<{ readonly count: bigint | number | string }>`SELECT count(*) AS count FROM auditfixture.things`.pipe(
          Effect.map((rows) => ({ count: Number(rows[0]?.count ?? 0) })),
          Effect.orDie
        ))
      .handle("verify", ({ params }) => Effect.map(audit.verify(params.organizationId), toVerifyResult))
  })
)

export const AuditFixturePlugin = Plugin.make({
  id: "auditfixture",
  version: "0.0.1",
  description: "Test plugin: audited writes inside a transaction",
  groups: [AuditFixtureGroup],
  migrations: [createThings],
  problems: [FixtureRefused],
  layer: AuditFixtureHttp
})
