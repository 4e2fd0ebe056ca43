/**
 * The built-in step types: PromptOps's `render` and `transform`, `sleep`, `http` (through the
 * platform's SSRF-guarded `OutboundHttp`, with the step's idempotency key), `approval`,
 * `condition`, and a deterministic, scriptable `mock` model step for tests and demos. Later
 * plugins add theirs through `StepRegistry` (model, prompt, agent, ticket...).
 *
 * Each type reads its own members from the step (PromptOps's flat shape) with a Schema, which
 * is also what `validate` checks when the run is created.
 */
import { Duration, Effect, Schema } from "effect"
import { OutboundHttp, Template } from "trellis/plugin"
import type { StepDefinition } from "./Domain.ts"
import { membersOf } from "./StepMembers.ts"
import { done, StepFailed, wait } from "./StepRegistry.ts"
import type { ApprovalChannel, ApprovalRequest, StepContext, StepOutcome, StepType } from "./StepRegistry.ts"

/** Settings of the built-in steps. */
export interface StepSettings {
  /** The address policy of `http` steps (default: strict, no internal addresses). */
  readonly httpPolicy: OutboundHttp.Policy
}

export const defaultStepSettings: StepSettings = { httpPolicy: OutboundHttp.strict }

/** Response bodies an `http` step keeps, in characters. */
export const maxHttpBody = 65_536

const text = (value: unknown): string =>
  typeof value === "string" ? value : value === undefined || value === null ? "" : typeof value === "object" ? JSON.stringify(value) : String(value)

const noRetry = { limit: 0 }

// ── transform ──────────────────────────────────────────────────────────

const TransformMembers = Schema.Struct({ op: Schema.Literals(["upper", "lower", "trim"]) })
const transformMembers = membersOf(TransformMembers)

const transform: StepType = {
  type: "transform",
  timeoutMs: 5_000,
  retry: noRetry,
  validate: transformMembers.validate,
  execute: (context) =>
    Effect.map(transformMembers.read(context.step), ({ op }) => {
      const value = text(context.input)
      return done(op === "upper" ? value.toUpperCase() : op === "lower" ? value.toLowerCase() : value.trim())
    })
}

// ── render ─────────────────────────────────────────────────────────────

const RenderMembers = Schema.Struct({ template: Schema.String.check(Schema.isMaxLength(1_000_000)) })
const renderMembers = membersOf(RenderMembers)

const render: StepType = {
  type: "render",
  timeoutMs: 5_000,
  retry: noRetry,
  validate: renderMembers.validate,
  execute: (context) => Effect.map(renderMembers.read(context.step), ({ template }) => done(Template.renderPaths(template, context.variables)))
}

// ── sleep ──────────────────────────────────────────────────────────────

const SleepMembers = Schema.Struct({ ms: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 366 * 86_400_000 })) })
const sleepMembers = membersOf(SleepMembers)

/**
 * The first execution stores a wait until now + `ms` (the job ends; a delayed job wakes the
 * run). A later execution finishes once that time has passed, and waits again if it was woken
 * early (a resume, a stray job). The output passes the input through.
 */
const sleep: StepType = {
  type: "sleep",
  timeoutMs: 5_000,
  retry: noRetry,
  validate: sleepMembers.validate,
  execute: (context) =>
    Effect.gen(function*() {
      const { ms } = yield* sleepMembers.read(context.step)
      const now = Date.now()
      const until = context.wait?.kind === "sleep" && context.wait.until !== null ? new Date(context.wait.until) : new Date(now + ms)
      return until.getTime() <= now ? done(context.input) : wait("sleep", until)
    })
}

// ── approval ───────────────────────────────────────────────────────────

const ApprovalMembers = Schema.Struct({ message: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(10_000))) })
const approvalMembers = membersOf(ApprovalMembers)

/**
 * Waits for `approve` or `reject` (seed 002's routes, or `Runs.approve` / `reject` from an
 * approval channel such as a published page: `ApprovalChannel` in `StepRegistry.ts`). Before
 * the wait is stored, every registered channel is asked (with the step's idempotency key).
 * Approved: the output is `{approved: true, notes, input}`. A rejection fails the run at this
 * step (the service does that directly, so this sees it only if the run is retried).
 */
const approval = (approvalChannels: () => ReadonlyArray<ApprovalChannel>): StepType => ({
  type: "approval",
  timeoutMs: 30_000,
  // Only a channel can fail (the routes never do): asked again, with the same key.
  retry: { limit: 3, delayMs: 500, factor: 2 },
  validate: approvalMembers.validate,
  execute: (context) =>
    Effect.gen(function*() {
      const m = yield* approvalMembers.read(context.step)
      const decision = context.wait?.kind === "approval" ? context.wait.decision : null
      if (decision === "approved") return done({ approved: true, notes: context.wait?.notes ?? null, input: context.input })
      if (decision === "rejected") return yield* new StepFailed({ message: "rejected", retryable: false })
      const request: ApprovalRequest = {
        runId: context.runId,
        organizationId: context.organizationId,
        stepIndex: context.stepIndex,
        step: context.step.name,
        message: m.message,
        input: context.input,
        idempotencyKey: context.idempotencyKey
      }
      for (const channel of approvalChannels()) {
        yield* channel.open(request).pipe(
          Effect.mapError((e) => new StepFailed({ message: `approval channel ${channel.name}: ${e.message}`, retryable: e.retryable }))
        )
      }
      return wait("approval")
    })
})

// ── condition ──────────────────────────────────────────────────────────

const ConditionMembers = Schema.Struct({
  /** A template evaluated against the variables (default `{{input}}`). */
  value: Schema.optionalKey(Schema.String),
  equals: Schema.optionalKey(Schema.String),
  notEquals: Schema.optionalKey(Schema.String),
  contains: Schema.optionalKey(Schema.String),
  /** Where to go when the test fails: `end` (the run succeeds with the input) or a later step's name. */
  else: Schema.optionalKey(Schema.String)
})
const conditionMembers = membersOf(ConditionMembers)

const condition: StepType = {
  type: "condition",
  timeoutMs: 5_000,
  retry: noRetry,
  validate: (step, steps, index) => {
    const invalid = conditionMembers.validate(step)
    if (invalid !== undefined) return invalid
    const members = step as StepDefinition & typeof ConditionMembers.Type
    const tests = [members.equals, members.notEquals, members.contains].filter((t) => t !== undefined)
    if (tests.length !== 1) return "a condition step needs exactly one of equals, notEquals, contains"
    if (members.else !== undefined && members.else !== "end") {
      const target = steps.findIndex((s) => s.name === members.else)
      if (target === -1) return `else names no step: ${members.else}`
      if (target <= index) return `else must name a later step (no cycles): ${members.else}`
    }
    return undefined
  },
  execute: (context) =>
    Effect.gen(function*() {
      const m = yield* conditionMembers.read(context.step)
      const value = Template.renderPaths(m.value ?? "{{input}}", context.variables)
      const passed = m.equals !== undefined
        ? value === m.equals
        : m.notEquals !== undefined
        ? value !== m.notEquals
        : value.includes(m.contains ?? "")
      if (passed) return done(context.input)
      const target = m.else === undefined || m.else === "end" ? context.steps.length : context.steps.findIndex((s) => s.name === m.else)
      return done(context.input, target)
    })
}

// ── mock ───────────────────────────────────────────────────────────────

const MockMembers = Schema.Struct({
  provider: Schema.optionalKey(Schema.String),
  model: Schema.optionalKey(Schema.String),
  /** The output text, a template (default: `{{input}}`). */
  text: Schema.optionalKey(Schema.String),
  /** Fail with this message... */
  error: Schema.optionalKey(Schema.String),
  /** ...on the first `errorTimes` attempts of each execution (default: every attempt). */
  errorTimes: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  /** Whether that failure may be retried (default true, like a provider outage). */
  retryable: Schema.optionalKey(Schema.Boolean),
  /** Wait this long before answering (interruptible: cancel and timeouts cut it short). */
  delayMs: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 86_400_000 })))
})
const mockMembers = membersOf(MockMembers)

/** PromptOps's `mock` provider as a step: deterministic output `{provider, model, output}`. */
const mock: StepType = {
  type: "mock",
  timeoutMs: 60_000,
  retry: { limit: 2, delayMs: 100, factor: 2 },
  validate: mockMembers.validate,
  execute: (context) =>
    Effect.gen(function*() {
      const m = yield* mockMembers.read(context.step)
      if (m.delayMs !== undefined && m.delayMs > 0) yield* Effect.sleep(Duration.millis(m.delayMs))
      if (m.error !== undefined && (m.errorTimes === undefined || context.attempt < m.errorTimes)) {
        return yield* new StepFailed({ message: m.error, retryable: m.retryable ?? true })
      }
      return done({
        provider: m.provider ?? "mock",
        model: m.model ?? "mock-1",
        output: Template.renderPaths(m.text ?? "{{input}}", context.variables)
      })
    })
}

// ── http ───────────────────────────────────────────────────────────────

const HttpMembers = Schema.Struct({
  url: Schema.String.check(Schema.isMaxLength(4096)),
  method: Schema.optionalKey(Schema.Literals(["GET", "POST", "PUT", "PATCH", "DELETE"])),
  headers: Schema.optionalKey(Schema.Record(Schema.String, Schema.String)),
  /** A template; sent as is (set `content-type` in `headers`). */
  body: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(1_000_000)))
})
const httpMembers = membersOf(HttpMembers)

const http = (settings: StepSettings): StepType => ({
  type: "http",
  timeoutMs: 30_000,
  retry: { limit: 3, delayMs: 500, factor: 2 },
  validate: (step) => {
    const invalid = httpMembers.validate(step)
    if (invalid !== undefined) return invalid
    // A URL that starts with a placeholder is checked when it is sent (OutboundHttp refuses other schemes).
    const url = (step as StepDefinition & { url: string }).url
    return /^https?:\/\//i.test(url) || url.startsWith("{{") ? undefined : "url must be http(s)"
  },
  execute: (context: StepContext): Effect.Effect<StepOutcome, StepFailed> =>
    Effect.gen(function*() {
      const m = yield* httpMembers.read(context.step)
      const url = Template.renderPaths(m.url, context.variables)
      const method = m.method ?? "GET"
      const response = yield* OutboundHttp.send({
        url,
        method,
        headers: { ...m.headers, "idempotency-key": context.idempotencyKey },
        ...(m.body === undefined || method === "GET" ? {} : { body: Template.renderPaths(m.body, context.variables) }),
        // The engine's timeout interrupts first; this bounds the socket too.
        timeoutMs: 24 * 3_600_000
      }, settings.httpPolicy).pipe(
        Effect.mapError((e) =>
          new StepFailed({
            message: e._tag === "OutboundRefused" ? `refused: ${e.reason}` : `request failed: ${e.message}`,
            retryable: e._tag === "OutboundFailed"
          })
        )
      )
      const body = yield* Effect.tryPromise({
        try: (signal) => {
          signal.addEventListener("abort", () => void response.body?.cancel().catch(() => undefined), { once: true })
          return response.text()
        },
        catch: () => new StepFailed({ message: "the response body could not be read", retryable: true })
      })
      const status = response.status
      if (status >= 400) {
        return yield* new StepFailed({ message: `HTTP ${status}`, retryable: status >= 500 || status === 429 || status === 408 })
      }
      const kept = body.slice(0, maxHttpBody)
      let json: unknown = null
      if ((response.headers.get("content-type") ?? "").includes("json")) {
        try {
          json = JSON.parse(kept)
        } catch {
          json = null
        }
      }
      return done({ status, body: kept, json })
    })
})

/** The built-in step types with `settings`. */
export const builtins = (settings: StepSettings, approvalChannels: () => ReadonlyArray<ApprovalChannel> = () => []): ReadonlyArray<StepType> => [
  transform,
  render,
  sleep,
  approval(approvalChannels),
  condition,
  mock,
  http(settings)
]
