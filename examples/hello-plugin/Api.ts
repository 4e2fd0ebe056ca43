/**
 * The example plugin's HTTP contract. Client-safe: a typed client imports this file without
 * any server code. Paths live under `/api/hello`; the group name `hello` must be unique
 * across all plugins of a server.
 */
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { AcceptsQueryToken, Authentication, Requirement, Requires, RpcFromApi } from "trellis/contract"
import { CreateGreeting, Greeting } from "./Domain.ts"
import { GreetingNotFound } from "./Errors.ts"

export class HelloGroup extends HttpApiGroup.make("hello")
  .add(
    HttpApiEndpoint.get("list", "/api/hello/greetings", {
      success: Schema.Struct({ items: Schema.Array(Greeting) })
    }).annotate(Requires, Requirement.read("hello")),
    HttpApiEndpoint.post("create", "/api/hello/greetings", {
      payload: CreateGreeting,
      success: Greeting.pipe(HttpApiSchema.status(201))
    }).annotate(Requires, Requirement.write("hello")),
    HttpApiEndpoint.get("events", "/api/hello/events", {
      // A live stream (Server-Sent Events): one `greeting.created` event per new greeting.
      // Reconnecting clients send `Last-Event-ID` and receive exactly what they missed.
      success: Schema.String.pipe(HttpApiSchema.asText({ contentType: "text/event-stream" }))
    }).annotate(Requires, Requirement.stream("hello")).annotate(AcceptsQueryToken, true),
    HttpApiEndpoint.get("get", "/api/hello/greetings/:id", {
      params: { id: Schema.String },
      success: Greeting,
      error: GreetingNotFound
    }).annotate(Requires, Requirement.read("hello"))
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Hello (example plugin)", description: "Greetings, stored in the plugin's own schema" }))
{}

/** The plugin's own API value, used by its handlers and by typed clients of just this plugin. */
export class HelloApi extends HttpApi.make("hello").add(HelloGroup) {}

/**
 * The same operations as RPCs at `/rpc` (`hello.List`, `hello.Create`, `hello.Get`), served by
 * the HTTP handlers: nothing to declare or handle twice. The live stream has no RPC form.
 */
export const HelloRpcs = RpcFromApi.make("hello", [HelloGroup], { omit: ["events"] })
