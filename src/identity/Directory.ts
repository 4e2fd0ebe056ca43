/**
 * A read-only view of users for plugins: what a plugin may know about the person behind a
 * principal (today their email address, for pages shared with an email identity), without
 * the write side of `Users` or SQL on the `identity` schema from the plugin.
 */
import { Context, Effect, Layer, Option } from "effect"
import { Users } from "./Users.ts"

export class Directory extends Context.Service<Directory, {
  /** The email address of an active user (lowercased), if they have one. */
  readonly emailOf: (userId: string) => Effect.Effect<Option.Option<string>>
}>()("trellis/identity/Directory") {
  static readonly layer = Layer.effect(
    Directory,
    Effect.gen(function*() {
      const users = yield* Users
      return Directory.of({
        emailOf: (userId) =>
          Effect.map(users.get(userId), (user) =>
            Option.flatMap(user, (u) =>
              u.active && u.email !== null && u.email !== "" ? Option.some(u.email.toLowerCase()) : Option.none()))
      })
    })
  )
}
