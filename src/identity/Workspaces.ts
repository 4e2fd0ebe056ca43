/**
 * Workspaces: named groupings inside an organization (PromptOps's team workspaces; other
 * plugins refer to them by id). Every query names the organization, so another
 * organization's workspace is simply not found.
 */
import { Context, Effect, Layer, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { actorOf, AuditLog } from "../audit/AuditLog.ts"
import type { Principal } from "../auth/Principal.ts"
import { iso, uniqueViolation } from "./Rows.ts"
import * as Secrets from "./Secrets.ts"
import { WorkspaceNameTaken } from "./TenancyProblems.ts"

export interface WorkspaceRecord {
  readonly id: string
  readonly organizationId: string
  readonly name: string
  readonly description: string
  readonly createdBy: string | null
  readonly createdAt: string
  readonly updatedAt: string
}

interface WorkspaceRow {
  readonly id: string
  readonly organization_id: string
  readonly name: string
  readonly description: string
  readonly created_by: string | null
  readonly created_at: unknown
  readonly updated_at: unknown
}

const toRecord = (row: WorkspaceRow): WorkspaceRecord => ({
  id: row.id,
  organizationId: row.organization_id,
  name: row.name,
  description: row.description,
  createdBy: row.created_by,
  createdAt: iso(row.created_at) ?? "",
  updatedAt: iso(row.updated_at) ?? ""
})

const columns = "id, organization_id, name, description, created_by, created_at, updated_at"

export class Workspaces extends Context.Service<Workspaces, {
  readonly list: (organizationId: string) => Effect.Effect<ReadonlyArray<WorkspaceRecord>>
  readonly get: (organizationId: string, id: string) => Effect.Effect<Option.Option<WorkspaceRecord>>
  readonly create: (
    actor: Principal,
    input: { readonly name: string; readonly description?: string | undefined }
  ) => Effect.Effect<WorkspaceRecord, WorkspaceNameTaken>
  /** Deletes a workspace of the actor's organization; `false` when there is none with this id. */
  readonly remove: (actor: Principal, id: string) => Effect.Effect<boolean>
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
          ORDER BY created_at, id`.pipe(Effect.map((rows) => rows.map(toRecord)), Effect.orDie)

      const get = (organizationId: string, id: string) =>
        sql<WorkspaceRow>`
          SELECT ${sql.unsafe(columns)} FROM identity.workspaces WHERE organization_id = ${organizationId} AND id = ${id}`.pipe(
          Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), toRecord)),
          Effect.orDie
        )

      const create = (actor: Principal, input: { readonly name: string; readonly description?: string | undefined }) =>
        sql.withTransaction(Effect.gen(function*() {
          const rows = yield* sql<WorkspaceRow>`
            INSERT INTO identity.workspaces (id, organization_id, name, description, created_by)
            VALUES (${Secrets.newId("ws")}, ${actor.organizationId}, ${input.name.trim()}, ${input.description ?? ""}, ${actor.id})
            RETURNING ${sql.unsafe(columns)}`
          const workspace = toRecord(rows[0])
          yield* audit.append({
            organizationId: actor.organizationId,
            actor: actorOf(actor),
            action: "identity.workspace.create",
            target: { type: "workspace", id: workspace.id },
            details: { name: workspace.name }
          })
          return workspace
        })).pipe(
          Effect.catchTag("SqlError", (error) =>
            uniqueViolation(error) === undefined
              ? Effect.die(error)
              : Effect.fail(new WorkspaceNameTaken({
                detail: `The organization already has a workspace named "${input.name.trim()}".`,
                name: input.name.trim()
              })))
        )

      const remove = (actor: Principal, id: string) =>
        sql.withTransaction(Effect.gen(function*() {
          const rows = yield* sql<{ readonly name: string }>`
            DELETE FROM identity.workspaces WHERE organization_id = ${actor.organizationId} AND id = ${id}
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
        })).pipe(Effect.orDie)

      const count = (organizationId: string) =>
        sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM identity.workspaces WHERE organization_id = ${organizationId}`.pipe(
          Effect.map((rows) => Number(rows[0]?.n ?? 0)),
          Effect.orDie
        )

      return Workspaces.of({ list, get, create, remove, count })
    })
  )
}
