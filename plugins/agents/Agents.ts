/**
 * Implements `Agents` (see `AgentsService.ts`): PromptOps's agent CRUD in the caller's
 * organization, the checks that keep a definition runnable (every tool has a JSON schema of an
 * object, names the agents and workflows it calls by something that exists), and PromptOps's
 * synchronous run on top of the runs engine.
 */
import { Effect, Exit, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { isSqlError } from "effect/sql/SqlError"
import { AuditLog, CurrentPrincipal, MockScript, Models, SecretBox, storedWorkspaceId, Template } from "trellis/plugin"
import { UnknownProvider } from "../prompts/Errors.ts"
import { Runs } from "../runs/RunsService.ts"
import { StepRegistry } from "../runs/StepRegistry.ts"
import { Agents } from "./AgentsService.ts"
import { AgentTool, defaultMaxSteps, HttpTool, WorkflowTool } from "./Domain.ts"
import type { Agent, AgentStepOutput, CreateAgent, Tool, UpdateAgent } from "./Domain.ts"
import { AgentKeyTaken, AgentNotFound, AgentRunFailed, InvalidAgent } from "./Errors.ts"

/**
 * The context an `api_key` is sealed under in a run's definition (step member `__apiKey`):
 * bound to the organization, so a sealed key opens only in runs of the organization it came
 * from. `__` members are internal: the runs API neither shows nor accepts them.
 */
export const apiKeyContext = (organizationId: string): string => JSON.stringify(["agents.run.api_key", organizationId])

const iso = (value: Date | string): string => new Date(value).toISOString()
const json = (value: unknown): unknown => (typeof value === "string" ? JSON.parse(value) : value)

export interface AgentRow {
  readonly id: string
  readonly organization_id: string
  readonly workspace_id: string
  readonly key: string
  readonly name: string
  readonly description: string
  readonly prompt: string
  readonly provider: string
  readonly model: string
  readonly tools: unknown
  readonly max_steps: number
  readonly token_budget: number | null
  readonly mock: unknown
  readonly created_at: Date | string
  readonly updated_at: Date | string
}

export const agentColumns = `id, organization_id, workspace_id, key, name, description, prompt, provider, model,
  tools::text AS tools, max_steps, token_budget, mock::text AS mock, created_at, updated_at`

export const toAgent = (row: AgentRow): Agent => ({
  id: row.id,
  workspace_id: row.workspace_id,
  key: row.key,
  name: row.name,
  description: row.description,
  prompt: row.prompt,
  provider: row.provider,
  model: row.model,
  tools: (json(row.tools) ?? []) as ReadonlyArray<Tool>,
  max_steps: Number(row.max_steps),
  token_budget: row.token_budget === null ? null : Number(row.token_budget),
  mock: row.mock === null ? null : (json(row.mock) as Agent["mock"]),
  created_at: iso(row.created_at),
  updated_at: iso(row.updated_at)
})

/** A tool name from a key or id, as models accept it. */
const toolNameOf = (prefix: string, ref: string) => `${prefix}_${ref.replace(/[^A-Za-z0-9_-]/g, "_")}`.slice(0, 64)

const isObjectSchema = (schema: unknown): boolean =>
  typeof schema === "object" && schema !== null && !Array.isArray(schema) && (schema as { type?: unknown }).type === "object"

const decodeExit = <A>(schema: Schema.Codec<A, unknown>, value: unknown) => Schema.decodeUnknownExit(schema)(value)

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const audit = yield* AuditLog
  const runs = yield* Runs
  const registry = yield* StepRegistry
  const secrets = yield* SecretBox
  const models = yield* Models
  const columns = sql.literal(agentColumns)

  const rowById = (organizationId: string, id: string) =>
    sql<AgentRow>`SELECT ${columns} FROM agents.agents WHERE organization_id = ${organizationId} AND id = ${id}`.pipe(
      Effect.map((rows) => Option.fromNullishOr(rows[0])),
      Effect.orDie
    )

  /** By id, else by key: the default workspace's first, then the oldest. */
  const rowByRef = (organizationId: string, ref: string) =>
    sql<AgentRow>`SELECT ${columns} FROM agents.agents WHERE organization_id = ${organizationId} AND (id = ${ref} OR key = ${ref})
      ORDER BY (id = ${ref}) DESC, (workspace_id = '') DESC, created_at, id LIMIT 1`.pipe(
      Effect.map((rows) => Option.fromNullishOr(rows[0])),
      Effect.orDie
    )

  const notFound = (id: string) => new AgentNotFound({ agentId: id, detail: `No agent with id ${id}.` })

  const requireAgent = (id: string) =>
    Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      const row = yield* rowById(principal.organizationId, id)
      if (Option.isNone(row)) return yield* notFound(id)
      return row.value
    })

  /**
   * Checks every tool and answers them as stored: each with its name (derived from the agent's
   * key or the workflow's id when not given) and agent tools naming the agent by id.
   */
  const checkTools = (tools: ReadonlyArray<unknown>, selfId: string | undefined) =>
    Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      const checked: Array<Tool> = []
      const names = new Set<string>()
      for (const [index, raw] of tools.entries()) {
        const given = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>) : {}
        const label = typeof given.name === "string" && given.name !== "" ? given.name : `#${index}`
        const refuse = (reason: string) => new InvalidAgent({ tool: label, reason, detail: `Tool ${label}: ${reason}` })
        if (given.inputSchema !== undefined && !isObjectSchema(given.inputSchema)) {
          return yield* refuse("inputSchema must be a JSON Schema of an object ({\"type\": \"object\", ...})")
        }
        let tool: Tool
        if (typeof given.agent === "string") {
          const exit = decodeExit(AgentTool, raw)
          if (Exit.isFailure(exit)) return yield* refuse(`invalid agent tool: ${exit.cause.toString()}`)
          const target = yield* rowByRef(principal.organizationId, exit.value.agent)
          if (Option.isNone(target)) return yield* refuse(`no agent ${exit.value.agent}`)
          if (target.value.id === selfId) return yield* refuse("an agent cannot be its own tool")
          tool = {
            ...exit.value,
            agent: target.value.id,
            name: exit.value.name ?? toolNameOf("agent", target.value.key),
            description: exit.value.description ?? (target.value.description || `Runs the agent ${target.value.key}`)
          }
        } else if (typeof given.workflow === "string") {
          const exit = decodeExit(WorkflowTool, raw)
          if (Exit.isFailure(exit)) return yield* refuse(`invalid workflow tool: ${exit.cause.toString()}`)
          const type = registry.get("workflow")
          if (type === undefined) return yield* refuse("workflow tools need the workflows plugin")
          const step = { name: "target", type: "workflow", workflow: exit.value.workflow }
          const verdict = type.validate(step, [step], 0)
          const invalid = Effect.isEffect(verdict) ? yield* verdict : verdict
          if (invalid !== undefined) return yield* refuse(invalid)
          tool = {
            ...exit.value,
            name: exit.value.name ?? toolNameOf("workflow", exit.value.workflow),
            description: exit.value.description ?? `Runs the workflow ${exit.value.workflow}`
          }
        } else {
          if (given.inputSchema === undefined) return yield* refuse("an HTTP tool needs an inputSchema (a JSON Schema of an object)")
          const exit = decodeExit(HttpTool, raw)
          if (Exit.isFailure(exit)) return yield* refuse(`invalid HTTP tool (name, url, method?, description?, inputSchema): ${exit.cause.toString()}`)
          tool = exit.value
        }
        const name = tool.name ?? label
        if (names.has(name)) return yield* refuse(`two tools are named ${name}`)
        names.add(name)
        checked.push(tool)
      }
      return checked
    })

  const checkMock = (mock: unknown) =>
    Effect.gen(function*() {
      if (mock === undefined || mock === null) return mock
      const exit = decodeExit(MockScript, mock)
      if (Exit.isFailure(exit)) {
        return yield* new InvalidAgent({ tool: null, reason: `invalid mock script: ${exit.cause.toString()}`, detail: "Invalid mock script." })
      }
      return exit.value
    })

  const keyTaken = (key: string, workspaceId: string) =>
    <A, E, R>(self: Effect.Effect<A, E, R>) =>
      self.pipe(Effect.catch((error): Effect.Effect<never, E | AgentKeyTaken> =>
        isSqlError(error) && error.reason._tag === "UniqueViolation"
          ? Effect.fail(new AgentKeyTaken({
            key,
            workspace_id: workspaceId,
            detail: `An agent with key ${key} already exists${workspaceId === "" ? "" : ` in workspace ${workspaceId}`}.`
          }))
          : Effect.fail(error)
      ))

  const create = (input: CreateAgent) =>
    Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      const org = principal.organizationId
      const tools = yield* checkTools(input.tools ?? [], undefined)
      const mock = yield* checkMock(input.mock)
      const id = crypto.randomUUID()
      const workspaceId = storedWorkspaceId(org, input.workspace_id ?? "")
      const provider = input.provider === undefined || input.provider === "" ? "mock" : input.provider
      // PromptOps records agent changes in its audit log; the entry commits with the row.
      yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`INSERT INTO agents.agents
          (id, organization_id, workspace_id, key, name, description, prompt, provider, model, tools, max_steps, token_budget, mock, created_by)
          VALUES (${id}, ${org}, ${workspaceId}, ${input.key}, ${input.name ?? ""}, ${input.description ?? ""}, ${input.prompt ?? ""},
            ${provider}, ${input.model ?? ""}, ${JSON.stringify(tools)}::jsonb, ${input.max_steps ?? defaultMaxSteps},
            ${input.token_budget ?? null}, ${mock === undefined || mock === null ? null : JSON.stringify(mock)}::jsonb, ${principal.id})`
        yield* audit.record("agents.agent.create", { type: "agent", id }, { key: input.key, name: input.name ?? "" })
      })).pipe(
        keyTaken(input.key, workspaceId),
        Effect.catchIf(isSqlError, Effect.die)
      )
      return toAgent(Option.getOrThrow(yield* rowById(org, id)))
    })

  const update = (id: string, input: UpdateAgent) =>
    Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      const before = toAgent(yield* requireAgent(id))
      const tools = input.tools === undefined ? before.tools : yield* checkTools(input.tools, id)
      const mock = input.mock === undefined ? before.mock : yield* checkMock(input.mock)
      const provider = input.provider === undefined || input.provider === "" ? before.provider : input.provider
      const rows = yield* sql.withTransaction(Effect.gen(function*() {
        const updated = yield* sql<{ id: string; key: string; name: string }>`UPDATE agents.agents SET
            name = ${input.name ?? before.name}, description = ${input.description ?? before.description},
            prompt = ${input.prompt ?? before.prompt}, provider = ${provider}, model = ${input.model ?? before.model},
            tools = ${JSON.stringify(tools)}::jsonb, max_steps = ${input.max_steps ?? before.max_steps},
            token_budget = ${input.token_budget === undefined ? before.token_budget : input.token_budget},
            mock = ${mock === null || mock === undefined ? null : JSON.stringify(mock)}::jsonb, updated_at = now()
          WHERE organization_id = ${principal.organizationId} AND id = ${id} RETURNING id, key, name`
        if (updated.length > 0) yield* audit.record("agents.agent.update", { type: "agent", id }, { key: updated[0].key, name: updated[0].name })
        return updated
      })).pipe(Effect.orDie)
      if (rows.length === 0) return yield* notFound(id)
      return toAgent(Option.getOrThrow(yield* rowById(principal.organizationId, id)))
    })

  return Agents.of({
    list: (filter) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const clauses = [sql`organization_id = ${principal.organizationId}`]
        if (filter.workspace !== undefined && filter.workspace.trim() !== "") {
          clauses.push(sql`workspace_id = ${storedWorkspaceId(principal.organizationId, filter.workspace.trim())}`)
        }
        const q = filter.q?.trim().toLowerCase()
        if (q !== undefined && q !== "") {
          clauses.push(sql`(position(${q} in lower(key)) > 0 OR position(${q} in lower(name)) > 0 OR position(${q} in lower(description)) > 0)`)
        }
        const rows = yield* sql<AgentRow>`SELECT ${columns} FROM agents.agents WHERE ${sql.and(clauses)}
          ORDER BY updated_at DESC, id LIMIT 1000`.pipe(Effect.orDie)
        return rows.map(toAgent)
      }),
    create,
    get: (id) => Effect.map(requireAgent(id), toAgent),
    find: (ref) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const row = yield* rowByRef(principal.organizationId, ref)
        if (Option.isNone(row)) return yield* notFound(ref)
        return toAgent(row.value)
      }),
    update,
    remove: (id) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const rows = yield* sql.withTransaction(Effect.gen(function*() {
          const deleted = yield* sql<{ key: string; name: string }>`
            DELETE FROM agents.agents WHERE organization_id = ${principal.organizationId} AND id = ${id} RETURNING key, name`
          if (deleted.length > 0) yield* audit.record("agents.agent.delete", { type: "agent", id }, { key: deleted[0].key, name: deleted[0].name })
          return deleted
        })).pipe(Effect.orDie)
        if (rows.length === 0) return yield* notFound(id)
      }),
    run: (id, request) =>
      Effect.gen(function*() {
        const agent = toAgent(yield* requireAgent(id))
        // PromptOps answers an unknown provider 400 before running anything.
        const providers = yield* models.providers()
        if (!providers.some((p) => p.name === agent.provider || p.aliases.includes(agent.provider))) {
          const available = providers.map((p) => p.name)
          return yield* new UnknownProvider({
            provider: agent.provider,
            available,
            detail: `Unknown provider ${agent.provider}; available: ${available.join(", ")}.`
          })
        }
        const variables = request.variables ?? {}
        const rendered = Template.render(agent.prompt, variables)
        const apiKey = request.api_key === undefined || request.api_key === ""
          ? undefined
          : yield* secrets.seal(request.api_key, apiKeyContext((yield* CurrentPrincipal).organizationId))
        const started = yield* runs.run({
          steps: [{
            name: "agent",
            type: "agent",
            agent: agent.id,
            ...(apiKey === undefined ? {} : { __apiKey: apiKey }),
            ...(request.base_url === undefined || request.base_url === "" ? {} : { baseUrl: request.base_url })
          }],
          input: variables,
          title: agent.key,
          source: "agent",
          refKey: agent.id
        }).pipe(Effect.catchTag("InvalidRunDefinition", (e) =>
          Effect.fail(new InvalidAgent({ tool: null, reason: e.reason, detail: `The agent cannot run: ${e.reason}` }))))
        const ended = yield* runs.awaitEnd(started.id).pipe(Effect.orDie)
        if (ended.status !== "succeeded") {
          return yield* new AgentRunFailed({
            rendered,
            provider: agent.provider,
            run_id: ended.id,
            detail: ended.error?.message ?? `the run was ${ended.status}`
          })
        }
        const output = ended.output as AgentStepOutput
        return {
          rendered,
          result: { provider: output.provider, model: output.model, output: output.output },
          run_id: ended.id,
          turns: output.turns,
          prompt_tokens: output.prompt_tokens,
          output_tokens: output.output_tokens
        }
      })
  })
})

export const layer = Layer.effect(Agents, make)
