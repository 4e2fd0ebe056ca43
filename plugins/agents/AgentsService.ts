/**
 * The agents plugin's `Agents` service as other plugins see it (automations start agent runs):
 * the tag and its interface, nothing of the implementation (`Agents.ts` provides it; the
 * plugin's layer outputs it). A plugin that uses it declares `requires: ["agents"]` and imports
 * only this module and the contract modules it names.
 */
import { Context } from "effect"
import type { Effect } from "effect"
import type { CurrentPrincipal } from "trellis/contract"
import type { Agent, CreateAgent, ListQuery, RunAgentRequest, RunAgentResponse, UpdateAgent } from "./Domain.ts"
import type { UnknownProvider } from "../prompts/Errors.ts"
import type { AgentKeyTaken, AgentNotFound, AgentRunFailed, InvalidAgent, SecretKeyUnavailable } from "./Errors.ts"

type WithPrincipal<A, E> = Effect.Effect<A, E, CurrentPrincipal>

export class Agents extends Context.Service<Agents, {
  readonly list: (filter: ListQuery) => WithPrincipal<ReadonlyArray<Agent>, never>
  readonly create: (input: CreateAgent) => WithPrincipal<Agent, AgentKeyTaken | InvalidAgent>
  readonly get: (id: string) => WithPrincipal<Agent, AgentNotFound>
  /** An agent by id, else by key (the default workspace's first, then the oldest). */
  readonly find: (ref: string) => WithPrincipal<Agent, AgentNotFound>
  readonly update: (id: string, input: UpdateAgent) => WithPrincipal<Agent, AgentNotFound | InvalidAgent>
  readonly remove: (id: string) => WithPrincipal<void, AgentNotFound>
  /**
   * PromptOps's synchronous run: starts a run of one `agent` step (source `agent`, refKey the
   * agent's id) and answers when it ends; a failed run is `AgentRunFailed` (502).
   */
  readonly run: (
    id: string,
    request: RunAgentRequest
  ) => WithPrincipal<RunAgentResponse, AgentNotFound | InvalidAgent | AgentRunFailed | SecretKeyUnavailable | UnknownProvider>
}>()("agents/Agents") {}
