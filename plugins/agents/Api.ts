/**
 * The agents plugin's HTTP contract, at PromptOps's paths (seed 004) and in its shapes:
 * resources wrapped in `{ "data": ... }`, deletes answer `{ "ok": true }`, creates answer 200,
 * problems carry PromptOps's `"error"` member (its console shows it).
 *
 * Authorization: reads need `agents:read` (viewer), writes `agents:write` (editor), running an
 * agent `agents:run` (viewer: PromptOps lets every signed-in user run).
 *
 * Client-safe.
 */
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { Authentication, Requirement, Requires, WireDialect } from "trellis/contract"
import { Agent, CreateAgent, ListQuery, Ok, RunAgentRequest, RunAgentResponse, UpdateAgent } from "./Domain.ts"
import { UnknownProvider } from "../prompts/Errors.ts"
import { AgentKeyTaken, AgentNotFound, AgentRunFailed, InvalidAgent, SecretKeyUnavailable } from "./Errors.ts"

const read = Requirement.read("agents")
const write = Requirement.write("agents")
const run = Requirement.run("agents")

const data = <S extends Schema.Top>(schema: S) => Schema.Struct({ data: schema })

export class AgentsGroup extends HttpApiGroup.make("agents")
  .annotate(WireDialect, WireDialect.promptOps)
  .add(
    HttpApiEndpoint.get("list", "/api/agents", {
      // `workspace` (absent: every workspace; `default` or empty: the default one), `q` (key, name, description).
      query: ListQuery,
      success: data(Schema.Array(Agent))
    }).annotate(Requires, read),
    HttpApiEndpoint.post("create", "/api/agents", {
      payload: CreateAgent,
      success: data(Agent),
      error: [AgentKeyTaken, InvalidAgent]
    }).annotate(Requires, write),
    HttpApiEndpoint.get("get", "/api/agents/:id", {
      params: { id: Schema.String },
      success: data(Agent),
      error: AgentNotFound
    }).annotate(Requires, read),
    HttpApiEndpoint.put("update", "/api/agents/:id", {
      params: { id: Schema.String },
      payload: UpdateAgent,
      success: data(Agent),
      error: [AgentNotFound, InvalidAgent]
    }).annotate(Requires, write),
    HttpApiEndpoint.delete("remove", "/api/agents/:id", {
      params: { id: Schema.String },
      success: Ok,
      error: AgentNotFound
    }).annotate(Requires, write),
    HttpApiEndpoint.post("run", "/api/agents/:id/run", {
      // Synchronous, as PromptOps: a run of one `agent` step, answered when it ends.
      params: { id: Schema.String },
      payload: RunAgentRequest,
      success: RunAgentResponse,
      error: [AgentNotFound, InvalidAgent, UnknownProvider, AgentRunFailed, SecretKeyUnavailable]
    }).annotate(Requires, run)
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({
    title: "Agents",
    description: "PromptOps-compatible agents: tool-calling loops run as durable runs"
  }))
{}

/** The plugin's own API value, for its handlers and typed clients of just this plugin. */
export class AgentsApi extends HttpApi.make("agents").add(AgentsGroup) {}
