/**
 * The step-type registry as other plugins see it: the tag, the executor contract and its
 * outcome types, nothing of the implementation (`Registry.ts` provides it; the plugin's layer
 * outputs it). A plugin that adds step types (model, prompt, agent, ticket...) declares
 * `requires: ["runs"]` and registers them from its layer:
 *
 * ```ts
 * const steps = yield* StepRegistry
 * yield* steps.register({ type: "ticket", timeoutMs: 30_000, retry: { limit: 3 }, validate: ..., execute: ... })
 * ```
 *
 * An executor runs one attempt of one step. It either finishes (`done`, with the output the
 * next step receives), or asks the run to wait (`wait`: the job ends, the wait is stored, and
 * what ends it enqueues the next job); it fails with `StepFailed`, which the engine retries
 * per the step's policy when `retryable`. The engine interrupts it on cancel and on timeout,
 * so it must be interruptible (Effect calls are; a promise must take the `AbortSignal`).
 * Steps with outside effects send `idempotencyKey` (derived from the run and the step) so a
 * step re-run after a crash is recognised downstream.
 */
import { Context, Data } from "effect"
import type { Effect } from "effect"
import type { CurrentPrincipal } from "trellis/contract"
import type { RetryPolicy, Run, RunEventData, RunWait, StepDefinition, StepUsage, WaitKind } from "./Domain.ts"

/** One attempt of a step failed. `retryable`: the engine may try again (per the step's retry policy). */
export class StepFailed extends Data.TaggedError("StepFailed")<{
  readonly message: string
  readonly retryable: boolean
}> {}

/** A step type is registered twice. */
export class DuplicateStepType extends Data.TaggedError("DuplicateStepType")<{ readonly type: string }> {}

export type StepOutcome =
  | { readonly _tag: "Done"; readonly output: unknown; readonly next?: number | undefined }
  | {
    readonly _tag: "Wait"
    readonly kind: WaitKind
    readonly until?: Date | undefined
    /**
     * A `callback` wait only: when a sub-run of this step ends, the step executes again (and
     * reads `children`) instead of completing with the sub-run's result. For a step that waits
     * for several sub-runs, or goes on after one (an agent's loop).
     */
    readonly rerun?: boolean | undefined
  }

export const done = (output: unknown, next?: number): StepOutcome => ({ _tag: "Done", output, next })
export const wait = (kind: WaitKind, until?: Date, options?: { readonly rerun?: boolean }): StepOutcome => ({
  _tag: "Wait",
  kind,
  until,
  ...(options?.rerun === true ? { rerun: true } : {})
})

/** What an executor knows about the step it runs. */
export interface StepContext {
  readonly runId: string
  readonly organizationId: string
  readonly stepIndex: number
  readonly step: StepDefinition
  /** Every step of the run, for steps that refer to others by name. */
  readonly steps: ReadonlyArray<StepDefinition>
  /** The previous step's output (the run's input for the first step). */
  readonly input: unknown
  /** Template variables: the run's input, `input` (the previous output), `steps.<name>` (each earlier output). */
  readonly variables: Readonly<Record<string, unknown>>
  /** `<runId>:<stepIndex>`: the same for every attempt and re-run of this step of this run. */
  readonly idempotencyKey: string
  /** 0 for the first attempt of this execution. */
  readonly attempt: number
  /** The step's stored wait, when it waited before (an approval's decision, a sleep's end). */
  readonly wait: RunWait | undefined
  /**
   * The sub-runs this step started (`Runs.run(input, { parent: { runId, stepIndex } })`), oldest
   * first, as they are now (status, output, error). A step waiting with `rerun` reads its
   * finished children here; the engine counts what it saw, so a child that ends before the step
   * has stored its wait wakes it at once.
   */
  readonly children: Effect.Effect<ReadonlyArray<Run>>
  /** Appends a `log` event to the run. */
  readonly log: (message: string) => Effect.Effect<void>
  /** Appends an event to the run's stream (model deltas, tool calls; batch deltas yourself). */
  readonly emit: (data: RunEventData) => Effect.Effect<void>
  /** Records one model call: a `model_call` event, and the run's usage roll-up (tokens, latency, provider, model). */
  readonly reportUsage: (usage: StepUsage) => Effect.Effect<void>
}

/** A step type. */
export interface StepType {
  readonly type: string
  /** Default per-attempt timeout (a step's `timeoutMs` overrides it). */
  readonly timeoutMs: number
  /** Default retries (a step's `retry` overrides it). */
  readonly retry: RetryPolicy
  /**
   * Why the step's members are invalid, checked when the run is created (in the creator's
   * organization); `undefined` when valid. May look things up (a prompt key, an agent).
   */
  readonly validate: (
    step: StepDefinition,
    steps: ReadonlyArray<StepDefinition>,
    index: number
  ) => string | undefined | Effect.Effect<string | undefined, never, CurrentPrincipal>
  readonly execute: (context: StepContext) => Effect.Effect<StepOutcome, StepFailed>
}

/** What an approval channel is asked to put in front of people. */
export interface ApprovalRequest {
  readonly runId: string
  readonly organizationId: string
  readonly stepIndex: number
  /** The approval step's name and its `message`. */
  readonly step: string
  readonly message: string | undefined
  /** The previous step's output: what is to be approved. */
  readonly input: unknown
  /**
   * The step's idempotency key: the same when the step is asked again after a crash or a
   * channel failure, so a channel asks once. A `retry` of a rejected run asks again with the
   * same key: a channel whose request was decided opens a new one.
   */
  readonly idempotencyKey: string
}

/**
 * Another way to ask for an approval than seed 002's routes: the pages plugin (issue 13)
 * publishes a page. When an `approval` step starts waiting, every registered channel's `open`
 * runs before the wait is stored (a `StepFailed` is retried per the step's policy, then fails
 * the run naming the step); the decision comes back through `Runs.approve` / `Runs.reject`,
 * into the same wait, as the routes' does. With no channel the routes are the only way.
 */
export interface ApprovalChannel {
  readonly name: string
  readonly open: (request: ApprovalRequest) => Effect.Effect<void, StepFailed>
}

export class StepRegistry extends Context.Service<StepRegistry, {
  readonly register: (stepType: StepType) => Effect.Effect<void, DuplicateStepType>
  /** Adds an approval channel (see {@link ApprovalChannel}); register it from your layer. */
  readonly addApprovalChannel: (channel: ApprovalChannel) => Effect.Effect<void>
  readonly approvalChannels: () => ReadonlyArray<ApprovalChannel>
  readonly get: (type: string) => StepType | undefined
  readonly types: () => ReadonlyArray<string>
}>()("runs/StepRegistry") {}
