/**
 * The prompts plugin's wire shapes. They follow PromptOps (seed 004) field for field, in its
 * snake_case casing, so PromptOps's web UI and SDKs read them unchanged; fields Trellis adds
 * (version numbers, rollout ids, stickiness) use the same casing.
 *
 * Client-safe: imports only `effect`.
 */
import { Schema } from "effect"
import { ChangeData } from "./Events.ts"

const Timestamp = Schema.String

/** A prompt key: what SDKs fetch by. Letters, digits and `._:-`, 1 to 200 characters. */
export const PromptKey = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_][A-Za-z0-9._:-]{0,199}$/))
/** An environment name (`dev`, `test`, `prod`, ...). */
export const EnvName = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/))
/** A workspace id; the empty string is the organization's default workspace. */
export const WorkspaceId = Schema.String.check(Schema.isMaxLength(200))

/** A prompt: its working copy (what editors change) and which published version is live. */
export const Prompt = Schema.Struct({
  id: Schema.String,
  workspace_id: Schema.String,
  key: Schema.String,
  name: Schema.String,
  description: Schema.String,
  /** The working copy, with `{{variable}}` placeholders. SDKs get the live version instead. */
  content: Schema.String,
  /**
   * The working copy's version label, as PromptOps reads it: the label the client last sent
   * (`v1`, `v2-beta`: the next publish snapshots under it); for a prompt never given one, the
   * live version's label, or `v1` before the first publish (the next publish is then
   * `v<version_number + 1>`).
   */
  version: Schema.String,
  /** Label of the live (last published or rolled back to) version; `null` until the first publish. */
  live_version: Schema.NullOr(Schema.String),
  /** Trellis's number of the live version (unique per prompt); `null` until the first publish. */
  version_number: Schema.NullOr(Schema.Number),
  /** Number of the newest version (0 before the first publish). */
  latest_version_number: Schema.Number,
  /** Whether the working copy differs from the live version (or nothing is published yet). */
  has_unpublished_changes: Schema.Boolean,
  env: Schema.String,
  category: Schema.String,
  /** Comma-separated, as PromptOps sends and expects them. */
  tags: Schema.String,
  model: Schema.String,
  created_by: Schema.String,
  updated_by: Schema.String,
  created_at: Timestamp,
  updated_at: Timestamp
})
export type Prompt = typeof Prompt.Type

/** An immutable snapshot made by a publish. */
export const PromptVersion = Schema.Struct({
  id: Schema.String,
  prompt_id: Schema.String,
  key: Schema.String,
  /**
   * The label it was published under: the working copy's label (`v1`, `v2-beta`), or
   * `v<version_number>` for a prompt never given one. Labels may repeat; a label names the
   * newest version carrying it.
   */
  version: Schema.String,
  /** Trellis's own number: unique per prompt, 1, 2, ... in publish order. */
  version_number: Schema.Number,
  env: Schema.String,
  name: Schema.String,
  model: Schema.String,
  content: Schema.String,
  note: Schema.String,
  /** Who published it. */
  created_by: Schema.String,
  created_at: Timestamp
})
export type PromptVersion = typeof PromptVersion.Type

/** Tags: a comma-separated string (PromptOps) or a list. */
export const TagsInput = Schema.Union([Schema.String, Schema.Array(Schema.String)])

const optionalText = (max: number) => Schema.optionalKey(Schema.String.check(Schema.isMaxLength(max)))

/**
 * A version label sent on create or update (`v1`, `v2-beta`): kept as the working copy's
 * label, which the next publish snapshots under. Empty means "not given" (as in PromptOps).
 */
export const VersionLabel = Schema.String.check(Schema.isMaxLength(100))

export const CreatePrompt = Schema.Struct({
  key: PromptKey,
  name: optionalText(500),
  description: optionalText(5000),
  content: optionalText(200_000),
  /** Defaults to `dev`, as in PromptOps. */
  env: Schema.optionalKey(EnvName),
  model: optionalText(200),
  category: optionalText(200),
  tags: Schema.optionalKey(TagsInput),
  workspace_id: Schema.optionalKey(WorkspaceId),
  /** The working copy's version label (see `Prompt.version`); empty or absent keeps it. */
  version: Schema.optionalKey(VersionLabel)
})
export type CreatePrompt = typeof CreatePrompt.Type

/** A partial update: omitted fields keep their value. */
export const UpdatePrompt = Schema.Struct({
  key: Schema.optionalKey(PromptKey),
  name: optionalText(500),
  description: optionalText(5000),
  content: optionalText(200_000),
  env: Schema.optionalKey(EnvName),
  model: optionalText(200),
  category: optionalText(200),
  tags: Schema.optionalKey(TagsInput),
  workspace_id: Schema.optionalKey(WorkspaceId),
  /** The working copy's version label (see `Prompt.version`); empty or absent keeps it. */
  version: Schema.optionalKey(VersionLabel)
})
export type UpdatePrompt = typeof UpdatePrompt.Type

export const ListQuery = Schema.Struct({
  q: Schema.optionalKey(Schema.String),
  env: Schema.optionalKey(Schema.String),
  category: Schema.optionalKey(Schema.String),
  tag: Schema.optionalKey(Schema.String),
  workspace: Schema.optionalKey(Schema.String)
})
export type ListQuery = typeof ListQuery.Type

export const PublishRequest = Schema.Struct({
  id: Schema.String,
  /** A short release note kept with the version. */
  note: optionalText(2000)
})

/** A version reference: a label (`v2`), a number (`2`) or a version id. */
export const VersionRef = Schema.Union([Schema.String, Schema.Number])

export const RollbackRequest = Schema.Struct({
  id: Schema.String,
  version: VersionRef
})

/** One variant of a rollout, as stored and shown. Weights are percentages (two decimals at most). */
export const RolloutVariant = Schema.Struct({
  version: Schema.String,
  version_number: Schema.Number,
  version_id: Schema.String,
  weight: Schema.Number
})

/**
 * A gray release. `variant_a`, `variant_b` and `weight_a` are PromptOps's two-variant view
 * (with more than two variants they show the first two); `variants` is the full list in
 * assignment order.
 */
export const Rollout = Schema.Struct({
  id: Schema.String,
  prompt_id: Schema.String,
  key: Schema.String,
  env: Schema.String,
  enabled: Schema.Boolean,
  variant_a: Schema.String,
  variant_b: Schema.String,
  weight_a: Schema.Number,
  variants: Schema.Array(RolloutVariant),
  /** Per-rollout salt of the assignment hash (see the plugin README). */
  salt: Schema.String,
  created_by: Schema.String,
  updated_by: Schema.String,
  created_at: Timestamp,
  updated_at: Timestamp
})
export type Rollout = typeof Rollout.Type

/** The PUT body: PromptOps's two-variant form, or `variants` (up to ten). */
export const RolloutInput = Schema.Struct({
  enabled: Schema.optionalKey(Schema.Boolean),
  variant_a: Schema.optionalKey(VersionRef),
  variant_b: Schema.optionalKey(VersionRef),
  weight_a: Schema.optionalKey(Schema.Number),
  variants: Schema.optionalKey(Schema.Array(Schema.Struct({ version: VersionRef, weight: Schema.Number }))),
  /**
   * Pins the assignment salt (kept otherwise; new rollouts draw a random one): the same salt
   * on two rollouts of one key gives every caller the same bucket in both.
   */
  salt: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[A-Za-z0-9._:-]{1,64}$/)))
})
export type RolloutInput = typeof RolloutInput.Type

/** What `GET /api/sdk/prompts/:key` answers: PromptOps's five fields plus what was served and why. */
export const SdkPrompt = Schema.Struct({
  key: Schema.String,
  version: Schema.String,
  env: Schema.String,
  model: Schema.String,
  content: Schema.String,
  /** The variant letter (`A`, `B`, ...) when a rollout chose the version. */
  variant: Schema.optionalKey(Schema.String),
  /** The published version's number; `null` when the working copy is served (`serving: "live"`). */
  version_number: Schema.NullOr(Schema.Number),
  /** The workspace's serving mode: `live` (the working copy) or `published` (the live version). */
  serving: Schema.Literals(["live", "published"]),
  rollout_id: Schema.NullOr(Schema.String),
  /** Whether every call with the same stickiness value gets this version. */
  sticky: Schema.Boolean,
  id: Schema.String,
  workspace_id: Schema.String
})
export type SdkPrompt = typeof SdkPrompt.Type

export const SdkQuery = Schema.Struct({
  env: Schema.optionalKey(Schema.String),
  workspace: Schema.optionalKey(Schema.String),
  sticky_key: Schema.optionalKey(Schema.String),
  stickyKey: Schema.optionalKey(Schema.String),
  user_id: Schema.optionalKey(Schema.String),
  userId: Schema.optionalKey(Schema.String),
  session_id: Schema.optionalKey(Schema.String),
  sessionId: Schema.optionalKey(Schema.String)
})
export type SdkQuery = typeof SdkQuery.Type

/** One run of a line diff. */
export const DiffChange = Schema.Struct({
  op: Schema.Literals(["equal", "insert", "delete"]),
  lines: Schema.Array(Schema.String)
})

export const VersionDiff = Schema.Struct({
  prompt_id: Schema.String,
  from: Schema.String,
  to: Schema.String,
  /** Unified diff text (empty when equal). */
  unified: Schema.String,
  changes: Schema.Array(DiffChange),
  added: Schema.Number,
  removed: Schema.Number
})
export type VersionDiff = typeof VersionDiff.Type

/** A live hot-reload connection (`GET /api/clients`), as PromptOps lists them. */
export const ClientConnection = Schema.Struct({
  id: Schema.String,
  client_type: Schema.String,
  app: Schema.String,
  namespace: Schema.String,
  remote_addr: Schema.String,
  user_agent: Schema.String,
  connected_at: Timestamp,
  /** The principal that opened it. */
  principal_id: Schema.String,
  /** Events delivered so far; the last event sequence number sent. */
  delivered: Schema.Number,
  last_seq: Schema.Number
})

/** A hot-reload event as pushed on `/ws` (PromptOps's `{type, id, key, env, version}` plus more). */
export const ChangeEvent = Schema.Struct({
  ...ChangeData.fields,
  /** Position in the organization's change stream: reconnect with `?since=<seq>` to catch up. */
  seq: Schema.Number
})
export type ChangeEvent = typeof ChangeEvent.Type

export const VariableValue = Schema.Union([Schema.String, Schema.Number, Schema.Boolean])

export const PlaygroundRunRequest = Schema.Struct({
  /** Render a prompt's working copy by id... */
  id: Schema.optionalKey(Schema.String),
  /** ...or what SDKs are served for a key and environment... */
  key: Schema.optionalKey(Schema.String),
  env: Schema.optionalKey(Schema.String),
  /**
   * The workspace of `key`; for inline `content`, the workspace whose provider configuration
   * applies (a prompt by `id` or `key` uses its own workspace's).
   */
  workspace_id: Schema.optionalKey(Schema.String),
  /** ...pinned to a published version of the prompt (`v2`, `2`)... */
  version: Schema.optionalKey(VersionRef),
  /** ...or inline content. */
  content: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(200_000))),
  variables: Schema.optionalKey(Schema.Record(Schema.String, VariableValue)),
  /** `mock` (default) or `openai`. */
  provider: Schema.optionalKey(Schema.String),
  model: Schema.optionalKey(Schema.String),
  api_key: Schema.optionalKey(Schema.String),
  base_url: Schema.optionalKey(Schema.String)
})
export type PlaygroundRunRequest = typeof PlaygroundRunRequest.Type

export const PlaygroundResult = Schema.Struct({
  provider: Schema.String,
  model: Schema.String,
  output: Schema.String,
  prompt_tokens: Schema.Number,
  output_tokens: Schema.Number,
  latency_ms: Schema.Number
})

export const PlaygroundRunResponse = Schema.Struct({
  rendered: Schema.String,
  result: PlaygroundResult,
  run_id: Schema.String,
  /** Variables the template uses that the request did not give: left as `{{name}}` in `rendered`. */
  missing_variables: Schema.Array(Schema.String)
})
export type PlaygroundRunResponse = typeof PlaygroundRunResponse.Type

/** `?workspace=`: which workspace's provider configuration (empty or absent: the default one). */
export const WorkspaceQuery = {
  workspace: Schema.optionalKey(WorkspaceId)
}

/**
 * The OpenAI-compatible provider configuration of one workspace, as admins read it. The API
 * key is write-only: a read says whether one is set and shows its last four characters
 * (for keys of twelve characters or more), never the key.
 */
export const ProviderConfig = Schema.Struct({
  provider: Schema.String,
  workspace_id: Schema.String,
  base_url: Schema.String,
  /** The workspace's default model; empty: the environment's default (`TRELLIS_OPENAI_MODEL`). */
  model: Schema.String,
  api_key_set: Schema.Boolean,
  api_key_last4: Schema.String,
  /** Whether this server's secret key opens the stored API key (see `TRELLIS_SECRET_KEY`). */
  api_key_readable: Schema.Boolean,
  created_by: Schema.String,
  updated_by: Schema.String,
  created_at: Timestamp,
  updated_at: Timestamp
})
export type ProviderConfig = typeof ProviderConfig.Type

/**
 * The PUT body. `api_key`: a string sets it, `null` removes it, absent keeps the stored one
 * (only while the base URL keeps its origin: a key is never sent to a server it was not
 * saved for). `model` absent or empty: the environment's default model.
 */
export const ProviderConfigInput = Schema.Struct({
  base_url: Schema.String,
  api_key: Schema.optionalKey(Schema.NullOr(Schema.String)),
  model: Schema.optionalKey(Schema.String)
})
export type ProviderConfigInput = typeof ProviderConfigInput.Type

/** One provider as `GET /api/playground/providers` describes it for a workspace. */
export const ProviderStatus = Schema.Struct({
  name: Schema.String,
  configured: Schema.Boolean,
  /** `builtin` (mock), `workspace`, `environment`, or `none` (not configured). */
  source: Schema.Literals(["builtin", "workspace", "environment", "none"]),
  /** The model used when neither the request nor the prompt names one; `null` when not configured. */
  default_model: Schema.NullOr(Schema.String)
})
export type ProviderStatus = typeof ProviderStatus.Type

/** `GET /api/playground/providers`: PromptOps's list of names (`data`), plus each one's state. */
export const ProvidersList = Schema.Struct({
  data: Schema.Array(Schema.String),
  workspace_id: Schema.String,
  providers: Schema.Array(ProviderStatus)
})

export const ModelInfo = Schema.Struct({
  id: Schema.String,
  provider: Schema.String,
  name: Schema.String
})
export type ModelInfo = typeof ModelInfo.Type

export const UsageRow = Schema.Struct({
  day: Schema.String,
  provider: Schema.String,
  model: Schema.String,
  calls: Schema.Number,
  errors: Schema.Number,
  prompt_tokens: Schema.Number,
  output_tokens: Schema.Number
})

export const LlmUsage = Schema.Struct({
  usage: Schema.Array(UsageRow),
  totals: Schema.Struct({
    calls: Schema.Number,
    errors: Schema.Number,
    prompt_tokens: Schema.Number,
    output_tokens: Schema.Number
  })
})
export type LlmUsage = typeof LlmUsage.Type

export const Ok = Schema.Struct({ ok: Schema.Boolean })

/** How a workspace's prompts are served to SDKs: the working copy (PromptOps) or published versions only. */
export const ServingMode = Schema.Literals(["live", "published"])
export type ServingMode = typeof ServingMode.Type

/** A workspace's prompt settings (`GET /api/prompts/settings?workspace=`). */
export const PromptSettings = Schema.Struct({
  workspace_id: Schema.String,
  /**
   * `live` (default, as PromptOps): SDK fetch serves the working copy right after every save;
   * `published`: only published versions are served (publishing is a release gate).
   * An enabled rollout chooses among published versions in both modes.
   */
  serving: ServingMode,
  /** Who last changed them, and when; `null` while the defaults apply. */
  updated_by: Schema.NullOr(Schema.String),
  updated_at: Schema.NullOr(Timestamp)
})
export type PromptSettings = typeof PromptSettings.Type

export const PromptSettingsInput = Schema.Struct({
  serving: ServingMode
})
export type PromptSettingsInput = typeof PromptSettingsInput.Type
