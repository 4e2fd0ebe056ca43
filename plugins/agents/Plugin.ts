/**
 * The agents plugin (first-party, issue 12): PromptOps's agents (CRUD and synchronous run) and
 * the `agent` step type, an agent's tool-calling loop as one durable, checkpointed step of a
 * run. It requires `runs` (it starts runs through `Runs` and registers its step type through
 * `StepRegistry`) and `prompts` (PromptOps's console and workspaces come with it); it offers
 * `Agents` (`AgentsService.ts`) to later plugins (automations).
 *
 * `AgentsPlugin` uses the defaults (strict outbound policy for HTTP tools); `makeAgentsPlugin`
 * takes settings (tests, embedding).
 */
import { Effect, Layer } from "effect"
import { OutboundHttp, Plugin } from "trellis/plugin"
import { StepRegistry } from "../runs/StepRegistry.ts"
import * as AgentsLive from "./Agents.ts"
import * as AgentStep from "./AgentStep.ts"
import type { AgentStepSettings } from "./AgentStep.ts"
import { AgentsGroup } from "./Api.ts"
import { agentProblems } from "./Errors.ts"
import { AgentsHttp } from "./Http.ts"
import { migration as createAgents } from "./migrations/0001_create_agents.ts"

export const defaultAgentsSettings: AgentStepSettings = { httpPolicy: OutboundHttp.strict }

const registerStep = (settings: AgentStepSettings) =>
  Layer.effectDiscard(Effect.gen(function*() {
    const steps = yield* StepRegistry
    yield* steps.register(yield* AgentStep.make(settings)).pipe(Effect.orDie)
  }))

export const makeAgentsPlugin = (settings: Partial<AgentStepSettings> = {}) =>
  Plugin.make({
    id: "agents",
    version: "0.1.0",
    description: "PromptOps-compatible agents: tool-calling loops (tools: workflows, agents, HTTP) run as durable runs",
    groups: [AgentsGroup],
    migrations: [createAgents],
    requires: ["runs", "prompts"],
    problems: [...agentProblems],
    layer: Layer.mergeAll(AgentsHttp, registerStep({ ...defaultAgentsSettings, ...settings })).pipe(
      Layer.provideMerge(AgentsLive.layer)
    )
  })

export const AgentsPlugin = makeAgentsPlugin()
