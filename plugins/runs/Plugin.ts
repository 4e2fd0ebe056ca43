/**
 * The runs plugin: the durable run engine (issue 12) that agents, workflows and automations
 * start runs through. It offers `Runs` (`RunsService.ts`) and `StepRegistry`
 * (`StepRegistry.ts`) to other plugins; both are tag-and-interface modules. It serves seed
 * 002's runs API and PromptOps's run log (`Api.ts`), over HTTP and RPC.
 *
 * `RunsPlugin` uses the defaults (strict outbound policy for `http` steps); `makeRunsPlugin`
 * takes settings (tests, embedding).
 */
import { Layer } from "effect"
import { Plugin } from "trellis/plugin"
import { RunLogGroup, RunsGroup, RunsRpcs } from "./Api.ts"
import { runProblems } from "./Errors.ts"
import { RunsHttpLive } from "./Http.ts"
import { migration as createRuns } from "./migrations/0001_create_runs.ts"
import { migration as runLog } from "./migrations/0002_run_log.ts"
import { migration as runDeadlines } from "./migrations/0010_run_deadlines.ts"
import { migration as subRuns } from "./migrations/0011_sub_runs.ts"
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
    groups: [RunsGroup, RunLogGroup],
    rpc: RunsRpcs,
    migrations: [createRuns, runLog, runDeadlines, subRuns],
    scopes: [],
    requires: ["audit"],
    problems: [...runProblems],
    layer: RunsHttpLive.pipe(
      Layer.provideMerge(RunsLive.layer(resolved.engine)),
      Layer.provideMerge(Registry.layer((approvalChannels) => builtins(resolved.steps, approvalChannels)))
    )
  })
}

export const RunsPlugin = makeRunsPlugin()
