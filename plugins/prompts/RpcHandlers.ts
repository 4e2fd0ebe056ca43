/** The prompts plugin's RPC handlers: the same services as the HTTP handlers. */
import { Effect, Schema } from "effect"
import { CurrentPrincipal } from "trellis/plugin"
import { SdkPrompt } from "./Domain.ts"
import { PublishedPromptNotFound } from "./Errors.ts"
import { Prompts } from "./Prompts.ts"
import { PromptsRpcs } from "./Rpc.ts"
import { SdkPrompts } from "./SdkPrompts.ts"

const decodeSdkPrompt = Schema.decodeUnknownSync(Schema.fromJsonString(SdkPrompt))

export const PromptsRpcHandlers = PromptsRpcs.toLayer(Effect.gen(function*() {
  const prompts = yield* Prompts
  const sdk = yield* SdkPrompts
  return PromptsRpcs.of({
    "prompts.List": (filter) => prompts.list(filter),
    "prompts.Get": ({ id }) => prompts.get(id),
    "prompts.Create": (input) => prompts.create(input),
    "prompts.Update": ({ changes, id }) => prompts.update(id, changes),
    "prompts.Delete": ({ id }) => prompts.remove(id),
    "prompts.Versions": ({ id }) => prompts.versions(id),
    "prompts.Publish": ({ id, note }) => prompts.publish(id, note),
    "prompts.Rollback": ({ id, version }) => prompts.rollback(id, version),
    "prompts.GetRollout": ({ id }) => prompts.getRollout(id),
    "prompts.SetRollout": ({ id, rollout }) => prompts.setRollout(id, rollout),
    "prompts.DeleteRollout": ({ id }) => prompts.deleteRollout(id),
    "prompts.Fetch": ({ env, key, sticky_key, workspace }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const resolvedEnv = env === undefined || env === "" ? "prod" : env
        const result = yield* Effect.orDie(sdk.fetch({
          organizationId: principal.organizationId,
          key,
          env: resolvedEnv,
          workspace,
          stickiness: sticky_key,
          ifNoneMatch: undefined
        }))
        if (result._tag !== "Ok") {
          return yield* new PublishedPromptNotFound({
            key,
            env: resolvedEnv,
            detail: `No prompt with key ${key} in environment ${resolvedEnv} to serve (a published-only workspace serves published versions only).`
          })
        }
        return decodeSdkPrompt(result.prepared.body)
      })
  })
}))
