/**
 * Seed 002's `GET`/`PUT /api/settings/server-params`: the organization's server parameters
 * (`ServerParam.ts`), merged with their defaults, secrets masked; a partial update checked
 * against the declarations, never echoing a secret. Reads need `settings:read` (viewer and up);
 * writes `settings:write`, the admin role and the settings budget (20 a minute).
 *
 * Client-safe: imports only `effect`.
 */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { Authentication } from "../auth/Authentication.ts"
import * as Requirement from "../auth/Requirement.ts"
import { Requires } from "../auth/Requirement.ts"
import { WireDialect } from "../http/WireDialect.ts"
import { Problem } from "../problem/Problem.ts"
import { SecretKeyUnavailable } from "../problem/Problems.ts"
import { RateGroup, runsApi } from "../ratelimit/RateGroup.ts"

const ParamValue = Schema.NullOr(Schema.Union([Schema.Boolean, Schema.Number, Schema.String]))

export const ServerParamsView = Schema.Struct({
  /** Every parameter's value: what the organization set, else the default; a secret that is set shows as `********`. */
  data: Schema.Record(Schema.String, ParamValue),
  meta: Schema.Struct({
    params: Schema.Array(Schema.Struct({
      key: Schema.String,
      type: Schema.Literals(["boolean", "integer", "string", "secret"]),
      secret: Schema.Boolean,
      default: ParamValue,
      description: Schema.String,
      set: Schema.Boolean,
      min: Schema.NullOr(Schema.Number),
      max: Schema.NullOr(Schema.Number),
      values: Schema.NullOr(Schema.Array(Schema.String))
    }))
  })
})

/** 422: a key that is not a server parameter, or a value not of its type; nothing was changed. */
export class InvalidServerParams extends Problem<InvalidServerParams>()("InvalidServerParams", {
  code: "invalid_server_params",
  status: 422,
  title: "Invalid server parameters"
}, { params: Schema.Array(Schema.Struct({ key: Schema.String, message: Schema.String })) }) {}

export class ServerParamsGroup extends HttpApiGroup.make("serverParams")
  .annotate(WireDialect, WireDialect.runs)
  .annotate(RateGroup, runsApi)
  .add(
    HttpApiEndpoint.get("get", "/api/settings/server-params", { success: ServerParamsView })
      .annotate(Requires, Requirement.custom("viewer", "settings:read")),
    HttpApiEndpoint.put("update", "/api/settings/server-params", {
      payload: Schema.Record(Schema.String, Schema.Unknown),
      success: ServerParamsView,
      error: [InvalidServerParams, SecretKeyUnavailable]
    }).annotate(Requires, Requirement.custom("admin", "settings:write", { limit: "settings" })).annotateMerge(OpenApi.annotations({
      description: "A partial update: `{ \"safety.autoGitPush\": true }`. `null` resets a parameter to its default; a secret sent " +
        "back as `********` is left as it is. Every key and value is checked before anything changes."
    }))
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Server parameters", description: "The organization's runtime parameters (seed 002)" }))
{}
