/**
 * Projects, as far as tickets need them (SessionFS `/api/v1/projects/`): a name, a git remote
 * it is keyed by (unique per organization), an owner, the context document (a new project gets
 * a template of headings), SessionFS's knowledge-base settings, and the project's lease length.
 * `require` is the gate every ticket operation passes: the project exists in the caller's
 * organization (else 404, whoever owns it; a service key naming another organization's project
 * id gets SessionFS's `403 cross_org_denied`, which names nothing of it) and a
 * project-restricted service key may reach it (else `403 project_not_in_allowlist`).
 */
import { Context, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { AuditLog, AuthProblems, CurrentPrincipal } from "trellis/plugin"
import { actorId, isProjectAdmin, newId, reachesProject } from "./Access.ts"
import type { CreateProject, Project, ProjectTicketSettings, UpdateProjectTicketSettings } from "./Domain.ts"
import { NotProjectAdmin, ProjectExists, ProjectNotFound, ProjectNotInAllowlist } from "./Errors.ts"
import { decodeProjects, projectColumns, toProject } from "./TicketRows.ts"
import type { ProjectRow } from "./TicketRows.ts"
import { TicketsConfig } from "./TicketsConfig.ts"

export type ProjectAccessError = ProjectNotFound | ProjectNotInAllowlist | AuthProblems.CrossOrgDenied

/**
 * The context document a new project starts with: the sections SessionFS's template has
 * (overview, architecture, conventions, API contracts, decisions, team), each with a prompt.
 */
export const contextTemplate = `# Project Context

## Overview
<!-- A paragraph: what the project is and who uses it. -->

## Architecture
<!-- Languages, frameworks, services and where they run. -->

## Conventions
<!-- Code style, branches, reviews, releases. -->

## API Contracts
<!-- The endpoints and message shapes others depend on. -->

## Key Decisions
<!-- Settled choices, and why, so they are not reopened. -->

## Team
<!-- Who owns which part. -->
`

export class Projects extends Context.Service<Projects, {
  readonly list: Effect.Effect<ReadonlyArray<Project>, never, CurrentPrincipal>
  readonly create: (input: CreateProject) => Effect.Effect<Project, ProjectExists | AuthProblems.CrossOrgDenied, CurrentPrincipal>
  /** By id, or by normalized git remote. */
  readonly get: (key: string) => Effect.Effect<Project, ProjectAccessError, CurrentPrincipal>
  readonly remove: (id: string) => Effect.Effect<{ readonly status: "deleted"; readonly id: string }, ProjectAccessError | NotProjectAdmin, CurrentPrincipal>
  /** The project the caller is about to work in, or why it may not. */
  readonly require: (id: string) => Effect.Effect<ProjectRow, ProjectAccessError, CurrentPrincipal>
  /** Replaces the context document of the project with this id or remote. */
  readonly updateContext: (key: string, document: string) => Effect.Effect<{ readonly status: "updated"; readonly size: number }, ProjectAccessError, CurrentPrincipal>
  readonly settings: (id: string) => Effect.Effect<ProjectTicketSettings, ProjectAccessError, CurrentPrincipal>
  /** Project admins only. */
  readonly setSettings: (id: string, input: UpdateProjectTicketSettings) => Effect.Effect<ProjectTicketSettings, ProjectAccessError | NotProjectAdmin, CurrentPrincipal>
  /** Seconds a claim on a ticket of this project lasts; `0`: never expires. */
  readonly leaseSecondsOf: (project: ProjectRow) => number
}>()("tickets/Projects") {
  static readonly layer = Layer.effect(
    Projects,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const audit = yield* AuditLog
      const config = yield* TicketsConfig
      const columns = sql.literal(projectColumns)

      const find = (organizationId: string, key: string) =>
        sql`
          SELECT ${columns} FROM tickets.projects p
          WHERE p.organization_id = ${organizationId} AND (p.id = ${key} OR p.git_remote_normalized = ${key}) AND p.archived_at IS NULL
          ORDER BY (p.id = ${key}) DESC
          LIMIT 1
        `.pipe(Effect.flatMap(decodeProjects), Effect.map((rows) => Option.fromNullishOr(rows[0])), Effect.orDie)

      const gate = Effect.fnUntraced(function*(key: string) {
        const principal = yield* CurrentPrincipal
        const row = yield* find(principal.organizationId, key)
        if (Option.isNone(row)) {
          if (principal.kind === "service-key") {
            // SessionFS answers a service key naming another organization's project id with 403
            // cross_org_denied; the problem carries no id or name of that organization's.
            const elsewhere = yield* sql`SELECT 1 AS found FROM tickets.projects p WHERE p.id = ${key} AND p.archived_at IS NULL`.pipe(Effect.orDie)
            if (elsewhere.length > 0) {
              return yield* new AuthProblems.CrossOrgDenied({ detail: "Service key cannot access projects outside its org." })
            }
          }
          return yield* new ProjectNotFound({ project_id: key, detail: `No project ${key} in this organization.` })
        }
        if (!reachesProject(principal, row.value.id)) {
          return yield* new ProjectNotInAllowlist({
            detail: "Service key project allowlist does not include this project.",
            allowed_project_ids: principal.projectIds ?? [],
            requested_project_id: row.value.id
          })
        }
        return row.value
      })

      const list = Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const rows = yield* sql`
          SELECT ${columns} FROM tickets.projects p
          WHERE p.organization_id = ${principal.organizationId} AND p.archived_at IS NULL
          ORDER BY p.updated_at DESC, p.id
        `.pipe(Effect.flatMap(decodeProjects), Effect.orDie)
        return rows.filter((row) => reachesProject(principal, row.id)).map(toProject)
      })

      const create = Effect.fn("Projects.create")(function*(input: CreateProject) {
        const principal = yield* CurrentPrincipal
        if (input.org_id !== undefined && input.org_id !== null && input.org_id !== "" && input.org_id !== principal.organizationId) {
          return yield* new AuthProblems.CrossOrgDenied({
            detail: "Projects are created in the organization you act in: make that organization your default (PUT /api/v1/auth/me/default-org) or send X-Trellis-Organization."
          })
        }
        const existing = yield* find(principal.organizationId, input.git_remote_normalized)
        if (Option.isSome(existing) && existing.value.git_remote_normalized === input.git_remote_normalized) {
          return yield* new ProjectExists({
            detail: `Project already exists for this repository: ${existing.value.id}.`,
            git_remote_normalized: input.git_remote_normalized,
            project_id: existing.value.id
          })
        }
        const id = newId("proj_")
        const inserted = yield* sql.withTransaction(Effect.gen(function*() {
          const rows = yield* sql`
            INSERT INTO tickets.projects (id, organization_id, name, git_remote_normalized, context_document, owner_id)
            VALUES (${id}, ${principal.organizationId}, ${input.name}, ${input.git_remote_normalized},
                    ${input.context_document ?? contextTemplate}, ${actorId(principal)})
            ON CONFLICT (organization_id, git_remote_normalized) WHERE archived_at IS NULL DO NOTHING
            RETURNING id
          `
          if (rows.length === 0) return false
          yield* audit.record("tickets.project.create", { type: "project", id }, {
            name: input.name,
            git_remote_normalized: input.git_remote_normalized
          })
          return true
        })).pipe(Effect.orDie)
        if (!inserted) {
          const winner = yield* find(principal.organizationId, input.git_remote_normalized)
          return yield* new ProjectExists({
            detail: "Project already exists for this repository.",
            git_remote_normalized: input.git_remote_normalized,
            project_id: Option.match(winner, { onNone: () => "", onSome: (row) => row.id })
          })
        }
        const created = yield* find(principal.organizationId, id)
        return toProject(Option.getOrThrow(created))
      })

      const get = Effect.fn("Projects.get")(function*(key: string) {
        return toProject(yield* gate(key))
      })

      const remove = Effect.fn("Projects.remove")(function*(id: string) {
        const principal = yield* CurrentPrincipal
        const project = yield* gate(id)
        if (!isProjectAdmin(principal, project)) {
          return yield* new NotProjectAdmin({ detail: "Only the project owner or an organization admin can delete this project." })
        }
        yield* sql.withTransaction(Effect.gen(function*() {
          yield* sql`DELETE FROM tickets.projects WHERE id = ${project.id} AND organization_id = ${principal.organizationId}`
          yield* audit.record("tickets.project.delete", { type: "project", id: project.id }, {
            name: project.name,
            git_remote_normalized: project.git_remote_normalized
          })
        })).pipe(Effect.orDie)
        return { status: "deleted" as const, id: project.id }
      })

      const updateContext = Effect.fn("Projects.updateContext")(function*(key: string, document: string) {
        const principal = yield* CurrentPrincipal
        const project = yield* gate(key)
        yield* sql.withTransaction(Effect.gen(function*() {
          yield* sql`
            UPDATE tickets.projects SET context_document = ${document}, updated_at = now()
            WHERE id = ${project.id} AND organization_id = ${principal.organizationId}
          `
          yield* audit.record("tickets.project.context", { type: "project", id: project.id }, { size: document.length })
        })).pipe(Effect.orDie)
        return { status: "updated" as const, size: document.length }
      })

      const leaseSecondsOf = (project: ProjectRow) => project.lease_seconds ?? config.leaseSeconds

      const settingsOf = (project: ProjectRow): ProjectTicketSettings => ({
        project_id: project.id,
        lease_seconds: project.lease_seconds,
        effective_lease_seconds: leaseSecondsOf(project)
      })

      const settings = Effect.fn("Projects.settings")(function*(id: string) {
        return settingsOf(yield* gate(id))
      })

      const setSettings = Effect.fn("Projects.setSettings")(function*(id: string, input: UpdateProjectTicketSettings) {
        const principal = yield* CurrentPrincipal
        const project = yield* gate(id)
        if (!isProjectAdmin(principal, project)) {
          return yield* new NotProjectAdmin({ detail: "Only the project owner or an organization admin can change the project's ticket settings." })
        }
        yield* sql.withTransaction(Effect.gen(function*() {
          yield* sql`
            UPDATE tickets.projects SET lease_seconds = ${input.lease_seconds}, updated_at = now()
            WHERE id = ${project.id} AND organization_id = ${principal.organizationId}
          `
          yield* audit.record("tickets.project.settings", { type: "project", id: project.id }, { lease_seconds: input.lease_seconds })
        })).pipe(Effect.orDie)
        return settingsOf({ ...project, lease_seconds: input.lease_seconds })
      })

      return Projects.of({ list, create, get, remove, require: gate, updateContext, settings, setSettings, leaseSecondsOf })
    })
  )
}
