/** The example plugin's problems: each has a status, a stable code and a problem `type`. Client-safe. */
import { Schema } from "effect"
import { Problem } from "trellis/contract"

export class GreetingNotFound extends Problem<GreetingNotFound>()("GreetingNotFound", {
  code: "GREETING_NOT_FOUND",
  status: 404,
  title: "Greeting not found"
}, { greetingId: Schema.String }) {}
