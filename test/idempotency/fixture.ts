/**
 * A test-only plugin with POST endpoints behind the fixture middleware of `test/ratelimit`
 * (principal from `x-test-*` headers, then `HttpRateLimit.enforce` and `Idempotency.wrap`).
 * Every handler run leaves a row, so tests can count how often a handler really ran:
 *
 * - `POST /api/idemprobe/items` (and `/v1/idemprobe/items`): creates an item, 201 with
 *   `Location`; `delayMs` makes it slow (for concurrent duplicates).
 * - `POST /api/idemprobe/conflict`: records a call, then fails with a 409 problem.
 * - `POST /api/idemprobe/boom`: records a call, then dies (500).
 * - The same under `/api/idemprobe/secure/` behind a bearer security middleware.
 */
import { Effect, Layer, Schema } from "effect"
import { HttpServerResponse } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import * as SqlClient from "effect/sql/SqlClient"
import { CurrentPrincipal } from "../../src/auth/Principal.ts"
import * as Requirement from "../../src/auth/Requirement.ts"
import { Requires } from "../../src/auth/Requirement.ts"
import { WireDialect } from "../../src/http/WireDialect.ts"
import { IdempotencyStore } from "../../src/idempotency/IdempotencyStore.ts"
import * as Plugin from "../../src/plugin/Plugin.ts"
import { Conflict } from "../../src/problem/Problems.ts"
import { RateLimiter } from "../../src/ratelimit/RateLimiter.ts"
import { TestAuth, TestAuthLive, TestBearerAuth, TestBearerAuthLive } from "../ratelimit/fixture.ts"

const CreateItem = Schema.Struct({ name: Schema.String, delayMs: Schema.optionalKey(Schema.Int) })
const Item = Schema.Struct({ id: Schema.Number, name: Schema.String })

export class IdemProbeGroup extends HttpApiGroup.make("idemprobe")
  .add(
    HttpApiEndpoint.post("create", "/api/idemprobe/items", { payload: CreateItem, success: Item })
      .annotate(Requires, Requirement.write("idemprobe")),
    HttpApiEndpoint.post("createV1", "/v1/idemprobe/items", { payload: CreateItem, success: Item })
      .annotate(WireDialect, WireDialect.surflet)
      .annotate(Requires, Requirement.write("idemprobe")),
    HttpApiEndpoint.post("conflict", "/api/idemprobe/conflict", { payload: CreateItem, success: Item, error: Conflict })
      .annotate(Requires, Requirement.write("idemprobe")),
    HttpApiEndpoint.post("boom", "/api/idemprobe/boom", { payload: CreateItem, success: Item })
      .annotate(Requires, Requirement.write("idemprobe"))
  )
  .middleware(TestAuth)
{}

/** The same endpoints behind a bearer security middleware, the shape of `Authentication`. */
export class IdemProbeSecureGroup extends HttpApiGroup.make("idemprobesecure")
  .add(
    HttpApiEndpoint.post("create", "/api/idemprobe/secure/items", { payload: CreateItem, success: Item })
      .annotate(Requires, Requirement.write("idemprobe")),
    HttpApiEndpoint.post("conflict", "/api/idemprobe/secure/conflict", { payload: CreateItem, success: Item, error: Conflict })
      .annotate(Requires, Requirement.write("idemprobe")),
    HttpApiEndpoint.post("boom", "/api/idemprobe/secure/boom", { payload: CreateItem, success: Item })
      .annotate(Requires, Requirement.write("idemprobe"))
  )
  .middleware(TestBearerAuth)
{}

export class IdemProbeApi extends HttpApi.make("idemprobe").add(IdemProbeGroup).add(IdemProbeSecureGroup) {}

const recordCall = (endpoint: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const principal = yield* CurrentPrincipal
    yield* sql`INSERT INTO idemprobe.calls (endpoint, principal) VALUES (${endpoint}, ${principal.id})`
  }).pipe(Effect.orDie)

const create = (payload: typeof CreateItem.Type, base: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const principal = yield* CurrentPrincipal
    if (payload.delayMs !== undefined) yield* Effect.sleep(payload.delayMs)
    const [row] = yield* sql<{ readonly id: number }>`
      INSERT INTO idemprobe.items (organization_id, principal_id, name)
      VALUES (${principal.organizationId}, ${principal.id}, ${payload.name}) RETURNING id`
    return HttpServerResponse.jsonUnsafe({ id: row.id, name: payload.name }, {
      status: 201,
      headers: { location: `${base}/${row.id}` }
    })
  }).pipe(Effect.orDie)

const conflict = (payload: typeof CreateItem.Type, endpoint: string) =>
  Effect.andThen(recordCall(endpoint), Effect.fail(new Conflict({ detail: `No ${payload.name} for you.` })))

const boom = (endpoint: string) => Effect.andThen(recordCall(endpoint), Effect.die(new Error("the probe exploded")))

const IdemProbeHttp = HttpApiBuilder.group(IdemProbeApi, "idemprobe", (handlers) =>
  handlers
    .handle("create", ({ payload }) => create(payload, "/api/idemprobe/items"))
    .handle("createV1", ({ payload }) => create(payload, "/v1/idemprobe/items"))
    .handle("conflict", ({ payload }) => conflict(payload, "conflict"))
    .handle("boom", () => boom("boom")))

const IdemProbeSecureHttp = HttpApiBuilder.group(IdemProbeApi, "idemprobesecure", (handlers) =>
  handlers
    .handle("create", ({ payload }) => create(payload, "/api/idemprobe/secure/items"))
    .handle("conflict", ({ payload }) => conflict(payload, "secure-conflict"))
    .handle("boom", () => boom("secure-boom")))

export const IdemProbePlugin = Plugin.make({
  id: "idemprobe",
  version: "0.0.1",
  description: "Test plugin for Idempotency-Key",
  groups: [IdemProbeGroup, IdemProbeSecureGroup],
  migrations: [{
    id: 1,
    name: "create_items",
    up: Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe(`CREATE TABLE items (id serial PRIMARY KEY, organization_id text NOT NULL, principal_id text NOT NULL, name text NOT NULL)`)
      yield* sql.unsafe(`CREATE TABLE calls (endpoint text NOT NULL, principal text NOT NULL)`)
    })
  }],
  layer: Layer.mergeAll(IdemProbeHttp, IdemProbeSecureHttp).pipe(
    Layer.provide(Layer.mergeAll(TestAuthLive, TestBearerAuthLive)),
    // Sweep expired keys on every claim, so the test can see the lazy deletion.
    Layer.provideMerge(Layer.mergeAll(RateLimiter.layer, IdempotencyStore.layerWith({ sweepEveryMs: 0 })))
  )
})
