/** The step registry's implementation: a map filled by the plugin's layer and by later plugins' layers. */
import { Effect, Layer } from "effect"
import { DuplicateStepType, StepRegistry } from "./StepRegistry.ts"
import type { ApprovalChannel, StepType } from "./StepRegistry.ts"

/** `builtins` receives the registry's approval channels as the `approval` step reads them. */
export const make = (builtins: (approvalChannels: () => ReadonlyArray<ApprovalChannel>) => ReadonlyArray<StepType>) =>
  Effect.sync(() => {
    const channels: Array<ApprovalChannel> = []
    const approvalChannels = (): ReadonlyArray<ApprovalChannel> => channels
    const types = new Map<string, StepType>(builtins(approvalChannels).map((t) => [t.type, t]))
    return StepRegistry.of({
      addApprovalChannel: (channel) => Effect.sync(() => void channels.push(channel)),
      approvalChannels,
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

export const layer = (builtins: (approvalChannels: () => ReadonlyArray<ApprovalChannel>) => ReadonlyArray<StepType>) => Layer.effect(StepRegistry, make(builtins))
