/**
 * Problems of actions and approval chains, in Surflet's codes (see `Errors.ts`).
 *
 * Client-safe: imports only `effect` and `trellis/contract`.
 */
import { Schema } from "effect"
import { Problem, typeFor } from "trellis/contract"

/** 404: the page has no action with this id (`actionIds` lists the ones it has). */
export class ActionNotFound extends Problem<ActionNotFound>()("ActionNotFound", {
  code: "NOT_FOUND",
  type: typeFor("ACTION_NOT_FOUND"),
  status: 404,
  title: "The page has no such action"
}, { pageId: Schema.String, actionId: Schema.String, actionIds: Schema.Array(Schema.String) }) {}

/**
 * 409: the decision comes too late or twice: this person already decided this step, the
 * action already executed, or the chain is settled. Nothing was recorded.
 */
export class DecisionConflict extends Problem<DecisionConflict>()("DecisionConflict", {
  code: "CONFLICT",
  type: typeFor("DECISION_CONFLICT"),
  status: 409,
  title: "This decision was already made"
}, { pageId: Schema.String, reason: Schema.Literals(["already_decided", "already_executed", "chain_settled"]) }) {}

export const decisionProblems = [ActionNotFound, DecisionConflict] as const
