/**
 * The people part's problems (sign-in for the people pages are for). Client-safe.
 */
import { Schema } from "effect"
import { Problem, typeFor } from "trellis/contract"

/** 400: sign-in with this OAuth provider is not set up on this server (`variables` names what to set). */
export class OAuthNotConfigured extends Problem<OAuthNotConfigured>()("OAuthNotConfigured", {
  code: "INVALID_REQUEST",
  type: typeFor("OAUTH_NOT_CONFIGURED"),
  status: 400,
  title: "This sign-in method is not configured"
}, { provider: Schema.String, variables: Schema.Array(Schema.String) }) {}


/** 400: a magic link this server did not send (or with no token). */
export class MagicLinkInvalid extends Problem<MagicLinkInvalid>()("MagicLinkInvalid", {
  code: "INVALID_REQUEST",
  type: typeFor("MAGIC_LINK_INVALID"),
  status: 400,
  title: "This sign-in link does not work"
}) {}

/** 410: a magic link already used (each works once) or expired (15 minutes): ask for a new one. */
export class MagicLinkGone extends Problem<MagicLinkGone>()("MagicLinkGone", {
  code: "NOT_FOUND",
  type: typeFor("MAGIC_LINK_GONE"),
  status: 410,
  title: "This sign-in link no longer works"
}, { reason: Schema.Literals(["used", "expired"]) }) {}

/** 400: an OAuth sign-in that cannot complete (unknown or replayed state, cancelled, no verified email). */
export class OAuthSignInFailed extends Problem<OAuthSignInFailed>()("OAuthSignInFailed", {
  code: "INVALID_REQUEST",
  type: typeFor("OAUTH_SIGN_IN_FAILED"),
  status: 400,
  title: "Sign-in failed"
}) {}

/** 502: the OAuth provider could not be reached or answered something else than expected. */
export class OAuthProviderFailed extends Problem<OAuthProviderFailed>()("OAuthProviderFailed", {
  code: "INTERNAL_ERROR",
  type: typeFor("OAUTH_PROVIDER_FAILED"),
  status: 502,
  title: "The sign-in provider failed"
}) {}

export const peopleProblems = [OAuthNotConfigured, MagicLinkInvalid, MagicLinkGone, OAuthSignInFailed, OAuthProviderFailed] as const
