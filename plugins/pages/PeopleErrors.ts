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

export const peopleProblems = [OAuthNotConfigured] as const
