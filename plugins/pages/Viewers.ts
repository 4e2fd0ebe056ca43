/**
 * Who is looking at a page. The routes people reach from a link (the viewer `GET /p/:id`,
 * page streams, comments, files, actions) are public HTTP routes that still want to know the
 * caller when there is one: a member of an organization (a bearer token or the session
 * cookie, resolved by the platform's `Credentials`), a person who proved an email address with
 * a magic link (a viewer session: the `trellis_viewer` cookie, or its token as a bearer token
 * or as `actor.auth_token`), or nobody. `Access.decide` then says what that viewer may do with
 * a page.
 *
 * Tag and interface here; the implementation (`layer`) lives in `ViewerSessions.ts`.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { HttpServerRequest } from "effect/http"
import type { Principal } from "trellis/contract"

export type Viewer =
  /** A credential of an organization (session, user key, service key, admin token). */
  | { readonly _tag: "Member"; readonly principal: Principal; readonly email: string | null }
  /** A person with a magic-link viewer session: an email address, proven. */
  | { readonly _tag: "Identity"; readonly email: string; readonly sessionId: string }
  | { readonly _tag: "Anonymous" }

/** The cookie of a viewer session (`HttpOnly`, `SameSite=Lax`, `Secure` over https). */
export const viewerCookie = "trellis_viewer"

export class Viewers extends Context.Service<Viewers, {
  /**
   * The viewer of the current request: bearer token, then the platform session cookie, then the
   * viewer cookie; a credential that resolves to nothing is `Anonymous` (public routes answer
   * what anyone may see; a page that needs more answers 401 with `PageLoginRequired`).
   */
  readonly current: Effect.Effect<Viewer, never, HttpServerRequest.HttpServerRequest>
  /** The viewer of a viewer-session token (`actor.auth_token` of an action), if it is one. */
  readonly ofToken: (token: string) => Effect.Effect<Viewer>
}>()("pages/Viewers") {}

/** The identity string recorded for a viewer's acts (`decided_by`, comment authors). */
export const identityOf = (viewer: Viewer): string | null => {
  switch (viewer._tag) {
    case "Member":
      return viewer.email ?? (viewer.principal.kind === "service-key" ? `agent:${viewer.principal.id}` : viewer.principal.id)
    case "Identity":
      return viewer.email
    case "Anonymous":
      return null
  }
}

/** Who an act is audited as: the member's principal, the proven address (`viewer`), or `anonymous`. */
export const auditActorOf = (viewer: Viewer): { readonly id: string; readonly kind: string } => {
  switch (viewer._tag) {
    case "Member":
      return { id: viewer.principal.id, kind: viewer.principal.kind }
    case "Identity":
      return { id: viewer.email, kind: "viewer" }
    case "Anonymous":
      return { id: "anonymous", kind: "anonymous" }
  }
}
