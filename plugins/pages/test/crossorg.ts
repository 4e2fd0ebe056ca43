/**
 * The pages plugin's entries of the cross-organization matrix (`test/identity/crossorg.test.ts`
 * runs them): each part adds the entries of the routes it serves.
 */
import type { PluginMatrix } from "../../../test/identity/crossorgMatrix.ts"

export const pagesMatrix: PluginMatrix = {
  plugin: "pages",
  routes: {
    // People (sign-in for the people pages are for): no organization's data in or out.
    "POST /v1/auth/magic-link/send": {
      kind: "public",
      reason: "a person with no account asks for a sign-in link: the answer is {sent:true} whoever asks, and a link is mailed only to an address allowed on the page"
    },
    "GET /v1/auth/magic-link/verify": {
      kind: "public",
      reason: "the mailed link: its single-use token is the credential; it signs in a viewer session for that address only"
    },
    "POST /v1/auth/oauth/github": { kind: "public", reason: "starts a GitHub sign-in: answers the provider's authorize URL, nothing of an organization's" },
    "POST /v1/auth/oauth/google": { kind: "public", reason: "starts a Google sign-in: answers the provider's authorize URL, nothing of an organization's" },
    "GET /v1/auth/oauth/{provider}/callback": {
      kind: "public",
      reason: "the provider sends the browser back: the single-use state and the provider's code are the credential"
    },
    "POST /v1/auth/viewer/logout": { kind: "public", reason: "ends the caller's own viewer session (cookie or pv_ token), if any" }
  },
  rpcs: {}
}
