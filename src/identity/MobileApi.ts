/**
 * Seed 002's account surface for the mobile client (camelCase, plain RFC 7807 problems, 422 on
 * a body that fails its schema): `POST /api/auth/token` signs in by email and password and
 * mints a token restricted to abilities, `POST /api/auth/logout` revokes the calling token,
 * `GET /api/auth/me` is the user with the token's abilities; `/api/devices` registers and
 * unregisters a push token (delivery is out of scope).
 *
 * Single resources answer unwrapped (`{ token, abilities }`, the user, a device), as the seed
 * documents them; only cursor-paginated lists are `{ data, meta: { nextCursor } }`.
 *
 * Client-safe: imports only `effect`.
 */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Authentication } from "../auth/Authentication.ts"
import { Role } from "../auth/Principal.ts"
import * as Requirement from "../auth/Requirement.ts"
import { Public, Requires } from "../auth/Requirement.ts"
import { WireDialect } from "../http/WireDialect.ts"
import { Forbidden, NotFound, RateLimited } from "../problem/Problems.ts"
import { RateGroup, runsApi } from "../ratelimit/RateGroup.ts"
import { InvalidCredentials } from "./IdentityProblems.ts"
import { AbilityNotAllowed, UnknownAbility } from "./MobileProblems.ts"

const NullableString = Schema.NullOr(Schema.String)

export const TokenRequest = Schema.Struct({
  email: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(320)),
  password: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(1024)),
  /** The abilities to grant; absent: the mobile app's default set (everything but `git:push` and `settings:write`). */
  abilities: Schema.optionalKey(Schema.Array(Schema.String).check(Schema.isMaxLength(16))),
  /** Names the token (Sanctum's device name); shown among the user's keys. */
  deviceName: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(255)))
})

export const TokenResponse = Schema.Struct({
  /** Send it as `Authorization: Bearer <token>`. It does not expire; `POST /api/auth/logout` revokes it. */
  token: Schema.String,
  abilities: Schema.Array(Schema.String)
})

export const MobileUser = Schema.Struct({
  id: Schema.String,
  username: Schema.String,
  email: NullableString,
  displayName: NullableString,
  emailVerified: Schema.Boolean,
  type: Schema.Literals(["human", "agent", "admin-token"]),
  organizationId: Schema.String,
  role: Role,
  createdAt: NullableString,
  /** What the calling token may do: its abilities, or all of them for a credential not restricted by abilities. */
  abilities: Schema.Array(Schema.String)
})

/** Public: signing in. */
export class MobileTokenGroup extends HttpApiGroup.make("mobileToken")
  .annotate(Public, "signing in")
  .annotate(WireDialect, WireDialect.runs)
  .add(
    HttpApiEndpoint.post("token", "/api/auth/token", {
      payload: TokenRequest,
      success: TokenResponse,
      error: [InvalidCredentials, RateLimited, UnknownAbility, AbilityNotAllowed]
    })
  )
  .annotateMerge(OpenApi.annotations({ title: "Mobile sign-in", description: "A token restricted to abilities (seed 002)" }))
{}

export class MobileAccountGroup extends HttpApiGroup.make("mobileAccount")
  .annotate(WireDialect, WireDialect.runs)
  .annotate(RateGroup, runsApi)
  .add(
    HttpApiEndpoint.post("logout", "/api/auth/logout", { success: HttpApiSchema.NoContent })
      .annotate(Requires, Requirement.member()),
    HttpApiEndpoint.get("me", "/api/auth/me", { success: MobileUser }).annotate(Requires, Requirement.member())
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Mobile account", description: "The calling token's user; signing out (seed 002)" }))
{}

export const DevicePlatform = Schema.Literals(["ios", "android"])

export const Device = Schema.Struct({
  id: Schema.String,
  platform: DevicePlatform,
  name: NullableString,
  createdAt: Schema.String,
  updatedAt: Schema.String
})

export const RegisterDevice = Schema.Struct({
  /** The push token the platform's notification service gave the app (an APNs device token). */
  token: Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_:.\-]{8,4096}$/)),
  platform: Schema.optionalKey(DevicePlatform),
  name: Schema.optionalKey(Schema.NullOr(Schema.String.check(Schema.isMaxLength(255))))
})

export class DevicesGroup extends HttpApiGroup.make("devices")
  .annotate(WireDialect, WireDialect.runs)
  .annotate(RateGroup, runsApi)
  .add(
    HttpApiEndpoint.get("list", "/api/devices", {
      success: Schema.Struct({ data: Schema.Array(Device), meta: Schema.Struct({ nextCursor: Schema.Null }) })
    }).annotate(Requires, Requirement.member()).annotateMerge(OpenApi.annotations({
      description: "The caller's devices, newest first, in one page (Trellis's; seed 002 has no list)."
    })),
    HttpApiEndpoint.post("register", "/api/devices", {
      payload: RegisterDevice,
      success: Device.pipe(HttpApiSchema.status(201)),
      error: Forbidden
    }).annotate(Requires, Requirement.member()).annotateMerge(OpenApi.annotations({
      description: "Registers the caller's push token. Idempotent per token: registering it again answers the same device " +
        "(201 again) with the name and platform given."
    })),
    HttpApiEndpoint.delete("unregister", "/api/devices/:device", {
      params: { device: Schema.String },
      success: HttpApiSchema.NoContent,
      error: NotFound
    }).annotate(Requires, Requirement.member())
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "Devices", description: "Push tokens of the caller's devices (seed 002; no push delivery yet)" }))
{}
