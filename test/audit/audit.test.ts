/**
 * The audit log through the real server (embedded PGlite, or PostgreSQL when
 * `TRELLIS_TEST_DATABASE_URL` is set): audited writes from a plugin inside its transaction,
 * `GET /api/audit` paging, `GET /v1/audit/verify` catching each of the four tamperings (done
 * with SQL through the kit's client) and naming the first bad number, gap-free numbering under
 * 100 concurrent writes, independent chains per organization, and rollback without a gap.
 *
 * The static admin token is the credential; its principal acts in `org_default`.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import type { HttpClientResponse } from "effect/http"
import { SqlClient } from "effect/sql"
import * as NodeCrypto from "node:crypto"
import { canonicalEntry, genesisHash } from "../../src/audit/AuditHash.ts"
import * as TestKit from "../../src/testing/TestKit.ts"
import { AuditFixturePlugin } from "./fixture.ts"

const T = 120_000
const org = "org_default"

interface Item {
  readonly id: string
  readonly seq: number
  readonly action: string
  readonly event: string
  readonly resource: string
  readonly resource_id: string
  readonly key: string
  readonly summary: string
  readonly created_at: string
  readonly actor_id: string
  readonly actor_kind: string
  readonly details: Record<string, unknown>
  readonly request_id: string | null
  readonly prev_hash: string
  readonly hash: string
}

interface Page {
  readonly data: ReadonlyArray<Item>
  readonly total: number
  readonly limit: number
  readonly offset: number
}

interface Verification {
  readonly status: "valid" | "invalid"
  readonly chain_length: number
  readonly first_hash: string | null
  readonly last_hash: string | null
  readonly verified_at: string
  readonly first_bad_seq?: number
  readonly reason?: string
}

const body = <A>(response: HttpClientResponse.HttpClientResponse) => Effect.map(response.json, (json) => json as A)

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/** An audited write through the fixture plugin; asserts the status. */
const write = (payload: Record<string, unknown>, options?: { readonly status?: number; readonly headers?: Record<string, string> }) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request("POST", "/api/audit-fixture/things", { body: payload, headers: options?.headers })
    assert.strictEqual(response.status, options?.status ?? 201, JSON.stringify(yield* response.json))
    return yield* body<{ readonly id: string; readonly seq: number; readonly hash: string }>(response)
  })

/** `GET /v1/audit/verify` for the admin token's organization. */
const verify = Effect.gen(function*() {
  const kit = yield* TestKit.TrellisTest
  const response = yield* kit.request("GET", "/v1/audit/verify")
  assert.strictEqual(response.status, 200)
  return yield* body<Verification>(response)
})

/** The service's verification of any organization, through the fixture plugin. */
const verifyOrg = (organizationId: string) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request("GET", `/api/audit-fixture/verify/${organizationId}`)
    assert.strictEqual(response.status, 200)
    return yield* body<Verification>(response)
  })

const storedSeqs = (organizationId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly seq: bigint | number | string }>`
      SELECT seq FROM audit.entries WHERE organization_id = ${organizationId} ORDER BY seq`
    return rows.map((row) => Number(row.seq))
  })

/** Runs SQL against the log with its append-only trigger off, in one transaction. */
const tamper = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* sql.withTransaction(Effect.gen(function*() {
      yield* sql`ALTER TABLE audit.entries DISABLE TRIGGER USER`
      const result = yield* effect
      yield* sql`ALTER TABLE audit.entries ENABLE TRIGGER USER`
      return result
    }))
  })

/** Moves entries to a side table (deleting them from the log), or puts them back. */
const stash = (organizationId: string, seqs: ReadonlyArray<number>) =>
  tamper(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE public.audit_stash AS SELECT * FROM audit.entries
      WHERE organization_id = ${organizationId} AND seq IN ${sql.in(seqs)}`
    yield* sql`DELETE FROM audit.entries WHERE organization_id = ${organizationId} AND seq IN ${sql.in(seqs)}`
  }))

const unstash = tamper(Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`INSERT INTO audit.entries SELECT * FROM public.audit_stash`
  yield* sql`DROP TABLE public.audit_stash`
}))

const assertInvalid = (verification: Verification, seq: number, reason: string) => {
  assert.strictEqual(verification.status, "invalid", JSON.stringify(verification))
  assert.strictEqual(verification.first_bad_seq, seq, JSON.stringify(verification))
  assert.strictEqual(verification.reason, reason, JSON.stringify(verification))
}

const assertValid = (verification: Verification, length: number) => {
  assert.deepStrictEqual(
    { status: verification.status, chain_length: verification.chain_length },
    { status: "valid", chain_length: length },
    JSON.stringify(verification)
  )
}

describe("audit log", () => {
  // The audit plugin is a platform plugin: every server has it, before any other plugin.
  layer(TestKit.layer({ plugins: [AuditFixturePlugin] }), { timeout: T })((it) => {
    it.effect("records an audited write with actor, action and target, and lists it", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const before = yield* body<Page>(yield* kit.request("GET", "/api/audit?limit=1"))
        const created = yield* write({ name: "first", details: { size: 3 } })
        assert.strictEqual(created.seq, before.total + 1)
        const page = yield* body<Page>(yield* kit.request("GET", "/api/audit?limit=1"))
        assert.strictEqual(page.total, before.total + 1)
        const item = page.data[0]
        assert.deepStrictEqual(
          { ...item, created_at: "", hash: "", request_id: null },
          {
            id: `aud_${created.seq}`,
            seq: created.seq,
            // PromptOps's verb; Trellis's dotted name in `event`.
            action: "create",
            event: "auditfixture.thing.create",
            resource: "thing",
            resource_id: created.id,
            key: "first",
            summary: "created first",
            created_at: "",
            actor_id: "admin",
            actor_kind: "admin-token",
            details: { key: "first", summary: "created first", size: 3 },
            request_id: null,
            prev_hash: before.data[0]?.hash ?? `sha256:${genesisHash}`,
            hash: ""
          }
        )
        assert.strictEqual(item.hash, created.hash)
        assert.match(item.hash, /^sha256:[0-9a-f]{64}$/)
        assert.isFalse(Number.isNaN(Date.parse(item.created_at)))
      }), T)

    it.effect("records the request's X-Request-Id", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const created = yield* write({ name: "with-request-id" }, { headers: { "x-request-id": "audit-test-0001" } })
        const page = yield* body<Page>(yield* kit.request("GET", "/api/audit?limit=1"))
        assert.deepStrictEqual({ seq: page.data[0].seq, request_id: page.data[0].request_id }, { seq: created.seq, request_id: "audit-test-0001" })
      }), T)

    it.effect("hashes the documented canonical encoding (RFC 8785 JSON, SHA-256)", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        yield* write({ name: "second", details: { z: [1, { b: 2, a: "é" }], a: null, n: 1.5 } })
        const page = yield* body<Page>(yield* kit.request("GET", "/api/audit?limit=2"))
        const [second, first] = page.data
        assert.strictEqual(second.prev_hash, first.hash)
        const text = canonicalEntry({
          seq: second.seq,
          organizationId: org,
          actorId: second.actor_id,
          actorKind: second.actor_kind,
          action: second.event,
          targetType: second.resource,
          targetId: second.resource_id,
          details: second.details,
          requestId: second.request_id,
          createdAt: second.created_at,
          prevHash: second.prev_hash.slice("sha256:".length)
        })
        assert.isTrue(
          text.startsWith(`{"action":"auditfixture.thing.create","actorId":"admin","actorKind":"admin-token","createdAt":"`),
          text
        )
        assert.include(text, `"details":{"a":null,"key":"second","n":1.5,"summary":"created second","z":[1,{"a":"é","b":2}]}`)
        const expected = NodeCrypto.createHash("sha256").update(text, "utf8").digest("hex")
        assert.strictEqual(second.hash, `sha256:${expected}`)
      }), T)

    it.effect("numbers 100 concurrent audited writes in one organization with no gap, and the chain verifies", () =>
      Effect.gen(function*() {
        const before = (yield* storedSeqs(org)).length
        const created = yield* Effect.forEach(range(1, 100), (i) => write({ name: `concurrent-${i}` }), { concurrency: "unbounded" })
        assert.deepStrictEqual([...created.map((c) => c.seq)].sort((a, b) => a - b), range(before + 1, before + 100))
        assert.deepStrictEqual(yield* storedSeqs(org), range(1, before + 100))
        const verification = yield* verify
        assertValid(verification, before + 100)
        assert.isUndefined(verification.first_bad_seq)
      }), T)

    it.effect("gives the number of an entry rolled back with its write to the next entry", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const count = Effect.map(
          Effect.flatMap(kit.request("GET", "/api/audit-fixture/things/count"), (r) => body<{ readonly count: number }>(r)),
          (r) => r.count
        )
        const seqs = yield* storedSeqs(org)
        const things = yield* count
        const refused = yield* write({ name: "refused", fail: true }, { status: 409 })
        assert.strictEqual((refused as unknown as { readonly code: string }).code, "FIXTURE_REFUSED")
        assert.deepStrictEqual(yield* storedSeqs(org), seqs)
        assert.strictEqual(yield* count, things)
        const next = yield* write({ name: "after-rollback" })
        assert.strictEqual(next.seq, seqs.length + 1)
        assertValid(yield* verify, seqs.length + 1)
      }), T)

    it.effect("pages GET /api/audit newest first with limit and offset", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const total = (yield* storedSeqs(org)).length
        const page = yield* body<Page>(yield* kit.request("GET", "/api/audit?limit=3&offset=2"))
        assert.deepStrictEqual(
          { total: page.total, limit: page.limit, offset: page.offset, seqs: page.data.map((i) => i.seq) },
          { total, limit: 3, offset: 2, seqs: [total - 2, total - 3, total - 4] }
        )
        for (const item of page.data) assert.strictEqual(item.id, `aud_${item.seq}`)
        const defaults = yield* body<Page>(yield* kit.request("GET", "/api/audit"))
        assert.deepStrictEqual({ limit: defaults.limit, offset: defaults.offset, n: defaults.data.length }, { limit: 50, offset: 0, n: 50 })
        assert.strictEqual(defaults.data[0].seq, total)
        const capped = yield* body<Page>(yield* kit.request("GET", "/api/audit?limit=1000"))
        assert.deepStrictEqual({ limit: capped.limit, n: capped.data.length }, { limit: 200, n: Math.min(total, 200) })
        const past = yield* body<Page>(yield* kit.request("GET", `/api/audit?offset=${total}`))
        assert.deepStrictEqual({ n: past.data.length, total: past.total }, { n: 0, total })
        const bad = yield* kit.request("GET", "/api/audit?limit=0")
        assert.strictEqual(bad.status, 400)
        assert.strictEqual((yield* body<{ readonly code: string }>(bad)).code, "INVALID_REQUEST")
        assert.strictEqual((yield* kit.request("GET", "/api/audit?offset=-1")).status, 400)
      }), T)

    it.effect("keeps each organization's chain independent", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const defaultBefore = yield* storedSeqs(org)
        const created = yield* Effect.forEach(
          range(1, 40),
          (i) => write({ name: `org-${i}`, organizationId: i % 2 === 0 ? "org_audit_a" : "org_audit_b" }),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(created.length, 40)
        assert.deepStrictEqual(yield* storedSeqs("org_audit_a"), range(1, 20))
        assert.deepStrictEqual(yield* storedSeqs("org_audit_b"), range(1, 20))
        assert.deepStrictEqual(yield* storedSeqs(org), defaultBefore)
        const a = yield* verifyOrg("org_audit_a")
        const b = yield* verifyOrg("org_audit_b")
        assertValid(a, 20)
        assertValid(b, 20)
        assert.notStrictEqual(a.first_hash, b.first_hash)
        assertValid(yield* verify, defaultBefore.length)
        // The admin token's organization does not see another organization's entries.
        const page = yield* body<Page>(yield* kit.request("GET", "/api/audit?limit=200"))
        assert.isFalse(page.data.some((item) => item.actor_id === "fixture"))
        assertValid(yield* verifyOrg("org_audit_nobody"), 0)
      }), T)

    it.effect("answers Surflet's verification shape: first and last hash, no failure fields when valid", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const verification = yield* verify
        assert.deepStrictEqual(Object.keys(verification).sort(), ["chain_length", "first_hash", "last_hash", "status", "verified_at"])
        const total = verification.chain_length
        const newest = yield* body<Page>(yield* kit.request("GET", "/api/audit?limit=1"))
        const oldest = yield* body<Page>(yield* kit.request("GET", `/api/audit?limit=1&offset=${total - 1}`))
        assert.strictEqual(verification.last_hash, newest.data[0].hash)
        assert.strictEqual(verification.first_hash, oldest.data[0].hash)
        assert.strictEqual(oldest.data[0].seq, 1)
        assert.isTrue(Math.abs(Date.parse(verification.verified_at) - Date.now()) < 60_000)
        const empty = yield* verifyOrg("org_audit_empty")
        assert.deepStrictEqual({ ...empty, verified_at: "" }, {
          status: "valid",
          chain_length: 0,
          first_hash: null,
          last_hash: null,
          verified_at: ""
        })
      }), T)

    it.effect("detects a modified entry and names it", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const length = (yield* storedSeqs(org)).length
        const [seven] = yield* sql<{ readonly action: string }>`
          SELECT action FROM audit.entries WHERE organization_id = ${org} AND seq = 7`
        yield* tamper(sql`UPDATE audit.entries SET action = 'auditfixture.thing.delete' WHERE organization_id = ${org} AND seq = 7`)
        const verification = yield* verify
        assertInvalid(verification, 7, "hash_mismatch")
        assert.strictEqual(verification.chain_length, 6)
        yield* tamper(sql`UPDATE audit.entries SET action = ${seven.action} WHERE organization_id = ${org} AND seq = 7`)
        assertValid(yield* verify, length)
        // A change inside the details is caught too.
        const [original] = yield* sql<{ readonly details: string }>`
          SELECT details::text AS details FROM audit.entries WHERE organization_id = ${org} AND seq = 12`
        yield* tamper(sql`UPDATE audit.entries SET details = details || '{"key":"forged"}'::jsonb WHERE organization_id = ${org} AND seq = 12`)
        assertInvalid(yield* verify, 12, "hash_mismatch")
        yield* tamper(sql`UPDATE audit.entries SET details = ${original.details}::jsonb WHERE organization_id = ${org} AND seq = 12`)
        assertValid(yield* verify, length)
      }), T)

    it.effect("detects a deleted entry and names it", () =>
      Effect.gen(function*() {
        const length = (yield* storedSeqs(org)).length
        yield* stash(org, [9])
        const verification = yield* verify
        assertInvalid(verification, 9, "missing_entry")
        assert.strictEqual(verification.chain_length, 8)
        yield* unstash
        assertValid(yield* verify, length)
        // Deleting an entry and renumbering the rest to hide the gap breaks the link instead.
        const sql = yield* SqlClient.SqlClient
        yield* stash(org, [9])
        yield* tamper(Effect.gen(function*() {
          yield* sql`UPDATE audit.entries SET seq = seq + 1000000 WHERE organization_id = ${org} AND seq > 9`
          yield* sql`UPDATE audit.entries SET seq = seq - 1000000 - 1 WHERE organization_id = ${org} AND seq > 1000000`
        }))
        assertInvalid(yield* verify, 9, "prev_hash_mismatch")
        yield* tamper(Effect.gen(function*() {
          yield* sql`UPDATE audit.entries SET seq = seq + 1000000 WHERE organization_id = ${org} AND seq >= 9`
          yield* sql`UPDATE audit.entries SET seq = seq - 1000000 + 1 WHERE organization_id = ${org} AND seq > 1000000`
        }))
        yield* unstash
        assertValid(yield* verify, length)
      }), T)

    it.effect("detects reordered entries and names the first", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const length = (yield* storedSeqs(org)).length
        const swap = tamper(Effect.gen(function*() {
          yield* sql`UPDATE audit.entries SET seq = 1000000 WHERE organization_id = ${org} AND seq = 5`
          yield* sql`UPDATE audit.entries SET seq = 5 WHERE organization_id = ${org} AND seq = 6`
          yield* sql`UPDATE audit.entries SET seq = 6 WHERE organization_id = ${org} AND seq = 1000000`
        }))
        yield* swap
        const verification = yield* verify
        assertInvalid(verification, 5, "prev_hash_mismatch")
        assert.strictEqual(verification.chain_length, 4)
        yield* swap
        assertValid(yield* verify, length)
      }), T)

    it.effect("detects a truncated chain and names the first missing entry", () =>
      Effect.gen(function*() {
        const length = (yield* storedSeqs(org)).length
        yield* stash(org, [length - 2, length - 1, length])
        const verification = yield* verify
        assertInvalid(verification, length - 2, "truncated")
        assert.strictEqual(verification.chain_length, length - 3)
        yield* unstash
        assertValid(yield* verify, length)
        // Entries added around the log (beyond the head) are caught too.
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE audit.chain_heads SET last_seq = last_seq - 1 WHERE organization_id = ${org}`
        assertInvalid(yield* verify, length, "head_mismatch")
        yield* sql`UPDATE audit.chain_heads SET last_seq = last_seq + 1 WHERE organization_id = ${org}`
        assertValid(yield* verify, length)
      }), T)

    it.effect("refuses UPDATE, DELETE and TRUNCATE of entries (append-only)", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const update = yield* Effect.exit(sql`UPDATE audit.entries SET action = 'x' WHERE organization_id = ${org} AND seq = 1`)
        const remove = yield* Effect.exit(sql`DELETE FROM audit.entries WHERE organization_id = ${org} AND seq = 1`)
        const truncate = yield* Effect.exit(sql`TRUNCATE audit.entries`)
        assert.isTrue(Exit.isFailure(update) && Exit.isFailure(remove) && Exit.isFailure(truncate))
        for (const exit of [update, remove, truncate]) {
          assert.include(Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "", "append-only")
        }
        assertValid(yield* verify, (yield* storedSeqs(org)).length)
      }), T)

    it.effect("verifies a chain longer than one page, and names a bad entry past the first page", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const sql = yield* SqlClient.SqlClient
        const bulk = yield* kit.request("POST", "/api/audit-fixture/bulk", { body: { organizationId: "org_audit_long", count: 1200 } })
        assert.strictEqual(bulk.status, 200)
        assertValid(yield* verifyOrg("org_audit_long"), 1200)
        yield* tamper(sql`UPDATE audit.entries SET details = '{"i":0}'::jsonb WHERE organization_id = 'org_audit_long' AND seq = 1001`)
        const verification = yield* verifyOrg("org_audit_long")
        assertInvalid(verification, 1001, "hash_mismatch")
        assert.strictEqual(verification.chain_length, 1000)
      }), T)

    it.effect("needs a credential for both endpoints", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        assert.strictEqual((yield* kit.request("GET", "/api/audit", { token: null })).status, 401)
        const verify = yield* kit.request("GET", "/v1/audit/verify", { token: null })
        assert.strictEqual(verify.status, 401)
        // Surflet's paths carry its error envelope as well as the problem fields.
        assert.isObject((yield* body<{ readonly error: unknown }>(verify)).error)
      }), T)
  })
})

