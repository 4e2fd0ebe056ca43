/**
 * Email verification: a single-use `trv_` token (stored as a digest, valid 24 hours) mailed to
 * a new account; `GET /api/v1/auth/verify?token=` (SessionFS's link; `/verify/{token}` too) marks the
 * address verified.
 */
import { Context, Effect, Layer, Option } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { TrellisConfig } from "../config/TrellisConfig.ts"
import { Mailer } from "./Mailer.ts"
import * as Secrets from "./Secrets.ts"
import type { UserRecord } from "./Users.ts"

const ttlMillis = 24 * 3600 * 1000

export class Verifications extends Context.Service<Verifications, {
  /** Creates a token and mails the link (best effort: a mail failure is logged, not raised). */
  readonly send: (user: UserRecord) => Effect.Effect<void>
  /** Marks the token used and the user's email verified; `None` when unknown, used or expired. */
  readonly consume: (token: string) => Effect.Effect<Option.Option<string>>
}>()("trellis/identity/Verifications") {
  static readonly layer = Layer.effect(
    Verifications,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const config = yield* TrellisConfig
      const mailer = yield* Mailer
      const base = config.publicUrl ?? `http://${config.host}:${config.port}`

      const send = (user: UserRecord) =>
        Effect.gen(function*() {
          if (user.email === null) return
          const token = Secrets.generate("verification")
          yield* sql`
            INSERT INTO identity.email_verifications (token_hash, user_id, expires_at)
            VALUES (${Secrets.digest(token)}, ${user.id}, ${new Date(Date.now() + ttlMillis)})`.pipe(Effect.orDie)
          const link = `${base.replace(/\/$/, "")}/api/v1/auth/verify?token=${token}`
          yield* mailer.send({
            to: user.email,
            subject: "Verify your email address",
            text: `Open this link within 24 hours to verify your email address:\n\n${link}\n`
          }).pipe(
            Effect.catchCause((cause) => Effect.logWarning("verification email not sent", cause))
          )
        })

      const consume = (token: string) =>
        sql.withTransaction(Effect.gen(function*() {
          const rows = yield* sql<{ readonly user_id: string }>`
            UPDATE identity.email_verifications SET used_at = now()
            WHERE token_hash = ${Secrets.digest(token)} AND used_at IS NULL AND expires_at > now()
            RETURNING user_id`
          const row = rows[0]
          if (row === undefined) return Option.none<string>()
          yield* sql`UPDATE identity.users SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = ${row.user_id}`
          return Option.some(row.user_id)
        })).pipe(Effect.orDie)

      return Verifications.of({ send, consume })
    })
  )
}
