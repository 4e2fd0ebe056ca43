/**
 * The first admin. There is no default password: at a start that finds no user at all, the
 * platform creates `admin` (owner of the default organization) with `TRELLIS_ADMIN_PASSWORD`,
 * or, when that is unset, with a random one-time password printed once in the log. (`trellis
 * users create --admin` creates one from the command line instead.) Later starts find a user
 * and do nothing, so the password is never printed twice.
 */
import { Effect, Redacted } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { defaultOrganizationId } from "../auth/Credentials.ts"
import { TrellisConfig } from "../config/TrellisConfig.ts"
import { Passwords } from "./Passwords.ts"
import { Users } from "./Users.ts"
import { randomBytes } from "node:crypto"

export const firstAdminUsername = "admin"

export const run = Effect.gen(function*() {
  const config = yield* TrellisConfig
  const users = yield* Users
  const passwords = yield* Passwords
  const sql = yield* SqlClient.SqlClient
  // One transaction under an advisory lock, so two processes starting together create one admin.
  yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql`SELECT pg_advisory_xact_lock(hashtext('trellis.identity.bootstrap'))`
    if ((yield* users.count) > 0) return
    const generated = config.adminPassword === undefined
    const password = generated ? randomBytes(18).toString("base64url") : Redacted.value(config.adminPassword)
    yield* users.create({
      username: firstAdminUsername,
      email: null,
      passwordHash: yield* passwords.hash(password),
      organizationId: defaultOrganizationId,
      role: "owner",
      emailVerified: true
    })
    if (generated) {
      yield* Effect.logWarning(
        `First start: created user "${firstAdminUsername}" with the one-time password ${password} . ` +
          "It is shown only this once: sign in (POST /api/login) and change it, or set TRELLIS_ADMIN_PASSWORD before the first start."
      )
    } else {
      yield* Effect.logInfo(`First start: created user "${firstAdminUsername}" with the password from TRELLIS_ADMIN_PASSWORD.`)
    }
  })).pipe(Effect.orDie)
})
