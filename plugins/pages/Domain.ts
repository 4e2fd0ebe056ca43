/**
 * The pages plugin's shared schemas: what an agent sends to publish a page (Surflet, seed 003,
 * `POST /v1/publish` and `POST /v1/pages`), its parts (blocks, actions, access, notify,
 * `on_action`, approval chain) and the stored page as the plugin's modules see it
 * (`PageRecord`). The wire answers of each route live next to the route's group.
 *
 * Blocks are deliberately loose here: a block's `data` is any object, checked by
 * `Blocks.ts`, which answers advisory `warnings` (the page still publishes, as Surflet's does).
 * Only what cannot be a block at all (not an object, no `type`) is a 400 naming the field.
 *
 * Client-safe: imports only `effect`.
 */
import { Schema } from "effect"

/** The block types the viewer renders (others publish with a warning and render as data). */
export const blockTypes = [
  "text",
  "key_value",
  "metric",
  "table",
  "chart",
  "callout",
  "code",
  "image",
  "stepper",
  "columns",
  "collapsible",
  "form",
  "file_list",
  "divider"
] as const
export type BlockType = typeof blockTypes[number]

/** One content block. `id` is given or assigned (`b_<index>_<8 hex>`); `group`/`tab` group blocks in the viewer. */
export const Block = Schema.Struct({
  id: Schema.optional(Schema.String),
  type: Schema.String,
  title: Schema.optional(Schema.NullOr(Schema.String)),
  group: Schema.optional(Schema.NullOr(Schema.String)),
  tab: Schema.optional(Schema.NullOr(Schema.String)),
  data: Schema.optional(Schema.Record(Schema.String, Schema.Unknown))
})
export type Block = typeof Block.Type

/** A block as stored: always with its id and data. */
export const StoredBlock = Schema.Struct({
  id: Schema.String,
  type: Schema.String,
  title: Schema.optional(Schema.NullOr(Schema.String)),
  group: Schema.optional(Schema.NullOr(Schema.String)),
  tab: Schema.optional(Schema.NullOr(Schema.String)),
  data: Schema.Record(Schema.String, Schema.Unknown)
})
export type StoredBlock = typeof StoredBlock.Type

/**
 * A button on the page. `decision` says what it means in an approval chain (default: `reject`
 * when the id or label reads reject/deny/decline, else `approve`); `url` receives this
 * action's signed webhook instead of `on_action.default_url`.
 */
export const Action = Schema.Struct({
  action_id: Schema.String,
  label: Schema.String,
  style: Schema.optional(Schema.String),
  decision: Schema.optional(Schema.Literals(["approve", "reject"])),
  url: Schema.optional(Schema.NullOr(Schema.String)),
  requires_comment: Schema.optional(Schema.Boolean),
  confirm: Schema.optional(Schema.NullOr(Schema.String))
})
export type Action = typeof Action.Type

export const Identity = Schema.Struct({
  type: Schema.String,
  value: Schema.String
})
export type Identity = typeof Identity.Type

/**
 * Who may open the page: `public` (anyone with the link), `authenticated` (a member of the
 * organization, or a person who proved an email address with a magic link; narrowed to
 * `allowed_identities` when given), `private` (members of the organization only).
 */
export const AccessMode = Schema.Literals(["public", "authenticated", "private"])
export type AccessMode = typeof AccessMode.Type

export const Access = Schema.Struct({
  mode: AccessMode,
  allowed_identities: Schema.optional(Schema.Array(Identity))
})
export type Access = typeof Access.Type

/** A notification channel: `email` (target: an address) or `slack` (target: an incoming-webhook URL, or a channel name with `webhook_url`). */
export const NotifyChannel = Schema.Struct({
  type: Schema.String,
  target: Schema.optional(Schema.String),
  webhook_url: Schema.optional(Schema.String)
})
export type NotifyChannel = typeof NotifyChannel.Type

export const Notify = Schema.Struct({
  channels: Schema.Array(NotifyChannel)
})
export type Notify = typeof Notify.Type

export const OnAction = Schema.Struct({
  default_url: Schema.optional(Schema.NullOr(Schema.String))
})
export type OnAction = typeof OnAction.Type

/** One step of an approval chain: `quorum` of the `assignees` must approve (default 1); `timeout_minutes` then `escalate_to`. */
export const ChainStep = Schema.Struct({
  step_id: Schema.String,
  name: Schema.optional(Schema.String),
  assignees: Schema.Array(Schema.String),
  quorum: Schema.optional(Schema.Int),
  timeout_minutes: Schema.optional(Schema.Number),
  escalate_to: Schema.optional(Schema.Array(Schema.String))
})
export type ChainStep = typeof ChainStep.Type

export const ApprovalChain = Schema.Struct({
  mode: Schema.optional(Schema.Literals(["sequential", "parallel"])),
  steps: Schema.Array(ChainStep)
})
export type ApprovalChain = typeof ApprovalChain.Type

/** The body of `POST /v1/publish` and `POST /v1/pages` (and each page of `POST /v1/workflows`). */
export const PageInput = Schema.Struct({
  version: Schema.optional(Schema.String),
  page_type: Schema.optional(Schema.String),
  title: Schema.String,
  summary: Schema.optional(Schema.NullOr(Schema.String)),
  priority: Schema.optional(Schema.String),
  tags: Schema.optional(Schema.Array(Schema.String)),
  blocks: Schema.optional(Schema.Array(Block)),
  actions: Schema.optional(Schema.Array(Action)),
  access: Schema.optional(Access),
  notify: Schema.optional(Notify),
  on_action: Schema.optional(OnAction),
  approval_chain: Schema.optional(ApprovalChain),
  /** When the page expires (ISO 8601); default seven days after publishing. */
  expires_at: Schema.optional(Schema.String),
  /** Free-form data for the publishing agent (a run id, a ticket number). */
  metadata: Schema.optional(Schema.Record(Schema.String, Schema.Unknown))
})
export type PageInput = typeof PageInput.Type

export const PageStatus = Schema.Literals(["draft", "active", "completed", "revoked", "expired"])
export type PageStatus = typeof PageStatus.Type

/** A stored page as the plugin's modules see it (decoded from `pages.pages`). */
export interface PageRecord {
  readonly id: string
  readonly organizationId: string
  readonly status: PageStatus
  readonly pageType: string
  readonly title: string
  readonly summary: string | null
  readonly priority: string
  readonly tags: ReadonlyArray<string>
  readonly blocks: ReadonlyArray<StoredBlock>
  readonly actions: ReadonlyArray<Action>
  readonly access: Access
  readonly notify: Notify | null
  readonly onAction: OnAction | null
  readonly approvalChain: ApprovalChain | null
  readonly metadata: Readonly<Record<string, unknown>> | null
  readonly version: number
  /** `agent:<name>` for keys and agents, `user:<email>` for people, `system` for the server. */
  readonly createdBy: string
  readonly createdAt: Date
  readonly updatedAt: Date
  readonly publishedAt: Date | null
  readonly expiresAt: Date | null
  readonly revokedAt: Date | null
  readonly revokeReason: string | null
  readonly completedAt: Date | null
  /** How a completed page ended: the action that completed it and its decision. */
  readonly outcome: PageOutcome | null
  readonly viewCount: number
  readonly actionCount: number
  readonly lastViewedAt: Date | null
}

export interface PageOutcome {
  readonly actionId: string
  readonly decision: "approve" | "reject"
  readonly actor: string
}
