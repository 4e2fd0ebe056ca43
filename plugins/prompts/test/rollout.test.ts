/**
 * Gray-release rollouts and SDK fetch: PromptOps's two-variant body, weighted variants,
 * validation that changes nothing, sticky deterministic assignment (10,000 callers, the
 * widening guarantee), non-sticky draws, ETag / 304, and a cache that is never stale.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"
import { bucketOf, variantIndex } from "../Assignment.ts"
import { PromptsPlugin } from "../Plugin.ts"
import { call, createPrompt, publish, uniqueKey } from "./support.ts"

interface RolloutBody {
  readonly id: string
  readonly enabled: boolean
  readonly variant_a: string
  readonly variant_b: string
  readonly weight_a: number
  readonly variants: ReadonlyArray<{ readonly version: string; readonly weight: number }>
  readonly salt: string
}

interface SdkBody {
  readonly key: string
  readonly version: string
  readonly version_number: number
  readonly env: string
  readonly model: string
  readonly content: string
  readonly variant?: string
  readonly rollout_id: string | null
  readonly sticky: boolean
}

/** A prompt in `prod` with versions v1..vN whose contents are "content vN". */
const promptWithVersions = (key: string, count: number) =>
  Effect.gen(function*() {
    const id = yield* createPrompt({ key, content: "content v1", env: "prod", model: "gpt-4o" })
    yield* publish(id)
    for (let n = 2; n <= count; n++) {
      yield* call("PUT", `/api/prompts/${id}`, { body: { content: `content v${n}` } })
      yield* publish(id)
    }
    return id
  })

const sdk = (key: string, query = "") => call<SdkBody>("GET", `/api/sdk/prompts/${encodeURIComponent(key)}?env=prod${query}`)

describe("prompts plugin: rollouts and SDK fetch", () => {
  layer(TestKit.layer({ plugins: [PromptsPlugin] }), { timeout: 180_000 })((it) => {
    it.effect("in a published-only workspace, serves the live published version to SDKs, with PromptOps's fields", () =>
      Effect.gen(function*() {
        const key = uniqueKey("sdk.live")
        const workspace = uniqueKey("ws.gated")
        const gated = yield* call("PUT", `/api/prompts/settings?workspace=${workspace}`, { body: { serving: "published" } })
        assert.strictEqual(gated.status, 200)
        const id = yield* createPrompt({ key, content: "Hello {{name}}", env: "prod", model: "gpt-4o", workspace_id: workspace })
        const unpublished = yield* call<{ code: string }>("GET", `/api/sdk/prompts/${key}?env=prod`)
        assert.strictEqual(unpublished.status, 404)
        assert.strictEqual(unpublished.body.code, "PUBLISHED_PROMPT_NOT_FOUND")
        yield* publish(id)
        const served = yield* sdk(key)
        assert.strictEqual(served.status, 200)
        assert.deepStrictEqual(
          { ...served.body },
          {
            key,
            version: "v1",
            env: "prod",
            model: "gpt-4o",
            content: "Hello {{name}}",
            version_number: 1,
            serving: "published",
            rollout_id: null,
            sticky: true,
            id,
            workspace_id: workspace
          }
        )
        // Edits are not served until published; the env defaults to prod.
        yield* call("PUT", `/api/prompts/${id}`, { body: { content: "Hi {{name}}" } })
        assert.strictEqual((yield* sdk(key)).body.content, "Hello {{name}}")
        yield* publish(id)
        const republished = yield* call<SdkBody>("GET", `/api/sdk/prompts/${key}`)
        assert.strictEqual(republished.body.content, "Hi {{name}}")
        assert.strictEqual(republished.body.version, "v2")
        // Other environments do not see it.
        assert.strictEqual((yield* call("GET", `/api/sdk/prompts/${key}?env=dev`)).status, 404)
        // Rollback is visible at once; delete makes it 404 at once.
        yield* call("POST", "/api/prompts/rollback", { body: { id, version: 1 } })
        assert.strictEqual((yield* sdk(key)).body.version, "v1")
        yield* call("DELETE", `/api/prompts/${id}`)
        assert.strictEqual((yield* sdk(key)).status, 404)
      }))

    it.effect("answers 304 to If-None-Match with the current ETag, and a new ETag after a publish", () =>
      Effect.gen(function*() {
        const key = uniqueKey("sdk.etag")
        const id = yield* createPrompt({ key, content: "one", env: "prod" })
        yield* publish(id)
        const first = yield* sdk(key)
        const etag = first.headers["etag"]
        assert.match(etag, /^"[A-Za-z0-9_-]+"$/)
        const cached = yield* call("GET", `/api/sdk/prompts/${key}?env=prod`, { headers: { "if-none-match": etag } })
        assert.strictEqual(cached.status, 304)
        assert.strictEqual(cached.body, undefined)
        yield* call("PUT", `/api/prompts/${id}`, { body: { content: "two" } })
        yield* publish(id)
        const fresh = yield* call<SdkBody>("GET", `/api/sdk/prompts/${key}?env=prod`, { headers: { "if-none-match": etag } })
        assert.strictEqual(fresh.status, 200)
        assert.strictEqual(fresh.body.content, "two")
        assert.notStrictEqual(fresh.headers["etag"], etag)
      }))

    it.effect("accepts PromptOps's two-variant body as is and serves by weight", () =>
      Effect.gen(function*() {
        const key = uniqueKey("ab.test")
        const id = yield* promptWithVersions(key, 2)
        const allA = yield* call<{ data: RolloutBody }>("PUT", `/api/prompts/${id}/rollout`, {
          body: { enabled: true, variant_a: "v1", variant_b: "v2", weight_a: 100 }
        })
        assert.strictEqual(allA.status, 200)
        assert.deepStrictEqual(
          [allA.body.data.enabled, allA.body.data.variant_a, allA.body.data.variant_b, allA.body.data.weight_a],
          [true, "v1", "v2", 100]
        )
        const a = yield* sdk(key, "&user_id=u1")
        assert.strictEqual(a.body.content, "content v1")
        assert.strictEqual(a.body.variant, "A")
        assert.strictEqual(a.body.rollout_id, allA.body.data.id)
        assert.isTrue(a.body.sticky)

        const allB = yield* call<{ data: RolloutBody }>("PUT", `/api/prompts/${id}/rollout`, {
          body: { enabled: true, variant_a: "v1", variant_b: "v2", weight_a: 0 }
        })
        assert.strictEqual(allB.body.data.id, allA.body.data.id)
        assert.strictEqual(allB.body.data.salt, allA.body.data.salt)
        const b = yield* sdk(key)
        assert.deepStrictEqual([b.body.content, b.body.variant, b.body.version, b.body.version_number], ["content v2", "B", "v2", 2])
        assert.isFalse(b.body.sticky)

        const read = yield* call<{ data: RolloutBody | null }>("GET", `/api/prompts/${id}/rollout`)
        assert.strictEqual(read.body.data?.weight_a, 0)
        const removed = yield* call<{ ok: boolean }>("DELETE", `/api/prompts/${id}/rollout`)
        assert.deepStrictEqual(removed.body, { ok: true })
        assert.isNull((yield* call<{ data: RolloutBody | null }>("GET", `/api/prompts/${id}/rollout`)).body.data)
        const live = yield* sdk(key)
        assert.strictEqual(live.body.content, "content v2")
        assert.isNull(live.body.rollout_id)

        // A disabled rollout is kept but not applied.
        yield* call("PUT", `/api/prompts/${id}/rollout`, { body: { enabled: false, variant_a: "v1", variant_b: "v2", weight_a: 100 } })
        assert.strictEqual((yield* sdk(key)).body.content, "content v2")
      }))

    it.effect("refuses bad rollouts with a 422 problem that changes nothing", () =>
      Effect.gen(function*() {
        const key = uniqueKey("ab.bad")
        const id = yield* promptWithVersions(key, 2)
        const other = yield* promptWithVersions(uniqueKey("ab.other"), 1)
        const otherVersions = yield* call<{ data: ReadonlyArray<{ id: string }> }>("GET", `/api/prompts/${other}/versions`)
        const good = yield* call<{ data: RolloutBody }>("PUT", `/api/prompts/${id}/rollout`, {
          body: { enabled: true, variant_a: "v1", variant_b: "v2", weight_a: 70 }
        })
        assert.strictEqual(good.status, 200)
        const bad: ReadonlyArray<[string, unknown, string]> = [
          ["unknown label", { variant_a: "v1", variant_b: "latest-ish", weight_a: 50 }, "body.variant_b"],
          ["unpublished version", { variant_a: "v1", variant_b: "v3", weight_a: 50 }, "body.variant_b"],
          ["weight_a above 100", { variant_a: "v1", variant_b: "v2", weight_a: 150 }, "body.weight_a"],
          ["weights not 100", { variants: [{ version: "v1", weight: 50 }, { version: "v2", weight: 40 }] }, "body.variants"],
          ["another prompt's version", { variants: [{ version: otherVersions.body.data[0].id, weight: 100 }] }, "body.variants[0].version"],
          ["a version twice", { variants: [{ version: "v1", weight: 50 }, { version: 1, weight: 50 }] }, "body.variants[1].version"],
          ["too many variants", { variants: Array.from({ length: 11 }, () => ({ version: "v1", weight: 1 })) }, "body.variants"],
          ["three decimals", { variants: [{ version: "v1", weight: 33.333 }, { version: "v2", weight: 66.667 }] }, "body.variants[0].weight"]
        ]
        for (const [name, body, path] of bad) {
          const refused = yield* call<{ code: string; errors: ReadonlyArray<{ path: string; message: string }> }>(
            "PUT",
            `/api/prompts/${id}/rollout`,
            { body }
          )
          assert.strictEqual(refused.status, 422, name)
          assert.strictEqual(refused.headers["content-type"], "application/problem+json", name)
          assert.strictEqual(refused.body.code, "INVALID_ROLLOUT", name)
          assert.include(refused.body.errors.map((e) => e.path), path, name)
        }
        const after = yield* call<{ data: RolloutBody }>("GET", `/api/prompts/${id}/rollout`)
        assert.deepStrictEqual(after.body.data, good.body.data)
      }))

    it.effect("takes up to ten weighted variants with two-decimal weights", () =>
      Effect.gen(function*() {
        const key = uniqueKey("multi")
        const id = yield* promptWithVersions(key, 3)
        const set = yield* call<{ data: RolloutBody }>("PUT", `/api/prompts/${id}/rollout`, {
          body: { variants: [{ version: "v3", weight: 33.34 }, { version: "v1", weight: 33.33 }, { version: 2, weight: 33.33 }] }
        })
        assert.strictEqual(set.status, 200)
        assert.deepStrictEqual(set.body.data.variants.map((v) => [v.version, v.weight]), [["v3", 33.34], ["v1", 33.33], ["v2", 33.33]])
        const seen = new Set<string>()
        for (let i = 0; i < 60; i++) seen.add((yield* sdk(key, `&sticky_key=caller-${i}`)).body.version)
        assert.deepStrictEqual([...seen].sort(), ["v1", "v2", "v3"])
      }))

    it.effect("splits 10,000 sticky callers 20/80 within one point, the same way on every call", () =>
      Effect.gen(function*() {
        const key = "rollout.split"
        const id = yield* promptWithVersions(key, 2)
        const salt = "trellis-test-salt-2"
        const set = yield* call<{ data: RolloutBody }>("PUT", `/api/prompts/${id}/rollout`, {
          body: { enabled: true, variant_a: "v1", variant_b: "v2", weight_a: 20, salt }
        })
        assert.strictEqual(set.body.data.salt, salt)
        const callers = Array.from({ length: 10_000 }, (_, i) => `user-${i}`)
        const served = yield* Effect.forEach(
          callers,
          (user) => Effect.map(sdk(key, `&user_id=${user}`), (r) => r.body.version),
          { concurrency: 16 }
        )
        const shareA = served.filter((v) => v === "v1").length / callers.length
        assert.isAtMost(Math.abs(shareA - 0.2), 0.01, `share of A: ${shareA}`)
        // Exactly what the published hash definition predicts, for every caller.
        callers.forEach((user, i) => {
          const expected = variantIndex([2000, 8000], bucketOf(key, salt, user)) === 0 ? "v1" : "v2"
          assert.strictEqual(served[i], expected, user)
        })
        // The same caller keeps its version (header form too).
        for (const user of callers.slice(0, 50)) {
          const again = yield* call<SdkBody>("GET", `/api/sdk/prompts/${key}?env=prod`, { headers: { "x-user-id": user } })
          assert.strictEqual(again.body.version, served[callers.indexOf(user)])
        }
      }), { timeout: 120_000 })

    it.effect("widening B from 20% to 50% moves no caller from B to A", () =>
      Effect.gen(function*() {
        const key = uniqueKey("widen")
        const id = yield* promptWithVersions(key, 2)
        yield* call("PUT", `/api/prompts/${id}/rollout`, { body: { enabled: true, variant_a: "v1", variant_b: "v2", weight_a: 80 } })
        const callers = Array.from({ length: 2_000 }, (_, i) => `session-${i}`)
        const fetchAll = Effect.forEach(
          callers,
          (c) => Effect.map(sdk(key, `&session_id=${c}`), (r) => r.body.version),
          { concurrency: 16 }
        )
        const before = yield* fetchAll
        yield* call("PUT", `/api/prompts/${id}/rollout`, { body: { enabled: true, variant_a: "v1", variant_b: "v2", weight_a: 50 } })
        const after = yield* fetchAll
        let moved = 0
        callers.forEach((c, i) => {
          if (before[i] === "v2") assert.strictEqual(after[i], "v2", `${c} moved from B to A`)
          if (before[i] === "v1" && after[i] === "v2") moved++
        })
        const shareB = after.filter((v) => v === "v2").length / callers.length
        assert.isAbove(moved, 0)
        assert.isAtMost(Math.abs(shareB - 0.5), 0.05)
      }), { timeout: 120_000 })

    it.effect("draws at random without a stickiness value, and says so", () =>
      Effect.gen(function*() {
        const key = uniqueKey("random")
        const id = yield* promptWithVersions(key, 2)
        yield* call("PUT", `/api/prompts/${id}/rollout`, { body: { enabled: true, variant_a: "v1", variant_b: "v2", weight_a: 50 } })
        const versions = new Set<string>()
        for (let i = 0; i < 64; i++) {
          const r = yield* sdk(key)
          assert.isFalse(r.body.sticky)
          versions.add(r.body.version)
        }
        assert.deepStrictEqual([...versions].sort(), ["v1", "v2"])
      }))
  })
})
