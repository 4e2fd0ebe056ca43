/**
 * Publishing from agent UI protocols (Surflet, seed 003): `POST /v1/publish/a2ui` takes an A2UI
 * v0.9 surface (the `updateComponents` envelope, or a bare component list) and
 * `POST /v1/publish/ag-ui` a recorded AG-UI event list; each translates to blocks (`A2ui.ts`,
 * `AgUi.ts`) and publishes the page as `POST /v1/publish` does, with the translation's warnings
 * beside the publish's own. The other page fields of the body (`page_type`, `actions`, `access`,
 * `summary`, `tags`, `notify`, `on_action`, `approval_chain`, `expires_at`, `metadata`) are
 * honoured.
 *
 * Components and events are read loosely (`Unknown`) on purpose: what the translation cannot use
 * is a warning, never a 400; only what makes the list unreadable is (a 400 naming the field).
 *
 * Client-safe: imports only `effect` and `trellis/contract`.
 */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Authentication, Requirement, Requires, WireDialect } from "trellis/contract"
import { PageInput } from "./Domain.ts"
import { InvalidPage } from "./Errors.ts"
import { PublishedPage } from "./PagesApi.ts"

const { blocks: _blocks, title: _title, ...pageFields } = PageInput.fields

/** The page fields a protocol body may carry beside its content (`title` is optional here). */
const protocolPageFields = {
  ...pageFields,
  title: Schema.optional(Schema.String)
}

/** `POST /v1/publish/a2ui` as an object: the envelope (or `components`) with the page fields. */
export const A2uiEnvelope = Schema.Struct({
  ...protocolPageFields,
  updateComponents: Schema.optional(Schema.Struct({
    surfaceId: Schema.optional(Schema.String),
    components: Schema.Array(Schema.Unknown)
  })),
  /** A bare component list beside the page fields (instead of the envelope). */
  components: Schema.optional(Schema.Array(Schema.Unknown)),
  /** The surface's data model, for `{path}` bindings (an object)... */
  dataModel: Schema.optional(Schema.Unknown),
  /** ...and/or A2UI `updateDataModel` messages (`{surfaceId, path?, value}`, one or a list) applied over it. */
  updateDataModel: Schema.optional(Schema.Unknown)
})
export type A2uiEnvelope = typeof A2uiEnvelope.Type

/** The body of `POST /v1/publish/a2ui`: the envelope object, or a bare component array. */
export const A2uiPublish = Schema.Union([A2uiEnvelope, Schema.Array(Schema.Unknown)])
export type A2uiPublish = typeof A2uiPublish.Type

/** The body of `POST /v1/publish/ag-ui`: the events and the page fields. */
export const AgUiPublish = Schema.Struct({
  ...protocolPageFields,
  /** AG-UI events (`@ag-ui/core` 1.0 names); each needs a string `type`. */
  events: Schema.Unknown
})
export type AgUiPublish = typeof AgUiPublish.Type


const write = Requirement.write("pages")

/** `/v1/publish/a2ui` and `/v1/publish/ag-ui`: an agent's key with `pages:write`. */
export class ProtocolsGroup extends HttpApiGroup.make("pageProtocols")
  .annotate(WireDialect, WireDialect.surflet)
  .add(
    HttpApiEndpoint.post("publishA2ui", "/v1/publish/a2ui", {
      payload: A2uiPublish,
      success: PublishedPage.pipe(HttpApiSchema.status(201)),
      error: InvalidPage
    }).annotate(Requires, write).annotateMerge(OpenApi.annotations({
      description: "Translates an A2UI v0.9 surface (`{version, title, updateComponents: {surfaceId, components}}`, " +
        "`{title, components}` or a bare component array) to blocks and publishes the page. Row/Column become " +
        "`columns`, Buttons page actions, inputs a `form`; `{path}` bindings resolve against `dataModel` / " +
        "`updateDataModel`. What cannot be translated is a warning. At most 5,000 components."
    })),
    HttpApiEndpoint.post("publishAgUi", "/v1/publish/ag-ui", {
      payload: AgUiPublish,
      success: PublishedPage.pipe(HttpApiSchema.status(201)),
      error: InvalidPage
    }).annotate(Requires, write).annotateMerge(OpenApi.annotations({
      description: "Translates an AG-UI event list to blocks and publishes the page: text messages become text " +
        "blocks, tool calls code blocks, results callouts, RUN_ERROR an error callout, steps a stepper, reasoning a " +
        "closed collapsible. RUN_STARTED's `threadId`/`runId` go to `metadata`. An event without a string `type` is " +
        "a 400 naming `events[i].type`; an unknown one a warning. At most 5,000 events."
    }))
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({
    title: "Page protocols",
    description: "Publishing pages from A2UI surfaces and AG-UI event streams."
  }))
{}
