/**
 * The server side of the `Authentication` middleware: resolves the bearer credential through
 * `Credentials` and provides `CurrentPrincipal`, or fails with a 401 problem.
 */
import { Effect, Layer, Option, Redacted } from "effect"
import { Unauthorized } from "../problem/Problems.ts"
import { Authentication } from "./Authentication.ts"
import { RpcAuthentication } from "./RpcAuthentication.ts"
import { Credentials } from "./Credentials.ts"
import { CurrentPrincipal } from "./Principal.ts"

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function*() {
    const credentials = yield* Credentials
    return Authentication.of({
      bearer: Effect.fnUntraced(function*(httpEffect, { credential }) {
        const token = Redacted.value(credential)
        if (token === "") {
          return yield* new Unauthorized({
            detail: "This endpoint needs a bearer token: send Authorization: Bearer <token>."
          })
        }
        const principal = yield* credentials.resolve(token)
        if (Option.isNone(principal)) {
          return yield* new Unauthorized({ detail: "The bearer token is not valid." })
        }
        return yield* Effect.provideService(httpEffect, CurrentPrincipal, principal.value)
      })
    })
  })
)

/** Server side of `RpcAuthentication`: the same credentials, read from the RPC request's headers. */
export const RpcAuthenticationLive = Layer.effect(
  RpcAuthentication,
  Effect.gen(function*() {
    const credentials = yield* Credentials
    return RpcAuthentication.of(Effect.fnUntraced(function*(effect, { headers }) {
      const header = headers["authorization"] ?? ""
      const match = /^Bearer\s+(.+)$/i.exec(header)
      if (match === null) {
        return yield* new Unauthorized({ detail: "RPC calls need a bearer token: send Authorization: Bearer <token>." })
      }
      const principal = yield* credentials.resolve(match[1].trim())
      if (Option.isNone(principal)) {
        return yield* new Unauthorized({ detail: "The bearer token is not valid." })
      }
      return yield* Effect.provideService(effect, CurrentPrincipal, principal.value)
    }))
  })
)
