/**
 * Per-workspace configuration of the OpenAI-compatible provider (base URL, API key, default
 * model), which organization admins set, read and remove, and which the playground uses for
 * the prompt's workspace in place of the environment's (see `Providers.resolveOpenai`).
 *
 * The API key is write-only: it is sealed with the server's secret key (the platform's
 * `SecretBox`, AES-256-GCM, bound to the organization, workspace and provider) before it is
 * stored, and reads show only whether one is set and its last four characters. It is never
 * returned, logged or audited. Every statement names the caller's organization; a workspace is the same
 * free-form id prompts carry (`workspace_id`, empty: the organization's default workspace).
 */
import { Context, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { AuditLog, CurrentPrincipal, Row, SecretBox } from "trellis/plugin"
import type { ProviderConfig, ProviderConfigInput } from "./Domain.ts"
import { InvalidProviderConfig, ProviderAddressRefused, SecretKeyUnavailable } from "./Errors.ts"
import { PromptsConfig } from "./PromptsConfig.ts"
import { WorkspaceProviders } from "./PromptsService.ts"
import type { ProviderRequest, ProviderTarget } from "./PromptsService.ts"
import * as Providers from "./Providers.ts"

/** The one configurable provider today. */
const provider = "openai"

/** Longest accepted base URL, API key and model name. */
const limits = { baseUrl: 2000, apiKey: 4096, model: 200 } as const

/** Keys shorter than this show no last four characters (they would give away too much of it). */
const minimumKeyForHint = 12

interface ConfigRow {
  readonly workspace_id: string
  readonly base_url: string
  readonly model: string
  readonly api_key_sealed: string | null
  readonly api_key_last4: string
  readonly created_by: string
  readonly updated_by: string
  readonly created_at: Date | string
  readonly updated_at: Date | string
}

type Issue = { readonly path: string; readonly message: string }

/** What is wrong with a PUT body, before anything is resolved or stored. Never quotes the key. */
export const validateInput = (input: ProviderConfigInput): ReadonlyArray<Issue> => {
  const issues: Array<Issue> = []
  const baseUrl = input.base_url.trim()
  if (baseUrl === "") issues.push({ path: "body.base_url", message: "A base URL is required" })
  else if (baseUrl.length > limits.baseUrl) issues.push({ path: "body.base_url", message: `At most ${limits.baseUrl} characters` })
  else if (!URL.canParse(baseUrl)) issues.push({ path: "body.base_url", message: "Not a URL" })
  else {
    const url = new URL(baseUrl)
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      issues.push({ path: "body.base_url", message: "The base URL must be http or https" })
    }
    if (url.username !== "" || url.password !== "") {
      issues.push({ path: "body.base_url", message: "The base URL must not carry credentials: send the key as api_key" })
    }
    if (url.search !== "" || url.hash !== "") {
      issues.push({ path: "body.base_url", message: "The base URL must not have a query or a fragment" })
    }
  }
  const key = input.api_key
  if (typeof key === "string") {
    if (key.trim() === "") issues.push({ path: "body.api_key", message: "The API key is empty (send null to remove the stored key)" })
    else if (key.length > limits.apiKey) issues.push({ path: "body.api_key", message: `At most ${limits.apiKey} characters` })
    else if (!/^[\x21-\x7e]+$/.test(key)) {
      issues.push({ path: "body.api_key", message: "The API key must be printable ASCII without spaces" })
    }
  }
  if (input.model !== undefined && input.model.trim().length > limits.model) {
    issues.push({ path: "body.model", message: `At most ${limits.model} characters` })
  }
  return issues
}


/** What the sealed key is bound to: opening it anywhere else fails. */
const sealContext = (organizationId: string, workspaceId: string) =>
  JSON.stringify(["prompts.provider", provider, organizationId, workspaceId])

type WithPrincipal<A, E> = Effect.Effect<A, E, CurrentPrincipal>

export class ProviderSettings extends Context.Service<ProviderSettings, {
  /** The workspace's configuration, `null` when it has none. */
  readonly get: (workspaceId: string) => WithPrincipal<ProviderConfig | null, never>
  /** Creates or replaces the workspace's configuration (the key is kept when `api_key` is absent). */
  readonly set: (
    workspaceId: string,
    input: ProviderConfigInput
  ) => WithPrincipal<ProviderConfig, InvalidProviderConfig | ProviderAddressRefused | SecretKeyUnavailable>
  /** Removes it (nothing to remove is not an error). */
  readonly remove: (workspaceId: string) => WithPrincipal<void, never>
  /** For a call: the workspace's endpoint with its key opened; `null` when it has none. */
  readonly openai: (organizationId: string, workspaceId: string) => Effect.Effect<Providers.OpenaiSettings | null, SecretKeyUnavailable>
  /** For descriptions: the workspace's endpoint without opening the key; `null` when it has none. */
  readonly describe: (
    organizationId: string,
    workspaceId: string
  ) => Effect.Effect<{ readonly baseUrl: string; readonly model: string; readonly apiKeySet: boolean } | null>
}>()("prompts/ProviderSettings") {
  static readonly layer = Layer.effect(
    ProviderSettings,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const audit = yield* AuditLog
      const box = yield* SecretBox
      const config = yield* PromptsConfig

      const columns = sql.literal(
        "workspace_id, base_url, model, api_key_sealed, api_key_last4, created_by, updated_by, created_at, updated_at"
      )

      const find = (organizationId: string, workspaceId: string, lock = false): Effect.Effect<ConfigRow | undefined, SqlError> =>
        sql<ConfigRow>`SELECT ${columns} FROM prompts.provider_configs
          WHERE organization_id = ${organizationId} AND workspace_id = ${workspaceId} AND provider = ${provider}
          ${lock ? sql.literal("FOR UPDATE") : sql.literal("")}`.pipe(Effect.map((rows) => rows[0]))

      const toConfig = (row: ConfigRow): ProviderConfig => ({
        provider,
        workspace_id: row.workspace_id,
        base_url: row.base_url,
        model: row.model,
        api_key_set: row.api_key_sealed !== null,
        api_key_last4: row.api_key_last4,
        api_key_readable: row.api_key_sealed === null || box.canOpen(row.api_key_sealed),
        created_by: row.created_by,
        updated_by: row.updated_by,
        created_at: Row.iso(row.created_at),
        updated_at: Row.iso(row.updated_at)
      })

      const invalid = (issues: ReadonlyArray<Issue>) =>
        new InvalidProviderConfig({ errors: issues, detail: issues.map((i) => `${i.path}: ${i.message}`).join("; ") })

      const get = Effect.fn("ProviderSettings.get")(function*(workspaceId: string) {
        const principal = yield* CurrentPrincipal
        const row = yield* find(principal.organizationId, workspaceId)
        return row === undefined ? null : toConfig(row)
      }, Effect.orDie)

      const set = Effect.fn("ProviderSettings.set")(function*(workspaceId: string, input: ProviderConfigInput) {
        const principal = yield* CurrentPrincipal
        const org = principal.organizationId
        const issues = validateInput(input)
        if (issues.length > 0) return yield* invalid(issues)
        const baseUrl = input.base_url.trim().replace(/\/+$/, "")
        const model = (input.model ?? "").trim()
        // The same check as before every call, before anything is written.
        const checked = yield* Effect.result(Providers.checkBaseUrl(baseUrl, config.allowPrivate))
        if (checked._tag === "Failure") {
          const failure = checked.failure
          if (failure._tag === "AddressRefused") {
            return yield* new ProviderAddressRefused({ base_url: failure.baseUrl, detail: failure.message })
          }
          return yield* invalid([{ path: "body.base_url", message: failure.message }])
        }
        return yield* sql.withTransaction(Effect.gen(function*() {
          const before = yield* Effect.orDie(find(org, workspaceId, true))
          let sealed: string | null
          let last4: string
          let keyChange: "set" | "kept" | "removed" | "none"
          if (typeof input.api_key === "string") {
            sealed = yield* box.seal(input.api_key, sealContext(org, workspaceId))
            last4 = input.api_key.length >= minimumKeyForHint ? input.api_key.slice(-4) : ""
            keyChange = "set"
          } else if (input.api_key === null || before === undefined || before.api_key_sealed === null) {
            sealed = null
            last4 = ""
            keyChange = input.api_key === null && before !== undefined && before.api_key_sealed !== null ? "removed" : "none"
          } else {
            if (!Providers.sameOrigin(baseUrl, before.base_url)) {
              return yield* invalid([{
                path: "body.api_key",
                message: "The base URL moves to another server: send the API key again (or null for none); " +
                  "a stored key is only sent to the server it was saved for"
              }])
            }
            sealed = before.api_key_sealed
            last4 = before.api_key_last4
            keyChange = "kept"
          }
          const rows = yield* sql<ConfigRow>`INSERT INTO prompts.provider_configs
              (organization_id, workspace_id, provider, base_url, model, api_key_sealed, api_key_last4, created_by, updated_by)
            VALUES (${org}, ${workspaceId}, ${provider}, ${baseUrl}, ${model}, ${sealed}, ${last4}, ${principal.id}, ${principal.id})
            ON CONFLICT (organization_id, workspace_id, provider) DO UPDATE SET
              base_url = EXCLUDED.base_url, model = EXCLUDED.model, api_key_sealed = EXCLUDED.api_key_sealed,
              api_key_last4 = EXCLUDED.api_key_last4, updated_by = EXCLUDED.updated_by, updated_at = now()
            RETURNING ${columns}`.pipe(Effect.orDie)
          yield* audit.record("prompts.provider.set", { type: "provider_config", id: `${provider}:${workspaceId}` }, {
            provider,
            workspace_id: workspaceId,
            base_url: baseUrl,
            model,
            api_key: keyChange,
            created: before === undefined
          })
          return toConfig(rows[0])
        })).pipe(Row.dieOnInfrastructure)
      })

      const remove = Effect.fn("ProviderSettings.remove")(function*(workspaceId: string) {
        const principal = yield* CurrentPrincipal
        yield* sql.withTransaction(Effect.gen(function*() {
          const deleted = yield* sql<{ readonly base_url: string }>`DELETE FROM prompts.provider_configs
            WHERE organization_id = ${principal.organizationId} AND workspace_id = ${workspaceId} AND provider = ${provider}
            RETURNING base_url`
          if (deleted[0] === undefined) return
          yield* audit.record("prompts.provider.delete", { type: "provider_config", id: `${provider}:${workspaceId}` }, {
            provider,
            workspace_id: workspaceId,
            base_url: deleted[0].base_url
          })
        }))
      }, Effect.orDie)

      const openai = Effect.fn("ProviderSettings.openai")(function*(organizationId: string, workspaceId: string) {
        const row = yield* Effect.orDie(find(organizationId, workspaceId))
        if (row === undefined) return null
        const apiKey = row.api_key_sealed === null
          ? undefined
          : Redacted.make(yield* box.open(row.api_key_sealed, sealContext(organizationId, workspaceId)))
        return { baseUrl: row.base_url, apiKey, model: row.model } satisfies Providers.OpenaiSettings
      })

      const describe = Effect.fn("ProviderSettings.describe")(function*(organizationId: string, workspaceId: string) {
        const row = yield* find(organizationId, workspaceId)
        return row === undefined ? null : { baseUrl: row.base_url, model: row.model, apiKeySet: row.api_key_sealed !== null }
      }, Effect.orDie)

      return ProviderSettings.of({ get, set, remove, openai, describe })
    })
  )
}

/**
 * `WorkspaceProviders` (the tag other plugins import from `PromptsService.ts`) on these
 * settings: the same resolution as the playground's (`Providers.resolveOpenai`).
 */
export const workspaceProvidersLayer = Layer.effect(
  WorkspaceProviders,
  Effect.gen(function*() {
    const settings = yield* ProviderSettings
    const config = yield* PromptsConfig
    const nonEmpty = (value: string | undefined) => value === undefined || value.trim() === "" ? undefined : value.trim()
    const passThrough = (request: ProviderRequest): ProviderTarget => {
      const baseUrl = nonEmpty(request.baseUrl)
      return { baseUrl, apiKey: request.apiKey, model: nonEmpty(request.model), source: baseUrl === undefined ? "environment" : "request" }
    }
    const providerFor = Effect.fn("WorkspaceProviders.providerFor")(
      function*(organizationId: string, workspaceId: string, provider: string, request: ProviderRequest = {}) {
        if (provider !== "openai") return passThrough(request)
        const workspace = yield* settings.openai(organizationId, workspaceId)
        if (workspace === null) return passThrough(request)
        const target = Providers.resolveOpenai(config, workspace, {
          baseUrl: request.baseUrl,
          apiKey: request.apiKey === undefined ? undefined : Redacted.value(request.apiKey),
          model: request.model
        })
        return {
          baseUrl: target.baseUrl,
          apiKey: target.apiKey,
          model: target.model,
          source: target.source === "request" ? "request" : "workspace"
        } satisfies ProviderTarget
      }
    )
    return WorkspaceProviders.of({ providerFor })
  })
)
