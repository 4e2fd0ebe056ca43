/**
 * The runs plugin's problems. Members are camelCase with seed 002's documented extensions
 * (`runId`, `currentStatus` on a 409), so the mobile client's error handling works unchanged
 * once the HTTP contract serves them.
 *
 * Client-safe: imports only `effect`, `trellis/contract` and the domain.
 */
import { Schema } from "effect"
import { Problem } from "trellis/contract"
import { RunStatus } from "./Domain.ts"

/** 404: no such run in the caller's organization (another organization's answers the same). */
export class RunNotFound extends Problem<RunNotFound>()("RunNotFound", {
  code: "run_not_found",
  status: 404,
  title: "Run not found"
}, { runId: Schema.String }) {}

/**
 * 409: the control is not allowed from the run's current status (seed 002's "Run is not in a
 * startable state"), or another control changed the run first. Names the current status and
 * the controls allowed from it.
 */
export class RunStatusConflict extends Problem<RunStatusConflict>()("RunStatusConflict", {
  code: "run_status_conflict",
  status: 409,
  title: "The run is not in a status this control starts from"
}, {
  runId: Schema.String,
  currentStatus: RunStatus,
  transition: Schema.String,
  allowed: Schema.Array(Schema.String)
}) {}

/** 422: a step of the definition is invalid (unknown type, bad members, duplicate name, a jump backwards). */
export class InvalidRunDefinition extends Problem<InvalidRunDefinition>()("InvalidRunDefinition", {
  code: "invalid_run_definition",
  status: 422,
  title: "The run definition is invalid"
}, {
  stepIndex: Schema.NullOr(Schema.Int),
  step: Schema.NullOr(Schema.String),
  reason: Schema.String
}) {}


/**
 * The 409 of `POST /api/runs/{run}/start` on the wire: seed 002's example problem, with its
 * `type`, its `title`, `runId` as a number and `currentStatus` (and Trellis's `transition` and
 * `allowed`). The service's `RunStatusConflict` becomes this at the HTTP boundary.
 */
export class RunNotStartable extends Problem<RunNotStartable>()("RunNotStartable", {
  code: "run_not_startable",
  status: 409,
  title: "Run is not in a startable state",
  type: "https://docs.example.com/errors/run-not-startable"
}, {
  runId: Schema.Number,
  currentStatus: RunStatus,
  transition: Schema.String,
  allowed: Schema.Array(Schema.String)
}) {}

/**
 * The 409 of the other controls (pause, resume, cancel, retry, approve, reject) on the wire:
 * seed 002's extensions (`runId` as a number, `currentStatus`), with `transition` and the
 * controls `allowed` from the current status. Seed 002 names no `type` for these.
 */
export class RunNotControllable extends Problem<RunNotControllable>()("RunNotControllable", {
  code: "run_not_controllable",
  status: 409,
  title: "Run is not in a status this control starts from"
}, {
  runId: Schema.Number,
  currentStatus: RunStatus,
  transition: Schema.String,
  allowed: Schema.Array(Schema.String)
}) {}

/** 422: `POST /api/runs` names neither `steps` nor seed 002's `prompt` and `selectedAgent`. */
export class InvalidRunRequest extends Problem<InvalidRunRequest>()("InvalidRunRequest", {
  code: "invalid_run_request",
  status: 422,
  title: "The run request is invalid"
}, { reason: Schema.String }) {}

export const runProblems = [RunNotFound, RunStatusConflict, InvalidRunDefinition, RunNotStartable, RunNotControllable, InvalidRunRequest] as const
