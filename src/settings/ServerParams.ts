/**
 * The server parameters of each organization (`ServerParam.ts`): the declared defaults merged
 * with what the organization set, kept in `identity.organizations.settings` under `params`
 * (secrets sealed with `SecretBox`, bound to the organization and key). Reads for the server's
 * own use (`values`) open secrets; the HTTP view (`view`) masks them. An update is checked
 * against the declarations as a whole before anything is written, and runs under a row lock,
 * so two racing updates both apply (neither overwrites the other's keys).
 */
import { Context, Effect, Layer } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import type { SecretKeyUnavailable } from "../problem/Problems.ts"
import { SecretBox } from "../secrets/SecretBox.ts"
import * as ServerParam from "./ServerParam.ts"
import type { Declaration, Value } from "./ServerParam.ts"

export interface ParamIssue {
  readonly key: string
  readonly message: string
}

export interface View {
  readonly data: Readonly<Record<string, Value>>
  readonly meta: {
    readonly params: ReadonlyArray<{
      readonly key: string
      readonly type: Declaration["type"]
      readonly secret: boolean
      readonly default: Value
      readonly description: string
      /** Whether the organization set it (else the default applies). */
      readonly set: boolean
      readonly min: number | null
      readonly max: number | null
      readonly values: ReadonlyArray<string> | null
    }>
  }
}

export class ServerParams extends Context.Service<ServerParams, {
  readonly declarations: ReadonlyArray<Declaration>
  /** The organization's values, defaults filled in and secrets opened (for the server's own use; never answer them). */
  readonly values: (organizationId: string) => Effect.Effect<Readonly<Record<string, Value>>, SecretKeyUnavailable>
  /** The organization's values as an API answers them: secrets masked. */
  readonly view: (organizationId: string) => Effect.Effect<View>
  /**
   * Applies a partial update: every key declared and every value of its type (else the issues,
   * and nothing is written). `null` resets a key to its default; a secret sent back as the mask
   * is left as it is.
   */
  readonly update: (organizationId: string, patch: Readonly<Record<string, unknown>>) => Effect.Effect<
    { readonly changed: ReadonlyArray<string> } | { readonly issues: ReadonlyArray<ParamIssue> },
    SecretKeyUnavailable
  >
}>()("trellis/settings/ServerParams") {
  /** The service over these declarations (the platform's and every plugin's); a key declared twice stops the start. */
  static readonly layer = (declarations: ReadonlyArray<Declaration>) =>
    Layer.effect(
      ServerParams,
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const box = yield* SecretBox
        const byKey = new Map<string, Declaration>()
        for (const declaration of declarations) {
          if (!ServerParam.keyPattern.test(declaration.key)) {
            return yield* Effect.die(new Error(`Server parameter ${declaration.key}: keys are area.name in camelCase.`))
          }
          if (byKey.has(declaration.key)) return yield* Effect.die(new Error(`Server parameter ${declaration.key} is declared twice.`))
          byKey.set(declaration.key, declaration)
        }
        const sorted = [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key))
        const context = (organizationId: string, key: string) => JSON.stringify(["settings.param", organizationId, key])

        const stored = (organizationId: string, lock: boolean) =>
          (lock
            ? sql<{ readonly params: unknown }>`SELECT settings -> 'params' AS params FROM identity.organizations WHERE id = ${organizationId} FOR UPDATE`
            : sql<{ readonly params: unknown }>`SELECT settings -> 'params' AS params FROM identity.organizations WHERE id = ${organizationId}`).pipe(
            Effect.map((rows) => {
              const raw = rows[0]?.params
              const parsed: unknown = typeof raw === "string" ? JSON.parse(raw) : raw
              return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? parsed as Record<string, Value> : {}
            }),
            Effect.orDie
          )

        const values = (organizationId: string) =>
          Effect.gen(function*() {
            const set = yield* stored(organizationId, false)
            const result: Record<string, Value> = {}
            for (const d of sorted) {
              const value = set[d.key]
              if (value === undefined || value === null) result[d.key] = d.default
              else if (d.type === "secret" && typeof value === "string") result[d.key] = yield* box.open(value, context(organizationId, d.key))
              else result[d.key] = value
            }
            return result
          })

        const view = (organizationId: string) =>
          Effect.map(stored(organizationId, false), (set): View => ({
            data: Object.fromEntries(sorted.map((d) => {
              const value = set[d.key]
              const isSet = value !== undefined && value !== null
              return [d.key, d.type === "secret" ? (isSet ? ServerParam.mask : null) : isSet ? value : d.default]
            })),
            meta: {
              params: sorted.map((d) => ({
                key: d.key,
                type: d.type,
                secret: d.type === "secret",
                default: d.default,
                description: d.description,
                set: set[d.key] !== undefined && set[d.key] !== null,
                min: d.min ?? null,
                max: d.max ?? null,
                values: d.values ?? null
              }))
            }
          }))

        const update = (organizationId: string, patch: Readonly<Record<string, unknown>>) =>
          Effect.gen(function*() {
            const issues: Array<ParamIssue> = []
            for (const [key, value] of Object.entries(patch)) {
              const d = byKey.get(key)
              if (d === undefined) {
                issues.push({ key, message: "is not a server parameter" })
                continue
              }
              const problem = ServerParam.problemOf(d, value)
              if (problem !== undefined) issues.push({ key, message: problem })
            }
            if (issues.length > 0) return { issues }
            // Secrets are sealed before the transaction (no encryption under the row lock).
            const sealed: Record<string, Value> = {}
            for (const [key, value] of Object.entries(patch)) {
              const d = byKey.get(key)
              if (d?.type === "secret" && typeof value === "string" && value !== ServerParam.mask) {
                sealed[key] = yield* box.seal(value, context(organizationId, key))
              }
            }
            return yield* sql.withTransaction(Effect.gen(function*() {
              const current = { ...(yield* stored(organizationId, true)) }
              const changed: Array<string> = []
              for (const [key, value] of Object.entries(patch)) {
                const d = byKey.get(key)
                if (d === undefined) continue
                if (d.type === "secret" && value === ServerParam.mask) continue
                const next = value === null ? undefined : d.type === "secret" ? sealed[key] : value as Value
                if (next === undefined) {
                  if (key in current) {
                    delete current[key]
                    changed.push(key)
                  }
                } else if (current[key] !== next) {
                  current[key] = next
                  changed.push(key)
                }
              }
              if (changed.length > 0) {
                yield* sql`
                  UPDATE identity.organizations
                  SET settings = jsonb_set(settings, '{params}', ${JSON.stringify(current)}::jsonb, true)
                  WHERE id = ${organizationId}`
              }
              return { changed }
            })).pipe(Effect.orDie)
          })

        return ServerParams.of({ declarations: sorted, values, view, update })
      })
    )
}
