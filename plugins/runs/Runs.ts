/**
 * The run engine and the `Runs` service.
 *
 * - A run executes as `JobQueue` jobs on the `runs.execute` queue (one job per stretch of work:
 *   until the run waits, pauses, ends or its process dies). A job first claims the run (one
 *   guarded UPDATE that also bumps the run's `epoch`), replays the steps that have a
 *   checkpoint, and runs the rest. Each completed step writes its checkpoint (fenced by the
 *   epoch) in the same transaction as its `step_completed` event; a job retried after a crash
 *   claims the run again and never re-executes a checkpointed step. The queue's `singleton`
 *   policy keyed by run id keeps one job per run active at a time.
 * - Waiting holds no worker: the step returns `wait`, the job stores the wait and ends; approve
 *   and reject (a guarded UPDATE each) enqueue the next job, a sleep enqueues a delayed job in
 *   the same transaction. Everything is in the database, so it survives a restart.
 * - Cancel interrupts the in-flight step's fiber: directly in this process, and on other
 *   processes through the `runs.control` event stream (LISTEN/NOTIFY on PostgreSQL), which each
 *   process follows. Pause lets the in-flight step finish and checkpoint, and the job stops at
 *   the boundary before the next step.
 * - Every state change is one guarded `UPDATE ... WHERE status IN (sources)` from
 *   `Lifecycle.ts`: of two racing controls exactly one matches a row.
 * - Events: each is appended to the run's typed stream in the event log (which numbers it and
 *   fans it out live) and kept in `runs.run_events` with the same number (the run's history
 *   outlives the event log's retention).
 * - Fewer rounds per step: a completed step is one transaction (checkpoint and boundary check in
 *   one statement, the step's events, and success after the last step); a quick step's
 *   `step_started` goes in it too.
 * - Sub-runs: a run started with a parent (`run(input, { parent })`) is linked to that step; its
 *   terminal move resumes the parent's `callback` wait in the same transaction (completing the
 *   step with its result, or re-queueing it with `rerun`), and a cancel or timeout of a run
 *   cancels its children. A sub-run's end locks its parent first: the order a cancel takes.
 * - Safety nets: a run-level timeout (`timeoutMs`) interrupts the step it is at; sweeps fail runs
 *   past their deadline that wait, and runs no job will execute any more. Controls are audited.
 */
import { Cause, Duration, Effect, Exit, Fiber, Layer, Option, Schedule, Schema, Semaphore, Stream } from "effect"
import type { Scope } from "effect"
import { SqlClient } from "effect/sql"
import { isSqlError } from "effect/sql/SqlError"
import type { SqlError } from "effect/sql/SqlError"
import type { Fragment } from "effect/sql/Statement"
import { AuditLog, CurrentPrincipal, EventLog, EventStream, JobQueue } from "trellis/plugin"
import type { JobError } from "trellis/plugin"
import type { CallbackResult, RetryPolicy, RunEventData, RunStatus, Severity, StartRun, StepDefinition, StepUsage, WaitKind } from "./Domain.ts"
import { Run, RunDetail, RunEvent, RunEventData as RunEventDataSchema, RunPage, RunReview, RunStep, RunWait } from "./Domain.ts"
import { InvalidRunDefinition, RunNotFound, RunStatusConflict } from "./Errors.ts"
import * as Lifecycle from "./Lifecycle.ts"
import type { Transition } from "./Lifecycle.ts"
import { Runs } from "./RunsService.ts"
import type { RecordRun, RunOptions } from "./RunsService.ts"
import { StepFailed, StepRegistry } from "./StepRegistry.ts"
import type { StepContext, StepOutcome, StepType } from "./StepRegistry.ts"

/** The queue runs execute on. */
export const executeQueue = "runs.execute"
const ExecutePayload = Schema.Struct({ runId: Schema.String })

/** Each run's events: stream `runs.run.<runId>`. */
export const RunEvents = EventStream.make("runs.run", RunEventDataSchema)

/** Controls other processes must act on (cancel interrupts the in-flight step wherever it runs). */
export const ControlEvents = EventStream.make("runs.control", Schema.Struct({ runId: Schema.String }))

/** Engine settings. */
export interface EngineSettings {
  /** Job attempts after the first when a job fails outside any step (a crash, the database). */
  readonly jobRetryLimit: number
  /** Seconds before such a retry. */
  readonly jobRetryDelaySeconds: number
  /** Concurrent runs per process. */
  readonly concurrency: number
  /**
   * A step's `step_started` event is written when the step has run this long (default 50 ms),
   * or at once when it emits an event; a quicker step's is written with its checkpoint.
   */
  readonly startedEventDelayMs?: number | undefined
  /**
   * How often (seconds, default 60) runs that are `queued`, `running` or `waiting` with no job
   * left to execute them are failed; a run must also have been unchanged that long.
   */
  readonly orphanSweepSeconds?: number | undefined
  /** How often (seconds, default 5) waiting, paused or queued runs past their run-level timeout are failed. */
  readonly deadlineSweepSeconds?: number | undefined
}

export const defaultEngineSettings: EngineSettings = { jobRetryLimit: 10, jobRetryDelaySeconds: 1, concurrency: 20 }

// jsonb as text: a driver may hand a jsonb string back parsed, which is then indistinguishable from text.
const runColumns = `r.id, r.organization_id, r.created_by, r.title, r.source, r.ref_key, r.status, r.steps::text AS steps,
  r.input::text AS input, r.current_step, r.output::text AS output, r.error::text AS error, r.epoch, r.retries, r.created_at,
  r.updated_at, r.started_at, r.finished_at, r.labels::text AS labels, r.provider, r.model, r.model_calls, r.prompt_tokens,
  r.output_tokens, r.latency_ms, r.parent_run_id`

interface RunRow {
  readonly id: string
  readonly organization_id: string
  readonly created_by: string
  readonly title: string | null
  readonly source: string
  readonly ref_key: string | null
  readonly status: RunStatus
  readonly steps: unknown
  readonly input: unknown
  readonly current_step: number
  readonly output: unknown
  readonly error: unknown
  readonly epoch: number
  readonly retries: number
  readonly created_at: Date | string
  readonly updated_at: Date | string
  readonly started_at: Date | string | null
  readonly finished_at: Date | string | null
  readonly labels: unknown
  readonly provider: string | null
  readonly model: string | null
  readonly model_calls: number | string
  readonly prompt_tokens: number | string
  readonly output_tokens: number | string
  readonly latency_ms: number | string
  readonly parent_run_id: string | null
}

/** A `jsonb` column selected `::text`. */
const json = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) : value)
const iso = (value: Date | string): string => new Date(value).toISOString()
const isoOrNull = (value: Date | string | null): string | null => (value === null ? null : iso(value))

const toRun = (row: RunRow): Run =>
  new Run({
    id: row.id,
    organizationId: row.organization_id,
    createdBy: row.created_by,
    title: row.title,
    source: row.source,
    refKey: row.ref_key,
    status: row.status,
    steps: json(row.steps) as ReadonlyArray<StepDefinition>,
    input: (json(row.input) ?? {}) as Record<string, unknown>,
    currentStep: Number(row.current_step),
    output: row.output === null ? null : json(row.output),
    error: row.error === null ? null : (json(row.error) as Run["error"]),
    retries: Number(row.retries),
    labels: (json(row.labels) ?? {}) as Record<string, string>,
    usage: {
      provider: row.provider,
      model: row.model,
      modelCalls: Number(row.model_calls),
      promptTokens: Number(row.prompt_tokens),
      outputTokens: Number(row.output_tokens),
      latencyMs: Number(row.latency_ms)
    },
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    startedAt: isoOrNull(row.started_at),
    finishedAt: isoOrNull(row.finished_at)
  })

interface StepRow {
  readonly run_id: string
  readonly step_index: number
  readonly name: string
  readonly type: string
  readonly output: unknown
  readonly next: number
  readonly attempts: number
  readonly idempotency_key: string
  readonly started_at: Date | string
  readonly finished_at: Date | string
}

const toStep = (row: StepRow): RunStep =>
  new RunStep({
    runId: row.run_id,
    stepIndex: Number(row.step_index),
    name: row.name,
    type: row.type,
    output: row.output === null ? null : json(row.output),
    next: Number(row.next),
    attempts: Number(row.attempts),
    idempotencyKey: row.idempotency_key,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at)
  })

interface ReviewRow {
  readonly id: string
  readonly run_id: string
  readonly step_index: number | null
  readonly decision: "approved" | "rejected"
  readonly notes: string | null
  readonly commit_requested: boolean
  readonly reviewed_by: string
  readonly created_at: Date | string
}

const toReview = (row: ReviewRow): RunReview =>
  new RunReview({
    id: String(row.id),
    runId: row.run_id,
    stepIndex: row.step_index === null ? null : Number(row.step_index),
    decision: row.decision,
    notes: row.notes,
    commit: row.commit_requested === true,
    reviewedBy: row.reviewed_by,
    createdAt: iso(row.created_at)
  })

interface WaitRow {
  readonly run_id: string
  readonly step_index: number
  readonly kind: WaitKind
  readonly until: Date | string | null
  readonly decision: "approved" | "rejected" | null
  readonly notes: string | null
  readonly decided_by: string | null
  readonly decided_at: Date | string | null
  readonly created_at: Date | string
}

const toWait = (row: WaitRow): RunWait =>
  new RunWait({
    runId: row.run_id,
    stepIndex: Number(row.step_index),
    kind: row.kind,
    until: isoOrNull(row.until),
    decision: row.decision,
    notes: row.notes,
    decidedBy: row.decided_by,
    decidedAt: isoOrNull(row.decided_at),
    createdAt: iso(row.created_at)
  })

/** An event's severity, from its kind: errors, warnings (a failed attempt), the rest info. */
export const severityOfKind = (kind: string): Severity => kind === "error" ? "error" : kind === "step_failed" ? "warning" : "info"

const severityOf = (data: RunEventData): Severity => severityOfKind(data._tag)

/** The idempotency key of a step: the same for every attempt and every re-run of it. */
export const idempotencyKeyOf = (runId: string, stepIndex: number): string => `${runId}:${stepIndex}`

const delayOf = (policy: RetryPolicy, attempt: number): number =>
  Math.min(600_000, (policy.delayMs ?? 500) * Math.pow(policy.factor ?? 2, attempt))

/**
 * A page cursor: the last row's `created_at` as PostgreSQL prints it (microseconds kept: a
 * JavaScript date would round them off and skip rows) and its id.
 */
const encodeCursor = (createdAt: string, id: string) => Buffer.from(JSON.stringify([createdAt, id]), "utf8").toString("base64url")
const timestampText = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:?\d{2})?|Z)?$/
const decodeCursor = (cursor: string): readonly [string, string] | undefined => {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))
    return Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === "string" && typeof parsed[1] === "string"
      && timestampText.test(parsed[0])
      ? [parsed[0], parsed[1]]
      : undefined
  } catch {
    return undefined
  }
}

export const make = (settings: EngineSettings): Effect.Effect<
  Runs["Service"],
  never,
  SqlClient.SqlClient | EventLog | JobQueue | StepRegistry | AuditLog | Scope.Scope
> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const log = yield* EventLog
    const jobs = yield* JobQueue
    const registry = yield* StepRegistry
    const audit = yield* AuditLog
    const columns = sql.literal(runColumns)
    const nothing = sql.literal("")

    const transact = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, SqlError>, R> =>
      sql.withTransaction(effect).pipe(Effect.catchIf(isSqlError, Effect.die)) as Effect.Effect<A, Exclude<E, SqlError>, R>

    const guard = (transition: Transition) =>
      sql.literal(`r.status IN (${Lifecycle.sources(transition).map((s) => `'${s}'`).join(", ")})`)

    // ── events ────────────────────────────────────────────────────────────

    /** Appends one event to the run (joins the caller's transaction, if any). */
    const emit = (runId: string, data: RunEventData) => emitAll(runId, [data])

    /** Appends events in order; their copies in `runs.run_events` go in one statement (joins the caller's transaction). */
    const emitAll = (runId: string, events: ReadonlyArray<RunEventData>) =>
      Effect.gen(function*() {
        if (events.length === 0) return
        const stored = yield* Effect.forEach(events, (data) => RunEvents.at(runId).append(log, data._tag, data))
        const rows = stored.map((event, i) => ({
          seq: event.seq,
          kind: events[i]._tag,
          severity: severityOf(events[i]),
          data: event.data,
          created_at: event.createdAt.toISOString()
        }))
        yield* sql`
          INSERT INTO runs.run_events (run_id, seq, kind, severity, data, created_at)
          SELECT ${runId}, x.seq, x.kind, x.severity, x.data, x.created_at
          FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(seq integer, kind text, severity text, data jsonb, created_at timestamptz)
        `
      }).pipe(Effect.orDie)

    const emitNow = (runId: string, data: RunEventData) => transact(emit(runId, data))

    /** A new run id: the next number of `runs.run_ids`, as a decimal string (seed 002 answers it as a number). */
    const newRunId = sql<{ id: string }>`SELECT nextval('runs.run_ids')::text AS id`.pipe(
      Effect.map((rows) => rows[0].id),
      Effect.orDie
    )

    /**
     * One model call of a step: its `model_call` event and the run's usage roll-up in one
     * transaction (tokens and latency summed, provider and model the last call's).
     */
    const addUsageIn = (runId: string, stepIndex: number, usage: StepUsage) =>
      Effect.gen(function*() {
        const { error, ...fields } = usage
        yield* emit(runId, { _tag: "model_call", stepIndex, ...fields, ...(error === undefined ? {} : { error }) })
        yield* sql`
          UPDATE runs.runs SET provider = ${usage.provider}, model = ${usage.model}, model_calls = model_calls + 1,
            prompt_tokens = prompt_tokens + ${Math.max(0, Math.round(usage.promptTokens))},
            output_tokens = output_tokens + ${Math.max(0, Math.round(usage.outputTokens))},
            latency_ms = latency_ms + ${Math.max(0, Math.round(usage.latencyMs))}
          WHERE id = ${runId}
        `.pipe(Effect.orDie)
      })
    const addUsage = (runId: string, stepIndex: number, usage: StepUsage) => transact(addUsageIn(runId, stepIndex, usage))

    // ── rows ──────────────────────────────────────────────────────────────

    const runRow = (runId: string, organizationId: string | undefined) =>
      sql<RunRow>`SELECT ${columns} FROM runs.runs r WHERE r.id = ${runId}
        ${organizationId === undefined ? nothing : sql`AND r.organization_id = ${organizationId}`}`.pipe(
        Effect.map((rows) => Option.fromNullishOr(rows[0])),
        Effect.orDie
      )

    const requireRun = (runId: string) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const row = yield* runRow(runId, principal.organizationId)
        if (Option.isNone(row)) return yield* new RunNotFound({ runId, detail: `No run ${runId}.` })
        return row.value
      })

    const checkpointsOf = (runId: string) =>
      sql<StepRow>`SELECT run_id, step_index, name, type, output::text AS output, next, attempts, idempotency_key, started_at, finished_at
        FROM runs.run_steps WHERE run_id = ${runId} ORDER BY step_index`.pipe(Effect.orDie)

    const waitOf = (runId: string, stepIndex: number) =>
      sql<WaitRow>`SELECT * FROM runs.run_waits WHERE run_id = ${runId} AND step_index = ${stepIndex}`.pipe(
        Effect.map((rows) => rows[0] === undefined ? undefined : toWait(rows[0])),
        Effect.orDie
      )

    // ── transitions ───────────────────────────────────────────────────────

    /**
     * One guarded UPDATE: moves the run by `transition` if its status allows it (and, for the
     * engine, if `epoch` is still the run's). Returns the previous status, or `undefined` when
     * nothing matched. Emits the `status` event in the same transaction.
     * The row lock is `FOR NO KEY UPDATE` (what the UPDATE takes anyway), not `FOR UPDATE`: the
     * latter blocks the foreign-key checks of an event or checkpoint insert of the same run,
     * whose transaction may already hold the run's event-stream row that this move's own event
     * then waits for (a deadlock, seen under load).
     */
    const move = (
      runId: string,
      transition: Transition,
      options: {
        readonly organizationId?: string | undefined
        readonly epoch?: number | undefined
        readonly set?: Fragment
        /** Events to append before the `status` event when the move happens. */
        readonly before?: ReadonlyArray<RunEventData> | undefined
        /** A further condition on the run row `r`. */
        readonly where?: Fragment | undefined
        /** The run's parent when the caller knows it (`null`: none); looked up for an end otherwise. */
        readonly parent?: string | null | undefined
      } = {}
    ) =>
      Effect.gen(function*() {
        const to = Lifecycle.targetOf(transition)
        if (Lifecycle.isTerminal(to)) {
          // A sub-run's end locks its parent first (the order a cancel of the parent takes:
          // parent, then children), so the two cannot deadlock.
          const parent = options.parent !== undefined
            ? options.parent
            : (yield* sql<{ parent_run_id: string | null }>`SELECT parent_run_id FROM runs.runs WHERE id = ${runId}`.pipe(Effect.orDie))[0]
              ?.parent_run_id ?? null
          if (parent !== null) yield* sql`SELECT 1 FROM runs.runs WHERE id = ${parent} FOR NO KEY UPDATE`.pipe(Effect.orDie)
        }
        const rows = yield* sql<{
          previous: RunStatus
          epoch: number
          deadline: Date | string | null
          parent_run_id: string | null
          parent_step: number | null
        }>`
          WITH old AS (SELECT id, status FROM runs.runs WHERE id = ${runId} FOR NO KEY UPDATE)
          UPDATE runs.runs r SET status = ${to}, updated_at = now() ${options.set ?? nothing}
          FROM old
          WHERE r.id = old.id AND ${guard(transition)}
            ${options.organizationId === undefined ? nothing : sql`AND r.organization_id = ${options.organizationId}`}
            ${options.epoch === undefined ? nothing : sql`AND r.epoch = ${options.epoch}`}
            ${options.where === undefined ? nothing : sql`AND ${options.where}`}
          RETURNING old.status AS previous, r.epoch, r.started_at + r.timeout_ms * interval '1 millisecond' AS deadline,
            r.parent_run_id, r.parent_step
        `.pipe(Effect.orDie)
        const row = rows[0]
        if (row === undefined) return undefined
        const status: ReadonlyArray<RunEventData> = row.previous !== to || transition !== "claim"
          ? [{ _tag: "status", from: row.previous, to, transition }]
          : []
        yield* emitAll(runId, [...(options.before ?? []), ...status])
        // Sub-runs, in the same transaction: a cancel or timeout cancels the run's children; a
        // child's end resumes its parent.
        if (transition === "cancel" || transition === "expire") yield* cancelChildren(runId)
        if (Lifecycle.isTerminal(to) && row.parent_run_id !== null && row.parent_step !== null) {
          yield* childEnded(row.parent_run_id, Number(row.parent_step))
        }
        return { previous: row.previous, epoch: Number(row.epoch), deadline: row.deadline === null ? null : new Date(row.deadline) }
      })

    const enqueue = (runId: string, startAfter?: Date) =>
      jobs.enqueue(executeQueue, ExecutePayload, { runId }, {
        singletonKey: runId,
        ...(startAfter === undefined ? {} : { startAfter })
      }).pipe(Effect.orDie)

    // ── sub-runs ──────────────────────────────────────────────────────────

    const terminal = sql.literal(`('succeeded', 'failed', 'cancelled')`)

    /** The sub-runs a step started, oldest first. */
    const childrenOf = (runId: string, stepIndex: number) =>
      sql<RunRow>`SELECT ${columns} FROM runs.runs r WHERE r.parent_run_id = ${runId} AND r.parent_step = ${stepIndex}
        ORDER BY r.created_at, length(r.id), r.id`.pipe(Effect.map((rows) => rows.map(toRun)), Effect.orDie)

    /** The sub-runs of a step that have ended, in the order they ended. */
    const endedChildrenOf = (runId: string, stepIndex: number) =>
      sql<RunRow>`SELECT ${columns} FROM runs.runs r WHERE r.parent_run_id = ${runId} AND r.parent_step = ${stepIndex}
        AND r.status IN ${terminal} ORDER BY r.finished_at, length(r.id), r.id`.pipe(Effect.map((rows) => rows.map(toRun)), Effect.orDie)

    const resultOf = (child: Run): CallbackResult =>
      child.status === "succeeded"
        ? { _tag: "Completed", output: child.output }
        : { _tag: "Failed", message: `sub-run ${child.id} ${child.status}${child.error === null ? "" : `: ${child.error.message}`}` }

    /**
     * Ends the `callback` wait at `stepIndex` (joins the caller's transaction). The guard is one
     * UPDATE of the wait (undecided, at the run's current step, the run `waiting` or `paused`):
     * of two racing calls one matches. `Completed` writes the step's checkpoint (the next job
     * replays it); `Failed` marks the wait and the next job fails the run there. A waiting run
     * moves to `queued` with its job enqueued; a paused one stays paused.
     */
    const endCallback = (
      runId: string,
      stepIndex: number,
      result: CallbackResult,
      decidedBy: string,
      organizationId: string | undefined
    ): Effect.Effect<boolean> =>
      Effect.gen(function*() {
        const decision = result._tag === "Completed" ? "approved" : "rejected"
        const ended = yield* sql<{ created_at: Date | string; status: RunStatus; steps: unknown }>`
          UPDATE runs.run_waits w SET decision = ${decision}, notes = ${result._tag === "Failed" ? result.message : null},
            decided_by = ${decidedBy}, decided_at = now()
          FROM runs.runs r
          WHERE w.run_id = ${runId} AND w.step_index = ${stepIndex} AND w.kind = 'callback' AND w.decided_at IS NULL
            AND r.id = w.run_id AND r.current_step = ${stepIndex} AND r.status IN ('waiting', 'paused')
            ${organizationId === undefined ? nothing : sql`AND r.organization_id = ${organizationId}`}
          RETURNING w.created_at, r.status, r.steps::text AS steps
        `.pipe(Effect.orDie)
        const wait = ended[0]
        if (wait === undefined) return false
        const steps = json(wait.steps) as ReadonlyArray<StepDefinition>
        const step = steps[stepIndex]
        if (result._tag === "Completed" && step !== undefined) {
          yield* sql`
            INSERT INTO runs.run_steps (run_id, step_index, name, type, output, next, attempts, idempotency_key, started_at)
            VALUES (${runId}, ${stepIndex}, ${step.name}, ${step.type}, ${JSON.stringify(result.output ?? null)}::jsonb,
              ${Math.min(steps.length, stepIndex + 1)}, 1, ${idempotencyKeyOf(runId, stepIndex)}, ${new Date(wait.created_at)})
            ON CONFLICT (run_id, step_index) DO NOTHING
          `.pipe(Effect.orDie)
          yield* emit(runId, { _tag: "step_completed", stepIndex, name: step.name, type: step.type, attempts: 1, output: result.output ?? null })
        }
        if (wait.status === "waiting") {
          // The wait row is locked by the UPDATE above, so the run cannot have moved under us.
          const continued = yield* move(runId, "complete", organizationId === undefined ? {} : { organizationId })
          if (continued !== undefined) yield* enqueue(runId)
        }
        return true
      })

    /** A `rerun` callback wait: the waiting run is queued again (its step executes anew); a paused one executes it on resume. */
    const rerunStep = (runId: string) =>
      Effect.gen(function*() {
        const continued = yield* move(runId, "complete")
        if (continued !== undefined) yield* enqueue(runId)
      })

    /**
     * A child of (`parentId`, `stepIndex`) ended (its terminal move's transaction). The parent's
     * row is locked first, then its wait is read in a statement of its own (a wait stored by a
     * transaction that held the lock is then visible). A parent waiting at that step is resumed;
     * a parent still running the step finds the ended child when it stores its wait.
     */
    const childEnded = (parentId: string, stepIndex: number): Effect.Effect<void> =>
      Effect.gen(function*() {
        const locked = yield* sql<{ status: RunStatus; current_step: number }>`
          SELECT status, current_step FROM runs.runs WHERE id = ${parentId} FOR NO KEY UPDATE
        `.pipe(Effect.orDie)
        const parent = locked[0]
        if (parent === undefined || Number(parent.current_step) !== stepIndex) return
        if (parent.status !== "waiting" && parent.status !== "paused") return
        const waits = yield* sql<{ rerun: boolean }>`
          SELECT rerun FROM runs.run_waits
          WHERE run_id = ${parentId} AND step_index = ${stepIndex} AND kind = 'callback' AND decided_at IS NULL
        `.pipe(Effect.orDie)
        const wait = waits[0]
        if (wait === undefined) return
        if (wait.rerun) {
          if (parent.status === "waiting") yield* rerunStep(parentId)
          return
        }
        const ended = yield* endedChildrenOf(parentId, stepIndex)
        const first = ended[0]
        if (first !== undefined) yield* endCallback(parentId, stepIndex, resultOf(first), `run:${first.id}`, undefined)
      })

    /** Cancels the run's sub-runs that have not ended (and theirs: each cancel does the same), in the caller's transaction. */
    const cancelChildren = (runId: string): Effect.Effect<void> =>
      Effect.gen(function*() {
        const children = yield* sql<{ id: string }>`
          SELECT id FROM runs.runs WHERE parent_run_id = ${runId} AND status NOT IN ${terminal} ORDER BY id
        `.pipe(Effect.orDie)
        for (const child of children) {
          const moved = yield* move(child.id, "cancel", { set: sql`, finished_at = now()`, parent: runId })
          // Every process (this one too) interrupts the child's step through the control stream.
          if (moved !== undefined) yield* controlStream.append(log, "cancel", { runId: child.id }).pipe(Effect.orDie)
        }
      })

    /** A caller's control: the guarded move, then what follows it, in one transaction; a refusal names the current status. */
    const control = (
      runId: string,
      transition: Lifecycle.Control,
      options: { readonly set?: Fragment; readonly after?: (row: RunRow) => Effect.Effect<void> } = {}
    ) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const row = yield* requireRun(runId)
        // The run as this control left it (read before commit: a job may move it on at once).
        const moved = yield* transact(Effect.gen(function*() {
          const result = yield* move(runId, transition, { organizationId: principal.organizationId, ...(options.set === undefined ? {} : { set: options.set }) })
          if (result === undefined) return Option.none<RunRow>()
          if (options.after !== undefined) yield* options.after(row)
          // Who did what to which run, in the platform's audit log (same transaction).
          yield* audit.record(`runs.run.${transition}`, { type: "run", id: runId }, { from: result.previous, to: Lifecycle.targetOf(transition) })
          return yield* runRow(runId, principal.organizationId)
        }))
        if (Option.isSome(moved)) return toRun(moved.value)
        const current = Option.getOrThrow(yield* runRow(runId, principal.organizationId))
        return yield* new RunStatusConflict({
          runId,
          currentStatus: current.status,
          transition,
          allowed: Lifecycle.allowedControls(current.status),
          detail: `Cannot ${transition} run ${runId}: its status is ${current.status}.`
        })
      })

    // ── cancellation of in-flight steps ───────────────────────────────────

    /** The fibers running a step (or its retry backoff) in this process, by run. */
    const inflight = new Map<string, Fiber.Fiber<unknown, unknown>>()
    /** Runs cancelled lately (bounded): a job of one does not start its next step. */
    const cancelled = new Set<string>()
    const interruptLocal = (runId: string) =>
      Effect.suspend(() => {
        cancelled.add(runId)
        if (cancelled.size > 10_000) cancelled.delete(cancelled.values().next().value ?? runId)
        const fiber = inflight.get(runId)
        return fiber === undefined ? Effect.void : Effect.asVoid(Fiber.interrupt(fiber))
      })

    // Follow the control stream from now on: a cancel appended by any process interrupts the step here.
    const controlStream = ControlEvents.at()
    const controlFrom = yield* log.lastSeq(controlStream.name).pipe(Effect.orDie)
    yield* controlStream.subscribe(log, controlFrom).pipe(
      Stream.runForEach((event) => interruptLocal(event.data.runId)),
      Effect.tapCause((cause) => Effect.logWarning("Runs: control stream lost, following again", Cause.pretty(cause))),
      Effect.retry(Schedule.spaced(Duration.seconds(1))),
      Effect.forkScoped
    )

    // ── validation ────────────────────────────────────────────────────────

    const validate = (input: StartRun) =>
      Effect.gen(function*() {
        const names = new Set<string>()
        for (const [index, step] of input.steps.entries()) {
          const refuse = (reason: string) =>
            new InvalidRunDefinition({ stepIndex: index, step: step.name, reason, detail: `Step ${index} (${step.name}): ${reason}` })
          if (names.has(step.name)) return yield* refuse("duplicate step name")
          names.add(step.name)
          const type = registry.get(step.type)
          if (type === undefined) return yield* refuse(`unknown step type ${step.type} (known: ${registry.types().join(", ")})`)
          const checked = type.validate(step, input.steps, index)
          const invalid = Effect.isEffect(checked) ? yield* checked : checked
          if (invalid !== undefined) return yield* refuse(invalid)
        }
      })

    const insertRun = (input: StartRun, status: "draft" | "queued", options: RunOptions = {}) =>
      Effect.gen(function*() {
        yield* validate(input)
        const principal = yield* CurrentPrincipal
        const id = yield* newRunId
        const parent = options.parent
        yield* transact(Effect.gen(function*() {
          if (parent !== undefined) {
            // Locked: a cancel of the parent either sees this child or comes after it (and cancels it).
            const found = yield* sql<{ status: RunStatus }>`
              SELECT status FROM runs.runs WHERE id = ${parent.runId} AND organization_id = ${principal.organizationId} FOR NO KEY UPDATE
            `.pipe(Effect.orDie)
            if (found[0] === undefined) return yield* Effect.die(new Error(`no parent run ${parent.runId} in the caller's organization`))
            if (Lifecycle.isTerminal(found[0].status)) {
              return yield* Effect.die(new Error(`the parent run ${parent.runId} has ended (${found[0].status})`))
            }
          }
          yield* sql`
            INSERT INTO runs.runs (id, organization_id, created_by, title, source, ref_key, status, steps, input, labels, parent_run_id, parent_step)
            VALUES (${id}, ${principal.organizationId}, ${principal.id}, ${input.title ?? null}, ${input.source ?? "api"},
              ${input.refKey ?? null}, ${status}, ${JSON.stringify(input.steps)}::jsonb, ${JSON.stringify(input.input ?? {})}::jsonb,
              ${JSON.stringify(input.labels ?? {})}::jsonb, ${parent?.runId ?? null}, ${parent?.stepIndex ?? null})
          `.pipe(Effect.orDie)
          if (input.timeoutMs !== undefined) yield* sql`UPDATE runs.runs SET timeout_ms = ${input.timeoutMs} WHERE id = ${id}`.pipe(Effect.orDie)
          yield* emit(id, { _tag: "status", from: null, to: status, transition: status === "draft" ? "create" : "start" })
          if (status === "queued") yield* enqueue(id)
        }))
        return toRun(Option.getOrThrow(yield* runRow(id, principal.organizationId)))
      })

    // ── execution ─────────────────────────────────────────────────────────

    const failRun = (runId: string, epoch: number | undefined, stepIndex: number | null, step: string | null, message: string, where?: Fragment) =>
      transact(Effect.gen(function*() {
        const error = JSON.stringify({ stepIndex, step, message })
        const moved = yield* move(runId, "fail", {
          ...(epoch === undefined ? {} : { epoch }),
          ...(where === undefined ? {} : { where }),
          set: sql`, error = ${error}::jsonb, finished_at = now()`
        })
        if (moved !== undefined) yield* emit(runId, { _tag: "error", stepIndex, message: step === null ? message : `step ${step}: ${message}` })
      }))

    /** Fails the run (whatever its epoch) naming the step it is at. */
    const failAtCurrent = (runId: string, message: string, where?: Fragment) =>
      Effect.gen(function*() {
        const row = yield* runRow(runId, undefined)
        if (Option.isNone(row)) return
        const stepIndex = Number(row.value.current_step)
        const steps = json(row.value.steps) as ReadonlyArray<StepDefinition>
        yield* failRun(runId, undefined, stepIndex, steps[stepIndex]?.name ?? null, message, where)
      })

    /** The run outlived its run-level timeout: failed, naming the step it was at. */
    const expireRun = (runId: string, epoch: number | undefined, stepIndex: number, step: string | null) =>
      transact(Effect.gen(function*() {
        const message = "the run timed out"
        const moved = yield* move(runId, "expire", {
          ...(epoch === undefined ? {} : { epoch }),
          set: sql`, error = ${JSON.stringify({ stepIndex, step, message })}::jsonb, finished_at = now()`
        })
        if (moved !== undefined) yield* emit(runId, { _tag: "error", stepIndex, message: step === null ? message : `step ${step}: ${message}` })
      }))

    /** The result of running one step to its end in this job. */
    type Attempted =
      | {
        readonly _tag: "Outcome"
        readonly outcome: StepOutcome
        readonly attempts: number
        readonly startedAt: Date
        /** The attempt's `step_started` when it is not written yet: it goes in the checkpoint's transaction. */
        readonly pending: ReadonlyArray<RunEventData>
      }
      | { readonly _tag: "Failed"; readonly message: string }
      | { readonly _tag: "Stop" }

    const stillOurs = (runId: string, epoch: number) =>
      sql<{ ok: number }>`SELECT 1 AS ok FROM runs.runs WHERE id = ${runId} AND epoch = ${epoch} AND status = 'running'`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.orDie
      )

    const startedDelayMs = settings.startedEventDelayMs ?? 50

    const attemptStep = (run: Run, epoch: number, type: StepType, base: Omit<StepContext, "attempt">) =>
      Effect.gen(function*() {
        const step = base.step
        const policy = step.retry ?? type.retry
        const timeoutMs = step.timeoutMs ?? type.timeoutMs
        const startedAt = new Date()
        for (let attempt = 0;; attempt++) {
          // `step_started` is written when the step outlives `startedDelayMs` or emits an event of
          // its own; a quicker step's goes in its checkpoint's transaction (fewer rounds per step).
          const started: RunEventData = { _tag: "step_started", stepIndex: base.stepIndex, name: step.name, type: step.type, attempt }
          let startedWritten = false
          const lock = Semaphore.makeUnsafe(1)
          const writeStarted = lock.withPermits(1)(Effect.suspend(() =>
            startedWritten ? Effect.void : Effect.andThen(emitNow(run.id, started), Effect.sync(() => {
              startedWritten = true
            }))
          )).pipe(Effect.uninterruptible)
          const timer = yield* Effect.forkChild(Effect.andThen(Effect.sleep(Duration.millis(startedDelayMs)), writeStarted))
          const fiber = yield* type.execute({
            ...base,
            attempt,
            log: (message) => Effect.andThen(writeStarted, base.log(message)),
            emit: (data) => Effect.andThen(writeStarted, base.emit(data)),
            reportUsage: (usage) => Effect.andThen(writeStarted, base.reportUsage(usage))
          }).pipe(
            Effect.timeoutOrElse({
              duration: Duration.millis(timeoutMs),
              orElse: () => Effect.fail(new StepFailed({ message: `timed out after ${timeoutMs} ms`, retryable: true }))
            }),
            Effect.forkChild
          )
          inflight.set(run.id, fiber)
          const exit = yield* Fiber.await(fiber).pipe(Effect.ensuring(Effect.sync(() => inflight.delete(run.id))))
          // Waits for a write in progress (uninterruptible); after this, `startedWritten` is final.
          yield* Fiber.interrupt(timer)
          const pending = startedWritten ? [] : [started]
          if (Exit.isSuccess(exit)) return { _tag: "Outcome", outcome: exit.value, attempts: attempt + 1, startedAt, pending } satisfies Attempted
          if (Cause.hasInterruptsOnly(exit.cause)) {
            // A cancel: the run is no longer ours to write.
            return { _tag: "Stop" } satisfies Attempted
          }
          const failure = Cause.findError(exit.cause)
          const error = failure._tag === "Success"
            ? failure.success
            : new StepFailed({ message: `the step crashed: ${String(Cause.squash(exit.cause))}`, retryable: false })
          const willRetry = error.retryable && attempt < policy.limit
          yield* transact(emitAll(run.id, [...pending, { _tag: "step_failed", stepIndex: base.stepIndex, name: step.name, attempt, message: error.message, willRetry }]))
          if (!willRetry) return { _tag: "Failed", message: error.message } satisfies Attempted
          // The backoff is interruptible by a cancel too.
          const backoff = yield* Effect.forkChild(Effect.sleep(Duration.millis(delayOf(policy, attempt))))
          inflight.set(run.id, backoff)
          yield* Fiber.await(backoff).pipe(Effect.ensuring(Effect.sync(() => inflight.delete(run.id))))
          if (!(yield* stillOurs(run.id, epoch))) return { _tag: "Stop" } satisfies Attempted
        }
      })

    /** One job: claim the run, replay checkpoints, run the remaining steps until the run ends, waits or stops. */
    const execute = (runId: string) =>
      Effect.gen(function*() {
        const claimed = yield* transact(move(runId, "claim", {
          set: sql`, epoch = r.epoch + 1, started_at = COALESCE(r.started_at, now())`
        }))
        if (claimed === undefined) return
        const epoch = claimed.epoch
        const deadline = claimed.deadline
        if (claimed.previous === "running") yield* emitNow(runId, { _tag: "log", stepIndex: null, message: "resumed after its previous execution stopped" })
        // The run, its checkpoints and its waits in one query (waits are written by this run's own
        // jobs and decided before the next job is enqueued: read once).
        const loaded = yield* sql<RunRow & { readonly checkpoints: string; readonly waits: string }>`
          SELECT ${columns},
            (SELECT COALESCE(json_agg(json_build_object('run_id', s.run_id, 'step_index', s.step_index, 'name', s.name, 'type', s.type,
              'output', s.output::text, 'next', s.next, 'attempts', s.attempts, 'idempotency_key', s.idempotency_key,
              'started_at', s.started_at, 'finished_at', s.finished_at)), '[]') FROM runs.run_steps s WHERE s.run_id = r.id)::text AS checkpoints,
            (SELECT COALESCE(json_agg(w), '[]') FROM runs.run_waits w WHERE w.run_id = r.id)::text AS waits
          FROM runs.runs r WHERE r.id = ${runId}
        `.pipe(Effect.orDie)
        const run = toRun(loaded[0])
        const parentId = loaded[0].parent_run_id
        const checkpoints = new Map((JSON.parse(loaded[0].checkpoints) as Array<StepRow>).map((row) => [Number(row.step_index), toStep(row)]))
        const waits = new Map((JSON.parse(loaded[0].waits) as Array<WaitRow>).map(toWait).map((wait) => [wait.stepIndex, wait]))
        const outputs: Record<string, unknown> = {}
        let input: unknown = run.input
        let index = 0
        // The step the run row is known (as of this job's last write) to be running at.
        let current = run.currentStep
        while (index < run.steps.length) {
          const step = run.steps[index]
          const checkpoint = checkpoints.get(index)
          if (checkpoint !== undefined) {
            // Replayed from its stored result, never executed again.
            outputs[step.name] = checkpoint.output
            input = checkpoint.output
            index = checkpoint.next
            continue
          }
          if (cancelled.has(runId)) return
          if (current !== index) {
            // The boundary check (the checkpoint's write does it for the steps that follow one).
            const atBoundary = yield* sql<{ ok: number }>`
              UPDATE runs.runs SET current_step = ${index}, updated_at = now()
              WHERE id = ${runId} AND epoch = ${epoch} AND status = 'running' RETURNING 1 AS ok
            `.pipe(Effect.orDie)
            if (atBoundary.length === 0) return // paused, cancelled, or taken over
            current = index
          }
          const type = registry.get(step.type)
          if (type === undefined) return yield* failRun(runId, epoch, index, step.name, `unknown step type ${step.type}`)
          const stepIndex = index
          const left = deadline === null ? undefined : deadline.getTime() - Date.now()
          if (left !== undefined && left <= 0) return yield* expireRun(runId, epoch, stepIndex, step.name)
          const stored = waits.get(stepIndex)
          // `Runs.complete` failed this step's callback: the run fails here, naming the step.
          if (stored?.kind === "callback" && stored.decision === "rejected") {
            return yield* failRun(runId, epoch, stepIndex, step.name, stored.notes ?? "the callback failed")
          }
          // How many of the step's sub-runs had ended when it last read them (`children`).
          let seenEnded = 0
          const attempted = yield* attemptStep(run, epoch, type, {
            runId,
            organizationId: run.organizationId,
            stepIndex,
            step,
            steps: run.steps,
            input,
            variables: { ...run.input, input, steps: { ...outputs } },
            idempotencyKey: idempotencyKeyOf(runId, stepIndex),
            wait: stored,
            children: Effect.tap(childrenOf(runId, stepIndex), (children) =>
              Effect.sync(() => {
                seenEnded = children.filter((child) => Lifecycle.isTerminal(child.status)).length
              })),
            log: (message) => emitNow(runId, { _tag: "log", stepIndex, message }),
            emit: (data) => emitNow(runId, data),
            reportUsage: (usage) => addUsage(runId, stepIndex, usage)
          }).pipe(
            // The run-level timeout interrupts the step (and its retries) like a cancel does.
            left === undefined ? (effect) => effect : Effect.timeoutOrElse({
              duration: Duration.millis(left),
              orElse: () => Effect.succeed({ _tag: "Expired" } as const)
            })
          )
          if (attempted._tag === "Expired") return yield* expireRun(runId, epoch, stepIndex, step.name)
          if (attempted._tag === "Stop") return
          if (attempted._tag === "Failed") return yield* failRun(runId, epoch, stepIndex, step.name, attempted.message)
          const outcome = attempted.outcome
          if (outcome._tag === "Wait") {
            yield* transact(Effect.gen(function*() {
              const moved = yield* move(runId, outcome.kind === "approval" ? "await" : "sleep", { epoch, before: attempted.pending })
              if (moved === undefined) return
              const until = outcome.until === undefined ? null : outcome.until
              const rerun = outcome.kind === "callback" && outcome.rerun === true
              yield* sql`
                INSERT INTO runs.run_waits (run_id, step_index, kind, until, rerun)
                VALUES (${runId}, ${stepIndex}, ${outcome.kind}, ${until}, ${rerun})
                ON CONFLICT (run_id, step_index) DO UPDATE SET kind = EXCLUDED.kind, until = EXCLUDED.until, rerun = EXCLUDED.rerun,
                  decision = NULL, notes = NULL, decided_by = NULL, decided_at = NULL
              `.pipe(Effect.orDie)
              yield* emit(runId, {
                _tag: "step_waiting",
                stepIndex,
                name: step.name,
                kind: outcome.kind,
                until: until === null ? null : until.toISOString()
              })
              if (outcome.kind === "sleep") yield* enqueue(runId, until ?? new Date())
              if (outcome.kind === "callback") {
                // Sub-runs that ended before this wait was stored (the run's row is locked by the
                // move above, so a child ending now waits for this commit and then finds the wait).
                const ended = yield* endedChildrenOf(runId, stepIndex)
                if (rerun && ended.length > seenEnded) yield* rerunStep(runId)
                else if (!rerun && ended[0] !== undefined) yield* endCallback(runId, stepIndex, resultOf(ended[0]), `run:${ended[0].id}`, undefined)
              }
            }))
            return
          }
          const next = Math.min(run.steps.length, Math.max(stepIndex + 1, outcome.next ?? stepIndex + 1))
          const output = outcome.output ?? null
          // One transaction: the checkpoint (fenced by the epoch), the run's next step (when it
          // still runs: this is the boundary check), the step's events and, after the last step, success.
          const status = yield* transact(Effect.gen(function*() {
            // A sub-run's last step: its parent is locked before the run (see `move`).
            if (parentId !== null && next >= run.steps.length) {
              yield* sql`SELECT 1 FROM runs.runs WHERE id = ${parentId} FOR NO KEY UPDATE`.pipe(Effect.orDie)
            }
            const rows = yield* sql<{ status: RunStatus | null; written: boolean }>`
              WITH run AS (
                UPDATE runs.runs SET current_step = CASE WHEN status = 'running' THEN ${next} ELSE current_step END, updated_at = now()
                WHERE id = ${runId} AND epoch = ${epoch} AND status IN ('running', 'paused', 'queued')
                RETURNING status
              ), step AS (
                INSERT INTO runs.run_steps (run_id, step_index, name, type, output, next, attempts, idempotency_key, started_at)
                SELECT ${runId}, ${stepIndex}, ${step.name}, ${step.type}, ${JSON.stringify(output)}::jsonb, ${next},
                  ${attempted.attempts}, ${idempotencyKeyOf(runId, stepIndex)}, ${attempted.startedAt}
                FROM run
                ON CONFLICT (run_id, step_index) DO NOTHING
                RETURNING 1 AS ok
              )
              SELECT (SELECT status FROM run) AS status, EXISTS (SELECT 1 FROM step) AS written
            `.pipe(Effect.orDie)
            const row = rows[0]
            if (row === undefined || !row.written) return null
            yield* emitAll(runId, [...attempted.pending, {
              _tag: "step_completed",
              stepIndex,
              name: step.name,
              type: step.type,
              attempts: attempted.attempts,
              output
            }])
            if (row.status === "running" && next >= run.steps.length) {
              yield* move(runId, "succeed", {
                epoch,
                parent: parentId,
                set: sql`, output = ${JSON.stringify(outcome.output ?? null)}::jsonb, current_step = ${run.steps.length}, finished_at = now()`
              })
              return "succeeded" as const
            }
            return row.status
          }))
          if (status !== "running") return // succeeded, paused, cancelled, taken over
          current = next
          outputs[step.name] = outcome.output
          input = outcome.output
          index = next
        }
        yield* transact(move(runId, "succeed", {
          epoch,
          parent: parentId,
          set: sql`, output = ${JSON.stringify(input ?? null)}::jsonb, current_step = ${run.steps.length}, finished_at = now()`
        }))
      })

    yield* jobs.register(executeQueue, {
      schema: ExecutePayload,
      policy: "singleton",
      concurrency: settings.concurrency,
      retryLimit: settings.jobRetryLimit,
      retryDelay: settings.jobRetryDelaySeconds,
      retryBackoff: true,
      retryDelayMax: 60,
      expireInSeconds: 86_400,
      handler: (payload, job) =>
        execute(payload.runId).pipe(
          Effect.tapCause((cause) =>
            job.retryCount >= settings.jobRetryLimit && !Cause.hasInterruptsOnly(cause)
              // The last attempt: the run must not stay `running` with nobody to run it.
              ? Effect.ignore(failAtCurrent(payload.runId, `the engine gave up: ${Cause.pretty(cause).slice(0, 500)}`))
              : Effect.void
          )
        )
    }).pipe(Effect.orDie)

    // ── runs whose job is gone ────────────────────────────────────────────
    // A job that ran out of retries without reaching its last attempt's handler (its process
    // died on that attempt, the database was away), or a delayed job dropped by the queue's
    // retention, leaves a run `queued`, `running` or `waiting` that nobody will execute. Every
    // `orphanSweepSeconds` each process fails such runs (unchanged for that long, with no job
    // queued, retrying or running), naming the step they were at.
    const orphanSeconds = settings.orphanSweepSeconds ?? 60
    const sweepOrphans = Effect.gen(function*() {
      const candidates = yield* sql<{ id: string }>`
        SELECT id FROM runs.runs
        WHERE status IN ('queued', 'running', 'waiting') AND updated_at < now() - ${orphanSeconds}::int * interval '1 second'
          -- A callback wait has no job: what ends it (a sub-run ending, Runs.complete) enqueues one.
          AND NOT (status = 'waiting' AND EXISTS (SELECT 1 FROM runs.run_waits w
            WHERE w.run_id = runs.id AND w.step_index = runs.current_step AND w.kind = 'callback'))
        ORDER BY updated_at LIMIT 500
      `
      if (candidates.length === 0) return
      const stale = sql`r.updated_at < now() - ${orphanSeconds}::int * interval '1 second'`
      const live = yield* jobs.unsettled(executeQueue, candidates.map((row) => row.id))
      for (const row of candidates) {
        // Still unchanged: a control that moved it meanwhile (and enqueued a job) wins.
        if (!live.has(row.id)) {
          yield* failAtCurrent(row.id, "its job is gone (it ran out of retries or was dropped): nobody was executing it", stale)
        }
      }
    })
    // Runs past their run-level timeout that no job is executing now (a running one's job expires it itself).
    const sweepExpired = Effect.gen(function*() {
      const expired = yield* sql<{ id: string; current_step: number; steps: unknown }>`
        SELECT id, current_step, steps::text AS steps FROM runs.runs
        WHERE status IN ('queued', 'paused', 'waiting', 'awaiting_approval') AND timeout_ms IS NOT NULL
          AND started_at + timeout_ms * interval '1 millisecond' < now()
        ORDER BY updated_at LIMIT 500
      `
      for (const row of expired) {
        const stepIndex = Number(row.current_step)
        yield* expireRun(row.id, undefined, stepIndex, (json(row.steps) as ReadonlyArray<StepDefinition>)[stepIndex]?.name ?? null)
      }
    })
    const every = (seconds: number, what: string, sweep: Effect.Effect<void, SqlError | JobError>) =>
      sweep.pipe(
        Effect.tapCause((cause) => Effect.logWarning(`Runs: the sweep for ${what} failed`, Cause.pretty(cause))),
        Effect.ignore,
        Effect.repeat(Schedule.spaced(Duration.seconds(seconds))),
        Effect.forkScoped
      )
    yield* every(orphanSeconds, "runs without a job", sweepOrphans)
    yield* every(settings.deadlineSweepSeconds ?? 5, "runs past their timeout", sweepExpired)

    // ── the service ───────────────────────────────────────────────────────

    const decide = (runId: string, decision: "approved" | "rejected", notes: string | undefined, commit: boolean) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const transition = decision === "approved" ? "approve" : "reject"
        const set = decision === "approved" ? nothing : sql`, finished_at = now()`
        return yield* control(runId, transition, {
          set,
          after: (row) =>
            Effect.gen(function*() {
              const stepIndex = Number(row.current_step)
              const steps = json(row.steps) as ReadonlyArray<StepDefinition>
              yield* sql`
                UPDATE runs.run_waits SET decision = ${decision}, notes = ${notes ?? null}, decided_by = ${principal.id}, decided_at = now()
                WHERE run_id = ${runId} AND step_index = ${stepIndex}
              `.pipe(Effect.orDie)
              // Seed 002's review row: one per approve or reject, in the control's transaction.
              yield* sql`
                INSERT INTO runs.run_reviews (run_id, step_index, decision, notes, commit_requested, reviewed_by)
                VALUES (${runId}, ${stepIndex}, ${decision}, ${notes ?? null}, ${commit}, ${principal.id})
              `.pipe(Effect.orDie)
              if (decision === "approved") yield* enqueue(runId)
              else {
                yield* sql`UPDATE runs.runs SET error = ${JSON.stringify({ stepIndex, step: steps[stepIndex]?.name ?? null, message: "rejected" })}::jsonb WHERE id = ${runId}`.pipe(Effect.orDie)
                yield* emit(runId, { _tag: "error", stepIndex, message: `step ${steps[stepIndex]?.name ?? stepIndex}: rejected` })
              }
            })
        })
      })

    /**
     * Ends a `callback` wait. The guard is one UPDATE of the wait (still undecided, at the
     * run's current step, the run waiting or paused, in the caller's organization): of two
     * racing calls one matches, and a second call matches nothing (`RunStatusConflict`). A
     * completed step gets its checkpoint here (the next job replays it, the step is not
     * executed again); a failed one is failed by the next job at that step, naming it. A
     * waiting run moves to `queued` with its job enqueued; a paused one stays paused (resume
     * continues it).
     */
    const complete = (runId: string, stepIndex: number, result: CallbackResult) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        yield* requireRun(runId)
        const moved = yield* transact(endCallback(runId, stepIndex, result, principal.id, principal.organizationId))
        const current = toRun(Option.getOrThrow(yield* runRow(runId, principal.organizationId)))
        if (moved) return current
        return yield* new RunStatusConflict({
          runId,
          currentStatus: current.status,
          transition: "complete",
          allowed: Lifecycle.allowedControls(current.status),
          detail: `Run ${runId} has no open callback wait at step ${stepIndex} (its status is ${current.status}).`
        })
      })

    /** The run once it has ended: its status now, then its events until a status event says it ended. */
    const awaitEnd = (runId: string) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        // The last event number first: a status change after it is in the stream that follows.
        const last = yield* sql<{ seq: number | string | null }>`SELECT MAX(seq) AS seq FROM runs.run_events WHERE run_id = ${runId}`.pipe(Effect.orDie)
        const row = yield* requireRun(runId)
        if (Lifecycle.isTerminal(row.status)) return toRun(row)
        yield* RunEvents.at(runId).subscribe(log, Number(last[0]?.seq ?? 0)).pipe(
          Stream.filter((event) => event.data._tag === "status" && Lifecycle.isTerminal(event.data.to)),
          Stream.take(1),
          Stream.runDrain,
          Effect.orDie
        )
        return toRun(Option.getOrThrow(yield* runRow(runId, principal.organizationId)))
      })

    /** A call that already ran, recorded as a finished one-step run with its usage. */
    const record = (input: RecordRun) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const id = yield* newRunId
        const failed = input.error !== undefined
        const status: RunStatus = failed ? "failed" : "succeeded"
        const step = { name: input.source, type: "recorded" }
        const usage = input.usage
        yield* transact(Effect.gen(function*() {
          yield* sql`
            INSERT INTO runs.runs (id, organization_id, created_by, title, source, ref_key, status, steps, input, current_step, output,
              error, started_at, finished_at)
            VALUES (${id}, ${principal.organizationId}, ${principal.id}, ${input.title ?? null}, ${input.source}, ${input.refKey ?? null},
              ${status}, ${JSON.stringify([step])}::jsonb, ${JSON.stringify(input.input)}::jsonb, ${failed ? 0 : 1},
              ${failed ? null : JSON.stringify(input.output ?? null)}::jsonb,
              ${failed ? JSON.stringify({ stepIndex: 0, step: step.name, message: input.error }) : null}::jsonb,
              now() - make_interval(secs => ${Math.max(0, usage.latencyMs) / 1000}), now())
          `.pipe(Effect.orDie)
          yield* emit(id, { _tag: "status", from: null, to: status, transition: "record" })
          yield* addUsageIn(id, 0, usage)
          if (failed) yield* emit(id, { _tag: "error", stepIndex: 0, message: `step ${step.name}: ${input.error}` })
          else {
            yield* sql`
              INSERT INTO runs.run_steps (run_id, step_index, name, type, output, next, attempts, idempotency_key, started_at)
              VALUES (${id}, 0, ${step.name}, ${step.type}, ${JSON.stringify(input.output ?? null)}::jsonb, 1, 1, ${idempotencyKeyOf(id, 0)},
                now() - make_interval(secs => ${Math.max(0, usage.latencyMs) / 1000}))
            `.pipe(Effect.orDie)
            yield* emit(id, { _tag: "step_completed", stepIndex: 0, name: step.name, type: step.type, attempts: 1, output: input.output ?? null })
          }
        }))
        return toRun(Option.getOrThrow(yield* runRow(id, principal.organizationId)))
      })

    return Runs.of({
      create: (input) => insertRun(input, "draft"),
      run: (input, options) => insertRun(input, "queued", options),

      get: (runId) =>
        Effect.gen(function*() {
          const row = yield* requireRun(runId)
          const checkpoints = (yield* checkpointsOf(runId)).map(toStep)
          const wait = row.status === "waiting" || row.status === "awaiting_approval" ? yield* waitOf(runId, Number(row.current_step)) : undefined
          return new RunDetail({ run: toRun(row), checkpoints, wait: wait ?? null })
        }),

      list: (filter) =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          const limit = Math.min(100, Math.max(1, filter.limit ?? 50))
          const after = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor)
          const rows = yield* sql<RunRow & { readonly cursor_at: string }>`
            SELECT ${columns}, r.created_at::text AS cursor_at FROM runs.runs r
            WHERE r.organization_id = ${principal.organizationId}
              ${filter.status === undefined ? nothing : sql`AND r.status = ${filter.status}`}
              ${filter.source === undefined ? nothing : sql`AND r.source = ${filter.source}`}
              ${after === undefined ? nothing : sql`AND (r.created_at, r.id) < (${after[0]}::timestamptz, ${after[1]})`}
            ORDER BY r.created_at DESC, r.id DESC
            LIMIT ${limit + 1}
          `.pipe(Effect.orDie)
          const kept = rows.slice(0, limit)
          const last = kept[kept.length - 1]
          return new RunPage({
            data: kept.map(toRun),
            nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.cursor_at, last.id) : null
          })
        }),

      start: (runId) => control(runId, "start", { after: () => enqueue(runId) }),

      cancel: (runId) =>
        Effect.gen(function*() {
          const run = yield* control(runId, "cancel", {
            set: sql`, finished_at = now()`,
            after: () => Effect.asVoid(controlStream.append(log, "cancel", { runId }).pipe(Effect.orDie))
          })
          // This process at once; the others through the control stream.
          yield* interruptLocal(runId)
          return run
        }),

      pause: (runId) => control(runId, "pause"),
      resume: (runId) => control(runId, "resume", { after: () => enqueue(runId) }),

      retry: (runId) =>
        control(runId, "retry", {
          set: sql`, retries = r.retries + 1, error = NULL, finished_at = NULL`,
          after: (row) =>
            Effect.gen(function*() {
              // A rejected approval asks again.
              yield* sql`DELETE FROM runs.run_waits WHERE run_id = ${runId} AND step_index = ${Number(row.current_step)}`.pipe(Effect.orDie)
              yield* enqueue(runId)
            })
        }),

      complete,
      awaitEnd,
      record,

      approve: (runId, review) => decide(runId, "approved", review.notes, review.commit ?? false),
      reject: (runId, review) => decide(runId, "rejected", review.notes, false),

      reviews: (runId) =>
        Effect.gen(function*() {
          yield* requireRun(runId)
          const rows = yield* sql<ReviewRow>`
            SELECT id::text AS id, run_id, step_index, decision, notes, commit_requested, reviewed_by, created_at
            FROM runs.run_reviews WHERE run_id = ${runId} ORDER BY id
          `.pipe(Effect.orDie)
          return rows.map(toReview)
        }),

      log: (page) =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          const limit = Math.min(200, Math.max(1, Math.trunc(page.limit)))
          const offset = Math.max(0, Math.trunc(page.offset))
          // Ids are decimal strings: by length, then as text, is their numeric order.
          const [rows, count] = yield* Effect.all([
            sql<RunRow>`
              SELECT ${columns} FROM runs.runs r WHERE r.organization_id = ${principal.organizationId}
              ORDER BY r.created_at DESC, length(r.id) DESC, r.id DESC LIMIT ${limit} OFFSET ${offset}
            `,
            sql<{ total: number | string }>`SELECT COUNT(*) AS total FROM runs.runs WHERE organization_id = ${principal.organizationId}`
          ]).pipe(Effect.orDie)
          return { data: rows.map(toRun), total: Number(count[0]?.total ?? 0) }
        }),

      stats: Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const finished = sql.literal(`status IN ('succeeded', 'failed', 'cancelled')`)
        const [totals, providers] = yield* Effect.all([
          sql<{ total: number | string; ok: number | string; prompt_tokens: number | string; output_tokens: number | string; avg_latency: number | string | null }>`
            SELECT COUNT(*) AS total,
              COALESCE(SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END), 0) AS ok,
              COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens,
              COALESCE(SUM(output_tokens), 0) AS output_tokens,
              COALESCE(AVG(latency_ms), 0) AS avg_latency
            FROM runs.runs WHERE organization_id = ${principal.organizationId} AND ${finished}
          `,
          sql<{ provider: string; count: number | string }>`
            SELECT COALESCE(provider, '') AS provider, COUNT(*) AS count
            FROM runs.runs WHERE organization_id = ${principal.organizationId} AND ${finished}
            GROUP BY COALESCE(provider, '') ORDER BY COUNT(*) DESC, COALESCE(provider, '')
          `
        ]).pipe(Effect.orDie)
        const row = totals[0]
        const total = Number(row?.total ?? 0)
        const ok = Number(row?.ok ?? 0)
        return {
          total,
          ok,
          error: total - ok,
          promptTokens: Number(row?.prompt_tokens ?? 0),
          outputTokens: Number(row?.output_tokens ?? 0),
          avgLatencyMs: Math.trunc(Number(row?.avg_latency ?? 0)),
          byProvider: providers.map((p) => ({ provider: p.provider, count: Number(p.count) }))
        }
      }),

      events: (runId, filter) =>
        Effect.gen(function*() {
          yield* requireRun(runId)
          const limit = Math.min(1000, Math.max(1, filter.limit ?? 100))
          const kinds = filter.kinds ?? []
          const severities = filter.severities ?? []
          const rows = yield* sql<{ run_id: string; seq: number; kind: string; severity: Severity; data: unknown; created_at: Date | string }>`
            SELECT run_id, seq, kind, severity, data::text AS data, created_at FROM runs.run_events
            WHERE run_id = ${runId} AND seq > ${filter.since ?? 0}
              ${kinds.length === 0 ? nothing : sql`AND ${sql.in("kind", kinds)}`}
              ${severities.length === 0 ? nothing : sql`AND ${sql.in("severity", severities)}`}
            ORDER BY seq LIMIT ${limit}
          `.pipe(Effect.orDie)
          return yield* Effect.forEach(rows, (row) =>
            Schema.decodeUnknownEffect(RunEventDataSchema)(json(row.data)).pipe(
              Effect.orDie,
              Effect.map((data) =>
                new RunEvent({ runId: row.run_id, seq: Number(row.seq), kind: row.kind, severity: row.severity, data, createdAt: iso(row.created_at) })
              )
            ))
        }),

      follow: (runId, since) =>
        Effect.gen(function*() {
          yield* requireRun(runId)
          return RunEvents.at(runId).subscribe(log, since).pipe(
            Stream.map((event) =>
              new RunEvent({
                runId,
                seq: event.seq,
                kind: event.event,
                severity: severityOf(event.data),
                data: event.data,
                createdAt: event.createdAt.toISOString()
              })
            ),
            Stream.orDie
          )
        })
    })
  })

export const layer = (settings: EngineSettings) => Layer.effect(Runs, make(settings))
