/**
 * The agents plugin's problems: each has a status, a stable code and a problem `type`; the
 * PromptOps wire dialect adds its `"error"` member. Every one but `AgentRunFailed` is answered
 * before anything is written.
 *
 * Client-safe.
 */
import { Schema } from "effect"
import { Problem, Problems } from "trellis/contract"

export class AgentNotFound extends Problem<AgentNotFound>()("AgentNotFound", {
  code: "AGENT_NOT_FOUND",
  status: 404,
  title: "Agent not found"
}, { agentId: Schema.String }) {}

/** Keys are unique per organization and workspace (an `agent` step may name an agent by key). */
export class AgentKeyTaken extends Problem<AgentKeyTaken>()("AgentKeyTaken", {
  code: "AGENT_KEY_TAKEN",
  status: 409,
  title: "An agent with this key already exists in this workspace"
}, { key: Schema.String, workspace_id: Schema.String }) {}

/**
 * A definition that cannot run: a tool without a JSON schema of an object, a tool naming an
 * agent that does not exist (or the agent itself), a workflow tool without the workflows
 * plugin, two tools of one name, a bad `mock` script. `tool` names the tool (its index when it
 * has no name); nothing is changed.
 */
export class InvalidAgent extends Problem<InvalidAgent>()("InvalidAgent", {
  code: "INVALID_AGENT",
  status: 400,
  title: "Invalid agent definition"
}, { tool: Schema.NullOr(Schema.String), reason: Schema.String }) {}

/**
 * The run failed: the provider failed (PromptOps's 502 with `error` and `rendered`), or the
 * loop reached `max_steps` or spent its `token_budget` (the message names which).
 */
export class AgentRunFailed extends Problem<AgentRunFailed>()("AgentRunFailed", {
  code: "AGENT_RUN_FAILED",
  status: 502,
  title: "The agent run failed"
}, { rendered: Schema.String, provider: Schema.String, run_id: Schema.String }) {}

/** The platform's problem for an `api_key` the server cannot seal (it has no secret key). */
export const SecretKeyUnavailable = Problems.SecretKeyUnavailable
export type SecretKeyUnavailable = Problems.SecretKeyUnavailable

export const agentProblems = [AgentNotFound, AgentKeyTaken, InvalidAgent, AgentRunFailed] as const
