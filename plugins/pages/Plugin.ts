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
import * as AgentInbox from "./AgentInbox.ts"
import * as CommentsLive from "./Comments.ts"
import { coreProblems, pageProblems } from "./Errors.ts"
import { decisionProblems } from "./DecisionErrors.ts"
import * as DecisionsLive from "./Decisions.ts"
import { PageActionsGroup, PageApprovalGroup } from "./DecisionsApi.ts"
import { DecisionsHttpLive } from "./DecisionsHttp.ts"
import { migration as createDecisions } from "./migrations/0010_create_decisions.ts"
import * as RunApprovals from "./RunApprovals.ts"
import { AgentEventsGroup, PageCommentsGroup, PageStreamsGroup } from "./LiveApi.ts"
import { liveProblems } from "./LiveErrors.ts"
import { LiveHttpLive } from "./LiveHttp.ts"
import { migration as createPages } from "./migrations/0001_create_pages.ts"
import { migration as createPageViews } from "./migrations/0002_create_page_views.ts"
import { migration as createAgentEvents } from "./migrations/0020_create_agent_events.ts"
import { migration as createComments } from "./migrations/0021_create_comments.ts"
import { migration as createViewerSessions } from "./migrations/0040_create_viewer_sessions.ts"
import * as PagesLive from "./Pages.ts"
import { PagesGroup } from "./PagesApi.ts"
import { PagesHttpLive } from "./PagesHttp.ts"
import * as PageStreams from "./PageStreams.ts"
import * as ViewerSessions from "./ViewerSessions.ts"
import { PagesCatalogGroup, PagesInboxGroup } from "./CatalogApi.ts"
import { catalogProblems } from "./CatalogErrors.ts"
import { CatalogHttpLive } from "./CatalogHttp.ts"
import * as InboxLive from "./Inbox.ts"
import * as Insights from "./Insights.ts"
import * as Templates from "./Templates.ts"
import * as Workflows from "./Workflows.ts"
import { migration as createTemplates } from "./migrations/0050_create_templates.ts"
import { migration as createPageGroups } from "./migrations/0051_create_page_groups.ts"
import { migration as createAssociations } from "./migrations/0052_create_associations.ts"
import { migration as createInbox } from "./migrations/0053_create_inbox.ts"
import { webRoutes as viewerRoutes } from "./ViewerRoutes.ts"

/** Services every part uses: who is looking, and how events are told. */
const base = Layer.mergeAll(ViewerSessions.layer, PageStreams.layer)

/** The core lane: the `Pages` service (and `PagesCore`) and its routes. */
const core = PagesHttpLive.pipe(Layer.provideMerge(PagesLive.layer))

/** The decisions lane: actions, approval chains, webhooks, notify, the runs approval channel. */
const decisions = Layer.mergeAll(DecisionsHttpLive, RunApprovals.layer).pipe(
  Layer.provideMerge(DecisionsLive.layer),
  Layer.provide(DecisionsLive.DecisionsConfig.layerFromConfig)
)
/** The live lane: page streams, comments, the agent's events and inbox. */
const live = LiveHttpLive.pipe(Layer.provideMerge(Layer.mergeAll(CommentsLive.layer, AgentInbox.layer)))
/** The catalog lane: templates, page workflows, associations, analytics, the inbox (needs `Pages`). */
const catalog = CatalogHttpLive.pipe(
  Layer.provideMerge(Layer.mergeAll(Templates.layer, Workflows.layer, Insights.layer, InboxLive.layer))
)

export const PagesPlugin = Plugin.make({
  id: "pages",
  version: "0.1.0",
  description: "Surflet pages: what agents publish for people to read, approve and answer, with a browser viewer",
  groups: [PagesGroup, PageActionsGroup, PageApprovalGroup, PageStreamsGroup, PageCommentsGroup, AgentEventsGroup, PagesCatalogGroup, PagesInboxGroup],
  migrations: [createPages, createPageViews, createDecisions, createAgentEvents, createComments, createViewerSessions, createTemplates, createPageGroups, createAssociations, createInbox],
  requires: ["runs"],
  config: DecisionsLive.DecisionsConfig,
  problems: [...pageProblems, ...coreProblems, ...decisionProblems, ...liveProblems, ...catalogProblems],
  web: { routes: [...viewerRoutes] },
  layer: Layer.mergeAll(decisions, live, catalog).pipe(Layer.provideMerge(core), Layer.provideMerge(base))
})
