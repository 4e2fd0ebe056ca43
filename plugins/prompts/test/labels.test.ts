/**
 * Version labels as PromptOps clients send them: a prompt's `version` is its working copy's
 * label (`v1` until told otherwise), publish snapshots under it, labels may repeat (a label
 * names the newest version carrying it; Trellis's `version_number` stays unique), and rollback,
 * rollouts and diffs accept labels. A prompt never given a label is numbered `v1`, `v2`, ...
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"
import { PromptsPlugin } from "../Plugin.ts"
import { call, createPrompt, publish, uniqueKey } from "./support.ts"

interface PromptBody {
  readonly version: string
  readonly live_version: string | null
  readonly version_number: number | null
  readonly content: string
}

interface VersionBody {
  readonly version: string
  readonly version_number: number
  readonly content: string
}

describe("prompts plugin: version labels", () => {
  layer(TestKit.layer({ plugins: [PromptsPlugin] }), { timeout: 120_000 })((it) => {
    it.effect("keeps the client's labels through create, update, publish and rollback", () =>
      Effect.gen(function*() {
        const id = yield* createPrompt({ key: uniqueKey("labels"), content: "one", env: "prod", version: "v2-beta" })
        const created = yield* call<{ data: PromptBody }>("GET", `/api/prompts/${id}`)
        assert.deepStrictEqual([created.body.data.version, created.body.data.live_version], ["v2-beta", null])
        const first = (yield* publish(id)) as unknown as VersionBody
        assert.deepStrictEqual([first.version, first.version_number], ["v2-beta", 1])

        yield* call("PUT", `/api/prompts/${id}`, { body: { content: "two" } })
        const second = (yield* publish(id)) as unknown as VersionBody
        assert.deepStrictEqual([second.version, second.version_number], ["v2-beta", 2])
        yield* call("PUT", `/api/prompts/${id}`, { body: { content: "three", version: "v3" } })
        // An empty label keeps the one there is (as in PromptOps).
        yield* call("PUT", `/api/prompts/${id}`, { body: { version: "" } })
        const third = (yield* publish(id)) as unknown as VersionBody
        assert.deepStrictEqual([third.version, third.version_number], ["v3", 3])
        const versions = yield* call<{ data: ReadonlyArray<VersionBody> }>("GET", `/api/prompts/${id}/versions`)
        assert.deepStrictEqual(versions.body.data.map((v) => [v.version, v.version_number, v.content]), [
          ["v3", 3, "three"],
          ["v2-beta", 2, "two"],
          ["v2-beta", 1, "one"]
        ])

        // A repeated label names the newest version with it; a number names exactly one.
        const byLabel = yield* call<{ data: PromptBody }>("POST", "/api/prompts/rollback", { body: { id, version: "v2-beta" } })
        assert.deepStrictEqual(
          [byLabel.body.data.content, byLabel.body.data.version, byLabel.body.data.live_version, byLabel.body.data.version_number],
          ["two", "v2-beta", "v2-beta", 2]
        )
        const byNumber = yield* call<{ data: PromptBody }>("POST", "/api/prompts/rollback", { body: { id, version: 1 } })
        assert.deepStrictEqual([byNumber.body.data.content, byNumber.body.data.version_number], ["one", 1])

        const diff = yield* call<{ data: { from: string; to: string; added: number; removed: number } }>(
          "GET",
          `/api/prompts/${id}/versions/diff?from=v2-beta&to=v3`
        )
        assert.deepStrictEqual([diff.body.data.from, diff.body.data.to, diff.body.data.added, diff.body.data.removed], ["v2-beta", "v3", 1, 1])

        const rollout = yield* call<{ data: { variant_a: string; variant_b: string; variants: ReadonlyArray<{ version_number: number }> } }>(
          "PUT",
          `/api/prompts/${id}/rollout`,
          { body: { variant_a: "v2-beta", variant_b: "v3", weight_a: 50 } }
        )
        assert.strictEqual(rollout.status, 200)
        assert.deepStrictEqual([rollout.body.data.variant_a, rollout.body.data.variant_b], ["v2-beta", "v3"])
        assert.deepStrictEqual(rollout.body.data.variants.map((v) => v.version_number), [2, 3])
        const unknown = yield* call<{ code: string }>("POST", "/api/prompts/rollback", { body: { id, version: "v9-gone" } })
        assert.strictEqual(unknown.status, 404)
        assert.strictEqual(unknown.body.code, "VERSION_NOT_FOUND")
      }))

    it.effect("numbers the versions of a prompt never given a label", () =>
      Effect.gen(function*() {
        const id = yield* createPrompt({ key: uniqueKey("auto"), content: "one", env: "prod" })
        assert.strictEqual((yield* call<{ data: PromptBody }>("GET", `/api/prompts/${id}`)).body.data.version, "v1")
        assert.strictEqual((yield* publish(id)).version, "v1")
        yield* call("PUT", `/api/prompts/${id}`, { body: { content: "two" } })
        assert.strictEqual((yield* publish(id)).version, "v2")
        const read = yield* call<{ data: PromptBody }>("GET", `/api/prompts/${id}`)
        assert.deepStrictEqual([read.body.data.version, read.body.data.live_version, read.body.data.version_number], ["v2", "v2", 2])
        const rolled = yield* call<{ data: PromptBody }>("POST", "/api/prompts/rollback", { body: { id, version: "v1" } })
        assert.deepStrictEqual([rolled.body.data.version, rolled.body.data.content], ["v1", "one"])
        // Still automatic: the next publish is the next number.
        assert.strictEqual((yield* publish(id)).version, "v3")
      }))

    it.effect("refuses a label longer than 100 characters, changing nothing", () =>
      Effect.gen(function*() {
        const refused = yield* call("POST", "/api/prompts", { body: { key: uniqueKey("long"), version: "v".repeat(101) } })
        assert.strictEqual(refused.status, 400)
      }))
  })
})
