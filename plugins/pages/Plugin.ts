/**
 * The pages plugin (first-party): Surflet (seed 003). Agents publish pages of blocks and
 * actions; people open them at `GET /p/:id`, read, comment, upload files and decide through
 * approval chains; the publishing agent hears of each act on its streams and webhooks. A
 * workflow's `approval` step publishes a page through the runs plugin's approval channel
 * (`requires: ["runs"]`).
 *
 * It needs the platform's `SqlClient`, `EventLog`, `JobQueue`, `AuditLog`, `Credentials`,
 * `Directory`, `Mailer`, `SecretBox` and `OutboundHttp`; it offers `Pages` (`PagesService.ts`)
 * to other plugins. The parts below are layered on `core` (the `Pages` service), which sits on
 * `base` (who is looking, and how events are told).
 */
import { Layer } from "effect"
import { Plugin } from "trellis/plugin"
import * as AgentInbox from "./AgentInbox.ts"
import { PagesCatalogGroup, PagesInboxGroup } from "./CatalogApi.ts"
import { catalogProblems } from "./CatalogErrors.ts"
import { CatalogHttpLive } from "./CatalogHttp.ts"
import * as CommentsLive from "./Comments.ts"
import { decisionProblems } from "./DecisionErrors.ts"
import * as DecisionsLive from "./Decisions.ts"
import { PageActionsGroup, PageApprovalGroup } from "./DecisionsApi.ts"
import { DecisionsHttpLive } from "./DecisionsHttp.ts"
import { coreProblems, pageProblems } from "./Errors.ts"
import { fileProblems } from "./FileErrors.ts"
import * as FilesLive from "./Files.ts"
import { PageFilesGroup } from "./FilesApi.ts"
import { fileRoutes, PageFilesHttp } from "./FilesHttp.ts"
import * as InboxLive from "./Inbox.ts"
import * as Insights from "./Insights.ts"
import { AgentEventsGroup, PageCommentsGroup, PageStreamsGroup } from "./LiveApi.ts"
import { liveProblems } from "./LiveErrors.ts"
import { LiveHttpLive } from "./LiveHttp.ts"
import * as MagicLinks from "./MagicLinks.ts"
import { migration as createPages } from "./migrations/0001_create_pages.ts"
import { migration as createPageViews } from "./migrations/0002_create_page_views.ts"
import { migration as createDecisions } from "./migrations/0010_create_decisions.ts"
import { migration as createAgentEvents } from "./migrations/0020_create_agent_events.ts"
import { migration as createComments } from "./migrations/0021_create_comments.ts"
import { migration as createFileBlobs } from "./migrations/0030_create_file_blobs.ts"
import { migration as createFiles } from "./migrations/0031_create_files.ts"
import { migration as createViewerSessions } from "./migrations/0040_create_viewer_sessions.ts"
import { migration as createMagicLinks } from "./migrations/0041_create_magic_links.ts"
import { migration as createOAuthStates } from "./migrations/0042_create_oauth_states.ts"
import { migration as createTemplates } from "./migrations/0050_create_templates.ts"
import { migration as createPageGroups } from "./migrations/0051_create_page_groups.ts"
import { migration as createAssociations } from "./migrations/0052_create_associations.ts"
import { migration as createInbox } from "./migrations/0053_create_inbox.ts"
import * as OAuth from "./OAuth.ts"
import * as PagesLive from "./Pages.ts"
import { PagesGroup } from "./PagesApi.ts"
import { PagesConfig } from "./PagesConfig.ts"
import { PagesHttpLive } from "./PagesHttp.ts"
import * as PageStreams from "./PageStreams.ts"
import { PeopleGroup } from "./PeopleApi.ts"
import { peopleProblems } from "./PeopleErrors.ts"
import * as PeopleHttp from "./PeopleHttp.ts"
import { ProtocolsGroup } from "./ProtocolsApi.ts"
import { ProtocolsHttpLive } from "./ProtocolsHttp.ts"
import * as RunApprovals from "./RunApprovals.ts"
import * as Templates from "./Templates.ts"
import { webRoutes as viewerRoutes } from "./ViewerRoutes.ts"
import * as ViewerSessions from "./ViewerSessions.ts"
import * as Workflows from "./Workflows.ts"

/** Services every part uses: who is looking, and how events are told. */
const base = Layer.mergeAll(ViewerSessions.layer, PageStreams.layer)

/** Pages and blocks: the `Pages` service (and `PagesCore`) and its routes. */
const core = PagesHttpLive.pipe(Layer.provideMerge(PagesLive.layer))

/** Actions, approval chains, webhooks, notify, the runs approval channel. */
const decisions = Layer.mergeAll(DecisionsHttpLive, RunApprovals.layer).pipe(Layer.provideMerge(DecisionsLive.layer))

/** Page streams, comments, the agent's events and inbox. */
const live = LiveHttpLive.pipe(Layer.provideMerge(Layer.mergeAll(CommentsLive.layer, AgentInbox.layer)))

/** Attachments (`Files`, over the database `FileStore`) and their routes. */
const files = PageFilesHttp.pipe(Layer.provideMerge(FilesLive.layer))

/** Templates, page workflows, associations, analytics, the people's inbox. */
const catalog = CatalogHttpLive.pipe(
  Layer.provideMerge(Layer.mergeAll(Templates.layer, Workflows.layer, Insights.layer, InboxLive.layer))
)

/** A2UI and AG-UI publishing. */
const protocols = ProtocolsHttpLive

/** People: magic links, OAuth, viewer sign-out. */
const people = PeopleHttp.PeopleHttpLive.pipe(Layer.provideMerge(Layer.mergeAll(MagicLinks.layer, OAuth.layer)))

export const PagesPlugin = Plugin.make({
  id: "pages",
  version: "0.1.0",
  description: "Surflet pages: what agents publish for people to read, approve and answer, with a browser viewer",
  groups: [
    PagesGroup,
    PageActionsGroup,
    PageApprovalGroup,
    PageStreamsGroup,
    PageCommentsGroup,
    AgentEventsGroup,
    PageFilesGroup,
    PagesCatalogGroup,
    PagesInboxGroup,
    ProtocolsGroup,
    PeopleGroup
  ],
  migrations: [
    createPages,
    createPageViews,
    createDecisions,
    createAgentEvents,
    createComments,
    createFileBlobs,
    createFiles,
    createViewerSessions,
    createMagicLinks,
    createOAuthStates,
    createTemplates,
    createPageGroups,
    createAssociations,
    createInbox
  ],
  requires: ["runs"],
  config: PagesConfig,
  problems: [...pageProblems, ...coreProblems, ...decisionProblems, ...liveProblems, ...fileProblems, ...catalogProblems, ...peopleProblems],
  web: { routes: [...fileRoutes, ...PeopleHttp.webRoutes, ...viewerRoutes] },
  layer: Layer.mergeAll(decisions, live, files, catalog, protocols, people).pipe(Layer.provideMerge(core), Layer.provideMerge(base))
})
