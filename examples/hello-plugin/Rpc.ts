/** The example plugin's RPC contract, served at `/rpc`. Tags are prefixed with the plugin id. Client-safe. */
import { Schema } from "effect"
import { Rpc, RpcGroup } from "effect/rpc"
import { Requirement, Requires, RpcAuthentication } from "trellis/contract"
import { Greeting } from "./Domain.ts"
import { GreetingNotFound } from "./Errors.ts"

export class HelloRpcs extends RpcGroup.make(
  Rpc.make("hello.Greet", {
    payload: { name: Schema.String },
    success: Greeting
  }).annotate(Requires, Requirement.write("hello")),
  Rpc.make("hello.GetGreeting", {
    payload: { id: Schema.String },
    success: Greeting,
    error: GreetingNotFound
  }).annotate(Requires, Requirement.read("hello"))
).middleware(RpcAuthentication) {}
