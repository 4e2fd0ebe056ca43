/**
 * Workspace slugs and default workspace ids (PromptOps's workspace model has a `slug`, and a
 * workspace with id `default` that always exists).
 *
 * Client-safe: imports nothing.
 */

/** The organization every fresh install starts with. */
const defaultOrganizationId = "org_default"

/**
 * The id of an organization's default workspace: PromptOps's own `default` for the default
 * organization (so its SDKs' and console's `default` names it), `default_<organization id>`
 * for the others (workspace ids are unique across organizations).
 */
export const defaultWorkspaceId = (organizationId: string): string =>
  organizationId === defaultOrganizationId ? "default" : `default_${organizationId}`

/** The slug of a name: lowercase ASCII letters and digits joined by single hyphens; `workspace` when nothing is left. */
export const workspaceSlug = (name: string): string => {
  const slug = name.normalize("NFKD").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60)
    .replace(/-+$/, "")
  return slug === "" ? "workspace" : slug
}

/** `base`, or `base-2`, `base-3`... whichever is not in `taken`. */
export const uniqueSlug = (base: string, taken: ReadonlySet<string>): string => {
  if (!taken.has(base)) return base
  for (let n = 2;; n++) {
    const candidate = `${base}-${n}`
    if (!taken.has(candidate)) return candidate
  }
}

/**
 * How plugins store a workspace reference on their rows (prompts, workflows, agents): the
 * organization's default workspace (`default`, or `default_<organization id>`) is `""`, the
 * place of rows outside any named workspace, so PromptOps's console (which selects `default`)
 * and clients naming no workspace see the same rows. Other ids are stored as given.
 */
export const storedWorkspaceId = (organizationId: string, workspace: string): string =>
  workspace === "default" || workspace === `default_${organizationId}` ? "" : workspace
