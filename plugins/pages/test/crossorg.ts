/**
 * The pages plugin's entries of the cross-organization matrix (`test/identity/crossorg.test.ts`
 * runs them): each part adds the entries of the routes it serves.
 */
import type { PluginMatrix } from "../../../test/identity/crossorgMatrix.ts"

export const pagesMatrix: PluginMatrix = {
  plugin: "pages",
  routes: {
    // The viewer (web routes): public, the page decides access itself with Access.decide, so
    // another organization's private page answers its 401/403/404 page, never its content.
    "GET /p/assets/viewer.css": { kind: "public", reason: "the viewer's stylesheet: a static asset" },
    "GET /p/assets/viewer.js": { kind: "public", reason: "the viewer's script: a static asset" },
    "GET /p/{id}": { kind: "public", reason: "the viewer: opened from a link by people without a key; Access.decide refuses another organization's non-public pages" },
    "POST /p/{id}/actions/{actionId}": { kind: "public", reason: "the viewer's decision form: Access.decide and Decisions.execute decide who may act; CSRF field required" },
    "POST /p/{id}/comments": { kind: "public", reason: "the viewer's comment form: Access.decide decides who may comment; CSRF field required" },
    "POST /p/{id}/files": { kind: "public", reason: "the viewer's upload form: Access.decide decides who may upload; CSRF field required" },
    "POST /p/{id}/magic-link": { kind: "public", reason: "asks for a sign-in link; answers the same whoever may open the page" },
    "GET /inbox": { kind: "public", reason: "the person's own inbox (viewer session or member email); anyone else gets the sign-in page" },
    "POST /inbox/magic-link": { kind: "public", reason: "asks for a sign-in link to the inbox; answers the same for every address" }
  },
  rpcs: {}
}
