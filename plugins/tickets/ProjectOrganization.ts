/**
 * The organization a project route acts in (the platform's `ActingOrganization`): SessionFS lets
 * a user reach any project of any organization they belong to, whatever their default, and its
 * CLI and MCP tools name projects by id or by git remote only. The project, task and settings
 * routes resolve the addressed project's organizations here (by id first, then by remote, which
 * several organizations may share); the authentication middleware acts as the user in the first
 * they are a member of, with their role there. A project of no organization of theirs stays
 * invisible (404 from the handler, as before).
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { ActingOrganization } from "trellis/plugin"
import type { ActingOrganizationResolver } from "trellis/plugin"
import { ProjectsGroup, TicketSettingsGroup, TicketsGroup } from "./Api.ts"

/** The remote a path spells; a trailing literal `*` (a typed client filling the pattern) adds nothing. */
export const remoteOf = (owner: string, repo: string, rest: string | undefined) =>
  [owner, repo, ...(rest === undefined || rest === "" || rest === "*" ? [] : [rest])].join("/")

/** The project a route's parameters address: `project_id`, `project`, or `owner/repo[/...]`. */
export const projectKeyOf = (params: Readonly<Record<string, string | undefined>>): string | undefined => {
  const key = params.project_id ?? params.project
  if (key !== undefined && key !== "") return key
  return params.owner !== undefined && params.repo !== undefined ? remoteOf(params.owner, params.repo, params["*"]) : undefined
}

/** Registers the resolver for the SessionFS project, task and settings groups. */
export const layer = ActingOrganization.groups(
  [ProjectsGroup, TicketsGroup, TicketSettingsGroup],
  Effect.map(SqlClient.SqlClient, (sql): ActingOrganizationResolver => (params) => {
    const key = projectKeyOf(params)
    if (key === undefined) return Effect.succeed([])
    return sql<{ readonly organization_id: string }>`
      SELECT organization_id FROM tickets.projects
      WHERE (id = ${key} OR git_remote_normalized = ${key}) AND archived_at IS NULL
      ORDER BY (id = ${key}) DESC, organization_id`.pipe(
      Effect.map((rows) => [...new Set(rows.map((row) => row.organization_id))]),
      Effect.orDie
    )
  })
)
