/**
 * The prompts plugin's `Prompts` service as other plugins see it: the tag and its interface,
 * nothing of the implementation (`Prompts.ts` provides it; the plugin's layer outputs it). A
 * plugin that uses it declares `requires: ["prompts"]` and imports only this module (and the
 * contract modules it names).
 */
import { Context } from "effect"
import type { Effect, Redacted } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import type { CurrentPrincipal } from "trellis/contract"
import type {
  CreatePrompt,
  ListQuery,
  Prompt,
  PromptSettings,
  PromptSettingsInput,
  PromptVersion,
  Rollout,
  RolloutInput,
  ServingMode,
  UpdatePrompt,
  VersionDiff
} from "./Domain.ts"
import type {
  DiffTooLarge,
  SecretKeyUnavailable,
  InvalidRollout,
  PromptKeyTaken,
  PromptNotFound,
  VersionNotFound,
  VersionOfAnotherPrompt
} from "./Errors.ts"

/** What SDKs are served: a published version, or (`serving: "live"`) the working copy (`number: null`). */
export interface ServedVersion {
  readonly id: string
  readonly number: number | null
  readonly label: string
  readonly content: string
  readonly model: string
}

/** What SDK fetch needs for one key and environment: the live version and the active rollout. */
export interface ServedPrompt {
  readonly promptId: string
  readonly workspaceId: string
  readonly key: string
  readonly env: string
  /** The workspace's serving mode. */
  readonly serving: ServingMode
  /** Without an enabled rollout, what is served: the working copy (`live`) or the live version. */
  readonly live: ServedVersion
  readonly rollout: {
    readonly id: string
    readonly salt: string
    readonly variants: ReadonlyArray<ServedVersion & { readonly number: number; readonly weightBp: number }>
  } | null
}

/** The filters of `list`: the route's query. */
export type ListFilter = ListQuery

/** Two versions compared, as `GET /api/prompts/{id}/versions/diff` answers. */
export type Diff = VersionDiff

type WithPrincipal<A, E> = Effect.Effect<A, E, CurrentPrincipal>

export class Prompts extends Context.Service<Prompts, {
  readonly list: (filter: ListFilter) => WithPrincipal<ReadonlyArray<Prompt>, never>
  readonly create: (input: CreatePrompt) => WithPrincipal<Prompt, PromptKeyTaken>
  readonly get: (id: string) => WithPrincipal<Prompt, PromptNotFound>
  readonly update: (id: string, input: UpdatePrompt) => WithPrincipal<Prompt, PromptNotFound | PromptKeyTaken>
  readonly remove: (id: string) => WithPrincipal<void, PromptNotFound>
  readonly versions: (id: string) => WithPrincipal<ReadonlyArray<PromptVersion>, PromptNotFound>
  /** A published version of the prompt by label, number or id. */
  readonly version: (
    id: string,
    ref: string | number
  ) => WithPrincipal<PromptVersion, PromptNotFound | VersionNotFound | VersionOfAnotherPrompt>
  readonly diff: (
    id: string,
    from: string | undefined,
    to: string | undefined
  ) => WithPrincipal<Diff, PromptNotFound | VersionNotFound | VersionOfAnotherPrompt | DiffTooLarge>
  readonly publish: (id: string, note: string | undefined) => WithPrincipal<PromptVersion, PromptNotFound>
  readonly rollback: (
    id: string,
    ref: string | number
  ) => WithPrincipal<Prompt, PromptNotFound | VersionNotFound | VersionOfAnotherPrompt>
  readonly getRollout: (id: string) => WithPrincipal<Rollout | null, PromptNotFound>
  readonly setRollout: (id: string, input: RolloutInput) => WithPrincipal<Rollout, PromptNotFound | InvalidRollout>
  readonly deleteRollout: (id: string) => WithPrincipal<void, PromptNotFound>
  /** A workspace's prompt settings (the defaults when none were saved). */
  readonly settings: (workspace: string) => WithPrincipal<PromptSettings, never>
  /** Changes a workspace's settings; SDK caches and `/ws` clients learn of it. */
  readonly setSettings: (workspace: string, input: PromptSettingsInput) => WithPrincipal<PromptSettings, never>
  /**
   * What SDKs are served for `key` in `env`: the prompt in `workspace` when given, else the one
   * in the default workspace, else the oldest, among those that have something to serve (in a
   * `published` workspace: a published version). `null` when none has.
   */
  readonly served: (
    organizationId: string,
    key: string,
    env: string,
    workspace: string | undefined
  ) => Effect.Effect<ServedPrompt | null, SqlError>
}>()("prompts/Prompts") {}

/** What a caller asks of one model call (its own `base_url`, `api_key`, `model`, each optional). */
export interface ProviderRequest {
  readonly baseUrl?: string | undefined
  readonly apiKey?: Redacted.Redacted<string> | undefined
  readonly model?: string | undefined
}

/** Where one call goes: pass `baseUrl`, `apiKey` and `model` to `Models.generate` as they are. */
export interface ProviderTarget {
  readonly baseUrl: string | undefined
  /** The request's key, else the workspace's (opened) when the call goes to the origin it was saved for. Never log it. */
  readonly apiKey: Redacted.Redacted<string> | undefined
  readonly model: string | undefined
  /**
   * Which configuration supplied the endpoint: the request's `base_url`, the workspace's saved
   * one, or none here (`environment`: `Models` applies `TRELLIS_<PROVIDER>_*` itself).
   */
  readonly source: "request" | "workspace" | "environment"
}

/**
 * The per-workspace provider settings (`PUT /api/settings/providers/...`, the playground's) for
 * other plugins' model calls: agents' and workflows' steps resolve a call as the playground
 * does. Field by field, the request's `base_url` / `api_key` / `model`, then the workspace's
 * saved configuration, then the environment's (left to `Models`); a configured key only goes
 * to its own origin. The prompts plugin's layer outputs it.
 */
export class WorkspaceProviders extends Context.Service<WorkspaceProviders, {
  /**
   * Resolves a call to `provider` for a workspace of an organization (`""`: its default
   * workspace). Only `openai` (the OpenAI-compatible provider) has workspace settings today;
   * for others the request's fields pass through.
   */
  readonly providerFor: (
    organizationId: string,
    workspaceId: string,
    provider: string,
    request?: ProviderRequest
  ) => Effect.Effect<ProviderTarget, SecretKeyUnavailable>
}>()("prompts/WorkspaceProviders") {}
