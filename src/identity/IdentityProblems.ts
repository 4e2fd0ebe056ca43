/**
 * The identity domain's own problems (the structured auth codes are in
 * `src/auth/AuthProblems.ts`).
 *
 * Client-safe: imports only `effect`.
 */
import { Schema } from "effect"
import { Problem } from "../problem/Problem.ts"

/** 409: the username or email belongs to another user. */
export class AccountExists extends Problem<AccountExists>()("AccountExists", {
  code: "account_exists",
  status: 409,
  title: "Account already exists"
}, { field: Schema.Literals(["username", "email"]) }) {}

/** 401: wrong username or password (deliberately not saying which). */
export class InvalidCredentials extends Problem<InvalidCredentials>()("InvalidCredentials", {
  code: "invalid_credentials",
  status: 401,
  title: "Invalid credentials"
}) {}

/** 400: a verification or claim token that is unknown, used or expired. */
export class InvalidToken extends Problem<InvalidToken>()("InvalidToken", {
  code: "invalid_token",
  status: 400,
  title: "Invalid or expired token"
}) {}

/** 400: a service key asked for a scope no plugin declares, or for `*`. */
export class UnknownScope extends Problem<UnknownScope>()("UnknownScope", {
  code: "unknown_scope",
  status: 400,
  title: "Unknown scope"
}, { scopes: Schema.Array(Schema.String), available: Schema.Array(Schema.String) }) {}

/** 403: this server does not take signups (`TRELLIS_SIGNUP=closed`), or not for this address (`invite`). */
export class SignupClosed extends Problem<SignupClosed>()("SignupClosed", {
  code: "signup_closed",
  status: 403,
  title: "Signup is closed"
}, { mode: Schema.Literals(["closed", "invite"]) }) {}

/** 409: SessionFS's `key_already_revoked`: a revoked key cannot be rotated (create a new one). */
export class KeyAlreadyRevoked extends Problem<KeyAlreadyRevoked>()("KeyAlreadyRevoked", {
  code: "key_already_revoked",
  status: 409,
  title: "Key already revoked"
}) {}

export const identityProblems = [AccountExists, InvalidCredentials, InvalidToken, UnknownScope, SignupClosed, KeyAlreadyRevoked] as const
