/**
 * The migration that gave workspaces a slug and every organization a default workspace, run
 * against rows as they were before it (inside a transaction that is rolled back, so the shared
 * test database is left as it was): slugs derived from names with `-2` on a clash, an existing
 * "Default" kept as the default, a workspace that merely slugs to `default` moved aside, and a
 * new default for an organization without one.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { SqlClient } from "effect/sql"
import { migration } from "../../src/identity/migrations/0003_workspace_defaults.ts"
import * as TestKit from "../../src/testing/TestKit.ts"

class RolledBack {
  readonly _tag = "RolledBack"
  readonly rows: ReadonlyArray<Row>
  constructor(rows: ReadonlyArray<Row>) {
    this.rows = rows
  }
}

interface Row {
  readonly id: string
  readonly organization_id: string
  readonly name: string
  readonly slug: string
  readonly is_default: boolean
}

describe("workspace defaults migration", () => {
  layer(TestKit.layer({ plugins: [] }), { timeout: 120_000 })((it) => {
    it.effect("derives slugs and seeds one default workspace per organization", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const run = sql.withTransaction(Effect.gen(function*() {
          // Back to the tables as they were before the migration.
          yield* sql.unsafe(`ALTER TABLE identity.workspaces DROP COLUMN slug`)
          yield* sql.unsafe(`ALTER TABLE identity.workspaces DROP COLUMN is_default`)
          yield* sql`INSERT INTO identity.organizations (id, name) VALUES ('org_m_empty', 'Empty'), ('org_m_teams', 'Teams'), ('org_m_own', 'Own')`
          yield* sql`
            INSERT INTO identity.workspaces (id, organization_id, name, created_at) VALUES
              ('ws_m_1', 'org_m_teams', 'Team Blue', now() - interval '3 hours'),
              ('ws_m_2', 'org_m_teams', 'team  blue!', now() - interval '2 hours'),
              ('ws_m_3', 'org_m_teams', 'Default?', now() - interval '1 hour'),
              ('ws_m_4', 'org_m_own', 'default', now())`
          yield* migration.up
          const rows = yield* sql<Row>`
            SELECT id, organization_id, name, slug, is_default FROM identity.workspaces
            WHERE organization_id IN ('org_m_empty', 'org_m_teams', 'org_m_own', 'org_default')
            ORDER BY organization_id, id`
          return yield* Effect.fail(new RolledBack(rows))
        }))
        const exit = yield* Effect.exit(run)
        assert.isTrue(Exit.isFailure(exit))
        const failure = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
        assert.isDefined(failure)
        const rows = failure !== undefined && failure._tag === "Fail" && failure.error instanceof RolledBack ? failure.error.rows : []
        const of = (org: string) => rows.filter((r) => r.organization_id === org).map((r) => [r.id, r.slug, r.is_default])
        assert.deepStrictEqual(of("org_m_empty"), [["default_org_m_empty", "default", true]])
        assert.deepStrictEqual(of("org_m_teams"), [
          ["default_org_m_teams", "default", true],
          ["ws_m_1", "team-blue", false],
          ["ws_m_2", "team-blue-2", false],
          ["ws_m_3", "default-2", false]
        ])
        assert.deepStrictEqual(of("org_m_own"), [["ws_m_4", "default", true]])
        // The default organization's default workspace (its "Default" row, made before) is kept as it.
        assert.deepStrictEqual(of("org_default").filter((r) => r[2] === true), [["default", "default", true]])

        // And the rollback left the real tables as they were.
        const after = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM identity.organizations WHERE id LIKE 'org_m_%'`
        assert.strictEqual(Number(after[0].n), 0)
        const defaults = yield* sql<{ readonly id: string }>`SELECT id FROM identity.workspaces WHERE is_default AND organization_id = 'org_default'`
        assert.deepStrictEqual(defaults.map((r) => r.id), ["default"])
      }))
  })
})
