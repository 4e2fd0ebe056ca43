/**
 * The `agent` step type: an agent's tool-calling loop as one durable step.
 *
 * Members: `agent` (id or key), optional `prompt` (a task: the agent's rendered prompt becomes
 * the system message and this the user's; without it the agent's prompt is the user message, as
 * PromptOps runs it), `input` (variables added to the run's), `provider`, `model`; and, set by
 * the plugin, `__apiKey` (a request's `api_key`, sealed with `SecretBox`), `baseUrl` and
 * `depth` (how deep in agent-as-tool sub-runs).
 *
 * Model calls go where the request says, else where the agent's workspace's saved provider
 * settings say, else to the environment's provider (`WorkspaceProviders.providerFor`, the
 * playground's resolution: a configured key only goes to its own origin).
 *
 * The loop: a model turn through `Models.generate` with the agent's tools; each tool call the
 * model asks for is executed (an HTTP tool through the SSRF-guarded `OutboundHttp` with an
 * idempotency key; another agent or a workflow as a sub-run linked to the step (`Runs.run(...,
 * { parent })`): the step starts a turn's sub-runs, then waits (`callback` with `rerun`, holding no
 * worker); each sub-run's end executes the step again, which replays its checkpoints and reads
 * the finished sub-runs through `StepContext.children`) and its result
 * goes back to the model; until the model answers without tool calls (the step's output), the
 * agent's `max_steps` model turns are taken, or its `token_budget` is spent (both fail the step,
 * naming which).
 *
 * Every finished model call and tool call is checkpointed in `agents.loop_checkpoints` keyed by
 * the step's idempotency key, the turn and the call: a step re-run (a retry, a crash and the
 * job's takeover) replays them and calls nothing it already called. A sub-run's id is stored
 * before it is waited on, so a re-run waits for that run instead of starting another. Model
 * calls are reported (`reportUsage`: a `model_call` event and the run's usage), streamed text is
 * emitted as batched `model_delta` events, and each tool call is a `tool_call` event.
 */
import { Effect, Option, Redacted, Schema } from "effect"
import { SqlClient } from "effect/sql"
import {
  CurrentPrincipal,
  MockScript,
  ModelCallFailed,
  Models,
  OutboundHttp,
  Principal,
  SecretBox,
  systemPrincipal,
  Template
} from "trellis/plugin"
import type { GenerateResult, ModelMessage, ToolCall, ToolSpec } from "trellis/plugin"
import { WorkspaceProviders } from "../prompts/PromptsService.ts"
import type { StepDefinition } from "../runs/Domain.ts"
import { Runs } from "../runs/RunsService.ts"
import { membersOf } from "../runs/StepMembers.ts"
import { done, StepFailed, wait } from "../runs/StepRegistry.ts"
import type { StepContext, StepType } from "../runs/StepRegistry.ts"
import { agentColumns, apiKeyContext, toAgent } from "./Agents.ts"
import type { AgentRow } from "./Agents.ts"
import type { Agent, AgentStepOutput, Tool } from "./Domain.ts"

/** Settings of the step. */
export interface AgentStepSettings {
  /** The address policy of HTTP tools (default: strict, no internal addresses). */
  readonly httpPolicy: OutboundHttp.Policy
}

/** How deep agents may call agents (as tools). */
export const maxDepth = 5
/** Response bodies an HTTP tool keeps, in characters. */
const maxToolBody = 65_536
/** Streamed text is emitted in pieces of about this many characters. */
const deltaBatch = 512

const AgentMembers = Schema.Struct({
  agent: Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(200)),
  prompt: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(1_000_000))),
  input: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
  provider: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(100))),
  model: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(200))),
  __apiKey: Schema.optionalKey(Schema.String),
  baseUrl: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(4096))),
  depth: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: maxDepth })))
})
type AgentMembers = typeof AgentMembers.Type
const agentMembers = membersOf(AgentMembers)

/** A finished model call, as checkpointed. */
interface ModelCheckpoint {
  readonly provider: string
  readonly model: string
  readonly text: string
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly promptTokens: number
  readonly outputTokens: number
  readonly latencyMs: number
}

/** A finished tool call, as checkpointed and as the model gets it. */
type ToolResult = { readonly output: unknown; readonly run_id?: string } | { readonly error: string }

/** A sub-run that has not ended yet. */
const pendingRun = { _tag: "Pending" } as const

const json = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) : value)

const fail = (message: string, retryable = false) => new StepFailed({ message, retryable })

/** The principal the loop acts as: the job's (the run's starter) when it is of the run's organization. */
const principalOf = (context: StepContext) =>
  Effect.map(Effect.serviceOption(CurrentPrincipal), (current) =>
    Option.isSome(current) && current.value.organizationId === context.organizationId
      ? current.value
      : new Principal({ ...systemPrincipal("agents"), organizationId: context.organizationId }))

const specOf = (tool: Tool): ToolSpec => ({
  name: tool.name ?? "tool",
  description: tool.description,
  inputSchema: tool.inputSchema ?? { type: "object", additionalProperties: true }
})

export const make = (settings: AgentStepSettings) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const models = yield* Models
    const runs = yield* Runs
    const secrets = yield* SecretBox
    const providers = yield* WorkspaceProviders
    const columns = sql.literal(agentColumns)

    const findAgent = (organizationId: string, ref: string) =>
      sql<AgentRow>`SELECT ${columns} FROM agents.agents WHERE organization_id = ${organizationId} AND (id = ${ref} OR key = ${ref})
        ORDER BY (id = ${ref}) DESC, (workspace_id = '') DESC, created_at, id LIMIT 1`.pipe(
        Effect.map((rows) => rows[0] === undefined ? undefined : toAgent(rows[0])),
        Effect.orDie
      )

    // ── checkpoints ───────────────────────────────────────────────────────

    const slot = (turn: number, call: number) => `${turn}:${call}`

    const atomically = <A, E, R>(effect: Effect.Effect<A, E, R>) => sql.withTransaction(effect).pipe(Effect.orDie)

    const loadCheckpoints = (key: string) =>
      sql<{ turn: number; call_index: number; kind: string; data: unknown }>`
        SELECT turn, call_index, kind, data::text AS data FROM agents.loop_checkpoints WHERE idempotency_key = ${key}
      `.pipe(
        Effect.map((rows) => new Map(rows.map((r) => [slot(Number(r.turn), Number(r.call_index)), { kind: r.kind, data: json(r.data) }]))),
        Effect.orDie
      )

    const saveCheckpoint = (context: StepContext, turn: number, call: number, kind: "model" | "tool" | "subrun", data: unknown) =>
      sql`
        INSERT INTO agents.loop_checkpoints (idempotency_key, turn, call_index, organization_id, run_id, kind, data)
        VALUES (${context.idempotencyKey}, ${turn}, ${call}, ${context.organizationId}, ${context.runId}, ${kind}, ${JSON.stringify(data ?? null)}::jsonb)
        ON CONFLICT (idempotency_key, turn, call_index) DO UPDATE SET kind = EXCLUDED.kind, data = EXCLUDED.data
      `.pipe(Effect.asVoid, Effect.orDie)

    // ── tools ─────────────────────────────────────────────────────────────

    const httpTool = (tool: Extract<Tool, { url: string }>, args: unknown, key: string) =>
      Effect.gen(function*() {
        const method = tool.method ?? "POST"
        let url = tool.url
        if (method === "GET" && typeof args === "object" && args !== null) {
          const target = URL.parse(tool.url)
          if (target === null) return { error: `invalid url ${tool.url}` } satisfies ToolResult
          for (const [name, value] of Object.entries(args)) {
            target.searchParams.set(name, typeof value === "string" ? value : JSON.stringify(value))
          }
          url = target.toString()
        }
        const sent = yield* OutboundHttp.send({
          url,
          method,
          headers: { "content-type": "application/json", "idempotency-key": key },
          ...(method === "GET" ? {} : { body: JSON.stringify(args ?? {}) }),
          timeoutMs: 24 * 3_600_000
        }, settings.httpPolicy).pipe(Effect.result)
        if (sent._tag === "Failure") {
          const e = sent.failure
          // A refused address is the definition's fault: the model hears of it. A connection failure may pass: retry.
          if (e._tag === "OutboundRefused") return { error: `refused: ${e.reason}` } satisfies ToolResult
          return yield* fail(`tool ${tool.name}: request failed: ${e.message}`, true)
        }
        const response = sent.success
        const body = yield* Effect.tryPromise({
          try: () => response.text(),
          catch: () => fail(`tool ${tool.name}: the response body could not be read`, true)
        })
        const status = response.status
        if (status >= 500 || status === 429 || status === 408) return yield* fail(`tool ${tool.name}: HTTP ${status}`, true)
        const kept = body.slice(0, maxToolBody)
        let parsed: unknown = kept
        if ((response.headers.get("content-type") ?? "").includes("json")) {
          try {
            parsed = JSON.parse(kept)
          } catch {
            parsed = kept
          }
        }
        if (status >= 400) return { error: `HTTP ${status}: ${kept.slice(0, 2000)}` } satisfies ToolResult
        return { output: parsed } satisfies ToolResult
      })

    /**
     * Starts the tool call's sub-run (or finds it, when the step runs again) and answers its
     * result once it has ended, else `pendingRun`.
     */
    const subRunTool = (
      context: StepContext,
      principal: Principal,
      members: AgentMembers,
      tool: Tool,
      args: unknown,
      turn: number,
      call: number,
      stored: string | undefined
    ) =>
      Effect.gen(function*() {
        const depth = (members.depth ?? 0) + 1
        let runId = stored
        if (runId === undefined) {
          const input = typeof args === "object" && args !== null && !Array.isArray(args) ? (args as Record<string, unknown>) : { input: args }
          const step: StepDefinition = "agent" in tool
            ? {
              name: "agent",
              type: "agent",
              agent: tool.agent,
              depth,
              ...(members.__apiKey === undefined ? {} : { __apiKey: members.__apiKey }),
              ...(members.baseUrl === undefined ? {} : { baseUrl: members.baseUrl })
            }
            : { name: "target", type: "workflow", workflow: "workflow" in tool ? tool.workflow : "", input }
          if ("agent" in tool && depth > maxDepth) return { error: `agents call agents at most ${maxDepth} deep` } satisfies ToolResult
          const started = yield* runs.run({
            steps: [step],
            input,
            title: `${tool.name ?? "tool"} (tool of run ${context.runId})`,
            source: "agent",
            refKey: "agent" in tool ? tool.agent : "workflow" in tool ? tool.workflow : ""
          }, { parent: { runId: context.runId, stepIndex: context.stepIndex } }).pipe(Effect.provideService(CurrentPrincipal, principal), Effect.result)
          if (started._tag === "Failure") return { error: `cannot start: ${started.failure.reason}` } satisfies ToolResult
          runId = started.success.id
          yield* saveCheckpoint(context, turn, call, "subrun", { runId })
        }
        const run = (yield* context.children).find((child) => child.id === runId)
        if (run === undefined) return { error: `the sub-run ${runId} is gone` } satisfies ToolResult
        if (run.status !== "succeeded" && run.status !== "failed" && run.status !== "cancelled") return pendingRun
        if (run.status !== "succeeded") return { error: `sub-run ${run.id} ${run.status}: ${run.error?.message ?? ""}` } satisfies ToolResult
        const output = run.output
        // An agent's answer is its text; a workflow's is its output.
        const text = "agent" in tool && typeof output === "object" && output !== null && "output" in output ? (output as { output: unknown }).output : output
        return { output: text, run_id: run.id } satisfies ToolResult
      })

    // ── the loop ──────────────────────────────────────────────────────────

    const execute = (context: StepContext) =>
      Effect.gen(function*() {
        const members = yield* agentMembers.read(context.step)
        const principal = yield* principalOf(context)
        const agent = yield* findAgent(context.organizationId, members.agent)
        if (agent === undefined) return yield* fail(`no agent ${members.agent}`)
        const variables = { ...context.variables, ...members.input }
        const rendered = Template.renderPaths(agent.prompt, variables)
        const messages: Array<ModelMessage> = members.prompt === undefined
          ? [{ role: "user", content: rendered }]
          : [
            ...(rendered.trim() === "" ? [] : [{ role: "system" as const, content: rendered }]),
            { role: "user", content: Template.renderPaths(members.prompt, variables) }
          ]
        const provider = members.provider ?? agent.provider
        const model = members.model === undefined || members.model === "" ? agent.model : members.model
        const requestKey = members.__apiKey === undefined
          ? undefined
          : yield* secrets.open(members.__apiKey, apiKeyContext(context.organizationId)).pipe(
            Effect.mapError(() => fail("the run's api_key cannot be opened (the server's secret key changed)"))
          )
        // The request's endpoint and key, then the agent's workspace settings, then the environment's.
        const target = yield* providers.providerFor(context.organizationId, agent.workspace_id, provider, {
          baseUrl: members.baseUrl,
          apiKey: requestKey === undefined ? undefined : Redacted.make(requestKey),
          model
        }).pipe(Effect.mapError(() => fail("the workspace's provider key cannot be opened (the server's secret key changed)")))
        const mock = agent.mock === null ? undefined : yield* Schema.decodeUnknownEffect(MockScript)(agent.mock).pipe(
          Effect.mapError(() => fail("the agent's mock script is invalid"))
        )
        const tools = new Map(agent.tools.map((t) => [t.name ?? "", t]))
        const specs = agent.tools.map(specOf)
        const checkpoints = yield* loadCheckpoints(context.idempotencyKey)
        let promptTokens = 0
        let outputTokens = 0

        for (let turn = 0;; turn++) {
          if (turn >= agent.max_steps) {
            return yield* fail(`max_steps reached: ${agent.max_steps} model calls without a final answer`)
          }
          // ── the model call ──
          const storedModel = checkpoints.get(slot(turn, 0))
          let answer: ModelCheckpoint
          if (storedModel !== undefined) answer = storedModel.data as ModelCheckpoint
          else {
            answer = yield* callModel(context, principal, agent, {
              provider,
              model: target.model ?? model,
              messages: [...messages],
              specs,
              apiKey: target.apiKey,
              baseUrl: target.baseUrl,
              mock
            })
            // The checkpoint and the usage report commit together: a model call is reported exactly once.
            const finished = answer
            yield* atomically(Effect.andThen(
              saveCheckpoint(context, turn, 0, "model", finished),
              context.reportUsage({
                provider: finished.provider,
                model: finished.model,
                promptTokens: finished.promptTokens,
                outputTokens: finished.outputTokens,
                latencyMs: finished.latencyMs,
                status: "ok"
              })
            ))
          }
          promptTokens += answer.promptTokens
          outputTokens += answer.outputTokens
          messages.push({ role: "assistant", content: answer.text, toolCalls: answer.toolCalls })
          if (answer.toolCalls.length === 0) {
            const output: AgentStepOutput = {
              provider: answer.provider,
              model: answer.model,
              output: answer.text,
              rendered,
              turns: turn + 1,
              prompt_tokens: promptTokens,
              output_tokens: outputTokens
            }
            return done(output)
          }
          if (agent.token_budget !== null && promptTokens + outputTokens >= agent.token_budget) {
            return yield* fail(`token_budget spent: ${promptTokens + outputTokens} of ${agent.token_budget} tokens used without a final answer`)
          }
          // ── the tool calls ── (sub-runs all start before the step waits for any)
          const results: Array<ToolResult> = []
          let waiting = false
          for (const [index, call] of answer.toolCalls.entries()) {
            const stored = checkpoints.get(slot(turn, index + 1))
            if (stored !== undefined && stored.kind === "tool") {
              results.push(stored.data as ToolResult)
              continue
            }
            const tool = tools.get(call.name)
            const key = `${context.idempotencyKey}:${turn}:${index + 1}`
            const result = tool === undefined
              ? { error: `no tool named ${call.name}` }
              : "url" in tool
              ? yield* httpTool(tool, call.input, key)
              : yield* subRunTool(context, principal, members, tool, call.input, turn, index + 1,
                stored?.kind === "subrun" ? (stored.data as { runId: string }).runId : undefined)
            if ("_tag" in result) {
              waiting = true
              continue
            }
            // The checkpoint and the event commit together: a tool call is an event exactly once.
            yield* atomically(Effect.andThen(
              saveCheckpoint(context, turn, index + 1, "tool", result),
              context.emit({
                _tag: "tool_call",
                stepIndex: context.stepIndex,
                tool: call.name,
                callId: call.id,
                input: call.input,
                ...("error" in result ? { error: result.error } : { output: result.output })
              })
            ))
            results.push(result)
          }
          // Each sub-run's end executes the step again (no job is held meanwhile).
          if (waiting) return wait("callback", undefined, { rerun: true })
          for (const [index, call] of answer.toolCalls.entries()) {
            messages.push({ role: "tool", toolCallId: call.id, toolName: call.name, output: results[index] })
          }
        }
      })

    const callModel = (
      context: StepContext,
      principal: Principal,
      agent: Agent,
      request: {
        readonly provider: string
        readonly model: string
        readonly messages: ReadonlyArray<ModelMessage>
        readonly specs: ReadonlyArray<ToolSpec>
        readonly apiKey: Redacted.Redacted<string> | undefined
        readonly baseUrl: string | undefined
        readonly mock: MockScript | undefined
      }
    ) =>
      Effect.gen(function*() {
        let pending = ""
        const flush = Effect.suspend(() => {
          if (pending === "") return Effect.void
          const text = pending
          pending = ""
          return context.emit({ _tag: "model_delta", stepIndex: context.stepIndex, text })
        })
        const started = Date.now()
        const result: GenerateResult = yield* models.generate({
          provider: request.provider,
          model: request.model,
          messages: request.messages,
          ...(request.specs.length === 0 ? {} : { tools: request.specs }),
          ...(request.apiKey === undefined ? {} : { apiKey: request.apiKey }),
          ...(request.baseUrl === undefined ? {} : { baseUrl: request.baseUrl }),
          ...(request.mock === undefined ? {} : { mock: request.mock }),
          attempt: context.attempt,
          onDelta: (text) =>
            Effect.suspend(() => {
              pending += text
              return pending.length >= deltaBatch ? flush : Effect.void
            }),
          usage: { source: "agent", refKey: agent.id, runId: context.runId }
        }).pipe(
          Effect.provideService(CurrentPrincipal, principal),
          Effect.catch((error) =>
            Effect.gen(function*() {
              yield* flush
              yield* context.reportUsage({
                // As `Models` names it (`gemini` is `google`), as a successful call reports it.
                provider: error.provider,
                model: request.model,
                promptTokens: 0,
                outputTokens: 0,
                latencyMs: Date.now() - started,
                status: "error",
                error: error.message
              })
              return yield* fail(error.message, error instanceof ModelCallFailed ? error.retryable : false)
            })
          )
        )
        yield* flush
        return {
          provider: result.provider,
          model: result.model,
          text: result.text,
          toolCalls: result.toolCalls,
          promptTokens: result.promptTokens,
          outputTokens: result.outputTokens,
          latencyMs: result.latencyMs
        } satisfies ModelCheckpoint
      })

    const stepType: StepType = {
      type: "agent",
      // The whole loop is one attempt: model turns, tools and sub-runs.
      timeoutMs: 900_000,
      retry: { limit: 2, delayMs: 500, factor: 2 },
      validate: (step) =>
        Effect.gen(function*() {
          const invalid = agentMembers.validate(step)
          if (invalid !== undefined) return invalid
          const members = yield* agentMembers.read(step).pipe(Effect.orDie) // valid: checked above
          const principal = yield* CurrentPrincipal
          const agent = yield* findAgent(principal.organizationId, members.agent)
          return agent === undefined ? `no agent ${members.agent}` : undefined
        }),
      execute
    }
    return stepType
  })
