/**
 * The problems of seed 002's sign-in: an ability nobody knows, and an elevated ability the
 * user's role does not allow.
 *
 * Client-safe: imports only `effect`.
 */
import { Schema } from "effect"
import { Problem } from "../problem/Problem.ts"

/** 422: `abilities` names something that is not one of seed 002's abilities. */
export class UnknownAbility extends Problem<UnknownAbility>()("UnknownAbility", {
  code: "unknown_ability",
  status: 422,
  title: "Unknown ability"
}, { abilities: Schema.Array(Schema.String), available: Schema.Array(Schema.String) }) {}

/** 403: an elevated ability (`git:push`, `settings:write`) the user's role does not allow. */
export class AbilityNotAllowed extends Problem<AbilityNotAllowed>()("AbilityNotAllowed", {
  code: "ability_not_allowed",
  status: 403,
  title: "Ability not allowed for your role"
}, { ability: Schema.String, required: Schema.String, current: Schema.String }) {}

export const mobileProblems = [UnknownAbility, AbilityNotAllowed] as const
