/**
 * The runs plugin's `Runs` service as other plugins see it (agents, workflows, automations
 * start runs through it): the tag and its interface, nothing of the implementation
 * (`Runs.ts` provides it; the plugin's layer outputs it). A plugin that uses it declares
 * `requires: ["runs"]` and imports only this module, `StepRegistry.ts` and the contract
 * modules they name.
 *
 * Every call acts in the caller's organization (`CurrentPrincipal`): another organization's
 * run is `RunNotFound`. Controls are atomic: of two racing controls exactly one wins; the
 * other fails with `RunStatusConflict` naming the status the winner left.
 */
import { Context } from "effect"
import type { Effect, Stream } from "effect"
import type { CurrentPrincipal } from "trellis/contract"
import type {
  CallbackResult,
  Run,
  RunDetail,
  RunEvent,
  RunEventKind,
  RunLogPage,
  RunPage,
  RunReview,
  RunStats,
  RunStatus,
  Severity,
  StartRun,
  StepUsage
} from "./Domain.ts"
import type { InvalidRunDefinition, RunNotFound, RunStatusConflict } from "./Errors.ts"

export interface ListRuns {
  readonly status?: RunStatus | undefined
  readonly source?: string | undefined
  readonly limit?: number | undefined
  /** From a previous page's `nextCursor`. */
  readonly cursor?: string | undefined
}

export interface EventFilter {
  /** Events after this number (`Last-Event-ID`); 0 for all. */
  readonly since?: number | undefined
  readonly kinds?: ReadonlyArray<RunEventKind> | undefined
  /** Only events of these severities. */
  readonly severities?: ReadonlyArray<Severity> | undefined
  readonly limit?: number | undefined
}

/** A call that already ran synchronously (PromptOps's playground), recorded as a finished one-step run for the run log. */
export interface RecordRun {
  readonly source: string
  readonly refKey?: string | undefined
  readonly title?: string | undefined
  readonly input: Readonly<Record<string, unknown>>
  readonly output: unknown
  /** Set when the call failed: the run is recorded `failed` with this cause. */
  readonly error?: string | undefined
  readonly usage: StepUsage
}

export interface Review {
  readonly notes?: string | undefined
  /** Seed 002's `commit` flag on approve: recorded on the review (git is outside Trellis). */
  readonly commit?: boolean | undefined
}

/** How a run is started besides its definition: what the HTTP body cannot set. */
export interface RunOptions {
  /**
   * The run is a sub-run of that step of that run (of the caller's organization). When it ends
   * (succeeded, failed, cancelled), in the same transaction, the parent's `callback` wait at that
   * step completes with its result (or, with `rerun`, the parent step executes again); a cancel
   * or run-level timeout of the parent cancels it.
   */
  readonly parent?: { readonly runId: string; readonly stepIndex: number } | undefined
}

type Control = Effect.Effect<Run, RunNotFound | RunStatusConflict, CurrentPrincipal>

export class Runs extends Context.Service<Runs, {
  /** A `draft` run (seed 002's `POST /api/runs`): validated now, started by `start`. */
  readonly create: (input: StartRun) => Effect.Effect<Run, InvalidRunDefinition, CurrentPrincipal>
  /** A run that starts at once (`queued`, its first job enqueued in the same transaction). */
  readonly run: (input: StartRun, options?: RunOptions) => Effect.Effect<Run, InvalidRunDefinition, CurrentPrincipal>
  readonly get: (runId: string) => Effect.Effect<RunDetail, RunNotFound, CurrentPrincipal>
  readonly list: (filter: ListRuns) => Effect.Effect<RunPage, never, CurrentPrincipal>
  /** draft -> queued. */
  readonly start: (runId: string) => Control
  /** Any status that is not terminal -> cancelled; the in-flight step is interrupted, on any process. */
  readonly cancel: (runId: string) => Control
  /** -> paused; the in-flight step finishes and is checkpointed, the run holds before the next. */
  readonly pause: (runId: string) => Control
  /** paused -> queued. */
  readonly resume: (runId: string) => Control
  /** failed -> queued; continues from the failed step (earlier steps replay from their checkpoints). */
  readonly retry: (runId: string) => Control
  /** awaiting_approval -> queued (the approval step completes). */
  readonly approve: (runId: string, review: Review) => Control
  /** awaiting_approval -> failed (the approval step fails with `rejected`). */
  readonly reject: (runId: string, review: Review) => Control
  /**
   * Ends a `callback` wait from outside (a ticket was done; sub-runs end their parent's wait
   * themselves, see {@link RunOptions}): the waiting step completes
   * with the output (or fails), and the run continues. A wait already ended, or a run not
   * waiting at that step, is `RunStatusConflict`; calling it twice changes nothing the second time.
   */
  readonly complete: (runId: string, stepIndex: number, result: CallbackResult) => Control
  /** The run once it has ended (`succeeded`, `failed` or `cancelled`): what synchronous callers (PromptOps's run endpoints) wait on. */
  readonly awaitEnd: (runId: string) => Effect.Effect<Run, RunNotFound, CurrentPrincipal>
  /** Records a call that already ran (see {@link RecordRun}). */
  readonly record: (input: RecordRun) => Effect.Effect<Run, never, CurrentPrincipal>
  /** The run's reviews (approve and reject), oldest first. */
  readonly reviews: (runId: string) => Effect.Effect<ReadonlyArray<RunReview>, RunNotFound, CurrentPrincipal>
  /** PromptOps's run log: the organization's runs newest first, by `limit`/`offset`, and their count. */
  readonly log: (page: { readonly limit: number; readonly offset: number }) => Effect.Effect<RunLogPage, never, CurrentPrincipal>
  /** PromptOps's run stats over the organization's finished runs, aggregated in SQL. */
  readonly stats: Effect.Effect<RunStats, never, CurrentPrincipal>
  /** A page of the run's events, oldest first. */
  readonly events: (runId: string, filter: EventFilter) => Effect.Effect<ReadonlyArray<RunEvent>, RunNotFound, CurrentPrincipal>
  /** The run's events after `since`, then live ones as they commit (on every process), with no gap and no duplicate. */
  readonly follow: (runId: string, since: number) => Effect.Effect<Stream.Stream<RunEvent>, RunNotFound, CurrentPrincipal>
}>()("runs/Runs") {}

