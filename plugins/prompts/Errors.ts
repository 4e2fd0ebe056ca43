/**
 * The prompts plugin's problems: each has a status, a stable code and a problem `type`.
 * Every one of them is answered before anything is written.
 *
 * Client-safe.
 */
import { Schema } from "effect"
import { FieldIssue, Problem, Problems } from "trellis/contract"

export class PromptNotFound extends Problem<PromptNotFound>()("PromptNotFound", {
  code: "PROMPT_NOT_FOUND",
  status: 404,
  title: "Prompt not found"
}, { promptId: Schema.String }) {}

/** `GET /api/sdk/prompts/:key`: no prompt with that key in that environment has anything to serve (in a published-only workspace: a published version). */
export class PublishedPromptNotFound extends Problem<PublishedPromptNotFound>()("PublishedPromptNotFound", {
  code: "PUBLISHED_PROMPT_NOT_FOUND",
  status: 404,
  title: "No prompt with that key in that environment to serve"
}, { key: Schema.String, env: Schema.String }) {}

export class PromptKeyTaken extends Problem<PromptKeyTaken>()("PromptKeyTaken", {
  code: "PROMPT_KEY_TAKEN",
  status: 409,
  title: "A prompt with this key already exists in this workspace and environment"
}, { key: Schema.String, env: Schema.String, workspace_id: Schema.String }) {}

export class VersionNotFound extends Problem<VersionNotFound>()("VersionNotFound", {
  code: "VERSION_NOT_FOUND",
  status: 404,
  title: "Version not found"
}, { promptId: Schema.String, version: Schema.String }) {}

/** A version id that belongs to another prompt (rollback, rollout, diff). */
export class VersionOfAnotherPrompt extends Problem<VersionOfAnotherPrompt>()("VersionOfAnotherPrompt", {
  code: "VERSION_OF_ANOTHER_PROMPT",
  status: 422,
  title: "That version belongs to another prompt"
}, { promptId: Schema.String, version: Schema.String }) {}

/** A rollout body that cannot be served: unknown or unpublished versions, weights not summing to 100... */
export class InvalidRollout extends Problem<InvalidRollout>()("InvalidRollout", {
  code: "INVALID_ROLLOUT",
  status: 422,
  title: "Invalid rollout"
}, { errors: Schema.Array(FieldIssue) }) {}

/** A version diff over the line limit (both sides together): see `Diff.ts`. */
export class DiffTooLarge extends Problem<DiffTooLarge>()("DiffTooLarge", {
  code: "DIFF_TOO_LARGE",
  status: 422,
  title: "The versions are too large to diff"
}, { lines: Schema.Number, max_lines: Schema.Number }) {}

/** The playground request names nothing to render, or contradicts itself. */
export class InvalidPlaygroundRequest extends Problem<InvalidPlaygroundRequest>()("InvalidPlaygroundRequest", {
  code: "INVALID_PLAYGROUND_REQUEST",
  status: 400,
  title: "Invalid playground request"
}) {}

export class UnknownProvider extends Problem<UnknownProvider>()("UnknownProvider", {
  code: "UNKNOWN_PROVIDER",
  status: 400,
  title: "Unknown model provider"
}, { provider: Schema.String, available: Schema.Array(Schema.String) }) {}

/** An OpenAI-compatible base URL that points at a private, loopback or link-local address. */
export class ProviderAddressRefused extends Problem<ProviderAddressRefused>()("ProviderAddressRefused", {
  code: "PROVIDER_ADDRESS_REFUSED",
  status: 400,
  title: "Provider base URL refused"
}, { base_url: Schema.String }) {}

/** The provider is not configured (no API key, no base URL). */
export class ProviderNotConfigured extends Problem<ProviderNotConfigured>()("ProviderNotConfigured", {
  code: "PROVIDER_NOT_CONFIGURED",
  status: 400,
  title: "Provider not configured"
}, { provider: Schema.String }) {}

/** The model call failed; the run log has the details. */
export class ProviderFailed extends Problem<ProviderFailed>()("ProviderFailed", {
  code: "PROVIDER_FAILED",
  status: 502,
  title: "The model provider failed"
}, { provider: Schema.String, rendered: Schema.String, run_id: Schema.String }) {}

/**
 * A per-workspace provider configuration that cannot be saved: a base URL that is not an
 * http(s) URL (or has credentials, a query or a fragment, or does not resolve), an empty or
 * malformed API key, a new base URL without the key. Nothing is changed. The key itself is
 * never repeated in the answer.
 */
export class InvalidProviderConfig extends Problem<InvalidProviderConfig>()("InvalidProviderConfig", {
  code: "INVALID_PROVIDER_CONFIG",
  status: 400,
  title: "Invalid provider configuration"
}, { errors: Schema.Array(FieldIssue) }) {}

/**
 * The platform's problem (`SecretBox`) for a provider API key the server cannot encrypt, or a
 * stored one it cannot open (processes sharing one database need the same
 * `TRELLIS_SECRET_KEY`). The provider endpoints declare it; the platform's catalogue owns it.
 */
export const SecretKeyUnavailable = Problems.SecretKeyUnavailable
export type SecretKeyUnavailable = Problems.SecretKeyUnavailable
