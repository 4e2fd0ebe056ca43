/**
 * A read-only view of users and keys for plugins: what a plugin may know about the person or
 * key behind a principal (a user's email address, for pages shared with an email identity; the
 * name a principal goes by, for a page's `created_by`), without the write side of `Users` and
 * `ApiKeys` or SQL on the `identity` schema from the plugin.
 */
import { Context, Effect, Layer, Option } from "effect"
import type { Principal } from "../auth/Principal.ts"
import { ApiKeys } from "./ApiKeys.ts"
import { Users } from "./Users.ts"

/** Who a principal is, as a plugin may show it. */
export type Name =
  /** The static admin token. */
  | { readonly kind: "system" }
  /** A service key (by its name) or an agent user (by the name it registered with). */
  | { readonly kind: "agent"; readonly name: string }
  /** A person: their email address when they have one, else their user id. */
  | { readonly kind: "user"; readonly name: string }

export class Directory extends Context.Service<Directory, {
  /** The email address of an active user (lowercased), if they have one. */
  readonly emailOf: (userId: string) => Effect.Effect<Option.Option<string>>
  /** The name the principal goes by (see {@link Name}). */
  readonly nameOf: (principal: Principal) => Effect.Effect<Name>
}>()("trellis/identity/Directory") {
  static readonly layer = Layer.effect(
    Directory,
    Effect.gen(function*() {
      const users = yield* Users
      const keys = yield* ApiKeys
      return Directory.of({
        emailOf: (userId) =>
          Effect.map(users.get(userId), (user) =>
            Option.flatMap(user, (u) =>
              u.active && u.email !== null && u.email !== "" ? Option.some(u.email.toLowerCase()) : Option.none())),
        nameOf: (principal) =>
          Effect.gen(function*() {
            if (principal.kind === "admin-token") return { kind: "system" } as const
            if (principal.kind === "service-key") {
              const key = yield* keys.get(principal.organizationId, principal.credentialId ?? principal.id)
              return { kind: "agent", name: Option.match(key, { onNone: () => principal.id, onSome: (k) => k.name }) } as const
            }
            const userId = principal.userId ?? principal.id
            const user = Option.getOrUndefined(yield* users.get(userId))
            // An agent's name is the one it registered with (its display name); its username is made unique.
            if (principal.agent || user?.kind === "agent") {
              return { kind: "agent", name: user?.displayName ?? user?.username ?? userId } as const
            }
            return { kind: "user", name: user?.email ?? userId } as const
          })
      })
    })
  )
}
