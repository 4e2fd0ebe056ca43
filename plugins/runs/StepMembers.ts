/**
 * Reading a step's members, for step authors: each type declares its own members (PromptOps's
 * flat step shape) as a Schema, and the same decoding serves `validate` (refused when the run
 * is created, with the Schema's explanation) and `execute` (a non-retryable `StepFailed`).
 * Client-safe like `StepRegistry.ts`: plugins adding step types import it.
 *
 * ```ts
 * const members = membersOf(Schema.Struct({ ticket: Schema.String }))
 * steps.register({ type: "ticket", validate: members.validate, execute: (context) =>
 *   Effect.flatMap(members.read(context.step), (m) => ...) })
 * ```
 */
import { Effect, Exit, Schema } from "effect"
import type { StepDefinition } from "./Domain.ts"
import { StepFailed } from "./StepRegistry.ts"

export interface StepMembers<A> {
  /** Why the step's members are invalid, or `undefined`. */
  readonly validate: (step: StepDefinition) => string | undefined
  /** The step's members, decoded; invalid ones fail the attempt (not retryable). */
  readonly read: (step: StepDefinition) => Effect.Effect<A, StepFailed>
}

const described = (type: string) => `invalid members of ${/^[aeiou]/i.test(type) ? "an" : "a"} ${type} step`

/** The members of a step type, decoded with `schema`. */
export const membersOf = <S extends Schema.Codec<unknown, unknown>>(schema: S): StepMembers<S["Type"]> => {
  const decode = Schema.decodeUnknownExit(schema as unknown as Schema.Codec<S["Type"], unknown>)
  return {
    validate: (step) => {
      const exit = decode(step)
      return Exit.isSuccess(exit) ? undefined : `${described(step.type)}: ${exit.cause.toString()}`
    },
    read: (step) => {
      const exit = decode(step)
      return Exit.isSuccess(exit)
        ? Effect.succeed(exit.value)
        : Effect.fail(new StepFailed({ message: described(step.type), retryable: false }))
    }
  }
}
