/** The step registry's implementation: a map filled by the plugin's layer and by later plugins' layers. */
import { Effect, Layer } from "effect"
import { DuplicateStepType, StepRegistry } from "./StepRegistry.ts"
import type { StepType } from "./StepRegistry.ts"

export const make = (builtins: ReadonlyArray<StepType>) =>
  Effect.sync(() => {
    const types = new Map<string, StepType>(builtins.map((t) => [t.type, t]))
    return StepRegistry.of({
      register: (stepType) =>
        Effect.suspend(() => {
          if (types.has(stepType.type)) return Effect.fail(new DuplicateStepType({ type: stepType.type }))
          types.set(stepType.type, stepType)
          return Effect.void
        }),
      get: (type) => types.get(type),
      types: () => [...types.keys()]
    })
  })

export const layer = (builtins: ReadonlyArray<StepType>) => Layer.effect(StepRegistry, make(builtins))
