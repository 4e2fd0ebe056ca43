/**
 * Seed 002's token abilities (Laravel Sanctum's): a mobile token names the abilities it holds,
 * and an endpoint whose `Requires` scope is one of them may be called only with a token that
 * holds it (the role check applies as well). Scopes that are not abilities (`tickets:read`,
 * `prompts:write`, ...) are left to the role, so a mobile token reaches the rest of Trellis as
 * its user does.
 *
 * Client-safe: imports nothing.
 */

/** Every ability seed 002 documents. */
export const all = [
  "projects:read",
  "projects:write",
  "runs:start",
  "runs:control",
  "git:commit",
  "git:push",
  "settings:read",
  "settings:write"
] as const

export type Ability = typeof all[number]

/** What the mobile app's token gets when it names none (seed 002: everything but the elevated ones). */
export const defaults: ReadonlyArray<Ability> = [
  "projects:read",
  "projects:write",
  "runs:start",
  "runs:control",
  "git:commit",
  "settings:read"
]

/** Granted only when asked for by name, and only to a user whose role allows them. */
export const elevated: ReadonlyArray<Ability> = ["git:push", "settings:write"]

const names: ReadonlySet<string> = new Set(all)

export const isAbility = (scope: string): scope is Ability => names.has(scope)
