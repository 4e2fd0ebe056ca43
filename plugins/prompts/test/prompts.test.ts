/**
 * Prompts, versions, publish, rollback and diff over real HTTP with PromptOps's shapes, on a
 * fresh database (embedded, or PostgreSQL with TRELLIS_TEST_DATABASE_URL).
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"
import { PromptsPlugin } from "../Plugin.ts"
import { call, createPrompt, publish, uniqueKey } from "./support.ts"

interface PromptBody {
  readonly id: string
  readonly key: string
  readonly name: string
  readonly content: string
  readonly version: string | null
  readonly version_number: number | null
  readonly env: string
  readonly category: string
  readonly tags: string
  readonly model: string
  readonly workspace_id: string
  readonly has_unpublished_changes: boolean
  readonly created_at: string
  readonly updated_at: string
}

interface VersionBody {
  readonly id: string
  readonly prompt_id: string
  readonly version: string
  readonly version_number: number
  readonly content: string
  readonly created_by: string
  readonly created_at: string
}

describe("prompts plugin: prompts and versions", () => {
  layer(TestKit.layer({ plugins: [PromptsPlugin] }), { timeout: 120_000 })((it) => {
    it.effect("creates, reads, lists, updates and deletes a prompt in PromptOps's shapes", () =>
      Effect.gen(function*() {
        const key = uniqueKey("sql.generator")
        const created = yield* call<{ data: PromptBody }>("POST", "/api/prompts", {
          body: { key, name: "SQL", content: "You write {{dialect}} SQL.", env: "prod", category: "db", tags: "sql,gen", model: "gpt-4o" }
        })
        assert.strictEqual(created.status, 200)
        const prompt = created.body.data
        assert.strictEqual(prompt.key, key)
        assert.strictEqual(prompt.tags, "sql,gen")
        // As PromptOps: the working copy's label, `v1` until told otherwise; nothing is live yet.
        assert.strictEqual(prompt.version, "v1")
        assert.strictEqual(prompt.version_number, null)
        assert.isTrue(prompt.has_unpublished_changes)
        assert.match(prompt.created_at, /^\d{4}-\d\d-\d\dT/)

        const read = yield* call<{ data: PromptBody }>("GET", `/api/prompts/${prompt.id}`)
        assert.strictEqual(read.status, 200)
        assert.deepStrictEqual(read.body.data, prompt)

        const defaults = yield* call<{ data: PromptBody }>("POST", "/api/prompts", { body: { key: uniqueKey("defaults") } })
        assert.strictEqual(defaults.body.data.env, "dev")

        const updated = yield* call<{ data: PromptBody }>("PUT", `/api/prompts/${prompt.id}`, {
          body: { content: "You write {{dialect}} SQL only.", tags: ["sql", "strict"] }
        })
        assert.strictEqual(updated.status, 200)
        assert.strictEqual(updated.body.data.content, "You write {{dialect}} SQL only.")
        assert.strictEqual(updated.body.data.name, "SQL")
        assert.strictEqual(updated.body.data.tags, "sql,strict")

        const byTag = yield* call<{ data: ReadonlyArray<PromptBody> }>("GET", "/api/prompts?tag=strict")
        assert.deepStrictEqual(byTag.body.data.map((p) => p.id), [prompt.id])
        const byQuery = yield* call<{ data: ReadonlyArray<PromptBody> }>("GET", `/api/prompts?q=${encodeURIComponent("SQL ONLY")}`)
        assert.deepStrictEqual(byQuery.body.data.map((p) => p.id), [prompt.id])
        const byEnvAndCategory = yield* call<{ data: ReadonlyArray<PromptBody> }>("GET", "/api/prompts?env=prod&category=db")
        assert.isTrue(byEnvAndCategory.body.data.some((p) => p.id === prompt.id))
        const otherEnv = yield* call<{ data: ReadonlyArray<PromptBody> }>("GET", "/api/prompts?env=dev&category=db")
        assert.isFalse(otherEnv.body.data.some((p) => p.id === prompt.id))

        const removed = yield* call<{ ok: boolean }>("DELETE", `/api/prompts/${prompt.id}`)
        assert.deepStrictEqual(removed, { ...removed, status: 200, body: { ok: true } })
        const gone = yield* call<{ code: string }>("GET", `/api/prompts/${prompt.id}`)
        assert.strictEqual(gone.status, 404)
        assert.strictEqual(gone.headers["content-type"], "application/problem+json")
        assert.strictEqual(gone.body.code, "PROMPT_NOT_FOUND")
      }))

    it.effect("refuses a second prompt with the same key in the same workspace and environment", () =>
      Effect.gen(function*() {
        const key = uniqueKey("dup")
        yield* createPrompt({ key, env: "prod" })
        const again = yield* call<{ code: string }>("POST", "/api/prompts", { body: { key, env: "prod" } })
        assert.strictEqual(again.status, 409)
        assert.strictEqual(again.body.code, "PROMPT_KEY_TAKEN")
        // Another environment or workspace is another prompt.
        assert.strictEqual((yield* call("POST", "/api/prompts", { body: { key, env: "dev" } })).status, 200)
        assert.strictEqual((yield* call("POST", "/api/prompts", { body: { key, env: "prod", workspace_id: "team-b" } })).status, 200)
        const byWorkspace = yield* call<{ data: ReadonlyArray<PromptBody> }>("GET", "/api/prompts?workspace=team-b")
        assert.deepStrictEqual(byWorkspace.body.data.map((p) => p.key), [key])
      }))

    it.effect("publishes immutable versions v1, v2 with author and time, newest first", () =>
      Effect.gen(function*() {
        const id = yield* createPrompt({ key: uniqueKey("versions"), content: "one", env: "prod" })
        const v1 = yield* publish(id)
        assert.strictEqual(v1.version, "v1")
        yield* call("PUT", `/api/prompts/${id}`, { body: { content: "two" } })
        const before = yield* call<{ data: PromptBody }>("GET", `/api/prompts/${id}`)
        assert.strictEqual(before.body.data.version, "v1")
        assert.isTrue(before.body.data.has_unpublished_changes)
        const v2 = yield* publish(id)
        assert.strictEqual(v2.version, "v2")
        const after = yield* call<{ data: PromptBody }>("GET", `/api/prompts/${id}`)
        assert.strictEqual(after.body.data.version, "v2")
        assert.strictEqual(after.body.data.version_number, 2)
        assert.isFalse(after.body.data.has_unpublished_changes)

        const versions = yield* call<{ data: ReadonlyArray<VersionBody> }>("GET", `/api/prompts/${id}/versions`)
        assert.deepStrictEqual(versions.body.data.map((v) => [v.version, v.content]), [["v2", "two"], ["v1", "one"]])
        assert.strictEqual(versions.body.data[0].created_by, "admin")
        assert.strictEqual(versions.body.data[0].prompt_id, id)

        // The snapshot never changes, whatever happens to the working copy.
        yield* call("PUT", `/api/prompts/${id}`, { body: { content: "three" } })
        const again = yield* call<{ data: ReadonlyArray<VersionBody> }>("GET", `/api/prompts/${id}/versions`)
        assert.deepStrictEqual(again.body.data, versions.body.data)
      }))

    it.effect("rolls back to a version, and refuses a version of another prompt without changing anything", () =>
      Effect.gen(function*() {
        const id = yield* createPrompt({ key: uniqueKey("rollback"), content: "first", env: "prod" })
        yield* publish(id)
        yield* call("PUT", `/api/prompts/${id}`, { body: { content: "second" } })
        yield* publish(id)
        const rolled = yield* call<{ data: PromptBody }>("POST", "/api/prompts/rollback", { body: { id, version: "v1" } })
        assert.strictEqual(rolled.status, 200)
        assert.strictEqual(rolled.body.data.version, "v1")
        assert.strictEqual(rolled.body.data.content, "first")

        const other = yield* createPrompt({ key: uniqueKey("other"), content: "other", env: "prod" })
        const otherVersion = yield* publish(other)
        const otherVersions = yield* call<{ data: ReadonlyArray<VersionBody> }>("GET", `/api/prompts/${other}/versions`)
        assert.strictEqual(otherVersion.version, "v1")
        const refused = yield* call<{ code: string }>("POST", "/api/prompts/rollback", {
          body: { id, version: otherVersions.body.data[0].id }
        })
        assert.strictEqual(refused.status, 422)
        assert.strictEqual(refused.body.code, "VERSION_OF_ANOTHER_PROMPT")
        const unknown = yield* call<{ code: string }>("POST", "/api/prompts/rollback", { body: { id, version: "v9" } })
        assert.strictEqual(unknown.status, 404)
        assert.strictEqual(unknown.body.code, "VERSION_NOT_FOUND")
        const unchanged = yield* call<{ data: PromptBody }>("GET", `/api/prompts/${id}`)
        assert.deepStrictEqual(unchanged.body.data, rolled.body.data)
      }))

    it.effect("diffs two versions, and a version against the working copy", () =>
      Effect.gen(function*() {
        const id = yield* createPrompt({ key: uniqueKey("diff"), content: "a\nb\nc\n", env: "prod" })
        yield* publish(id)
        yield* call("PUT", `/api/prompts/${id}`, { body: { content: "a\nB\nc\nd\n" } })
        yield* publish(id)
        const diff = yield* call<{ data: { from: string; to: string; unified: string; added: number; removed: number } }>(
          "GET",
          `/api/prompts/${id}/versions/diff?from=v1&to=v2`
        )
        assert.strictEqual(diff.status, 200)
        assert.strictEqual(diff.body.data.from, "v1")
        assert.strictEqual(diff.body.data.to, "v2")
        assert.strictEqual(diff.body.data.added, 2)
        assert.strictEqual(diff.body.data.removed, 1)
        assert.include(diff.body.data.unified, "-b\n+B\n")
        yield* call("PUT", `/api/prompts/${id}`, { body: { content: "a\nB\nc\nd\ne\n" } })
        const draft = yield* call<{ data: { from: string; to: string; added: number } }>("GET", `/api/prompts/${id}/versions/diff`)
        assert.deepStrictEqual([draft.body.data.from, draft.body.data.to, draft.body.data.added], ["v2", "current", 1])
        const missing = yield* call<{ code: string }>("GET", `/api/prompts/${id}/versions/diff?from=v7`)
        assert.strictEqual(missing.status, 404)
      }))

    it.effect("records every write in the audit log", () =>
      Effect.gen(function*() {
        const id = yield* createPrompt({ key: uniqueKey("audited"), content: "x", env: "prod" })
        yield* publish(id)
        const audit = yield* call<{ data?: ReadonlyArray<{ event: string }>; items?: ReadonlyArray<{ event: string }> }>(
          "GET",
          "/api/audit?limit=50"
        )
        assert.strictEqual(audit.status, 200)
        const entries = audit.body.data ?? audit.body.items ?? []
        // `action` is PromptOps's verb; `event` is Trellis's name.
        const actions = entries.map((e) => e.event)
        assert.include(actions, "prompts.prompt.create")
        assert.include(actions, "prompts.prompt.publish")
      }))

    it.effect("needs a token", () =>
      Effect.gen(function*() {
        const response = yield* call("GET", "/api/prompts", { token: null })
        assert.strictEqual(response.status, 401)
      }))
  })
})
