/**
 * The step types this plugin adds to the runs plugin's registry: `model`, `prompt`, `parallel`,
 * `ticket` and `workflow` (PromptOps's `render` and `transform` are the runs plugin's).
 *
 * Executors run inside the runs engine's jobs. They call other services as the run's starter
 * when the job carries that principal, else as this plugin's system principal in the run's
 * organization. Outside effects are keyed by the step's idempotency key: the sub-run a
 * `workflow` step started and the ticket a `ticket` step created are recorded in
 * `workflows.step_effects` in the same transaction that makes them, so a step executed again
 * (a crash, a retry) finds them instead of making another.
 *
 * Waiting steps answer a `callback` wait. A `workflow` step's sub-run is linked to the step
 * (`Runs.run(..., { parent })`): its end executes the step again (`rerun`), holding no job
 * meanwhile. A `ticket` step with `wait` is ended with `Runs.complete` by the plugin's
 * follower of the tickets change stream (`tickets/Streams.ts`), which keeps its position in
 * `workflows.event_positions` and resumes after it when the server restarts (see the README).
 */
import { Cause, Duration, Effect, Option, Redacted, Schedule, Schema, Stream } from "effect"
import { SqlClient } from "effect/sql"
import { CurrentPrincipal, EventLog, MockScript, Models, Principal, SecretBox, systemPrincipal, Template } from "trellis/plugin"
import type { ModelMessage } from "trellis/plugin"
import type { CallbackResult, RetryPolicy, StepDefinition } from "../runs/Domain.ts"
import type { RunNotFound, RunStatusConflict } from "../runs/Errors.ts"
import { Runs } from "../runs/RunsService.ts"
import { done, StepFailed, StepRegistry, wait } from "../runs/StepRegistry.ts"
import { membersOf } from "../runs/StepMembers.ts"
import type { StepContext, StepOutcome, StepType } from "../runs/StepRegistry.ts"
import { bucketOf, variantIndex } from "../prompts/Assignment.ts"
import { Prompts, WorkspaceProviders } from "../prompts/PromptsService.ts"
import { TicketChanges } from "../tickets/Streams.ts"
import { Tickets } from "../tickets/TicketsService.ts"
import { textOf } from "./Domain.ts"
import { callerVariables, credentialsVariable, sealContext } from "./Workflows.ts"
import { Workflows } from "./WorkflowsService.ts"

/** Settings of this plugin's steps. */
export interface StepSettings {
  /** Streamed model text is emitted as `model_delta` events of at least this many characters (and the rest at the end). */
  readonly deltaBatchChars: number
}

export const defaultStepSettings: StepSettings = { deltaBatchChars: 256 }

/** PromptOps's provider names and their Trellis aliases (see `Models`). */
export const providerNames = ["mock", "openai", "claude", "anthropic", "gemini", "google", "ollama", "openai-compatible"] as const

/** A problem's detail, else its tag. */
const messageOf = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    const detail = (error as { detail?: unknown }).detail
    if (typeof detail === "string" && detail !== "") return detail
    const message = (error as { message?: unknown }).message
    if (typeof message === "string" && message !== "") return message
    const tag = (error as { _tag?: unknown })._tag
    if (typeof tag === "string") return tag
  }
  return String(error)
}

/** Who a step acts as: the job's principal (the run's starter) when it is of the run's organization, else this plugin's system principal there. */
const principalFor = (organizationId: string) =>
  Effect.map(Effect.serviceOption(CurrentPrincipal), (current) =>
    Option.isSome(current) && current.value.organizationId === organizationId
      ? current.value
      : new Principal({ ...systemPrincipal("workflows"), organizationId }))

// ── members ──────────────────────────────────────────────────────────────────────────────

const Provider = Schema.String.check(Schema.isMaxLength(100))
const ModelOptions = {
  /** A provider name (PromptOps's `mock`, `openai`, `claude`, `ollama`, `gemini`, ...); absent or empty: `mock`. */
  provider: Schema.optionalKey(Provider),
  /** Absent or empty: the provider's default model. */
  model: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(200))),
  system: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(1_000_000))),
  temperature: Schema.optionalKey(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 2 }))),
  maxOutputTokens: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_000_000 }))),
  /** The `mock` provider's script. */
  mock: Schema.optionalKey(MockScript)
}

const ModelMembers = Schema.Struct({
  ...ModelOptions,
  /** The prompt, a template; absent or empty: the previous step's output (PromptOps). */
  template: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(1_000_000)))
})
type ModelMembers = typeof ModelMembers.Type
const modelMembers = membersOf(ModelMembers)

const PromptMembers = Schema.Struct({
  ...ModelOptions,
  /** The prompt's key. */
  prompt: Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(200)),
  /** The environment served (default `prod`, as SDK fetch). */
  env: Schema.optionalKey(Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(100))),
  workspace: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(200))),
  /** The run variable whose value keeps the rollout variant sticky (a user id); absent or empty: the run. */
  subject: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(200)))
})
const promptMembers = membersOf(PromptMembers)

const Branch = Schema.Struct({
  name: Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(200)),
  steps: Schema.Array(Schema.Record(Schema.String, Schema.Unknown)).check(Schema.isMinLength(1), Schema.isMaxLength(50))
})
const ParallelMembers = Schema.Struct({
  branches: Schema.Array(Branch).check(Schema.isMinLength(1), Schema.isMaxLength(20))
})
const parallelMembers = membersOf(ParallelMembers)

const TicketMembers = Schema.Struct({
  /** The project's id. */
  project: Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(200)),
  /** A template. */
  title: Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(10_000)),
  /** A template (default: the previous step's output). */
  description: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(1_000_000))),
  priority: Schema.optionalKey(Schema.Literals(["critical", "high", "medium", "low"])),
  assigned_to: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(200))),
  acceptance_criteria: Schema.optionalKey(Schema.Array(Schema.String.check(Schema.isMaxLength(10_000))).check(Schema.isMaxLength(100))),
  /** Wait until the ticket is done (or closed); a cancelled ticket fails the step. */
  wait: Schema.optionalKey(Schema.Boolean)
})
const ticketMembers = membersOf(TicketMembers)

const WorkflowMembers = Schema.Struct({
  /** The stored workflow's id. */
  workflow: Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(200)),
  /** The sub-run's variables: strings are templates, other values pass as they are (absent: this run's variables). */
  input: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
})
const workflowMembers = membersOf(WorkflowMembers)

/** Types a `parallel` branch may not hold: they wait or jump, which a branch executed inline cannot. */
const notInBranches = new Set(["approval", "sleep", "condition", "workflow"])

// ── jobs ─────────────────────────────────────────────────────────────────────────────────

const delayOf = (policy: RetryPolicy) => Duration.millis(Math.max(1, policy.delayMs ?? 0))

/** Builds the step types and starts the tickets change follower; call from the plugin's layer. */
export const register = (settings: StepSettings) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const registry = yield* StepRegistry
    const runs = yield* Runs
    const models = yield* Models
    const prompts = yield* Prompts
    const providers = yield* WorkspaceProviders
    const tickets = yield* Tickets
    const workflows = yield* Workflows
    const box = yield* SecretBox
    const events = yield* EventLog

    // ── model calls ─────────────────────────────────────────────────────────

    /** The workflow's workspace (`__workflow`'s `workspace_id`; a run of no stored workflow: the default workspace). */
    const workspaceOf = (context: StepContext): string => {
      const raw = context.variables[credentialsVariable]
      if (typeof raw !== "object" || raw === null) return ""
      const workspace = (raw as { workspace_id?: unknown }).workspace_id
      return typeof workspace === "string" ? workspace : ""
    }

    /** The run's `api_key` (opened) and `base_url`, from the sealed `__workflow` variable. */
    const credentialsOf = (context: StepContext) =>
      Effect.gen(function*() {
        const raw = context.variables[credentialsVariable]
        if (typeof raw !== "object" || raw === null) return { apiKey: undefined, baseUrl: undefined }
        const { api_key, base_url, nonce } = raw as { api_key?: unknown; base_url?: unknown; nonce?: unknown }
        const apiKey = typeof api_key === "string" && typeof nonce === "string"
          ? Redacted.make(yield* box.open(api_key, sealContext(context.organizationId, nonce)).pipe(
            Effect.mapError(() => new StepFailed({ message: "the run's api_key cannot be opened (the server's secret key changed?)", retryable: false }))
          ))
          : undefined
        return { apiKey, baseUrl: typeof base_url === "string" ? base_url : undefined }
      })

    const callModel = (context: StepContext, m: typeof ModelMembers.Type | typeof PromptMembers.Type, prompt: string, refKey: string | undefined) =>
      Effect.gen(function*() {
        const principal = yield* principalFor(context.organizationId)
        const requested = yield* credentialsOf(context)
        const provider = m.provider === undefined || m.provider === "" ? "mock" : m.provider
        // The run's endpoint and key, then the workflow's workspace settings, then the environment's.
        const target = yield* providers.providerFor(context.organizationId, workspaceOf(context), provider, {
          ...requested,
          model: m.model === undefined || m.model === "" ? undefined : m.model
        }).pipe(
          Effect.mapError(() => new StepFailed({ message: "the workspace's provider key cannot be opened (the server's secret key changed?)", retryable: false }))
        )
        const pending: Array<string> = []
        let size = 0
        const flush = Effect.suspend(() => {
          if (pending.length === 0) return Effect.void
          const text = pending.join("")
          pending.length = 0
          size = 0
          return context.emit({ _tag: "model_delta", stepIndex: context.stepIndex, text })
        })
        const onDelta = (text: string) =>
          Effect.suspend(() => {
            pending.push(text)
            size += text.length
            return size >= settings.deltaBatchChars ? flush : Effect.void
          })
        const messages: Array<ModelMessage> = [
          ...(m.system === undefined || m.system === "" ? [] : [{ role: "system" as const, content: m.system }]),
          { role: "user", content: prompt }
        ]
        const started = Date.now()
        const result = yield* models.generate({
          provider,
          model: target.model,
          messages,
          apiKey: target.apiKey,
          baseUrl: target.baseUrl,
          temperature: m.temperature,
          maxOutputTokens: m.maxOutputTokens,
          mock: m.mock,
          attempt: context.attempt,
          onDelta,
          usage: { source: "workflow", refKey, runId: context.runId }
        }).pipe(
          Effect.provideService(CurrentPrincipal, principal),
          Effect.ensuring(flush),
          Effect.tapError((e) =>
            context.reportUsage({
              // As `Models` names it (`gemini` is `google`), as a successful call reports it.
              provider: e.provider,
              model: e._tag === "ModelCallFailed" ? e.model : (m.model ?? ""),
              promptTokens: 0,
              outputTokens: 0,
              latencyMs: Date.now() - started,
              status: "error",
              error: e.message
            })
          ),
          Effect.mapError((e) =>
            new StepFailed({
              message: e._tag === "ModelCallFailed" ? `${e.provider}: ${e.message}` : e.message,
              retryable: e._tag === "ModelCallFailed" && e.retryable
            })
          )
        )
        yield* context.reportUsage({
          provider: result.provider,
          model: result.model,
          promptTokens: result.promptTokens,
          outputTokens: result.outputTokens,
          latencyMs: result.latencyMs,
          status: "ok"
        })
        return result
      })

    const providerProblem = (provider: string | undefined) =>
      provider === undefined || provider === "" || (providerNames as ReadonlyArray<string>).includes(provider)
        ? undefined
        : `unknown provider ${provider} (known: ${providerNames.join(", ")})`

    /** PromptOps's `model`: the template rendered (or the previous output) as the prompt; the output is the model's text. */
    const model: StepType = {
      type: "model",
      timeoutMs: 120_000,
      retry: { limit: 2, delayMs: 500, factor: 2 },
      validate: (step) => modelMembers.validate(step) ?? providerProblem((step as { provider?: string }).provider),
      execute: (context) =>
        Effect.gen(function*() {
          const m = yield* modelMembers.read(context.step)
          const prompt = m.template === undefined || m.template === ""
            ? textOf(context.input)
            : Template.renderPaths(m.template, context.variables)
          const result = yield* callModel(context, m, prompt, undefined)
          return done(result.text)
        })
    }

    // ── prompt ──────────────────────────────────────────────────────────────

    const servedFor = (organizationId: string, m: typeof PromptMembers.Type) =>
      prompts.served(organizationId, m.prompt, m.env ?? "prod", m.workspace === undefined || m.workspace === "" ? undefined : m.workspace)

    /**
     * A prompt by key: its live version, or with an enabled rollout the variant chosen stickily
     * for the run's subject (the `subject` variable; the run when absent). Rendered with the
     * run's variables; with a `provider`, sent to the model. The output records what was served.
     */
    const prompt: StepType = {
      type: "prompt",
      timeoutMs: 120_000,
      retry: { limit: 2, delayMs: 500, factor: 2 },
      validate: (step) => {
        const invalid = promptMembers.validate(step) ?? providerProblem((step as { provider?: string }).provider)
        if (invalid !== undefined) return invalid
        const m = step as StepDefinition & typeof PromptMembers.Type
        return Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          const served = yield* servedFor(principal.organizationId, m).pipe(Effect.orDie)
          return served === null ? `no prompt with key ${m.prompt} has anything to serve in environment ${m.env ?? "prod"}` : undefined
        })
      },
      execute: (context) =>
        Effect.gen(function*() {
          const m = yield* promptMembers.read(context.step)
          const served = yield* servedFor(context.organizationId, m).pipe(
            Effect.mapError(() => new StepFailed({ message: "the prompt could not be read", retryable: true }))
          )
          if (served === null) {
            return yield* new StepFailed({ message: `no prompt with key ${m.prompt} to serve in environment ${m.env ?? "prod"}`, retryable: false })
          }
          const subjectValue = m.subject === undefined || m.subject === "" ? "" : textOf(context.variables[m.subject])
          const sticky = subjectValue !== ""
          let version: { readonly label: string; readonly number: number | null; readonly content: string; readonly model: string } = served.live
          let variant: string | null = null
          if (served.rollout !== null && served.rollout.variants.length > 0) {
            const bucket = bucketOf(served.key, served.rollout.salt, sticky ? subjectValue : context.runId)
            const index = variantIndex(served.rollout.variants.map((v) => v.weightBp), bucket)
            version = served.rollout.variants[index]
            variant = String.fromCharCode(65 + index)
          }
          const rendered = Template.renderPaths(version.content, context.variables)
          const base = {
            key: served.key,
            env: served.env,
            version: version.label,
            version_number: version.number,
            variant,
            rollout_id: served.rollout?.id ?? null,
            subject: sticky ? subjectValue : null,
            rendered
          }
          if (m.provider === undefined || m.provider === "") return done({ ...base, output: rendered })
          const result = yield* callModel(context, { ...m, model: m.model ?? version.model }, rendered, served.key)
          return done({ ...base, provider: result.provider, model: result.model, output: result.text })
        })
    }

    // ── parallel ────────────────────────────────────────────────────────────

    const branchesOf = (step: StepDefinition) => (step as unknown as typeof ParallelMembers.Type).branches

    /**
     * Fan-out and join, inline: each branch's steps run in order inside this step (each with its
     * own type's timeout and retries), the branches at once; the output is `{<branch>: <its last
     * output>}`. One checkpoint for the whole step: a crash runs every branch again, with the
     * same idempotency keys (`<step key>:<branch>:<index>`).
     */
    const parallel: StepType = {
      type: "parallel",
      timeoutMs: 600_000,
      retry: { limit: 0 },
      validate: (step) => {
        const invalid = parallelMembers.validate(step)
        if (invalid !== undefined) return invalid
        const branches = branchesOf(step)
        const branchNames = new Set<string>()
        const checks: Array<Effect.Effect<string | undefined, never, CurrentPrincipal>> = []
        for (const branch of branches) {
          if (branchNames.has(branch.name)) return `duplicate branch name ${branch.name}`
          branchNames.add(branch.name)
          const names = new Set<string>()
          const steps = branch.steps as ReadonlyArray<StepDefinition>
          for (const [index, nested] of steps.entries()) {
            const where = `branch ${branch.name}, step ${index + 1}`
            if (typeof nested.name !== "string" || nested.name === "" || typeof nested.type !== "string") return `${where}: a step needs a name and a type`
            if (names.has(nested.name)) return `${where}: duplicate step name ${nested.name}`
            names.add(nested.name)
            if (notInBranches.has(nested.type) || (nested.type === "ticket" && nested.wait === true)) {
              return `${where}: a ${nested.type} step cannot run inside a parallel branch (it waits or jumps)`
            }
            const type = registry.get(nested.type)
            if (type === undefined) return `${where}: unknown step type ${nested.type}`
            const checked = type.validate(nested, steps, index)
            if (Effect.isEffect(checked)) checks.push(Effect.map(checked, (reason) => reason === undefined ? undefined : `${where}: ${reason}`))
            else if (checked !== undefined) return `${where}: ${checked}`
          }
        }
        if (checks.length === 0) return undefined
        return Effect.gen(function*() {
          for (const check of checks) {
            const reason = yield* check
            if (reason !== undefined) return reason
          }
          return undefined
        })
      },
      execute: (context) =>
        Effect.gen(function*() {
          const { branches } = yield* parallelMembers.read(context.step)
          const priorSteps = (context.variables.steps ?? {}) as Record<string, unknown>
          const results = yield* Effect.forEach(branches, (branch) =>
            Effect.gen(function*() {
              const steps = branch.steps as ReadonlyArray<StepDefinition>
              const outputs: Record<string, unknown> = {}
              let input: unknown = context.input
              for (const [index, nested] of steps.entries()) {
                const type = registry.get(nested.type)
                if (type === undefined) return yield* new StepFailed({ message: `branch ${branch.name}: unknown step type ${nested.type}`, retryable: false })
                const policy = nested.retry ?? type.retry
                const timeoutMs = nested.timeoutMs ?? type.timeoutMs
                let attempt = 0
                const outcome: StepOutcome = yield* Effect.suspend(() =>
                  type.execute({
                    ...context,
                    step: nested,
                    steps,
                    input,
                    variables: { ...context.variables, input, steps: { ...priorSteps, ...outputs } },
                    idempotencyKey: `${context.idempotencyKey}:${branch.name}:${index}`,
                    attempt: attempt++,
                    wait: undefined
                  })
                ).pipe(
                  Effect.timeoutOrElse({
                    duration: Duration.millis(timeoutMs),
                    orElse: () => Effect.fail(new StepFailed({ message: `timed out after ${timeoutMs} ms`, retryable: true }))
                  }),
                  Effect.retry({
                    while: (e: StepFailed) => e.retryable,
                    times: policy.limit,
                    schedule: Schedule.exponential(delayOf(policy), policy.factor ?? 2)
                  }),
                  Effect.mapError((e) => new StepFailed({ message: `branch ${branch.name}, step ${nested.name}: ${e.message}`, retryable: e.retryable }))
                )
                if (outcome._tag === "Wait") {
                  return yield* new StepFailed({ message: `branch ${branch.name}, step ${nested.name}: a step inside a parallel branch cannot wait`, retryable: false })
                }
                outputs[nested.name] = outcome.output
                input = outcome.output
              }
              return [branch.name, input] as const
            }), { concurrency: "unbounded" })
          return done(Object.fromEntries(results))
        })
    }

    // ── outside effects, once per idempotency key ─────────────────────────────

    interface Effected {
      readonly ref: string
      readonly detail: Record<string, unknown>
    }

    const effectOf = (key: string) =>
      sql<{ ref: string; detail: unknown }>`SELECT ref, detail::text AS detail FROM workflows.step_effects WHERE idempotency_key = ${key}`.pipe(
        Effect.map((rows): Option.Option<Effected> =>
          rows.length === 0 || rows[0].ref === ""
            ? Option.none()
            : Option.some({ ref: rows[0].ref, detail: JSON.parse(String(rows[0].detail)) as Record<string, unknown> })
        ),
        Effect.mapError(() => new StepFailed({ message: "the step's record could not be read", retryable: true }))
      )

    /**
     * Makes the outside effect once: claims the key, runs `make` and records what it made in one
     * transaction (a concurrent execution waits on the key, then finds the record).
     */
    const once = (context: StepContext, kind: string, make: Effect.Effect<Effected, StepFailed>) =>
      sql.withTransaction(Effect.gen(function*() {
        const claimed = yield* sql<{ ok: number }>`
          INSERT INTO workflows.step_effects (idempotency_key, organization_id, kind, ref)
          VALUES (${context.idempotencyKey}, ${context.organizationId}, ${kind}, '')
          ON CONFLICT (idempotency_key) DO NOTHING RETURNING 1 AS ok
        `.pipe(Effect.orDie)
        if (claimed.length === 0) return yield* Effect.flatMap(effectOf(context.idempotencyKey), Option.match({
          onNone: () => Effect.fail(new StepFailed({ message: "the step's record is incomplete", retryable: true })),
          onSome: Effect.succeed
        }))
        const made = yield* make
        yield* sql`UPDATE workflows.step_effects SET ref = ${made.ref}, detail = ${JSON.stringify(made.detail)}::jsonb
          WHERE idempotency_key = ${context.idempotencyKey}`.pipe(Effect.orDie)
        return made
      })).pipe(Effect.catchTag("SqlError", () => Effect.fail(new StepFailed({ message: "the step's record could not be written", retryable: true }))))

    /** Ends a callback wait; retried while the run has not stored its wait yet (the sub-run may end first). */
    const complete = (runId: string, stepIndex: number, result: CallbackResult) =>
      runs.complete(runId, stepIndex, result).pipe(
        Effect.retry({
          while: (e: RunNotFound | RunStatusConflict) => e._tag === "RunStatusConflict" && (e.currentStatus === "running" || e.currentStatus === "queued"),
          times: 300,
          schedule: Schedule.spaced(Duration.millis(200))
        }),
        // Ended already (a second watcher), cancelled, or gone: nothing to do.
        Effect.catchTags({ RunStatusConflict: () => Effect.void, RunNotFound: () => Effect.void }),
        Effect.asVoid
      )

    // ── workflow (a sub-run) ────────────────────────────────────────────────

    const childCredentials = (parent: unknown, workspaceId: string) =>
      typeof parent === "object" && parent !== null ? { ...parent, workspace_id: workspaceId } : { workspace_id: workspaceId }

    /** The sub-run's result once it has ended (read through the engine's link: `children`), else none. */
    const childOutcome = (context: StepContext, childRunId: string) =>
      Effect.gen(function*() {
        const run = (yield* context.children).find((child) => child.id === childRunId)
        if (run === undefined) return yield* new StepFailed({ message: `the sub-run ${childRunId} is gone`, retryable: false })
        if (run.status === "succeeded") return Option.some(done(textOf(run.output)))
        if (run.status === "failed" || run.status === "cancelled") {
          return yield* new StepFailed({ message: `sub-run ${childRunId} ${run.status}${run.error === null ? "" : `: ${run.error.message}`}`, retryable: false })
        }
        return Option.none<StepOutcome>()
      })

    const workflow: StepType = {
      type: "workflow",
      timeoutMs: 60_000,
      retry: { limit: 2, delayMs: 500, factor: 2 },
      validate: (step) => {
        const invalid = workflowMembers.validate(step)
        if (invalid !== undefined) return invalid
        const id = (step as StepDefinition & typeof WorkflowMembers.Type).workflow
        return workflows.get(id).pipe(
          Effect.as(undefined),
          Effect.catchTag("WorkflowNotFound", () => Effect.succeed(`names no workflow: ${id}`))
        )
      },
      execute: (context) =>
        Effect.gen(function*() {
          const m = yield* workflowMembers.read(context.step)
          const principal = yield* principalFor(context.organizationId)
          const existing = yield* effectOf(context.idempotencyKey)
          // The sub-run's end executes this step again (`rerun`): it answers the sub-run's result.
          if (Option.isSome(existing)) {
            const outcome = yield* childOutcome(context, existing.value.ref)
            return Option.isSome(outcome) ? outcome.value : wait("callback", undefined, { rerun: true })
          }
          yield* once(context, "workflow", Effect.gen(function*() {
            const stored = yield* workflows.get(m.workflow).pipe(
              Effect.provideService(CurrentPrincipal, principal),
              Effect.mapError(() => new StepFailed({ message: `names no workflow: ${m.workflow}`, retryable: false }))
            )
            const own = callerVariables(Object.fromEntries(Object.entries(context.variables).filter(([name]) => name !== "input" && name !== "steps")))
            const variables = m.input === undefined
              ? own
              : callerVariables(Object.fromEntries(Object.entries(m.input).map(([name, value]) => [name, typeof value === "string" ? Template.renderPaths(value, context.variables) : value])))
            const child = yield* runs.run({
              steps: workflows.runSteps(stored),
              // The run's request credentials go on; the sub-workflow's model calls use its own workspace's settings.
              input: { ...variables, [credentialsVariable]: childCredentials(context.variables[credentialsVariable], stored.workspace_id) },
              source: "workflow",
              refKey: stored.id,
              title: stored.name === "" ? stored.key : stored.name
            }, { parent: { runId: context.runId, stepIndex: context.stepIndex } }).pipe(
              Effect.provideService(CurrentPrincipal, principal),
              Effect.mapError((e) => new StepFailed({ message: `the workflow ${m.workflow} cannot run: ${e.reason}`, retryable: false }))
            )
            yield* context.log(`started sub-run ${child.id} of workflow ${stored.id}`)
            return { ref: child.id, detail: { workflow: stored.id } }
          }))
          return wait("callback", undefined, { rerun: true })
        })
    }

    // ── ticket ──────────────────────────────────────────────────────────────

    interface TicketWait {
      readonly run_id: string
      readonly step_index: number
      readonly organization_id: string
      readonly project_id: string
      readonly ticket_id: string
    }
    const normalize = (w: TicketWait): TicketWait => ({ ...w, step_index: Number(w.step_index) })

    /** What a `ticket` step with `wait` waits for (the follower's work list). */
    const recordWait = (runId: string, stepIndex: number, organizationId: string, projectId: string, ticketId: string) =>
      sql`INSERT INTO workflows.ticket_waits (run_id, step_index, organization_id, project_id, ticket_id)
        VALUES (${runId}, ${stepIndex}, ${organizationId}, ${projectId}, ${ticketId})
        ON CONFLICT (run_id, step_index) DO UPDATE SET project_id = EXCLUDED.project_id, ticket_id = EXCLUDED.ticket_id`.pipe(Effect.asVoid)

    const forgetWait = (runId: string, stepIndex: number) =>
      sql`DELETE FROM workflows.ticket_waits WHERE run_id = ${runId} AND step_index = ${stepIndex}`.pipe(Effect.asVoid)

    const ticketOutput = (projectId: string, ticket: { readonly id: string; readonly status: string; readonly completion_notes: string | null }) => ({
      ticket_id: ticket.id,
      project_id: projectId,
      status: ticket.status,
      output: ticket.completion_notes ?? ticket.id
    })

    /** Where a ticket that is waited on stands: done, failed, or still open. */
    const ticketState = (principal: Principal, projectId: string, ticketId: string) =>
      tickets.get(projectId, ticketId).pipe(
        Effect.provideService(CurrentPrincipal, principal),
        Effect.map((ticket) =>
          ticket.status === "done" || ticket.status === "closed"
            ? { _tag: "Done" as const, output: ticketOutput(projectId, ticket) }
            : ticket.status === "cancelled"
            ? { _tag: "Failed" as const, message: `ticket ${ticketId} was cancelled` }
            : { _tag: "Open" as const }
        ),
        Effect.catch((e) => Effect.succeed({ _tag: "Failed" as const, message: `ticket ${ticketId}: ${messageOf(e)}` }))
      )

    /**
     * Creates a ticket for a coding agent (once per step: the idempotency key is recorded with
     * it, and named in its `context_refs` as `trellis-run:<key>`). With `wait`, the step waits
     * until the ticket is done or closed (the tickets change stream's follower ends the wait).
     */
    const ticket: StepType = {
      type: "ticket",
      timeoutMs: 30_000,
      retry: { limit: 3, delayMs: 500, factor: 2 },
      validate: ticketMembers.validate,
      execute: (context) =>
        Effect.gen(function*() {
          const m = yield* ticketMembers.read(context.step)
          const principal = yield* principalFor(context.organizationId)
          const existing = yield* effectOf(context.idempotencyKey)
          const made = Option.isSome(existing) ? existing.value : yield* once(context, "ticket", Effect.gen(function*() {
            const created = yield* tickets.create(m.project, {
              title: Template.renderPaths(m.title, context.variables).slice(0, 200),
              description: m.description === undefined ? textOf(context.input) : Template.renderPaths(m.description, context.variables),
              ...(m.priority === undefined ? {} : { priority: m.priority }),
              ...(m.assigned_to === undefined ? {} : { assigned_to: m.assigned_to }),
              ...(m.acceptance_criteria === undefined ? {} : { acceptance_criteria: m.acceptance_criteria }),
              context_refs: [`trellis-run:${context.idempotencyKey}`]
            }).pipe(
              Effect.provideService(CurrentPrincipal, principal),
              Effect.mapError((e) => new StepFailed({ message: `the ticket could not be created: ${messageOf(e)}`, retryable: false }))
            )
            // Recorded with the ticket: every change of it comes after, and the follower finds this.
            if (m.wait === true) yield* recordWait(context.runId, context.stepIndex, context.organizationId, m.project, created.id).pipe(Effect.orDie)
            return { ref: created.id, detail: ticketOutput(m.project, created) }
          }))
          if (m.wait !== true) return done(made.detail)
          const state = yield* ticketState(principal, m.project, made.ref)
          if (state._tag === "Open") return wait("callback")
          yield* forgetWait(context.runId, context.stepIndex).pipe(Effect.orDie)
          if (state._tag === "Done") return done(state.output)
          return yield* new StepFailed({ message: state.message, retryable: false })
        })
    }

    // ── the tickets change stream's follower ────────────────────────────────

    const changes = TicketChanges.at()
    const terminal = new Set(["done", "closed", "cancelled"])

    /**
     * Ends the wait when its ticket has ended (as this plugin's system principal in the wait's
     * organization): the step continues with the ticket's notes, or fails when it was cancelled.
     * `complete` is idempotent for us (a second settle of the same wait finds it ended).
     */
    const settle = (w: TicketWait) =>
      Effect.gen(function*() {
        const principal = new Principal({ ...systemPrincipal("workflows"), organizationId: w.organization_id })
        const state = yield* ticketState(principal, w.project_id, w.ticket_id)
        if (state._tag === "Open") return
        yield* complete(
          w.run_id,
          w.step_index,
          state._tag === "Done" ? { _tag: "Completed", output: state.output } : { _tag: "Failed", message: state.message }
        ).pipe(Effect.provideService(CurrentPrincipal, principal))
        yield* forgetWait(w.run_id, w.step_index)
      }).pipe(
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause) ? Effect.interrupt : Effect.logWarning(`Workflows: ending the wait of run ${w.run_id} on ticket ${w.ticket_id} failed`, cause)
        )
      )

    const waitColumns = sql.literal("run_id, step_index, organization_id, project_id, ticket_id")

    /**
     * Follows `tickets.changes` from the stored position: a change that ends a ticket settles
     * the waits on it (each in its own fiber: `complete` may wait for the run to store its
     * wait), then the position advances. On start, and after a gap (pruned events), every
     * outstanding wait is looked at once, so a restart between an event and its settle loses
     * nothing. Every server process follows; a wait settled twice is ended once.
     */
    const follow = Effect.gen(function*() {
      const name = changes.name
      const end = yield* events.lastSeq(name)
      yield* sql`INSERT INTO workflows.event_positions (stream, last_seq) VALUES (${name}, ${end}) ON CONFLICT (stream) DO NOTHING`
      const settleAll = (waits: ReadonlyArray<TicketWait>) =>
        Effect.forEach(waits, (w) => Effect.forkScoped(settle(normalize(w))), { discard: true })
      const sweep = Effect.flatMap(sql<TicketWait>`SELECT ${waitColumns} FROM workflows.ticket_waits`, settleAll)
      yield* sweep
      const [position] = yield* sql<{ readonly last_seq: number | string | bigint }>`
        SELECT last_seq FROM workflows.event_positions WHERE stream = ${name}`
      yield* changes.subscribeWithGaps(events, Number(position.last_seq)).pipe(
        Stream.runForEach((delivery) =>
          Effect.gen(function*() {
            let seq: number
            if (delivery._tag === "Gap") {
              yield* sweep
              seq = delivery.to
            } else {
              const change = delivery.event.data
              if (terminal.has(change.status)) {
                yield* Effect.flatMap(
                  sql<TicketWait>`SELECT ${waitColumns} FROM workflows.ticket_waits
                    WHERE organization_id = ${change.organization_id} AND ticket_id = ${change.ticket_id}`,
                  settleAll
                )
              }
              seq = delivery.event.seq
            }
            yield* sql`UPDATE workflows.event_positions SET last_seq = ${seq} WHERE stream = ${name} AND last_seq < ${seq}`
          })
        )
      )
    }).pipe(
      Effect.tapCause((cause) =>
        Cause.hasInterruptsOnly(cause) ? Effect.void : Effect.logWarning("Workflows: following the tickets change stream failed; again in 1 s", cause)
      ),
      Effect.retry(Schedule.spaced(Duration.seconds(1))),
      Effect.forkScoped
    )

    for (const stepType of [model, prompt, parallel, ticket, workflow]) yield* registry.register(stepType).pipe(Effect.orDie)
    yield* follow
  })
