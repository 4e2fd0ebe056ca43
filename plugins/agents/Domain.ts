/**
 * The agents plugin's wire shapes: PromptOps's agent (seed 004) field for field, in its
 * snake_case casing, so its console reads them unchanged, plus Trellis's optional extensions
 * (`tools`, `max_steps`, `token_budget`, `mock`) in the same casing.
 *
 * Client-safe: imports only `effect` and the platform's contract.
 */
import { Schema } from "effect"

/** An agent key: letters, digits and `._:-`, 1 to 200 characters (what an `agent` step may name). */
export const AgentKey = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_][A-Za-z0-9._:-]{0,199}$/))
/** A workspace id; the empty string (or `default`) is the organization's default workspace. */
export const WorkspaceId = Schema.String.check(Schema.isMaxLength(200))

/** A tool name as models accept it. */
export const ToolName = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_-]{1,64}$/))

/** An HTTP tool: the model's arguments are sent as JSON (GET: as the query string). */
export const HttpTool = Schema.Struct({
  name: ToolName,
  description: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(2000))),
  url: Schema.String.check(Schema.isMaxLength(4096), Schema.isPattern(/^https?:\/\//i)),
  method: Schema.optionalKey(Schema.Literals(["GET", "POST", "PUT", "PATCH", "DELETE"])),
  /** A JSON Schema of an object: what the model must send. Required. */
  inputSchema: Schema.Record(Schema.String, Schema.Unknown)
})
export type HttpTool = typeof HttpTool.Type

/** Another agent as a tool: a sub-run of it; the model's arguments are its variables. */
export const AgentTool = Schema.Struct({
  agent: Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(200)),
  name: Schema.optionalKey(ToolName),
  description: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(2000))),
  inputSchema: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
})
export type AgentTool = typeof AgentTool.Type

/** A stored workflow as a tool: a sub-run of it (the workflows plugin's `workflow` step); the arguments are its input. */
export const WorkflowTool = Schema.Struct({
  workflow: Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(200)),
  name: Schema.optionalKey(ToolName),
  description: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(2000))),
  inputSchema: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
})
export type WorkflowTool = typeof WorkflowTool.Type

/**
 * The `mock` provider's script (`Models`' `MockScript`: `{turns: [{text?, toolCalls?, error?, ...}]}`),
 * checked in full by the server when saved.
 */
export const MockScriptInput = Schema.Struct({
  turns: Schema.Array(Schema.Record(Schema.String, Schema.Unknown)).check(Schema.isMinLength(1), Schema.isMaxLength(100))
})

export const Tool = Schema.Union([AgentTool, WorkflowTool, HttpTool])
export type Tool = typeof Tool.Type

/** The most model turns an agent may take (`max_steps`), and the default. */
export const maxStepsLimit = 100
export const defaultMaxSteps = 10

export const Agent = Schema.Struct({
  id: Schema.String,
  workspace_id: Schema.String,
  key: Schema.String,
  name: Schema.String,
  description: Schema.String,
  /** The agent's prompt, with `{{variable}}` placeholders. */
  prompt: Schema.String,
  /** `mock` (default), `openai`, `claude`, `ollama`, `gemini`, ... */
  provider: Schema.String,
  /** Empty: the provider's default model. */
  model: Schema.String,
  /** Trellis: the tools the model may call. */
  tools: Schema.Array(Tool),
  /** Trellis: the most model turns of one run. */
  max_steps: Schema.Number,
  /** Trellis: the most tokens (prompt and output, all turns) of one run; `null`: no budget. */
  token_budget: Schema.NullOr(Schema.Number),
  /** Trellis: the `mock` provider's script (demos and tests); `null` for PromptOps's echo. */
  mock: Schema.NullOr(MockScriptInput),
  created_at: Schema.String,
  updated_at: Schema.String
})
export type Agent = typeof Agent.Type

const optionalText = (max: number) => Schema.optionalKey(Schema.String.check(Schema.isMaxLength(max)))

/** Extensions shared by create and update. `tools` are checked one by one (a bad one is named). */
const extensions = {
  tools: Schema.optionalKey(Schema.Array(Schema.Unknown).check(Schema.isMaxLength(64))),
  max_steps: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: maxStepsLimit }))),
  token_budget: Schema.optionalKey(Schema.NullOr(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100_000_000 })))),
  mock: Schema.optionalKey(Schema.NullOr(MockScriptInput))
}

export const CreateAgent = Schema.Struct({
  key: AgentKey,
  name: optionalText(500),
  description: optionalText(5000),
  prompt: optionalText(200_000),
  provider: optionalText(100),
  model: optionalText(200),
  workspace_id: Schema.optionalKey(WorkspaceId),
  ...extensions
})
export type CreateAgent = typeof CreateAgent.Type

/**
 * An update. PromptOps's console sends the whole agent back (id, key, timestamps too): the key
 * and workspace are kept (PromptOps does not change them), and absent fields keep their value.
 */
export const UpdateAgent = Schema.Struct({
  name: optionalText(500),
  description: optionalText(5000),
  prompt: optionalText(200_000),
  provider: optionalText(100),
  model: optionalText(200),
  ...extensions
})
export type UpdateAgent = typeof UpdateAgent.Type

export const ListQuery = Schema.Struct({
  q: Schema.optionalKey(Schema.String),
  workspace: Schema.optionalKey(Schema.String)
})
export type ListQuery = typeof ListQuery.Type

/** `POST /api/agents/:id/run`: PromptOps's body. */
export const RunAgentRequest = Schema.Struct({
  variables: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown)),
  /** Used for this run only; sealed in the run's definition, never stored or logged in clear. */
  api_key: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(4096))),
  base_url: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(4096)))
})
export type RunAgentRequest = typeof RunAgentRequest.Type

export const RunAgentResult = Schema.Struct({
  provider: Schema.String,
  model: Schema.String,
  output: Schema.String
})

/** PromptOps's answer (`rendered`, `result`), with the run's id and its totals. */
export const RunAgentResponse = Schema.Struct({
  rendered: Schema.String,
  result: RunAgentResult,
  run_id: Schema.String,
  /** Model turns taken. */
  turns: Schema.Number,
  prompt_tokens: Schema.Number,
  output_tokens: Schema.Number
})
export type RunAgentResponse = typeof RunAgentResponse.Type

export const Ok = Schema.Struct({ ok: Schema.Boolean })

/**
 * What an `agent` step outputs: the final answer and the loop's totals (`result`: PromptOps's
 * run result).
 */
export interface AgentStepOutput {
  readonly provider: string
  readonly model: string
  readonly output: string
  readonly rendered: string
  readonly turns: number
  readonly prompt_tokens: number
  readonly output_tokens: number
}
