/**
 * Seed 002's projects (`/api/projects`) over the tickets plugin's own projects: the same rows
 * SessionFS's routes serve, in the mobile client's camelCase shape, with cursor pagination, a
 * description, a default branch and a soft delete (archive). A project made here is keyed by
 * its `repositoryUrl` normalized as SessionFS normalizes a remote, so `sfs project` finds it.
 * Access goes through `Projects.require`, the gate of every ticket operation.
 */
import { Context, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { AuditLog, CurrentPrincipal, Problems } from "trellis/plugin"
import { actorId, isProjectAdmin, newId } from "./Access.ts"
import { hasCredentials, normalizeRemote } from "./Domain.ts"
import type { CreateMobileProject, ListMobileProjectsQuery, MobileProject, UpdateMobileProject } from "./Domain.ts"
import { InvalidCursor, NotProjectAdmin, RepositoryTaken, RepositoryUrlHasCredentials } from "./Errors.ts"
import type { ProjectAccessError } from "./Projects.ts"
import { contextTemplate, Projects } from "./Projects.ts"
import { decodeProjects, projectColumns, toMobileProject } from "./TicketRows.ts"

/** What the mobile routes answer for a project the caller cannot see: a plain 404 (or a service key's 403s). */
export type MobileAccessError = Problems.NotFound | Exclude<ProjectAccessError, { readonly _tag: "ProjectNotFound" }>

const pageSize = 50

interface Cursor {
  readonly createdAt: string
  readonly id: string
}

const encodeCursor = (cursor: Cursor): string => Buffer.from(JSON.stringify([cursor.createdAt, cursor.id])).toString("base64url")

const decodeCursor = (text: string): Cursor | undefined => {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, "base64url").toString("utf8"))
    if (!Array.isArray(parsed) || parsed.length !== 2) return undefined
    const [createdAt, id] = parsed as ReadonlyArray<unknown>
    if (typeof createdAt !== "string" || typeof id !== "string" || Number.isNaN(Date.parse(createdAt))) return undefined
    return { createdAt, id }
  } catch {
    return undefined
  }
}

export class MobileProjects extends Context.Service<MobileProjects, {
  readonly page: (query: ListMobileProjectsQuery) => Effect.Effect<
    { readonly data: ReadonlyArray<MobileProject>; readonly meta: { readonly nextCursor: string | null } },
    InvalidCursor,
    CurrentPrincipal
  >
  readonly create: (input: CreateMobileProject) => Effect.Effect<MobileProject, RepositoryTaken | RepositoryUrlHasCredentials, CurrentPrincipal>
  readonly get: (id: string) => Effect.Effect<MobileProject, MobileAccessError, CurrentPrincipal>
  readonly update: (id: string, patch: UpdateMobileProject) => Effect.Effect<MobileProject, MobileAccessError, CurrentPrincipal>
  /** Soft delete: the project is archived and gone from every route. Project owner or organization admin. */
  readonly archive: (id: string) => Effect.Effect<void, MobileAccessError | NotProjectAdmin, CurrentPrincipal>
}>()("tickets/MobileProjects") {
  static readonly layer = Layer.effect(
    MobileProjects,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const audit = yield* AuditLog
      const projects = yield* Projects
      const columns = sql.literal(projectColumns)

      const byId = (organizationId: string, id: string) =>
        sql`SELECT ${columns} FROM tickets.projects p WHERE p.organization_id = ${organizationId} AND p.id = ${id} AND p.archived_at IS NULL`.pipe(
          Effect.flatMap(decodeProjects),
          Effect.map((rows) => Option.fromNullishOr(rows[0])),
          Effect.orDie
        )

      /** The caller's live project, or a plain 404 (a service key's 403s stay as they are). */
      const gate = (id: string) =>
        projects.require(id).pipe(
          Effect.catchTag("ProjectNotFound", () => Effect.fail(new Problems.NotFound({ detail: `No project ${id}.` })))
        )

      const page = Effect.fn("MobileProjects.page")(function*(query: ListMobileProjectsQuery) {
        const principal = yield* CurrentPrincipal
        const limit = query.limit ?? pageSize
        const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor)
        if (query.cursor !== undefined && after === undefined) {
          return yield* new InvalidCursor({ detail: "This cursor was not handed out by this server; start again without one." })
        }
        const rows = yield* sql`
          SELECT ${columns} FROM tickets.projects p
          WHERE p.organization_id = ${principal.organizationId} AND p.archived_at IS NULL
            AND (${after === undefined} OR (p.created_at, p.id) < (${after?.createdAt ?? null}::timestamptz, ${after?.id ?? ""}))
          ORDER BY p.created_at DESC, p.id DESC
          LIMIT ${limit + 1}
        `.pipe(Effect.flatMap(decodeProjects), Effect.orDie)
        const visible = rows.slice(0, limit)
        const last = visible[visible.length - 1]
        return {
          data: visible.filter((row) => principal.projectIds === null || principal.projectIds.includes(row.id)).map(toMobileProject),
          meta: { nextCursor: rows.length > limit && last !== undefined ? encodeCursor({ createdAt: last.created_at, id: last.id }) : null }
        }
      })

      const create = Effect.fn("MobileProjects.create")(function*(input: CreateMobileProject) {
        const principal = yield* CurrentPrincipal
        if (hasCredentials(input.repositoryUrl)) {
          return yield* new RepositoryUrlHasCredentials({
            detail: "repositoryUrl must not carry a password or token: Trellis does not clone, and would have to store it."
          })
        }
        const remote = normalizeRemote(input.repositoryUrl)
        const id = newId("proj_")
        const inserted = yield* sql.withTransaction(Effect.gen(function*() {
          const rows = yield* sql`
            INSERT INTO tickets.projects
              (id, organization_id, name, git_remote_normalized, context_document, owner_id, description, default_branch, repository_url)
            VALUES (${id}, ${principal.organizationId}, ${input.name}, ${remote}, ${contextTemplate}, ${actorId(principal)},
                    ${input.description ?? ""}, ${input.defaultBranch ?? "main"}, ${input.repositoryUrl})
            ON CONFLICT (organization_id, git_remote_normalized) WHERE archived_at IS NULL DO NOTHING
            RETURNING id
          `
          if (rows.length === 0) return false
          yield* audit.record("tickets.project.create", { type: "project", id }, { name: input.name, git_remote_normalized: remote })
          return true
        })).pipe(Effect.orDie)
        if (!inserted) {
          const existing = yield* projects.get(remote).pipe(Effect.option)
          return yield* new RepositoryTaken({
            detail: "This organization already has a project for this repository.",
            projectId: Option.match(existing, { onNone: () => "", onSome: (p) => p.id }),
            gitRemoteNormalized: remote
          })
        }
        return toMobileProject(Option.getOrThrow(yield* byId(principal.organizationId, id)))
      })

      const get = Effect.fn("MobileProjects.get")(function*(id: string) {
        return toMobileProject(yield* gate(id))
      })

      const update = Effect.fn("MobileProjects.update")(function*(id: string, patch: UpdateMobileProject) {
        const principal = yield* CurrentPrincipal
        const project = yield* gate(id)
        const changed = yield* sql.withTransaction(Effect.gen(function*() {
          const rows = yield* sql`
            UPDATE tickets.projects SET
              name = ${patch.name ?? project.name},
              description = ${patch.description ?? project.description},
              default_branch = ${patch.defaultBranch ?? project.default_branch},
              updated_at = now()
            WHERE id = ${project.id} AND organization_id = ${principal.organizationId} AND archived_at IS NULL
            RETURNING id
          `
          if (rows.length > 0) {
            yield* audit.record("tickets.project.update", { type: "project", id: project.id }, { ...patch })
          }
          return rows.length > 0
        })).pipe(Effect.orDie)
        const after = changed ? yield* byId(principal.organizationId, project.id) : Option.none()
        if (Option.isNone(after)) return yield* new Problems.NotFound({ detail: `No project ${id}.` })
        return toMobileProject(after.value)
      })

      const archive = Effect.fn("MobileProjects.archive")(function*(id: string) {
        const principal = yield* CurrentPrincipal
        const project = yield* gate(id)
        if (!isProjectAdmin(principal, project)) {
          return yield* new NotProjectAdmin({ detail: "Only the project owner or an organization admin can delete this project." })
        }
        const archived = yield* sql.withTransaction(Effect.gen(function*() {
          const rows = yield* sql`
            UPDATE tickets.projects SET archived_at = now(), updated_at = now()
            WHERE id = ${project.id} AND organization_id = ${principal.organizationId} AND archived_at IS NULL
            RETURNING id
          `
          if (rows.length > 0) {
            yield* audit.record("tickets.project.archive", { type: "project", id: project.id }, {
              name: project.name,
              git_remote_normalized: project.git_remote_normalized
            })
          }
          return rows.length > 0
        })).pipe(Effect.orDie)
        // Two racing deletes: one archives, the other finds nothing.
        if (!archived) return yield* new Problems.NotFound({ detail: `No project ${id}.` })
      })

      return MobileProjects.of({ page, create, get, update, archive })
    })
  )
}
