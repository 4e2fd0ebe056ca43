/**
 * What an endpoint (or RPC) requires of its caller, declared next to it in the contract.
 *
 * Every authenticated endpoint carries a `Requires` annotation; the authentication middleware
 * reads it after resolving the principal and refuses the call before the handler runs. An
 * endpoint without one is refused too (deny by default), and a test walks the composed API
 * and fails on any authenticated endpoint that declares nothing.
 *
 * - Users (sessions and user keys) are checked by role: viewer reads and runs, editor writes,
 *   admin manages users, keys and settings; owner is above admin.
 * - Service keys are checked by scope only, and only reach endpoints that name a scope.
 * - The static admin token passes every check.
 *
 * ```ts
 * HttpApiEndpoint.get("list", "/api/things", { ... }).annotate(Requires, Requirement.read("things"))
 * ```
 *
 * Client-safe: imports only `effect`.
 */
import { Context } from "effect"
import type { Role } from "./Principal.ts"

/** Which rate-limit budget a call spends (see `TRELLIS_RATE_LIMIT_*`). */
export type LimitClass = "default" | "run" | "settings"

export interface Requirement {
  /** The lowest role a user principal (session or user key) needs. */
  readonly role: Role
  /** The scope a service key must hold; `null` keeps service keys out entirely. */
  readonly scope: string | null
  /** The rate-limit budget the call spends. */
  readonly limit: LimitClass
  /** A live stream: counts against the per-principal concurrent stream limit. */
  readonly stream: boolean
}

/** The endpoint's requirement; `undefined` on an authenticated endpoint is refused (deny by default). */
export const Requires = Context.Reference<Requirement | undefined>("trellis/auth/Requires", {
  defaultValue: () => undefined
})

/**
 * Marks an endpoint (or a whole group) that anyone may call, with the reason: sign-in, health,
 * signup. The host refuses to start on an HttpApi endpoint that declares neither `Requires` nor
 * `Public`, naming it; an endpoint behind `Authentication` must declare `Requires`.
 *
 * ```ts
 * HttpApiGroup.make("login").annotate(Public, "signing in").add(...)
 * ```
 */
export const Public = Context.Reference<string | undefined>("trellis/auth/Public", {
  defaultValue: () => undefined
})

const make = (role: Role, scope: string | null, options?: Partial<Pick<Requirement, "limit" | "stream">>): Requirement => ({
  role,
  scope,
  limit: options?.limit ?? "default",
  stream: options?.stream ?? false
})

/** Reads: viewer and up; service keys with `<domain>:read`. */
export const read = (domain: string, options?: Partial<Pick<Requirement, "limit" | "stream">>): Requirement =>
  make("viewer", `${domain}:read`, options)

/** Runs (start a run, render a prompt): viewer and up; service keys with `<domain>:run`; the run budget. */
export const run = (domain: string, scope: string = `${domain}:run`): Requirement => make("viewer", scope, { limit: "run" })

/** Writes: editor and up; service keys with `<domain>:write` (or the given scope). */
export const write = (domain: string, scope: string = `${domain}:write`): Requirement => make("editor", scope)

/** Management (users, keys, settings): admin and up; service keys never. */
export const admin = (options?: Partial<Pick<Requirement, "limit">>): Requirement => make("admin", null, options)

/** Settings writes: admin and up, the settings budget; service keys never. */
export const settings = (): Requirement => make("admin", null, { limit: "settings" })

/** Any signed-in member acting for themselves (`me`, their own keys); service keys never. */
export const member = (): Requirement => make("viewer", null)

/** A custom requirement. */
export const custom = make

/** Live streams: viewer and up, service keys with `<domain>:read`; counted against the stream limit. */
export const stream = (domain: string): Requirement => make("viewer", `${domain}:read`, { stream: true })
