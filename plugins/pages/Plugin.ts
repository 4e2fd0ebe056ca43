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
import { coreProblems, pageProblems } from "./Errors.ts"
import { fileProblems } from "./FileErrors.ts"
import * as FilesLive from "./Files.ts"
import { PageFilesGroup } from "./FilesApi.ts"
import { fileRoutes, PageFilesHttp } from "./FilesHttp.ts"
import { migration as createPages } from "./migrations/0001_create_pages.ts"
import { migration as createPageViews } from "./migrations/0002_create_page_views.ts"
import { migration as createFileBlobs } from "./migrations/0030_create_file_blobs.ts"
import { migration as createFiles } from "./migrations/0031_create_files.ts"
import { migration as createViewerSessions } from "./migrations/0040_create_viewer_sessions.ts"
import * as PagesLive from "./Pages.ts"
import { PagesGroup } from "./PagesApi.ts"
import { PagesConfig } from "./PagesConfig.ts"
import { PagesHttpLive } from "./PagesHttp.ts"
import * as PageStreams from "./PageStreams.ts"
import * as ViewerSessions from "./ViewerSessions.ts"

/** Services every part uses: who is looking, and how events are told. */
const base = Layer.mergeAll(ViewerSessions.layer, PageStreams.layer)

/** The core lane: the `Pages` service (and `PagesCore`) and its routes. */
const core = PagesHttpLive.pipe(Layer.provideMerge(PagesLive.layer))

/** The files lane: attachments (`Files`, over the database `FileStore`) and their routes; needs `Pages`. */
const files = PageFilesHttp.pipe(Layer.provideMerge(FilesLive.layer))

export const PagesPlugin = Plugin.make({
  id: "pages",
  version: "0.1.0",
  description: "Surflet pages: what agents publish for people to read, approve and answer, with a browser viewer",
  groups: [PagesGroup, PageFilesGroup],
  migrations: [createPages, createPageViews, createFileBlobs, createFiles, createViewerSessions],
  requires: ["runs"],
  config: PagesConfig,
  problems: [...pageProblems, ...coreProblems, ...fileProblems],
  web: { routes: [...fileRoutes] },
  layer: files.pipe(Layer.provideMerge(core), Layer.provideMerge(base))
})
