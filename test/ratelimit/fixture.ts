/**
 * A test-only plugin that applies the rate limits and idempotency the way the authentication
 * middleware does, with a principal taken from test headers (so tests can act as several
 * principals in several organizations without the identity service):
 *
 * - `x-test-org`, `x-test-principal`, `x-test-kind` (default `user`) build the `Principal`;
 * - the middleware reads the endpoint's `Requires` and runs
 *   `HttpRateLimit.enforce(principal, requirement, Idempotency.wrap(principal, handler))`,
 *   as a plain middleware (`TestAuth`) or as a bearer security middleware (`TestBearerAuth`,
 *   the shape of `Authentication`).

 */
import { Context, Effect, Layer, Schema } from "effect"
import { HttpServerRequest } from "effect/http"
import type { HttpServerResponse } from "effect/http"
import {
  HttpApi,
  HttpApiBuilder,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSchema,
  HttpApiSecurity
} from "effect/http-api"
import { CurrentPrincipal, Principal, PrincipalKind } from "../../src/auth/Principal.ts"
import * as Requirement from "../../src/auth/Requirement.ts"
import { Requires } from "../../src/auth/Requirement.ts"
import { WireDialect } from "../../src/http/WireDialect.ts"
import * as Sse from "../../src/events/Sse.ts"
import * as Idempotency from "../../src/idempotency/Idempotency.ts"
import { IdempotencyStore } from "../../src/idempotency/IdempotencyStore.ts"
import * as Plugin from "../../src/plugin/Plugin.ts"
import { NotFound, Unauthorized } from "../../src/problem/Problems.ts"
import * as HttpRateLimit from "../../src/ratelimit/HttpRateLimit.ts"
import { RateLimiter } from "../../src/ratelimit/RateLimiter.ts"

/** Headers that make a request act as `principal` of `org`. */
export const as = (org: string, principal: string, kind: PrincipalKind = "user"): Record<string, string> => ({
  "x-test-org": org,
  "x-test-principal": principal,
  "x-test-kind": kind
})

/** Stands in for `Authentication`: principal from headers, then the limits and idempotency. */
export class TestAuth extends HttpApiMiddleware.Service<TestAuth, { provides: CurrentPrincipal }>()("test/TestAuth", {
  error: Unauthorized
}) {}

/**
 * The same as a security middleware (bearer, the token is ignored), like `Authentication`:
 * HttpApi then hands the middleware a handler whose failures are wrapped, which
 * `Idempotency.wrap` must see through.
 */
export class TestBearerAuth extends HttpApiMiddleware.Service<TestBearerAuth, { provides: CurrentPrincipal }>()("test/TestBearerAuth", {
  error: Unauthorized,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

/** What the authentication middleware does once it knows the principal and the endpoint. */
const guard = (limiter: RateLimiter["Service"], store: IdempotencyStore["Service"]) =>
<E, R>(httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>, endpoint: HttpApiEndpoint.Top) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const org = request.headers["x-test-org"]
    const id = request.headers["x-test-principal"]
    if (org === undefined || id === undefined) return yield* new Unauthorized({ detail: "Send x-test-org and x-test-principal." })
    const kind = Schema.decodeUnknownSync(PrincipalKind)(request.headers["x-test-kind"] ?? "user")
    const principal = new Principal({
      id,
      kind,
      organizationId: org,
      role: "owner",
      scopes: ["*"],
      userId: kind === "service-key" ? null : id,
      credentialId: null,
      projectIds: null,
      agent: false
    })
    const requirement = Context.get(endpoint.annotations, Requires)
    if (requirement === undefined) return yield* Effect.die(new Error(`${endpoint.name} declares no requirement`))
    const handler = Effect.provideService(httpEffect, CurrentPrincipal, principal)
    return yield* HttpRateLimit.enforce(principal, requirement, Idempotency.wrap(principal, handler)).pipe(
      Effect.provideService(RateLimiter, limiter),
      Effect.provideService(IdempotencyStore, store)
    )
  })

export const TestAuthLive = Layer.effect(
  TestAuth,
  Effect.gen(function*() {
    const run = guard(yield* RateLimiter, yield* IdempotencyStore)
    return TestAuth.of((httpEffect, { endpoint }) => run(httpEffect, endpoint))
  })
)

export const TestBearerAuthLive = Layer.effect(
  TestBearerAuth,
  Effect.gen(function*() {
    const run = guard(yield* RateLimiter, yield* IdempotencyStore)
    return TestBearerAuth.of({ bearer: (httpEffect, { endpoint }) => run(httpEffect, endpoint) })
  })
)

const Ok = Schema.Struct({ ok: Schema.Boolean, principal: Schema.String })

export class RlProbeGroup extends HttpApiGroup.make("rlprobe")
  .add(
    HttpApiEndpoint.get("ping", "/api/rlprobe/ping", { success: Ok }).annotate(Requires, Requirement.read("rlprobe")),
    HttpApiEndpoint.get("pingV1", "/v1/rlprobe/ping", { success: Ok }).annotate(Requires, Requirement.read("rlprobe"))
      .annotate(WireDialect, WireDialect.surflet),
    HttpApiEndpoint.get("missing", "/api/rlprobe/missing", { success: Ok, error: NotFound }).annotate(Requires, Requirement.read("rlprobe")),
    HttpApiEndpoint.post("run", "/api/rlprobe/runs", { success: Ok }).annotate(Requires, Requirement.run("rlprobe")),
    HttpApiEndpoint.post("settings", "/api/rlprobe/settings", { success: Ok }).annotate(Requires, Requirement.settings()),
    HttpApiEndpoint.get("stream", "/api/rlprobe/stream", {
      success: Schema.String.pipe(HttpApiSchema.asText({ contentType: "text/event-stream" }))
    }).annotate(Requires, Requirement.stream("rlprobe"))
  )
  .middleware(TestAuth)
{}

export class RlProbeApi extends HttpApi.make("rlprobe").add(RlProbeGroup) {}

const ok = Effect.map(CurrentPrincipal, (p) => ({ ok: true, principal: `${p.organizationId}/${p.id}` }))

const ProbeHttp = HttpApiBuilder.group(RlProbeApi, "rlprobe", (handlers) =>
  handlers
    .handle("ping", () => ok)
    .handle("pingV1", () => ok)
    .handle("missing", () => Effect.fail(new NotFound({ detail: "Nothing here." })))
    .handle("run", () => ok)
    .handle("settings", () => ok)
    .handle("stream", () => Sse.response("rlprobe", { start: "end" })))

export const RlProbePlugin = Plugin.make({
  id: "rlprobe",
  version: "0.0.1",
  description: "Test plugin for rate limits",
  groups: [RlProbeGroup],
  migrations: [],
  layer: ProbeHttp.pipe(
    Layer.provide(TestAuthLive),
    Layer.provideMerge(Layer.mergeAll(RateLimiter.layer, IdempotencyStore.layer))
  )
})
