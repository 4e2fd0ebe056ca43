/** The example plugin's domain: a greeting someone asked for. Client-safe. */
import { Schema } from "effect"

export const GreetingId = Schema.String.pipe(Schema.brand("GreetingId"))
export type GreetingId = typeof GreetingId.Type

export class Greeting extends Schema.Class<Greeting>("Greeting")({
  id: GreetingId,
  name: Schema.String,
  message: Schema.String,
  createdAt: Schema.String
}) {}

export const CreateGreeting = Schema.Struct({
  name: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(100))
})
