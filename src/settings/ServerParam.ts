/**
 * Server parameters: an organization's runtime settings that the platform and plugins declare
 * (a plugin lists its own in `Plugin.params`), stored per organization and edited through seed
 * 002's `/api/settings/server-params`. A declaration gives the key (`area.name`, camelCase),
 * the type the value is checked against, the default (what an organization that set nothing
 * gets) and whether it is a secret (sealed at rest, masked in every answer, never echoed).
 *
 * Client-safe: imports nothing.
 */

export type Value = boolean | number | string | null

export interface Declaration {
  /** `area.name` in camelCase, e.g. `safety.autoGitPush`. */
  readonly key: string
  readonly type: "boolean" | "integer" | "string" | "secret"
  /** What applies while an organization has not set it (`null` for secrets). */
  readonly default: Value
  readonly description: string
  /** Integers: the range. */
  readonly min?: number | undefined
  readonly max?: number | undefined
  /** Strings: the allowed values, if a closed set. */
  readonly values?: ReadonlyArray<string> | undefined
}

/** What a secret shows as once set (nothing of it is ever answered). */
export const mask = "********"

/** Why a value does not fit its declaration, or `undefined` when it does (`null` always fits: it resets the parameter). */
export const problemOf = (declaration: Declaration, value: unknown): string | undefined => {
  if (value === null) return undefined
  switch (declaration.type) {
    case "boolean":
      return typeof value === "boolean" ? undefined : "must be true or false"
    case "integer": {
      if (typeof value !== "number" || !Number.isInteger(value)) return "must be a whole number"
      if (declaration.min !== undefined && value < declaration.min) return `must be at least ${declaration.min}`
      if (declaration.max !== undefined && value > declaration.max) return `must be at most ${declaration.max}`
      return undefined
    }
    case "string": {
      if (typeof value !== "string") return "must be a string"
      if (value.length > 1000) return "must be at most 1000 characters"
      if (declaration.values !== undefined && !declaration.values.includes(value)) return `must be one of ${declaration.values.join(", ")}`
      return undefined
    }
    case "secret":
      return typeof value === "string" && value.length > 0 && value.length <= 4096 ? undefined : "must be a non-empty string of at most 4096 characters"
  }
}

/** The key's shape: `area.name`, letters and digits, camelCase. */
export const keyPattern = /^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)+$/

/**
 * The platform's own parameters: seed 002's run defaults and safety flags. The runs plugin and
 * the git actions read them through `ServerParams`.
 */
export const platform: ReadonlyArray<Declaration> = [
  {
    key: "safety.autoGitPush",
    type: "boolean",
    default: false,
    description: "Push a run's branch after its review is approved (seed 002's safety.auto_git_push); a push also needs the git:push ability."
  },
  {
    key: "safety.safeModeDefault",
    type: "boolean",
    default: true,
    description: "A new run's safeMode when the request does not say."
  },
  {
    key: "runs.defaultAgent",
    type: "string",
    default: null,
    description: "The agent a new run uses when the request names none."
  },
  {
    key: "runs.defaultModel",
    type: "string",
    default: null,
    description: "The model a new run uses when the request names none."
  },
  {
    key: "git.pushToken",
    type: "secret",
    default: null,
    description: "The token run branches are pushed with (sealed at rest, never shown)."
  }
]
