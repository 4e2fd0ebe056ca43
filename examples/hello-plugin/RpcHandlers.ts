/** The example plugin's RPC handlers. */
import { Effect } from "effect"
import { Greetings } from "./Greetings.ts"
import { HelloRpcs } from "./Rpc.ts"

export const HelloRpcHandlers = HelloRpcs.toLayer(Effect.gen(function*() {
  const greetings = yield* Greetings
  return HelloRpcs.of({
    "hello.Greet": ({ name }) => greetings.create(name),
    "hello.GetGreeting": ({ id }) => greetings.get(id)
  })
}))
