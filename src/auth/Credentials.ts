/**
 * The seam where a bearer token becomes a principal.
 *
 * The `Authentication` middleware asks `Credentials.resolve`; this first implementation knows
 * one credential, `TRELLIS_ADMIN_TOKEN`. Users, sessions and API keys plug in here by
 * providing another `Credentials` layer (or one that chains to this one), without touching
 * the middleware or any handler.
 */
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import { TrellisConfig } from "../config/TrellisConfig.ts"
import { Principal } from "./Principal.ts"

export class Credentials extends Context.Service<Credentials, {
  readonly resolve: (token: string) => Effect.Effect<Option.Option<Principal>>
}>()("trellis/auth/Credentials") {
  /** Resolves only the static admin token of the configuration. */
  static readonly layerAdminToken = Layer.effect(
    Credentials,
    Effect.gen(function*() {
      const config = yield* TrellisConfig
      const expected = config.adminToken === undefined ? undefined : digest(Redacted.value(config.adminToken))
      const resolve = (token: string) =>
        Effect.sync(() =>
          expected !== undefined && timingSafeEqual(digest(token), expected)
            ? Option.some(adminPrincipal)
            : Option.none()
        )
      return Credentials.of({ resolve })
    })
  )
}

/** Fixed-length digests, so the comparison takes the same time whatever the token's length. */
const digest = (token: string): Buffer => createHash("sha256").update(token).digest()

/** The principal of the static admin token: every scope, no organization. */
export const adminPrincipal = new Principal({
  id: "admin",
  kind: "admin-token",
  organizationId: null,
  role: "owner",
  scopes: ["*"]
})
