/**
 * PromptOps knows three roles (`admin`, `editor`, `viewer`) and its console checks
 * `role === 'admin'` to show administration. Trellis has `owner` above `admin`, so on PromptOps's
 * paths (`/api/login`, `/api/me`, `/api/users`) an owner is shown as `admin`, with the Trellis
 * role beside it in `trellis_role`.
 *
 * Client-safe: imports only `effect`.
 */
import { Schema } from "effect"
import type { Role } from "../auth/Principal.ts"

export const PromptOpsRole = Schema.Literals(["viewer", "editor", "admin"])
export type PromptOpsRole = typeof PromptOpsRole.Type

/** The role as PromptOps names it: `owner` is `admin`. */
export const promptOpsRole = (role: Role): PromptOpsRole => role === "owner" ? "admin" : role
