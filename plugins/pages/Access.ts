/**
 * What a viewer may do with a page, decided in one pure function so that every route a
 * person reaches (viewer, streams, comments, files, actions) agrees:
 * - a member of the page's organization may always open it (drafts, revoked and expired pages
 *   included: they own it);
 * - anyone else never sees a draft (it does not exist for them), and sees a revoked or expired
 *   page as gone;
 * - `public`: anyone; `authenticated`: a proven identity (a magic-link viewer session, or a
 *   member of any organization with an email address), limited to `allowed_identities` when
 *   the page lists some; `private`: members of the organization only.
 */
import type { PageRecord } from "./Domain.ts"
import type { Viewer } from "./Viewers.ts"

export type Decision =
  | { readonly _tag: "Allowed"; readonly member: boolean }
  | { readonly _tag: "LoginRequired" }
  | { readonly _tag: "Forbidden" }
  | { readonly _tag: "Gone" }
  | { readonly _tag: "NotFound" }

const normalize = (email: string): string => email.trim().toLowerCase()

/** Whether `email` is one of the page's allowed identities (`email` entries, or a `domain` entry matching its domain). */
export const identityAllowed = (page: Pick<PageRecord, "access">, email: string): boolean => {
  const allowed = page.access.allowed_identities ?? []
  if (allowed.length === 0) return true
  const address = normalize(email)
  return allowed.some((identity) =>
    identity.type === "domain"
      ? address.endsWith(`@${normalize(identity.value).replace(/^@/, "")}`)
      : normalize(identity.value) === address
  )
}

export const decide = (page: PageRecord, viewer: Viewer): Decision => {
  if (viewer._tag === "Member" && viewer.principal.organizationId === page.organizationId) {
    return { _tag: "Allowed", member: true }
  }
  if (page.status === "draft") return { _tag: "NotFound" }
  if (page.status === "revoked" || page.status === "expired") return { _tag: "Gone" }
  switch (page.access.mode) {
    case "public":
      return { _tag: "Allowed", member: false }
    case "private":
      return viewer._tag === "Anonymous" ? { _tag: "LoginRequired" } : { _tag: "Forbidden" }
    case "authenticated": {
      const email = viewer._tag === "Identity" ? viewer.email : viewer._tag === "Member" ? viewer.email : null
      if (email === null) return viewer._tag === "Anonymous" ? { _tag: "LoginRequired" } : { _tag: "Forbidden" }
      return identityAllowed(page, email) ? { _tag: "Allowed", member: false } : { _tag: "Forbidden" }
    }
  }
}
