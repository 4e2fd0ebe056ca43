/**
 * Who the caller is, as far as tickets care: the identity written into `created_by_user_id`,
 * `lease_holder` and comment authorship, whether it counts as a project admin, and whether a
 * project-restricted service key may reach a project.
 */
import type { Principal } from "trellis/plugin"

/** The id recorded as author or creator: the user behind the credential, else the principal. */
export const actorId = (principal: Principal): string => principal.userId ?? principal.id

/** The id a lease is held by: the principal itself (a user, a service key, the admin token). */
export const holderId = (principal: Principal): string => principal.id

/** Organization admins and owners administer every project of their organization. */
export const isOrgAdmin = (principal: Principal): boolean => principal.role === "admin" || principal.role === "owner"

/** Project admin: the project's owner, or an organization admin. */
export const isProjectAdmin = (principal: Principal, project: { readonly owner_id: string }): boolean =>
  isOrgAdmin(principal) || project.owner_id === actorId(principal)

/** A service key restricted to projects reaches only those. */
export const reachesProject = (principal: Principal, projectId: string): boolean =>
  principal.projectIds === null || principal.projectIds.includes(projectId)

/** A short random id with a SessionFS-style prefix (`tk_`, `tc_`, `proj_`...). */
export const newId = (prefix: string, length = 16): string =>
  prefix + crypto.randomUUID().replace(/-/g, "").slice(0, length)
