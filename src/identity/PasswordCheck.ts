/**
 * Checking a sign-in name and password, shared by every password sign-in (`/auth/login`, seed
 * 002's `/api/auth/token`): the attempt counts on the lockout (by the user the name resolves
 * to, so another name for a locked account is locked too, and by address) before the password
 * is checked, a missing account is checked against a decoy hash so it costs the same time as a
 * wrong password, and an outdated hash is upgraded. The caller ends the attempt with
 * `guard.succeeded(key)` once the sign-in is granted.
 */
import { Effect, Option } from "effect"
import type { HttpServerRequest } from "effect/http"
import type { RateLimited } from "../problem/Problems.ts"
import type { InvalidCredentials } from "./IdentityProblems.ts"
import { LoginGuard } from "./LoginGuard.ts"
import type { AttemptKey } from "./LoginGuard.ts"
import { Passwords } from "./Passwords.ts"
import * as Secrets from "./Secrets.ts"
import type { UserRecord } from "./Users.ts"
import { Users } from "./Users.ts"

export type PasswordCheck = (
  name: string,
  password: string,
  address: string
) => Effect.Effect<{ readonly user: UserRecord; readonly key: AttemptKey }, InvalidCredentials | RateLimited, HttpServerRequest.HttpServerRequest>

/** A checker that fails with `invalid` for any wrong name, password or inactive account. */
export const make = (invalid: InvalidCredentials) =>
  Effect.gen(function*() {
    const users = yield* Users
    const passwords = yield* Passwords
    const guard = yield* LoginGuard
    const decoy = yield* passwords.hash(Secrets.generate("csrf"))
    const check: PasswordCheck = (name, password, address) =>
      Effect.gen(function*() {
        const found = yield* users.findForLogin(name)
        const key: AttemptKey = {
          account: Option.match(found, { onNone: () => ({ unknownName: name }), onSome: (u) => ({ userId: u.id }) }),
          address
        }
        yield* guard.attempt(key)
        const hash = Option.match(found, { onNone: () => decoy, onSome: (u) => u.passwordHash ?? decoy })
        const verdict = yield* passwords.verify(password, hash)
        if (Option.isNone(found) || found.value.passwordHash === null || !verdict.valid || !found.value.active) {
          return yield* invalid
        }
        if (verdict.needsRehash) yield* users.setPasswordHash(found.value.id, yield* passwords.hash(password))
        return { user: found.value, key }
      })
    return check
  })
