/**
 * `Idempotency-Key` over real HTTP and real SQL (embedded, or PostgreSQL with
 * TRELLIS_TEST_DATABASE_URL): a replay returns the first answer without running the handler
 * again; a different body is 422; a concurrent duplicate is 409; keys expire, belong to one
 * principal, and 5xx answers are not kept.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import type { HttpClientResponse } from "effect/http"
import * as SqlClient from "effect/sql/SqlClient"
import { parseKey } from "../../src/idempotency/Idempotency.ts"
import * as IdempotencyStore from "../../src/idempotency/IdempotencyStore.ts"
import * as SecretBoxModule from "../../src/secrets/SecretBox.ts"
import { SecretBox } from "../../src/secrets/SecretBox.ts"
import * as TestKit from "../../src/testing/TestKit.ts"
import { as } from "../ratelimit/fixture.ts"
import { IdemProbePlugin } from "./fixture.ts"

const json = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.map(response.json, (body) => body as unknown as Record<string, unknown>)

const post = (
  kit: TestKit.TestServer,
  path: string,
  body: unknown,
  headers: Record<string, string>,
  key?: string
) => kit.request("POST", path, { body, token: null, headers: key === undefined ? headers : { ...headers, "idempotency-key": key } })

const countItems = (principal: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM idemprobe.items WHERE principal_id = ${principal}`
    return Number(row.n)
  })

const countCalls = (endpoint: string, principal: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ readonly n: number }>`
      SELECT count(*)::int AS n FROM idemprobe.calls WHERE endpoint = ${endpoint} AND principal = ${principal}`
    return Number(row.n)
  })

const unlimited = { perMinute: 0, runPerMinute: 0, settingsPerMinute: 0, streams: 0, loginPerAccount: 0, loginPerAddress: 0 }

/** Sleeps on the real clock (the test runs on a TestClock). */
const realSleep = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

describe("Idempotency-Key", () => {
  it("parseKey accepts bare tokens and Structured Field strings of 1 to 255 printable characters", () => {
    const cases: ReadonlyArray<readonly [string, string | undefined]> = [
      ["abc", "abc"],
      ["  abc  ", "abc"],
      ["\"a b\"", "a b"],
      ["\"a\\\"b\"", "a\"b"],
      ["", undefined],
      ["\"\"", undefined],
      ["a\u0001b", undefined],
      ["x".repeat(255), "x".repeat(255)],
      ["x".repeat(256), undefined]
    ]
    for (const [raw, expected] of cases) assert.strictEqual(parseKey(raw), expected, JSON.stringify(raw))
  })

  layer(TestKit.layer({ plugins: [IdemProbePlugin], config: { rateLimits: unlimited } }), { timeout: 180_000 })((it) => {
    it.effect("replays the first response for the same key and body, without running the handler again", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const ann = as("org_a", "usr_ann")
        const first = yield* post(kit, "/api/idemprobe/items", { name: "first" }, ann, "key-1")
        assert.strictEqual(first.status, 201)
        const firstBody = yield* json(first)
        assert.strictEqual(firstBody.name, "first") // the handler read the body the wrapper had read
        assert.strictEqual(first.headers["location"], `/api/idemprobe/items/${firstBody.id}`)
        assert.isUndefined(first.headers["idempotent-replayed"])

        const again = yield* post(kit, "/api/idemprobe/items", { name: "first" }, ann, "key-1")
        assert.strictEqual(again.status, 201)
        assert.deepStrictEqual(yield* json(again), firstBody)
        assert.strictEqual(again.headers["location"], first.headers["location"])
        assert.strictEqual(again.headers["content-type"], first.headers["content-type"])
        assert.strictEqual(again.headers["idempotent-replayed"], "true")
        assert.strictEqual(yield* countItems("usr_ann"), 1)

        // Without a key every POST runs.
        yield* post(kit, "/api/idemprobe/items", { name: "first" }, ann)
        yield* post(kit, "/api/idemprobe/items", { name: "first" }, ann)
        assert.strictEqual(yield* countItems("usr_ann"), 3)
      }))

    it.effect("answers 422 for the same key with a different body (or path), and writes nothing", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const ben = as("org_a", "usr_ben")
        assert.strictEqual((yield* post(kit, "/api/idemprobe/items", { name: "one" }, ben, "key-2")).status, 201)
        const reused = yield* post(kit, "/api/idemprobe/items", { name: "two" }, ben, "key-2")
        assert.strictEqual(reused.status, 422)
        assert.strictEqual(reused.headers["content-type"], "application/problem+json")
        const body = yield* json(reused)
        assert.strictEqual(body.code, "idempotency_key_reused")
        assert.strictEqual(body.instance, "/api/idemprobe/items")
        const otherPath = yield* post(kit, "/v1/idemprobe/items", { name: "one" }, ben, "key-2")
        assert.strictEqual(otherPath.status, 422)
        const v1 = yield* json(otherPath)
        assert.deepStrictEqual((v1.error as { code: string }).code, "idempotency_key_reused")
        assert.strictEqual(yield* countItems("usr_ben"), 1)
      }))

    it.effect("answers 409 to a duplicate that arrives while the first request still runs", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const cy = as("org_a", "usr_cy")
        const slow = yield* Effect.forkChild(post(kit, "/api/idemprobe/items", { name: "slow", delayMs: 1500 }, cy, "key-3"))
        yield* realSleep(400)
        const duplicate = yield* post(kit, "/api/idemprobe/items", { name: "slow", delayMs: 1500 }, cy, "key-3")
        assert.strictEqual(duplicate.status, 409)
        assert.strictEqual((yield* json(duplicate)).code, "idempotency_key_in_progress")
        const first = yield* Fiber.join(slow)
        assert.strictEqual(first.status, 201)
        const replayed = yield* post(kit, "/api/idemprobe/items", { name: "slow", delayMs: 1500 }, cy, "key-3")
        assert.strictEqual(replayed.status, 201)
        assert.strictEqual(replayed.headers["idempotent-replayed"], "true")
        assert.strictEqual(yield* countItems("usr_cy"), 1)
      }))

    it.effect("releases the key of a request the client abandoned, so the retry runs", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const jo = as("org_a", "usr_jo")
        const body = { name: "gone", delayMs: 1000 }
        yield* Effect.promise(async () => {
          const controller = new AbortController()
          const pending = fetch(`${kit.baseUrl}/api/idemprobe/items`, {
            method: "POST",
            headers: { ...jo, "content-type": "application/json", "idempotency-key": "key-8" },
            body: JSON.stringify(body),
            signal: controller.signal
          }).catch(() => undefined)
          await new Promise((resolve) => setTimeout(resolve, 300))
          controller.abort()
          await pending
        })
        let retry = yield* post(kit, "/api/idemprobe/items", body, jo, "key-8")
        for (let attempt = 0; attempt < 20 && retry.status === 409; attempt++) {
          yield* realSleep(100)
          retry = yield* post(kit, "/api/idemprobe/items", body, jo, "key-8")
        }
        assert.strictEqual(retry.status, 201)
        assert.isUndefined(retry.headers["idempotent-replayed"])
        assert.strictEqual(yield* countItems("usr_jo"), 1)
      }))

    it.effect("lets exactly one of many simultaneous claims of a key win", () =>
      Effect.gen(function*() {
        const store = yield* IdempotencyStore.make(IdempotencyStore.defaults).pipe(
          Effect.provideService(SecretBox, SecretBoxModule.make(new Uint8Array(32).fill(7)))
        )
        const ref = { organizationId: "org_a", principalId: "usr_kim", key: "race" }
        const results = yield* Effect.all(Array.from({ length: 20 }, () => store.claim(ref, "hash")), { concurrency: "unbounded" })
        assert.strictEqual(results.filter((r) => r._tag === "Claimed").length, 1)
        assert.strictEqual(results.filter((r) => r._tag === "InProgress").length, 19)
      }))

    it.effect("scopes keys to the principal: another principal or organization with the same key runs", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const body = { name: "shared" }
        assert.strictEqual((yield* post(kit, "/api/idemprobe/items", body, as("org_a", "usr_dee"), "same-key")).status, 201)
        const otherPrincipal = yield* post(kit, "/api/idemprobe/items", body, as("org_a", "usr_eve"), "same-key")
        assert.strictEqual(otherPrincipal.status, 201)
        assert.isUndefined(otherPrincipal.headers["idempotent-replayed"])
        const otherOrg = yield* post(kit, "/api/idemprobe/items", body, as("org_b", "usr_dee"), "same-key")
        assert.strictEqual(otherOrg.status, 201)
        assert.isUndefined(otherOrg.headers["idempotent-replayed"])
        assert.strictEqual(yield* countItems("usr_dee"), 2)
        assert.strictEqual(yield* countItems("usr_eve"), 1)
      }))

    it.effect("forgets a key once it has expired (and sweeps other expired keys)", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const sql = yield* SqlClient.SqlClient
        const fay = as("org_a", "usr_fay")
        assert.strictEqual((yield* post(kit, "/api/idemprobe/items", { name: "x" }, fay, "key-4")).status, 201)
        assert.strictEqual((yield* post(kit, "/api/idemprobe/items", { name: "x" }, fay, "key-4")).headers["idempotent-replayed"], "true")
        const [stored] = yield* sql<{ readonly hours: number }>`
          SELECT round(extract(epoch FROM expires_at - claimed_at) / 3600)::int AS hours
          FROM trellis.idempotency_keys WHERE principal_id = 'usr_fay' AND key = 'key-4'`
        assert.strictEqual(Number(stored.hours), 24)

        yield* sql`UPDATE trellis.idempotency_keys SET expires_at = now() - interval '1 second'
          WHERE principal_id = 'usr_fay' AND key = 'key-4'`
        const afterExpiry = yield* post(kit, "/api/idemprobe/items", { name: "x" }, fay, "key-4")
        assert.strictEqual(afterExpiry.status, 201)
        assert.isUndefined(afterExpiry.headers["idempotent-replayed"])
        assert.strictEqual(yield* countItems("usr_fay"), 2)

        yield* sql`INSERT INTO trellis.idempotency_keys
          (organization_id, principal_id, key, request_hash, claim, state, status, expires_at)
          VALUES ('org_a', 'usr_fay', 'old-key', 'h', 'c', 'done', 201, now() - interval '1 hour')`
        yield* post(kit, "/api/idemprobe/items", { name: "y" }, fay, "key-5")
        const old = yield* sql`SELECT 1 FROM trellis.idempotency_keys WHERE key = 'old-key'`
        assert.strictEqual(old.length, 0)
      }))

    it.effect("takes over a key whose first attempt is still marked running long after (a dead process)", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const sql = yield* SqlClient.SqlClient
        const gus = as("org_a", "usr_gus")
        yield* sql`INSERT INTO trellis.idempotency_keys
          (organization_id, principal_id, key, request_hash, claim, state, claimed_at, expires_at)
          VALUES ('org_a', 'usr_gus', 'stuck', 'h', 'c', 'running', now() - interval '1 hour', now() + interval '23 hours')`
        const response = yield* post(kit, "/api/idemprobe/items", { name: "z" }, gus, "stuck")
        assert.strictEqual(response.status, 201)
        assert.strictEqual(yield* countItems("usr_gus"), 1)
        const replay = yield* post(kit, "/api/idemprobe/items", { name: "z" }, gus, "stuck")
        assert.strictEqual(replay.headers["idempotent-replayed"], "true")
      }))

    it.effect("stores and replays a 4xx answer, but not a 5xx one", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const hal = as("org_a", "usr_hal")
        const conflict = yield* post(kit, "/api/idemprobe/conflict", { name: "c" }, hal, "key-6")
        assert.strictEqual(conflict.status, 409)
        const conflictBody = yield* json(conflict)
        assert.strictEqual(conflictBody.code, "CONFLICT")
        const replayed = yield* post(kit, "/api/idemprobe/conflict", { name: "c" }, hal, "key-6")
        assert.strictEqual(replayed.status, 409)
        assert.strictEqual(replayed.headers["idempotent-replayed"], "true")
        assert.strictEqual(replayed.headers["content-type"], "application/problem+json")
        assert.deepStrictEqual(yield* json(replayed), conflictBody)
        assert.strictEqual(yield* countCalls("conflict", "usr_hal"), 1)

        const boom = yield* post(kit, "/api/idemprobe/boom", { name: "b" }, hal, "key-7")
        assert.strictEqual(boom.status, 500)
        const retried = yield* post(kit, "/api/idemprobe/boom", { name: "b" }, hal, "key-7")
        assert.strictEqual(retried.status, 500)
        assert.isUndefined(retried.headers["idempotent-replayed"])
        assert.strictEqual(yield* countCalls("boom", "usr_hal"), 2)
      }))

    it.effect("sees through the security middleware's wrapping of handler failures", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const lee = as("org_a", "usr_lee")
        const created = yield* post(kit, "/api/idemprobe/secure/items", { name: "s" }, lee, "key-9")
        assert.strictEqual(created.status, 201)
        const again = yield* post(kit, "/api/idemprobe/secure/items", { name: "s" }, lee, "key-9")
        assert.strictEqual(again.headers["idempotent-replayed"], "true")
        assert.strictEqual(yield* countItems("usr_lee"), 1)

        const conflict = yield* post(kit, "/api/idemprobe/secure/conflict", { name: "c" }, lee, "key-10")
        assert.strictEqual(conflict.status, 409)
        const body = yield* json(conflict)
        const replayed = yield* post(kit, "/api/idemprobe/secure/conflict", { name: "c" }, lee, "key-10")
        assert.strictEqual(replayed.status, 409)
        assert.strictEqual(replayed.headers["idempotent-replayed"], "true")
        assert.deepStrictEqual(yield* json(replayed), body)
        assert.strictEqual(yield* countCalls("secure-conflict", "usr_lee"), 1)

        assert.strictEqual((yield* post(kit, "/api/idemprobe/secure/boom", { name: "b" }, lee, "key-11")).status, 500)
        assert.strictEqual((yield* post(kit, "/api/idemprobe/secure/boom", { name: "b" }, lee, "key-11")).status, 500)
        assert.strictEqual(yield* countCalls("secure-boom", "usr_lee"), 2)
      }))

    it.effect("refuses a malformed key with 400 and ignores keys on other methods", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const ida = as("org_a", "usr_ida")
        const tooLong = yield* post(kit, "/api/idemprobe/items", { name: "x" }, ida, "k".repeat(256))
        assert.strictEqual(tooLong.status, 400)
        assert.strictEqual((yield* json(tooLong)).code, "idempotency_key_invalid")
        assert.strictEqual(yield* countItems("usr_ida"), 0)
        // A quoted (Structured Field) key is the same key as the bare one.
        assert.strictEqual((yield* post(kit, "/api/idemprobe/items", { name: "q" }, ida, "\"quoted\"")).status, 201)
        const bare = yield* post(kit, "/api/idemprobe/items", { name: "q" }, ida, "quoted")
        assert.strictEqual(bare.headers["idempotent-replayed"], "true")
      }))

    it.effect("replays a 4xx answer exactly, detail and errors included (a payload that fails validation)", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const ivy = as("org_a", "usr_ivy")
        for (const [path, key] of [["/api/idemprobe/items", "key-12"], ["/api/idemprobe/secure/items", "key-13"], ["/v1/idemprobe/items", "key-14"]] as const) {
          const first = yield* post(kit, path, { name: 5, delayMs: "soon" }, ivy, key)
          assert.strictEqual(first.status, 400, path)
          const firstBody = yield* json(first)
          assert.isString(firstBody.detail, path)
          assert.isArray(firstBody.errors, path)
          assert.isAbove((firstBody.errors as ReadonlyArray<unknown>).length, 0, path)
          const replayed = yield* post(kit, path, { name: 5, delayMs: "soon" }, ivy, key)
          assert.strictEqual(replayed.status, 400, path)
          assert.strictEqual(replayed.headers["idempotent-replayed"], "true", path)
          assert.strictEqual(replayed.headers["content-type"], first.headers["content-type"], path)
          assert.deepStrictEqual(yield* json(replayed), firstBody, path)
        }
        assert.strictEqual(yield* countItems("usr_ivy"), 0)
      }))

    it.effect("stores answers sealed: the database holds no response body in the clear", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const sql = yield* SqlClient.SqlClient
        const jay = as("org_a", "usr_jay")
        const marker = `secret-marker-${crypto.randomUUID()}`
        const created = yield* post(kit, "/api/idemprobe/items", { name: marker }, jay, "key-15")
        assert.strictEqual(created.status, 201)
        const rows = yield* sql<{ readonly row: string }>`
          SELECT row_to_json(t)::text AS row FROM trellis.idempotency_keys t WHERE principal_id = 'usr_jay'`
        assert.strictEqual(rows.length, 1)
        // Whatever encoding a stored value uses, the marker must not be recoverable from it.
        for (const value of Object.values(JSON.parse(rows[0].row) as Record<string, unknown>)) {
          if (typeof value !== "string") continue
          assert.notInclude(value, marker)
          for (const encoding of ["base64", "base64url", "hex"] as const) {
            assert.notInclude(Buffer.from(value, encoding).toString("utf8"), marker, encoding)
            for (const part of value.split(".")) assert.notInclude(Buffer.from(part, encoding).toString("utf8"), marker, encoding)
          }
        }
        const again = yield* post(kit, "/api/idemprobe/items", { name: marker }, jay, "key-15")
        assert.strictEqual(again.headers["idempotent-replayed"], "true")
        assert.strictEqual((yield* json(again)).name, marker)
      }))
  })
})
