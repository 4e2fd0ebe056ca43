/**
 * Workspaces: named groupings inside an organization (PromptOps's team workspaces; other
 * plugins refer to them by id). Every query names the organization, so another
 * organization's workspace is simply not found.
 *
 * Every organization has one default workspace (slug `default`), created with the organization
 * (`seedDefault`, inside its transaction) and never deleted: PromptOps's console has nowhere to
 * go when the list is empty. Each workspace has a slug unique within its organization, given
 * or derived from the name.
 */
import { Context, Effect, Layer, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { actorOf, AuditLog } from "../audit/AuditLog.ts"
import type { Principal } from "../auth/Principal.ts"
import { iso, uniqueViolation } from "./Rows.ts"
import * as Secrets from "./Secrets.ts"
import { DefaultWorkspaceProtected, WorkspaceNameTaken, WorkspaceSlugTaken } from "./TenancyProblems.ts"
import { defaultWorkspaceId, uniqueSlug, workspaceSlug } from "./WorkspaceSlug.ts"
import * as Row from "../database/Row.ts"

export interface WorkspaceRecord {
  readonly id: string
  readonly organizationId: string
  readonly name: string
  readonly slug: string
  readonly isDefault: boolean
  readonly description: string
  readonly createdBy: string | null
  readonly createdAt: string
  readonly updatedAt: string
}

interface WorkspaceRow {
  readonly id: string
  readonly organization_id: string
  readonly name: string
  readonly slug: string
  readonly is_default: boolean
  readonly description: string
  readonly created_by: string | null
  readonly created_at: unknown
  readonly updated_at: unknown
}

const toRecord = (row: WorkspaceRow): WorkspaceRecord => ({
  id: row.id,
  organizationId: row.organization_id,
  name: row.name,
  slug: row.slug,
  isDefault: row.is_default,
  description: row.description,
  createdBy: row.created_by,
  createdAt: iso(row.created_at) ?? "",
  updatedAt: iso(row.updated_at) ?? ""
})

const columns = "id, organization_id, name, slug, is_default, description, created_by, created_at, updated_at"

/**
 * Creates the organization's default workspace; run it inside the transaction that creates the
 * organization (every organization has one from its first moment).
 */
export const seedDefault = (sql: SqlClient.SqlClient, organizationId: string) =>
  sql`
    INSERT INTO identity.workspaces (id, organization_id, name, slug, is_default)
    VALUES (${defaultWorkspaceId(organizationId)}, ${organizationId}, 'Default', 'default', true)`.pipe(Effect.asVoid)

export class Workspaces extends Context.Service<Workspaces, {
  readonly list: (organizationId: string) => Effect.Effect<ReadonlyArray<WorkspaceRecord>>
  readonly get: (organizationId: string, id: string) => Effect.Effect<Option.Option<WorkspaceRecord>>
  readonly create: (
    actor: Principal,
    input: { readonly name: string; readonly slug?: string | undefined; readonly description?: string | undefined }
  ) => Effect.Effect<WorkspaceRecord, WorkspaceNameTaken | WorkspaceSlugTaken>
  /**
   * Deletes a workspace of the actor's organization; `false` when there is none with this id.
   * The default workspace is refused.
   */
  readonly remove: (actor: Principal, id: string) => Effect.Effect<boolean, DefaultWorkspaceProtected>
  readonly count: (organizationId: string) => Effect.Effect<number>
}>()("trellis/identity/Workspaces") {
  static readonly layer = Layer.effect(
    Workspaces,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const audit = yield* AuditLog

      const list = (organizationId: string) =>
        sql<WorkspaceRow>`
          SELECT ${sql.unsafe(columns)} FROM identity.workspaces WHERE organization_id = ${organizationId}
          ORDER BY is_default DESC, created_at, id`.pipe(Effect.map((rows) => rows.map(toRecord)), Effect.orDie)

      const get = (organizationId: string, id: string) =>
        sql<WorkspaceRow>`
          SELECT ${sql.unsafe(columns)} FROM identity.workspaces WHERE organization_id = ${organizationId} AND id = ${id}`.pipe(
          Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), toRecord)),
          Effect.orDie
        )

      const create = (
        actor: Principal,
        input: { readonly name: string; readonly slug?: string | undefined; readonly description?: string | undefined }
      ) => {
        const name = input.name.trim()
        const given = input.slug === undefined || input.slug.trim() === "" ? undefined : workspaceSlug(input.slug)
        const attempt = sql.withTransaction(Effect.gen(function*() {
          // A derived slug avoids the ones taken; a given one is the caller's choice (a clash is a 409).
          const slug = given ?? uniqueSlug(
            workspaceSlug(name),
            new Set((yield* sql<{ readonly slug: string }>`
              SELECT slug FROM identity.workspaces WHERE organization_id = ${actor.organizationId}`).map((r) => r.slug))
          )
          const rows = yield* sql<WorkspaceRow>`
            INSERT INTO identity.workspaces (id, organization_id, name, slug, description, created_by)
            VALUES (${Secrets.newId("ws")}, ${actor.organizationId}, ${name}, ${slug}, ${input.description ?? ""}, ${actor.id})
            RETURNING ${sql.unsafe(columns)}`
          const workspace = toRecord(rows[0])
          yield* audit.append({
            organizationId: actor.organizationId,
            actor: actorOf(actor),
            action: "identity.workspace.create",
            target: { type: "workspace", id: workspace.id },
            details: { name: workspace.name, slug: workspace.slug }
          })
          return workspace
        }))
        const run = (retries: number): Effect.Effect<WorkspaceRecord, WorkspaceNameTaken | WorkspaceSlugTaken> =>
          attempt.pipe(Effect.catchTag("SqlError", (error): Effect.Effect<WorkspaceRecord, WorkspaceNameTaken | WorkspaceSlugTaken> => {
            const constraint = uniqueViolation(error)
            if (constraint === undefined) return Effect.die(error)
            if (constraint.includes("slug")) {
              // A racing create took the derived slug between our read and our insert: derive again.
              if (given === undefined && retries > 0) return run(retries - 1)
              const slug = given ?? workspaceSlug(name)
              return Effect.fail(new WorkspaceSlugTaken({
                detail: `The organization already has a workspace with the slug "${slug}".`,
                slug
              }))
            }
            return Effect.fail(new WorkspaceNameTaken({
              detail: `The organization already has a workspace named "${name}".`,
              name
            }))
          }))
        return run(3)
      }

      const remove = (actor: Principal, id: string) =>
        sql.withTransaction(Effect.gen(function*() {
          const found = yield* sql<{ readonly is_default: boolean }>`
            SELECT is_default FROM identity.workspaces WHERE organization_id = ${actor.organizationId} AND id = ${id}`
          if (found.length === 0) return false
          if (found[0].is_default) {
            return yield* new DefaultWorkspaceProtected({ detail: "The default workspace cannot be deleted." })
          }
          const rows = yield* sql<{ readonly name: string }>`
            DELETE FROM identity.workspaces
            WHERE organization_id = ${actor.organizationId} AND id = ${id} AND NOT is_default
            RETURNING name`
          if (rows.length === 0) return false
          yield* audit.append({
            organizationId: actor.organizationId,
            actor: actorOf(actor),
            action: "identity.workspace.delete",
            target: { type: "workspace", id },
            details: { name: rows[0].name }
          })
          return true
        })).pipe(Row.dieOnInfrastructure)

      const count = (organizationId: string) =>
        sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM identity.workspaces WHERE organization_id = ${organizationId}`.pipe(
          Effect.map((rows) => Number(rows[0]?.n ?? 0)),
          Effect.orDie
        )

      return Workspaces.of({ list, get, create, remove, count })
    })
  )
}
