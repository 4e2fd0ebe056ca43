/**
 * The runs plugin's HTTP handlers: thin, they call `Runs` and shape its answers for each
 * client (seed 002's camelCase views with numeric ids, PromptOps's snake_case run log). The
 * service's `RunStatusConflict` becomes seed 002's 409 problems here (`runId` as a number).
 */
import { Effect, Layer } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { CurrentPrincipal, Sse } from "trellis/plugin"
import type { StoredEvent } from "trellis/plugin"
import type { CreateRunBody, EventView, RunView, TimelineStatus, TimelineStep } from "./Api.ts"
import { eventsDefaultLimit, logDefaultLimit, logMaxLimit, RunsApi } from "./Api.ts"
import type { Run, RunDetail, RunEvent, RunEventKind, RunReview, Severity, StepDefinition } from "./Domain.ts"
import { InvalidRunRequest, RunNotControllable, RunNotFound, RunNotStartable } from "./Errors.ts"
import type { RunStatusConflict } from "./Errors.ts"
import * as Lifecycle from "./Lifecycle.ts"
import { RunEvents, severityOfKind } from "./Runs.ts"
import { Runs } from "./RunsService.ts"

/** The path's run id: decimal digits (seed 002's numbers); anything else names no run. */
const runIdOf = (raw: string) =>
  /^\d{1,15}$/.test(raw) ? Effect.succeed(String(Number(raw))) : Effect.fail(new RunNotFound({ runId: raw, detail: `No run ${raw}.` }))

/** A run id as seed 002's JSON number. */
const numeric = (runId: string): number => Number(runId)

const eventKinds: ReadonlyArray<RunEventKind> = [
  "status",
  "step_started",
  "step_replayed",
  "step_completed",
  "step_failed",
  "step_waiting",
  "model_call",
  "model_delta",
  "tool_call",
  "log",
  "error"
]

const asString = (value: unknown): string | null => (typeof value === "string" ? value : null)

/**
 * The timeline summary: each step's status from its checkpoint, the run's position and status,
 * and its `step_started` events (attempts, first start).
 */
const timelineOf = (detail: RunDetail, started: ReadonlyArray<RunEvent>): Array<TimelineStep> => {
  const run = detail.run
  const checkpoints = new Map(detail.checkpoints.map((c) => [c.stepIndex, c]))
  const starts = new Map<number, { attempts: number; first: string }>()
  for (const event of started) {
    if (event.data._tag !== "step_started") continue
    const seen = starts.get(event.data.stepIndex)
    starts.set(event.data.stepIndex, { attempts: (seen?.attempts ?? 0) + 1, first: seen?.first ?? event.createdAt })
  }
  return run.steps.map((step: StepDefinition, index): TimelineStep => {
    const checkpoint = checkpoints.get(index)
    const start = starts.get(index)
    if (checkpoint !== undefined) {
      return {
        index,
        name: step.name,
        type: step.type,
        status: "completed",
        attempts: Math.max(checkpoint.attempts, start?.attempts ?? 0),
        startedAt: start?.first ?? checkpoint.startedAt,
        finishedAt: checkpoint.finishedAt
      }
    }
    const status: TimelineStatus = (() => {
      if (run.error !== null && run.error.stepIndex === index && run.status === "failed") return "failed"
      if (index < run.currentStep || run.status === "succeeded") return "skipped"
      if (index > run.currentStep) return run.status === "cancelled" ? "cancelled" : "pending"
      switch (run.status) {
        case "running":
          return "running"
        case "waiting":
        case "awaiting_approval":
          return "waiting"
        case "paused":
          return "paused"
        case "cancelled":
          return "cancelled"
        default:
          return "pending"
      }
    })()
    return {
      index,
      name: step.name,
      type: step.type,
      status,
      attempts: start?.attempts ?? 0,
      startedAt: start?.first ?? null,
      finishedAt: status === "failed" || (status === "cancelled" && start !== undefined) ? run.finishedAt : null
    }
  })
}

/**
 * Input variables and step members named `__...` are internal to the plugins that start runs
 * (a sealed request key, the credentials a workflow passes down): the runs API neither shows
 * nor accepts them, so one run's sealed values cannot be read or replayed into another.
 */
const isInternal = (name: string) => name.startsWith("__")
const withoutInternal = <A extends Readonly<Record<string, unknown>>>(record: A): A =>
  Object.fromEntries(Object.entries(record).filter(([name]) => !isInternal(name))) as A

const toRunView = (detail: RunDetail, started: ReadonlyArray<RunEvent>): RunView => {
  const run = detail.run
  return {
    id: numeric(run.id),
    title: run.title,
    status: run.status,
    projectId: run.labels.projectId ?? null,
    prompt: asString(run.input.prompt),
    selectedAgent: run.labels.selectedAgent ?? null,
    selectedModel: run.labels.selectedModel ?? null,
    ragEnabled: run.labels.ragEnabled === "true",
    safeMode: run.labels.safeMode === "true",
    source: run.source,
    refKey: run.refKey,
    labels: run.labels,
    steps: run.steps.map(withoutInternal),
    input: withoutInternal(run.input),
    currentStep: run.currentStep,
    output: run.output,
    error: run.error,
    retries: run.retries,
    usage: run.usage,
    wait: detail.wait === null ? null : { stepIndex: detail.wait.stepIndex, kind: detail.wait.kind, until: detail.wait.until },
    allowedControls: Lifecycle.allowedControls(run.status),
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    timeline: timelineOf(detail, started)
  }
}

/** An event's members as seed 002 shows them: `id`, `runId`, `eventType`, `severity`, `createdAt`, then its own. */
const eventView = (runId: string, seq: number, kind: string, data: unknown, createdAt: string): EventView => {
  const { _tag: _, ...members } = (typeof data === "object" && data !== null ? data : {}) as Record<string, unknown>
  return { ...members, id: seq, runId: numeric(runId), eventType: kind, severity: severityOfKind(kind), createdAt }
}

/** The SSE framing of seed 002: `event: agent_event`, `data` the event's view. */
const agentEventFormat = (runId: string) => (event: StoredEvent) => ({
  event: "agent_event",
  data: eventView(runId, event.seq, event.event, event.data, event.createdAt.toISOString())
})

const reviewView = (review: RunReview) => ({
  id: Number(review.id),
  decision: review.decision,
  notes: review.notes,
  commit: review.commit,
  stepIndex: review.stepIndex,
  reviewedBy: review.reviewedBy,
  createdAt: review.createdAt
})

/** PromptOps's `status`: `ok` or `error` once finished; the run's own status before. */
const logStatus = (run: Run): string =>
  run.status === "succeeded" ? "ok" : run.status === "failed" || run.status === "cancelled" ? "error" : run.status

const logError = (run: Run): string => {
  if (run.error !== null) return run.error.step === null ? run.error.message : `step ${run.error.step}: ${run.error.message}`
  return run.status === "cancelled" ? "cancelled" : ""
}

const toLogEntry = (run: Run) => ({
  id: run.id,
  source: run.source,
  ref_key: run.refKey ?? "",
  provider: run.usage.provider ?? "",
  model: run.usage.model ?? "",
  prompt_tokens: run.usage.promptTokens,
  output_tokens: run.usage.outputTokens,
  latency_ms: run.usage.latencyMs,
  status: logStatus(run),
  error: logError(run),
  created_at: run.createdAt,
  title: run.title ?? "",
  run_status: run.status
})

/** The run's steps and input for `POST /api/runs`: explicit `steps`, else seed 002's one `agent` step. */
const definitionOf = (payload: CreateRunBody) => {
  const internal = [
    ...Object.keys(payload.input ?? {}).map((name) => `input.${name}`),
    ...(payload.steps ?? []).flatMap((step, index) => Object.keys(step).map((name) => `steps.${index}.${name}`))
  ].filter((path) => isInternal(path.slice(path.lastIndexOf(".") + 1)))
  if (internal.length > 0) {
    return Effect.fail(new InvalidRunRequest({
      reason: `names starting with __ are internal: ${internal.join(", ")}`,
      detail: `Input variables and step members starting with __ are reserved for plugins: ${internal.join(", ")}.`
    }))
  }
  const input: Record<string, unknown> = { ...payload.input }
  if (payload.prompt !== undefined && input.prompt === undefined) input.prompt = payload.prompt
  if (payload.steps !== undefined) return Effect.succeed({ steps: payload.steps, input })
  if (payload.prompt === undefined || payload.selectedAgent === undefined) {
    return Effect.fail(new InvalidRunRequest({
      reason: "give prompt and selectedAgent, or steps",
      detail: "A run needs `prompt` and `selectedAgent` (one agent step), or `steps`."
    }))
  }
  const step: StepDefinition = {
    name: "agent",
    type: "agent",
    agent: String(payload.selectedAgent),
    prompt: payload.prompt,
    ...(payload.selectedModel === undefined || payload.selectedModel === null ? {} : { model: payload.selectedModel })
  }
  return Effect.succeed({ steps: [step], input })
}

const labelsOf = (payload: CreateRunBody): Record<string, string> => {
  const labels: Record<string, string> = {}
  if (payload.projectId !== undefined) labels.projectId = String(payload.projectId)
  if (payload.selectedAgent !== undefined) labels.selectedAgent = String(payload.selectedAgent)
  if (payload.selectedModel !== undefined && payload.selectedModel !== null) labels.selectedModel = payload.selectedModel
  if (payload.ragEnabled !== undefined) labels.ragEnabled = String(payload.ragEnabled)
  if (payload.safeMode !== undefined) labels.safeMode = String(payload.safeMode)
  return labels
}

const conflictDetail = (error: RunStatusConflict) => `Run #${error.runId} cannot ${error.transition}: it is ${error.currentStatus}.`

const RunsHttp = HttpApiBuilder.group(
  RunsApi,
  "runs",
  Effect.fn(function*(handlers) {
    const runs = yield* Runs

    /** The run's seed-002 view (after a control: as it stands now). */
    const viewOf = (runId: string) =>
      Effect.gen(function*() {
        const detail = yield* runs.get(runId)
        const started = yield* runs.events(runId, { kinds: ["step_started"], limit: 1000 })
        return toRunView(detail, started)
      })

    const fields = (error: RunStatusConflict) => ({
      runId: numeric(error.runId),
      currentStatus: error.currentStatus,
      transition: error.transition,
      allowed: error.allowed,
      detail: conflictDetail(error)
    })

    type ControlCall = (runId: string) => Effect.Effect<Run, RunNotFound | RunStatusConflict, CurrentPrincipal>

    /** A control, then the run's view; a refusal is seed 002's 409 (`runId` a number). */
    const controlled = (raw: string, control: ControlCall) =>
      Effect.gen(function*() {
        const runId = yield* runIdOf(raw)
        yield* control(runId).pipe(Effect.catchTag("RunStatusConflict", (error) => Effect.fail(new RunNotControllable(fields(error)))))
        return yield* viewOf(runId)
      })

    const started = (raw: string) =>
      Effect.gen(function*() {
        const runId = yield* runIdOf(raw)
        yield* runs.start(runId).pipe(Effect.catchTag("RunStatusConflict", (error) => Effect.fail(new RunNotStartable(fields(error)))))
        return yield* viewOf(runId)
      })

    return handlers
      .handle("create", ({ payload }) =>
        Effect.gen(function*() {
          const definition = yield* definitionOf(payload)
          const run = yield* runs.create({
            steps: definition.steps,
            input: definition.input,
            ...(payload.title === undefined ? {} : { title: payload.title }),
            source: "api",
            labels: labelsOf(payload)
          })
          // It was just created in the caller's organization.
          return yield* Effect.orDie(viewOf(run.id))
        }))
      .handle("get", ({ params }) => Effect.flatMap(runIdOf(params.run), viewOf))
      .handle("start", ({ params }) => started(params.run))
      .handle("pause", ({ params }) => controlled(params.run, runs.pause))
      .handle("resume", ({ params }) => controlled(params.run, runs.resume))
      .handle("cancel", ({ params }) => controlled(params.run, runs.cancel))
      .handle("retry", ({ params }) => controlled(params.run, runs.retry))
      .handle("approve", ({ params, payload }) =>
        controlled(params.run, (runId) =>
          runs.approve(runId, {
            ...(payload?.notes === undefined || payload.notes === null ? {} : { notes: payload.notes }),
            commit: payload?.commit ?? false
          })))
      .handle("reject", ({ params, payload }) =>
        controlled(params.run, (runId) =>
          runs.reject(runId, payload?.notes === undefined || payload.notes === null ? {} : { notes: payload.notes })))
      .handle("events", ({ params, query }) =>
        Effect.gen(function*() {
          const runId = yield* runIdOf(params.run)
          const limit = query.limit ?? eventsDefaultLimit
          const since = Number(query.cursor ?? query.since ?? "0")
          const asked = query.eventTypes?.split(",").map((t) => t.trim()).filter((t) => t !== "")
          const kinds = asked?.filter((t): t is RunEventKind => (eventKinds as ReadonlyArray<string>).includes(t))
          const severities = query.severity?.split(",") as Array<Severity> | undefined
          // Types this server never emits match nothing (the run must still exist).
          const events = asked !== undefined && asked.length > 0 && kinds?.length === 0
            ? yield* Effect.as(runs.get(runId), [])
            : yield* runs.events(runId, { since, kinds, severities, limit })
          const last = events[events.length - 1]
          return {
            data: events.map((e) => eventView(runId, e.seq, e.kind, e.data, e.createdAt)),
            meta: { nextCursor: events.length === limit && last !== undefined ? String(last.seq) : null }
          }
        }))
      .handle("stream", ({ params }) =>
        Effect.gen(function*() {
          const runId = yield* runIdOf(params.run)
          yield* runs.get(runId)
          const principal = yield* CurrentPrincipal
          const stream = RunEvents.at(runId)
          // Events the event log's retention deleted are replayed from the run's own table.
          const fill = (gap: { readonly from: number; readonly to: number }) =>
            Effect.gen(function*() {
              const filled: Array<StoredEvent> = []
              while (filled.length < gap.to - gap.from + 1) {
                const page = yield* runs.events(runId, { since: gap.from - 1 + filled.length, limit: 1000 })
                const inGap = page.filter((e) => e.seq <= gap.to)
                for (const e of inGap) filled.push({ stream: stream.name, seq: e.seq, event: e.kind, data: e.data, createdAt: new Date(e.createdAt) })
                if (inGap.length < 1000) break
              }
              return filled
            }).pipe(
              Effect.provideService(CurrentPrincipal, principal),
              Effect.catchCause(() => Effect.succeed<ReadonlyArray<StoredEvent>>([]))
            )
          return yield* Sse.response(stream, { format: agentEventFormat(runId), fill })
        }))
      .handle("summary", ({ params }) =>
        Effect.gen(function*() {
          const runId = yield* runIdOf(params.run)
          const detail = yield* runs.get(runId)
          const reviews = yield* runs.reviews(runId)
          const run = detail.run
          return {
            runId: numeric(run.id),
            title: run.title,
            status: run.status,
            output: run.output,
            error: run.error,
            usage: run.usage,
            stepCount: run.steps.length,
            completedSteps: detail.checkpoints.length,
            reviews: reviews.map(reviewView),
            changedFiles: [],
            risks: [],
            tests: [],
            docs: [],
            startedAt: run.startedAt,
            finishedAt: run.finishedAt
          }
        }))
  })
)

const RunLogHttp = HttpApiBuilder.group(
  RunsApi,
  "runLog",
  Effect.fn(function*(handlers) {
    const runs = yield* Runs
    return handlers
      .handle("list", ({ query }) =>
        Effect.map(
          runs.log({ limit: Math.min(query.limit ?? logDefaultLimit, logMaxLimit), offset: query.offset ?? 0 }),
          (page) => ({ data: page.data.map(toLogEntry), total: page.total })
        ))
      .handle("stats", () =>
        Effect.map(runs.stats, (stats) => ({
          total: stats.total,
          ok: stats.ok,
          error: stats.error,
          prompt_tokens: stats.promptTokens,
          output_tokens: stats.outputTokens,
          avg_latency_ms: stats.avgLatencyMs,
          by_provider: stats.byProvider
        })))
  })
)

/** Every HTTP group of the plugin. */
export const RunsHttpLive = Layer.mergeAll(RunsHttp, RunLogHttp)
