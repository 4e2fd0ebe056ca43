/**
 * The runs plugin's HTTP contract, two clients' dialects on one run store:
 *
 * - **Seed 002** (the mobile runs API), `RunsGroup`: camelCase, RFC 7807 problems with
 *   `runId` (a number) and `currentStatus` on a 409, cursor pages `{data, meta: {nextCursor}}`,
 *   run ids as JSON numbers (the path takes the digits). Reads need `runs:read`; drafting and
 *   starting `runs:start` on the run budget (`TRELLIS_RATE_LIMIT_RUN_PER_MINUTE`, 6 a minute as
 *   seed 002 documents); the controls `runs:control`; approve and reject `runs:control` and the
 *   editor role; the event stream counts against the concurrent stream limit.
 * - **PromptOps** (seed 004), `RunLogGroup`: `GET /api/runs` (`{data, total}`, snake_case) and
 *   `GET /api/runs/stats`, in PromptOps's wire dialect (its error body `{error}`).
 *
 * Every route but the event stream is also an RPC (`RunsRpcs`, derived below).
 *
 * Client-safe: imports only `effect`, `trellis/contract` and the plugin's contract modules.
 */
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Authentication, RateGroup, Requirement, Requires, RpcFromApi, runsApiRateGroup, WireDialect } from "trellis/contract"
import { Decision, RunError, RunStatus, RunUsage, Severity, StepDefinition, WaitKind } from "./Domain.ts"
import { InvalidRunDefinition, InvalidRunRequest, RunNotControllable, RunNotFound, RunNotStartable } from "./Errors.ts"

const read = Requirement.read("runs")
/** Drafting and starting: viewers and up, service keys with `runs:start`; the run budget. */
const start = Requirement.run("runs", "runs:start")
/** Pause, resume, cancel, retry: viewers and up (whoever may start runs), service keys with `runs:control`. */
const control = Requirement.custom("viewer", "runs:control")
/** Approve and reject: a review decision, editors and up; service keys with `runs:control`. */
const review = Requirement.custom("editor", "runs:control")

/** Default and largest page of the PromptOps run log (PromptOps's `parsePaging`). */
export const logDefaultLimit = 50
export const logMaxLimit = 200
/** Default and largest page of `GET /api/runs/{run}/events`. */
export const eventsDefaultLimit = 100
export const eventsMaxLimit = 1000

// ── seed 002 shapes ───────────────────────────────────────────────────────

/** `POST /api/runs`: seed 002's draft, or (Trellis's extension) explicit `steps` and `input`. */
export const CreateRunBody = Schema.Struct({
  /** Stored as a label: projects belong to the tickets plugin. */
  projectId: Schema.optionalKey(Schema.Union([Schema.String.check(Schema.isMaxLength(200)), Schema.Int])),
  title: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(500))),
  prompt: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(100_000))),
  selectedAgent: Schema.optionalKey(Schema.Union([Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(200)), Schema.Int])),
  selectedModel: Schema.optionalKey(Schema.NullOr(Schema.String.check(Schema.isMaxLength(200)))),
  ragEnabled: Schema.optionalKey(Schema.Boolean),
  safeMode: Schema.optionalKey(Schema.Boolean),
  /** Trellis: the run's steps (PromptOps's flat step shape); then `prompt`/`selectedAgent` are not needed. */
  steps: Schema.optionalKey(Schema.Array(StepDefinition).check(Schema.isMinLength(1), Schema.isMaxLength(200))),
  /** Trellis: the run's input variables. */
  input: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
})
export type CreateRunBody = typeof CreateRunBody.Type

/** Where a step of the run stands (the run's timeline summary). */
export const TimelineStatus = Schema.Literals(["pending", "running", "waiting", "paused", "completed", "failed", "skipped", "cancelled"])
export type TimelineStatus = typeof TimelineStatus.Type

export const TimelineStep = Schema.Struct({
  index: Schema.Int,
  name: Schema.String,
  type: Schema.String,
  status: TimelineStatus,
  /** Attempts started (all executions of the step). */
  attempts: Schema.Int,
  startedAt: Schema.NullOr(Schema.String),
  finishedAt: Schema.NullOr(Schema.String)
})
export type TimelineStep = typeof TimelineStep.Type

/** A run as seed 002 answers it: `id` a number, with its timeline summary. */
export const RunView = Schema.Struct({
  id: Schema.Number,
  title: Schema.NullOr(Schema.String),
  status: RunStatus,
  projectId: Schema.NullOr(Schema.String),
  prompt: Schema.NullOr(Schema.String),
  selectedAgent: Schema.NullOr(Schema.String),
  selectedModel: Schema.NullOr(Schema.String),
  ragEnabled: Schema.Boolean,
  safeMode: Schema.Boolean,
  source: Schema.String,
  refKey: Schema.NullOr(Schema.String),
  labels: Schema.Record(Schema.String, Schema.String),
  steps: Schema.Array(StepDefinition),
  input: Schema.Record(Schema.String, Schema.Unknown),
  currentStep: Schema.Int,
  output: Schema.Unknown,
  error: Schema.NullOr(RunError),
  retries: Schema.Int,
  usage: RunUsage,
  /** The open wait (approval, sleep, callback), if the run waits. */
  wait: Schema.NullOr(Schema.Struct({ stepIndex: Schema.Int, kind: WaitKind, until: Schema.NullOr(Schema.String) })),
  /** The controls the run's status allows now. */
  allowedControls: Schema.Array(Schema.String),
  createdAt: Schema.String,
  updatedAt: Schema.String,
  startedAt: Schema.NullOr(Schema.String),
  finishedAt: Schema.NullOr(Schema.String),
  timeline: Schema.Array(TimelineStep)
})
export type RunView = typeof RunView.Type

/**
 * One run event on the wire (the paged list and each SSE frame's `data`): `id` is the event's
 * number in the run (SSE's `id:` and `Last-Event-ID`), then the event's own members.
 */
export const EventView = Schema.StructWithRest(
  Schema.Struct({
    id: Schema.Int,
    runId: Schema.Number,
    eventType: Schema.String,
    severity: Severity,
    createdAt: Schema.String
  }),
  [Schema.Record(Schema.String, Schema.Unknown)]
)
export type EventView = typeof EventView.Type

export const EventPage = Schema.Struct({
  data: Schema.Array(EventView),
  meta: Schema.Struct({ nextCursor: Schema.NullOr(Schema.String) })
})

const digits = Schema.String.check(Schema.isPattern(/^\d{1,15}$/))
const severities = Schema.String.check(Schema.isPattern(/^(debug|info|warning|error)(,(debug|info|warning|error))*$/))

export const EventsQuery = Schema.Struct({
  /** Events after this number (as `Last-Event-ID`). */
  since: Schema.optionalKey(digits),
  /** From a previous page's `meta.nextCursor` (wins over `since`). */
  cursor: Schema.optionalKey(digits),
  /** Comma-separated event types (`status,step_completed`). */
  eventTypes: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(1000))),
  /** Comma-separated severities: `debug`, `info`, `warning`, `error`. */
  severity: Schema.optionalKey(severities),
  limit: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: eventsMaxLimit })))
})

export const ApproveBody = Schema.Struct({
  notes: Schema.optionalKey(Schema.NullOr(Schema.String.check(Schema.isMaxLength(10_000)))),
  /** Recorded on the review; git is outside Trellis, so nothing is committed. */
  commit: Schema.optionalKey(Schema.Boolean)
})

export const RejectBody = Schema.Struct({
  notes: Schema.optionalKey(Schema.NullOr(Schema.String.check(Schema.isMaxLength(10_000))))
})

export const ReviewView = Schema.Struct({
  id: Schema.Number,
  decision: Decision,
  notes: Schema.NullOr(Schema.String),
  commit: Schema.Boolean,
  stepIndex: Schema.NullOr(Schema.Int),
  reviewedBy: Schema.String,
  createdAt: Schema.String
})

/**
 * `GET /api/runs/{run}/summary`: the run's structured final summary. `changedFiles`, `risks`,
 * `tests` and `docs` (seed 002's git and workspace findings) are always empty lists: Trellis
 * runs no workspace.
 */
export const RunSummary = Schema.Struct({
  runId: Schema.Number,
  title: Schema.NullOr(Schema.String),
  status: RunStatus,
  output: Schema.Unknown,
  /** The failing step and the cause. */
  error: Schema.NullOr(RunError),
  usage: RunUsage,
  stepCount: Schema.Int,
  completedSteps: Schema.Int,
  reviews: Schema.Array(ReviewView),
  changedFiles: Schema.Array(Schema.Unknown),
  risks: Schema.Array(Schema.Unknown),
  tests: Schema.Array(Schema.Unknown),
  docs: Schema.Array(Schema.Unknown),
  startedAt: Schema.NullOr(Schema.String),
  finishedAt: Schema.NullOr(Schema.String)
})

// ── PromptOps shapes ──────────────────────────────────────────────────────

/**
 * One entry of PromptOps's run log (its `RunEntry`). `status` is `ok` (succeeded) or `error`
 * (failed or cancelled) for finished runs, as PromptOps; a run not finished shows its own
 * status (`draft`, `queued`, `running`, ...). `error` names the failing step.
 */
export const RunLogEntry = Schema.Struct({
  id: Schema.String,
  source: Schema.String,
  ref_key: Schema.String,
  provider: Schema.String,
  model: Schema.String,
  prompt_tokens: Schema.Int,
  output_tokens: Schema.Int,
  latency_ms: Schema.Int,
  status: Schema.String,
  error: Schema.String,
  created_at: Schema.String,
  /** Trellis: the run's title and own status. */
  title: Schema.String,
  run_status: RunStatus
})

export const RunLogPage = Schema.Struct({
  data: Schema.Array(RunLogEntry),
  total: Schema.Int
})

/** PromptOps's `RunStats`, over finished runs (so `error` is `total - ok`, as PromptOps). */
export const RunStatsView = Schema.Struct({
  total: Schema.Int,
  ok: Schema.Int,
  error: Schema.Int,
  prompt_tokens: Schema.Int,
  output_tokens: Schema.Int,
  avg_latency_ms: Schema.Int,
  by_provider: Schema.Array(Schema.Struct({ provider: Schema.String, count: Schema.Int }))
})

// ── groups ────────────────────────────────────────────────────────────────

const runParams = { run: Schema.String }
const runPath = "/api/runs/:run"
const controlErrors = [RunNotFound, RunNotControllable] as const

const controlEndpoint = (name: "pause" | "resume" | "cancel" | "retry") =>
  HttpApiEndpoint.post(name, `${runPath}/${name}`, {
    params: runParams,
    success: RunView,
    error: controlErrors
  }).annotate(Requires, control)

/** Seed 002's runs API: `/api/runs` (create) and `/api/runs/{run}/...`. */
export class RunsGroup extends HttpApiGroup.make("runs")
  .annotate(WireDialect, WireDialect.runs)
  .annotate(RateGroup, runsApiRateGroup)
  .add(
    HttpApiEndpoint.post("create", "/api/runs", {
      payload: CreateRunBody,
      success: RunView.pipe(HttpApiSchema.status(201)),
      error: [InvalidRunDefinition, InvalidRunRequest]
    }).annotate(Requires, start).annotateMerge(OpenApi.annotations({
      description: "A draft run. Seed 002's body makes one `agent` step (`agent`: selectedAgent, `prompt`, `model`: " +
        "selectedModel); Trellis also takes `steps` and `input` for a run of explicit steps. `projectId`, `ragEnabled` " +
        "and `safeMode` are stored as labels."
    })),
    HttpApiEndpoint.get("get", runPath, {
      params: runParams,
      success: RunView,
      error: RunNotFound
    }).annotate(Requires, read),
    HttpApiEndpoint.post("start", `${runPath}/start`, {
      params: runParams,
      success: RunView,
      error: [RunNotFound, RunNotStartable]
    }).annotate(Requires, start),
    controlEndpoint("pause"),
    controlEndpoint("resume"),
    controlEndpoint("cancel"),
    controlEndpoint("retry"),
    HttpApiEndpoint.get("events", `${runPath}/events`, {
      params: runParams,
      query: EventsQuery,
      success: EventPage,
      error: RunNotFound
    }).annotate(Requires, read),
    HttpApiEndpoint.get("stream", `${runPath}/events/stream`, {
      params: runParams,
      success: Schema.String.pipe(HttpApiSchema.asText({ contentType: "text/event-stream" })),
      error: RunNotFound
    }).annotate(Requires, Requirement.stream("runs")).annotateMerge(OpenApi.annotations({
      description: "Server-Sent Events: `id: N`, `event: agent_event`, `data: {id, runId, eventType, severity, createdAt, ...}`; " +
        "`:ping` keepalives; `Last-Event-ID` (or `?lastEventId=`) replays what followed, then live events."
    })),
    HttpApiEndpoint.post("approve", `${runPath}/approve`, {
      params: runParams,
      payload: [ApproveBody, Schema.Null],
      success: RunView,
      error: controlErrors
    }).annotate(Requires, review),
    HttpApiEndpoint.post("reject", `${runPath}/reject`, {
      params: runParams,
      payload: [RejectBody, Schema.Null],
      success: RunView,
      error: controlErrors
    }).annotate(Requires, review),
    HttpApiEndpoint.get("summary", `${runPath}/summary`, {
      params: runParams,
      success: RunSummary,
      error: RunNotFound
    }).annotate(Requires, read)
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({
    title: "Runs",
    description: "Durable runs: draft, start, pause, resume, cancel, retry, approve, reject; events and their live stream (seed 002)."
  }))
{}

/** PromptOps's run log and its stats. */
export class RunLogGroup extends HttpApiGroup.make("runLog")
  .annotate(WireDialect, WireDialect.promptOps)
  .add(
    HttpApiEndpoint.get("list", "/api/runs", {
      query: {
        limit: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
        offset: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))
      },
      success: RunLogPage
    }).annotate(Requires, read),
    HttpApiEndpoint.get("stats", "/api/runs/stats", {
      success: RunStatsView
    }).annotate(Requires, read)
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({
    title: "Run log",
    description: "The organization's runs newest first, with their model usage, and totals (PromptOps)."
  }))
{}

/** The plugin's own API value, for its handlers and for typed clients of just this plugin. */
export class RunsApi extends HttpApi.make("runs").add(RunsGroup).add(RunLogGroup) {}

/**
 * The RPC form of every route above but the event stream, served at `/rpc` by the same
 * handlers: tag `runs.<EndpointName>` (`runs.Create`, `runs.Start`).
 */
export const RunsRpcs = RpcFromApi.make("runs", [RunsGroup, RunLogGroup], { omit: ["stream"] })
