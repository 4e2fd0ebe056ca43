/**
 * The runs plugin's domain: a run (a list of steps executed durably), its checkpoints (one per
 * completed step), its waits (approval, sleep) and its typed events. Members are camelCase, as
 * the mobile runs API (seed 002) that will serve them expects.
 *
 * Client-safe: imports only `effect`.
 */
import { Schema } from "effect"

/**
 * A run's status. Seed 002 names `draft`, `queued`, `running`, `paused`, `failed` and
 * `cancelled`; `waiting` (a sleep or an outside callback), `awaiting_approval` and `succeeded`
 * complete its machine (see `Lifecycle.ts`).
 */
export const RunStatus = Schema.Literals([
  "draft",
  "queued",
  "running",
  "paused",
  "waiting",
  "awaiting_approval",
  "succeeded",
  "failed",
  "cancelled"
])
export type RunStatus = typeof RunStatus.Type

/** Per-step retry policy: retries after the first attempt, first delay, exponential factor. */
export const RetryPolicy = Schema.Struct({
  limit: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 20 })),
  delayMs: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 600_000 }))),
  factor: Schema.optionalKey(Schema.Number.check(Schema.isBetween({ minimum: 1, maximum: 10 })))
})
export type RetryPolicy = typeof RetryPolicy.Type

/**
 * One step of a run's definition: a name (unique in the run), a type from the step registry,
 * optional timeout and retry overrides, and the type's own members (PromptOps's flat shape:
 * `{name, type: "transform", op: "upper"}`). The step type validates its members when the run
 * is created.
 */
export const StepDefinition = Schema.StructWithRest(
  Schema.Struct({
    name: Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(200)),
    type: Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(100)),
    timeoutMs: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 86_400_000 }))),
    retry: Schema.optionalKey(RetryPolicy)
  }),
  [Schema.Record(Schema.String, Schema.Unknown)]
)
export type StepDefinition = typeof StepDefinition.Type

/** Free-form labels of a run (seed 002's `projectId`: projects belong to another plugin). */
export const RunLabels = Schema.Record(Schema.String, Schema.String.check(Schema.isMaxLength(500)))
export type RunLabels = typeof RunLabels.Type

/** What a caller starts: steps, input variables, and labels for the run log. */
export const StartRun = Schema.Struct({
  steps: Schema.Array(StepDefinition).check(Schema.isMinLength(1), Schema.isMaxLength(200)),
  input: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
  title: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(500))),
  /** Who started it, for the run log (`workflow`, `agent`, `automation`, ...). */
  source: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(100))),
  /** The definition it runs (a workflow or agent id), for the run log. */
  refKey: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(200))),
  labels: Schema.optionalKey(RunLabels),
  /** Run-level timeout, from the run's start (waits included): the run fails naming the step it was at. */
  timeoutMs: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 2_592_000_000 })))
})
export type StartRun = typeof StartRun.Type

/** Why a run failed: the step (when a step failed) and the cause. */
export const RunError = Schema.Struct({
  stepIndex: Schema.NullOr(Schema.Int),
  step: Schema.NullOr(Schema.String),
  message: Schema.String
})
export type RunError = typeof RunError.Type

/**
 * The run's model usage, rolled up from its `model_call` events in their transaction: tokens
 * and latency are sums over its model calls, `provider` and `model` the last call's.
 */
export const RunUsage = Schema.Struct({
  provider: Schema.NullOr(Schema.String),
  model: Schema.NullOr(Schema.String),
  modelCalls: Schema.Int,
  promptTokens: Schema.Int,
  outputTokens: Schema.Int,
  latencyMs: Schema.Int
})
export type RunUsage = typeof RunUsage.Type

export class Run extends Schema.Class<Run>("Run")({
  id: Schema.String,
  organizationId: Schema.String,
  createdBy: Schema.String,
  title: Schema.NullOr(Schema.String),
  source: Schema.String,
  refKey: Schema.NullOr(Schema.String),
  status: RunStatus,
  steps: Schema.Array(StepDefinition),
  input: Schema.Record(Schema.String, Schema.Unknown),
  /** The step the run is at (the next to run, or the one running or waiting). */
  currentStep: Schema.Int,
  output: Schema.Unknown,
  error: Schema.NullOr(RunError),
  /** How many times `retry` continued it. */
  retries: Schema.Int,
  labels: RunLabels,
  usage: RunUsage,
  createdAt: Schema.String,
  updatedAt: Schema.String,
  startedAt: Schema.NullOr(Schema.String),
  finishedAt: Schema.NullOr(Schema.String)
}) {}

/** A checkpoint: a completed step's stored result, replayed instead of running the step again. */
export class RunStep extends Schema.Class<RunStep>("RunStep")({
  runId: Schema.String,
  stepIndex: Schema.Int,
  name: Schema.String,
  type: Schema.String,
  output: Schema.Unknown,
  /** The step to continue with (a `condition` may jump forward; the step count ends the run). */
  next: Schema.Int,
  attempts: Schema.Int,
  idempotencyKey: Schema.String,
  startedAt: Schema.String,
  finishedAt: Schema.String
}) {}

/** `callback`: something outside the engine ends it through `Runs.complete` (a sub-run, a ticket). */
export const WaitKind = Schema.Literals(["approval", "sleep", "callback"])
export type WaitKind = typeof WaitKind.Type

export const Decision = Schema.Literals(["approved", "rejected"])
export type Decision = typeof Decision.Type

/** A step's wait: what ends it, and (approval) the review that did. */
export class RunWait extends Schema.Class<RunWait>("RunWait")({
  runId: Schema.String,
  stepIndex: Schema.Int,
  kind: WaitKind,
  until: Schema.NullOr(Schema.String),
  decision: Schema.NullOr(Decision),
  notes: Schema.NullOr(Schema.String),
  decidedBy: Schema.NullOr(Schema.String),
  decidedAt: Schema.NullOr(Schema.String),
  createdAt: Schema.String
}) {}

/** One approve or reject of a run (seed 002's `run_reviews`). */
export class RunReview extends Schema.Class<RunReview>("RunReview")({
  id: Schema.String,
  runId: Schema.String,
  stepIndex: Schema.NullOr(Schema.Int),
  decision: Decision,
  notes: Schema.NullOr(Schema.String),
  /** Seed 002's `commit` flag, recorded as asked: git is outside Trellis. */
  commit: Schema.Boolean,
  reviewedBy: Schema.String,
  createdAt: Schema.String
}) {}

export class RunDetail extends Schema.Class<RunDetail>("RunDetail")({
  run: Run,
  checkpoints: Schema.Array(RunStep),
  wait: Schema.NullOr(RunWait)
}) {}

export const Severity = Schema.Literals(["debug", "info", "warning", "error"])
export type Severity = typeof Severity.Type

/** The typed kinds of a run event's data. */
export const RunEventData = Schema.Union([
  Schema.TaggedStruct("status", {
    from: Schema.NullOr(RunStatus),
    to: RunStatus,
    transition: Schema.String
  }),
  Schema.TaggedStruct("step_started", {
    stepIndex: Schema.Int,
    name: Schema.String,
    type: Schema.String,
    attempt: Schema.Int
  }),
  Schema.TaggedStruct("step_replayed", {
    stepIndex: Schema.Int,
    name: Schema.String
  }),
  Schema.TaggedStruct("step_completed", {
    stepIndex: Schema.Int,
    name: Schema.String,
    type: Schema.String,
    attempts: Schema.Int,
    output: Schema.Unknown
  }),
  Schema.TaggedStruct("step_failed", {
    stepIndex: Schema.Int,
    name: Schema.String,
    attempt: Schema.Int,
    message: Schema.String,
    willRetry: Schema.Boolean
  }),
  Schema.TaggedStruct("step_waiting", {
    stepIndex: Schema.Int,
    name: Schema.String,
    kind: WaitKind,
    until: Schema.NullOr(Schema.String)
  }),
  /** One model call of a step: its usage (also rolled up on the run). */
  Schema.TaggedStruct("model_call", {
    stepIndex: Schema.Int,
    provider: Schema.String,
    model: Schema.String,
    promptTokens: Schema.Int,
    outputTokens: Schema.Int,
    latencyMs: Schema.Int,
    status: Schema.Literals(["ok", "error"]),
    error: Schema.optionalKey(Schema.String)
  }),
  /** Streamed model text (batched by the step). */
  Schema.TaggedStruct("model_delta", {
    stepIndex: Schema.Int,
    text: Schema.String
  }),
  /** A tool the model called, and (when done) what it answered. */
  Schema.TaggedStruct("tool_call", {
    stepIndex: Schema.Int,
    tool: Schema.String,
    callId: Schema.String,
    input: Schema.Unknown,
    output: Schema.optionalKey(Schema.Unknown),
    error: Schema.optionalKey(Schema.String)
  }),
  Schema.TaggedStruct("log", {
    stepIndex: Schema.NullOr(Schema.Int),
    message: Schema.String
  }),
  Schema.TaggedStruct("error", {
    stepIndex: Schema.NullOr(Schema.Int),
    message: Schema.String
  })
])
export type RunEventData = typeof RunEventData.Type
export type RunEventKind = RunEventData["_tag"]

/** One run event. `seq` counts from 1 per run with no gaps: SSE's `Last-Event-ID`. */
export class RunEvent extends Schema.Class<RunEvent>("RunEvent")({
  runId: Schema.String,
  seq: Schema.Int,
  kind: Schema.String,
  severity: Severity,
  data: RunEventData,
  createdAt: Schema.String
}) {}

/** What a step reports of one model call (rolled up per run for the run log and its stats). */
export interface StepUsage {
  readonly provider: string
  readonly model: string
  readonly promptTokens: number
  readonly outputTokens: number
  readonly latencyMs: number
  readonly status: "ok" | "error"
  readonly error?: string | undefined
}

/** How an outside callback ends a `callback` wait: the step completes with `output`, or fails with `error`. */
export type CallbackResult =
  | { readonly _tag: "Completed"; readonly output: unknown }
  | { readonly _tag: "Failed"; readonly message: string }

/** One page of runs, newest first; `nextCursor` continues (seed 002's cursor pagination). */
export class RunPage extends Schema.Class<RunPage>("RunPage")({
  data: Schema.Array(Run),
  nextCursor: Schema.NullOr(Schema.String)
}) {}

/** PromptOps's run-log totals (`GET /api/runs/stats`), over finished runs. */
export interface RunStats {
  readonly total: number
  readonly ok: number
  readonly error: number
  readonly promptTokens: number
  readonly outputTokens: number
  readonly avgLatencyMs: number
  readonly byProvider: ReadonlyArray<{ readonly provider: string; readonly count: number }>
}

/** One page of PromptOps's run log (`limit`/`offset`, newest first) and how many runs there are. */
export interface RunLogPage {
  readonly data: ReadonlyArray<Run>
  readonly total: number
}
