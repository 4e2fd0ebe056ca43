/**
 * Which organization a request acts in, when the resource it addresses says so.
 *
 * A user's key or session acts in the user's default organization, or in the one
 * `X-Trellis-Organization` names. SessionFS's clients expect more: a user reaches any project of
 * any organization they belong to, whatever their default. A plugin registers, for one of its
 * API groups, a resolver from the route's parameters to the organizations the addressed
 * resource lives in (`ActingOrganization.groups`); the authentication middleware then acts as
 * the user in the first of them the user is a member of, with the role they hold there, and
 * authorizes the request against that role. When the resource is in the current organization,
 * or in none the user belongs to, nothing changes (the handler answers as it would: 404 for a
 * project it cannot see). Service keys and the admin token never move, and an explicit
 * `X-Trellis-Organization` always wins.
 */
import { Context, Effect, Layer } from "effect"

/**
 * The organizations a request's resource lives in, most likely first, from the route's
 * parameters (`[]`: unknown, or not an addressed resource). Infrastructure failures are defects.
 */
export type Resolver = (params: Readonly<Record<string, string | undefined>>) => Effect.Effect<ReadonlyArray<string>>

export class ActingOrganization extends Context.Service<ActingOrganization, {
  /** Adds the resolver of the API group with this identifier (while the plugin's layer builds). */
  readonly register: (groupIdentifier: string, resolve: Resolver) => Effect.Effect<void>
  readonly resolverOf: (groupIdentifier: string) => Resolver | undefined
}>()("trellis/auth/ActingOrganization") {
  static readonly layer: Layer.Layer<ActingOrganization> = Layer.sync(ActingOrganization, () => {
    const resolvers = new Map<string, Resolver>()
    return {
      register: (groupIdentifier, resolve) => Effect.sync(() => void resolvers.set(groupIdentifier, resolve)),
      resolverOf: (groupIdentifier) => resolvers.get(groupIdentifier)
    }
  })

  /** A layer that registers `make`'s resolver for each of these API groups (merge it into the plugin's layer). */
  static readonly groups = <E, R>(
    groups: ReadonlyArray<{ readonly identifier: string }>,
    make: Effect.Effect<Resolver, E, R>
  ): Layer.Layer<never, E, R | ActingOrganization> =>
    Layer.effectDiscard(Effect.flatMap(make, (resolve) =>
      ActingOrganization.use((registry) => Effect.forEach(groups, (group) => registry.register(group.identifier, resolve), { discard: true }))
    ))
}
