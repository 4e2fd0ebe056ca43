/**
 * The pages plugin (first-party): Surflet (seed 003). Agents publish pages of blocks and
 * actions; people open them at `GET /p/:id`, read, comment, upload files and decide through
 * approval chains; the publishing agent hears of each act on its streams and webhooks. A
 * workflow's `approval` step publishes a page through the runs plugin's approval channel
 * (`requires: ["runs"]`).
 *
 * It needs the platform's `SqlClient`, `EventLog`, `JobQueue`, `AuditLog`, `Credentials`,
 * `Mailer` and `OutboundHttp`; it offers `Pages` (`PagesService.ts`) to other plugins.
 */
import { Layer } from "effect"
import { Plugin } from "trellis/plugin"
import { pageProblems } from "./Errors.ts"
import { migration as createPages } from "./migrations/0001_create_pages.ts"
import { migration as createViewerSessions } from "./migrations/0040_create_viewer_sessions.ts"
import * as MagicLinks from "./MagicLinks.ts"
import { migration as createMagicLinks } from "./migrations/0041_create_magic_links.ts"
import { migration as createOAuthStates } from "./migrations/0042_create_oauth_states.ts"
import * as OAuth from "./OAuth.ts"
import * as PageStreams from "./PageStreams.ts"
import { PagesConfig } from "./PagesConfig.ts"
import { PeopleGroup } from "./PeopleApi.ts"
import { peopleProblems } from "./PeopleErrors.ts"
import * as PeopleHttp from "./PeopleHttp.ts"
import * as ViewerSessions from "./ViewerSessions.ts"

/** Services every part uses: who is looking, and how events are told. */
const base = Layer.mergeAll(ViewerSessions.layer, PageStreams.layer)

/** People: magic links, OAuth, viewer sign-out. */
const people = PeopleHttp.PeopleHttpLive.pipe(Layer.provideMerge(Layer.mergeAll(MagicLinks.layer, OAuth.layer)))

export const PagesPlugin = Plugin.make({
  id: "pages",
  version: "0.1.0",
  description: "Surflet pages: what agents publish for people to read, approve and answer, with a browser viewer",
  groups: [PeopleGroup],
  migrations: [createPages, createViewerSessions, createMagicLinks, createOAuthStates],
  requires: ["runs"],
  problems: [...pageProblems, ...peopleProblems],
  config: PagesConfig,
  web: { routes: [...PeopleHttp.webRoutes] },
  layer: Layer.mergeAll(people).pipe(Layer.provideMerge(base))
})
