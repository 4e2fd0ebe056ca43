/**
 * The runs plugin: the durable run engine (issue 12) that agents, workflows and automations
 * start runs through. It offers `Runs` (`RunsService.ts`) and `StepRegistry`
 * (`StepRegistry.ts`) to other plugins; both are tag-and-interface modules. No HTTP contract
 * yet: the seed-002 and PromptOps routes come next, on the declaration idiom being built.
 *
 * `RunsPlugin` uses the defaults (strict outbound policy for `http` steps); `makeRunsPlugin`
 * takes settings (tests, embedding).
 */
import { Layer } from "effect"
import { Plugin } from "trellis/plugin"
import { runProblems } from "./Errors.ts"
import { migration as createRuns } from "./migrations/0001_create_runs.ts"
import { migration as runDeadlines } from "./migrations/0010_run_deadlines.ts"
import * as Registry from "./Registry.ts"
import * as RunsLive from "./Runs.ts"
import type { EngineSettings } from "./Runs.ts"
import { builtins, defaultStepSettings } from "./Steps.ts"
import type { StepSettings } from "./Steps.ts"

export interface RunsSettings {
  readonly steps: StepSettings
  readonly engine: EngineSettings
}

export const defaultRunsSettings: RunsSettings = { steps: defaultStepSettings, engine: RunsLive.defaultEngineSettings }

export const makeRunsPlugin = (settings: Partial<RunsSettings> = {}) => {
  const resolved: RunsSettings = { ...defaultRunsSettings, ...settings }
  return Plugin.make({
    id: "runs",
    version: "0.1.0",
    description: "Durable, checkpointed runs on the job queue (the engine of agents, workflows and automations)",
    groups: [],
    migrations: [createRuns, runDeadlines],
    scopes: [],
    requires: ["audit"],
    problems: [...runProblems],
    layer: RunsLive.layer(resolved.engine).pipe(Layer.provideMerge(Registry.layer(builtins(resolved.steps))))
  })
}

export const RunsPlugin = makeRunsPlugin()
