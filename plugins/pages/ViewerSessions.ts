/**
 * The `Viewers` implementation: a bearer token or the platform session cookie resolved by the
 * platform's `Credentials` is a `Member`; anything else is `Anonymous`.
 *
 * (The people lane adds magic-link viewer sessions: the `trellis_viewer` cookie and viewer
 * tokens as `Identity`, and members' email addresses.)
 */
import { Effect, Layer, Option } from "effect"
import { HttpServerRequest } from "effect/http"
import { Credentials } from "trellis/plugin"
import { Viewers } from "./Viewers.ts"
import type { Viewer } from "./Viewers.ts"

const anonymous: Viewer = { _tag: "Anonymous" }

export const layer = Layer.effect(
  Viewers,
  Effect.gen(function*() {
    const credentials = yield* Credentials
    const ofToken = (token: string): Effect.Effect<Viewer> =>
      token === ""
        ? Effect.succeed(anonymous)
        : credentials.resolve(token).pipe(
          Effect.map(Option.match({
            onNone: (): Viewer => anonymous,
            onSome: (resolved): Viewer => ({ _tag: "Member", principal: resolved.principal, email: null })
          })),
          Effect.orElseSucceed(() => anonymous)
        )
    const current = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const bearer = /^Bearer\s+(.+)$/i.exec(request.headers["authorization"] ?? "")
      if (bearer !== null) return yield* ofToken(bearer[1]!.trim())
      return yield* ofToken(request.cookies["trellis_session"] ?? "")
    })
    return Viewers.of({ current, ofToken })
  })
)
