/**
 * Seed 002's project calls, as the mobile app makes them, over the tickets plugin's projects:
 *
 * - `GET /api/projects` → `{ data, meta: { nextCursor } }`, `?cursor=&limit=`.
 * - `POST /api/projects` `{ name, repositoryUrl, defaultBranch? }` → 201 (no clone is queued:
 *   Trellis does not clone); the project is the one SessionFS's CLI finds by its remote.
 * - `GET`/`PUT /api/projects/{project}` (name, description, defaultBranch).
 * - `DELETE /api/projects/{project}` → 204, archived: gone from the list, 404 after, from
 *   SessionFS's routes too, and its repository free for a new project.
 * - The routes seed 002 lists that are outside Trellis (clone, pull, index-rag, map, schema,
 *   diagrams, snapshots, docs, changelog) answer 404.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"
import { firstParty } from "../../../plugins/index.ts"
import { app, expect, member, problem } from "./support.ts"

interface Project {
  readonly id: string
  readonly name: string
  readonly description: string
  readonly repositoryUrl: string
  readonly gitRemoteNormalized: string
  readonly defaultBranch: string
  readonly ownerId: string
  readonly createdAt: string
  readonly updatedAt: string
}

interface Page {
  readonly data: ReadonlyArray<Project>
  readonly meta: { readonly nextCursor: string | null }
}

const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/

describe("mobile projects (seed 002)", () => {
  layer(TestKit.layer({ plugins: firstParty }), { timeout: 120_000 })((it) => {
    it.effect("create, read, update, archive; SessionFS sees the same project", () =>
      Effect.gen(function*() {
        const user = yield* member("editor")
        const owner = `acme-${crypto.randomUUID().slice(0, 8)}`
        const created = expect<Project>(
          yield* app("POST", "/api/projects", user.token, { name: "Widget", repositoryUrl: `git@github.com:${owner}/Widget.git` }),
          201,
          "create"
        )
        assert.strictEqual(created.name, "Widget")
        assert.strictEqual(created.repositoryUrl, `git@github.com:${owner}/Widget.git`)
        assert.strictEqual(created.gitRemoteNormalized, `${owner}/widget`)
        assert.strictEqual(created.defaultBranch, "main")
        assert.strictEqual(created.description, "")
        assert.match(created.createdAt, iso)
        assert.match(created.updatedAt, iso)
        // SessionFS's CLI normalizes its remote the same way and finds the project.
        const kit = yield* TestKit.TrellisTest
        const viaSessionFs = yield* kit.request("GET", `/api/v1/projects/${owner}/widget`, { token: user.token })
        assert.strictEqual(viaSessionFs.status, 200)
        assert.strictEqual(((yield* viaSessionFs.json) as { id: string }).id, created.id)
        // The same repository by another spelling is taken.
        const taken = problem(
          yield* app("POST", "/api/projects", user.token, { name: "Again", repositoryUrl: `https://github.com/${owner}/widget` }),
          409,
          "repository_taken",
          "same repository"
        )
        assert.strictEqual(taken.projectId, created.id)
        problem(
          yield* app("POST", "/api/projects", user.token, { name: "Leaky", repositoryUrl: `https://bot:ghp_secret@github.com/${owner}/leaky.git` }),
          422,
          "repository_url_has_credentials",
          "credentials in the URL"
        )
        problem(
          yield* app("POST", "/api/projects", user.token, { name: "Leaky", repositoryUrl: `https://ghp_token0123@github.com/${owner}/leaky.git` }),
          422,
          "repository_url_has_credentials",
          "a token as the URL's user"
        )
        const ssh = expect<Project>(
          yield* app("POST", "/api/projects", user.token, { name: "SSH", repositoryUrl: `ssh://git@gitlab.example:22/${owner}/ssh.git` }),
          201,
          "an ssh URL names no secret"
        )
        assert.strictEqual(ssh.gitRemoteNormalized, `ssh://git@gitlab.example:22/${owner}/ssh.git`, "SessionFS lowercases what it cannot parse")
        problem(yield* app("POST", "/api/projects", user.token, { name: "No URL" }), 422, "INVALID_REQUEST", "no repositoryUrl")
        problem(
          yield* app("POST", "/api/projects", user.token, { name: "Bad", repositoryUrl: `https://github.com/${owner}/bad`, defaultBranch: "../x" }),
          422,
          "INVALID_REQUEST",
          "a bad branch"
        )

        const read = expect<Project>(yield* app("GET", `/api/projects/${created.id}`, user.token), 200, "get")
        assert.deepStrictEqual(read, created)
        const updated = expect<Project>(
          yield* app("PUT", `/api/projects/${created.id}`, user.token, { description: "The widget service", defaultBranch: "develop" }),
          200,
          "update"
        )
        assert.strictEqual(updated.description, "The widget service")
        assert.strictEqual(updated.defaultBranch, "develop")
        assert.strictEqual(updated.name, "Widget")
        const renamed = expect<Project>(yield* app("PUT", `/api/projects/${created.id}`, user.token, { name: "Widgets" }), 200, "rename")
        assert.strictEqual(renamed.name, "Widgets")
        assert.strictEqual(renamed.defaultBranch, "develop")
        problem(yield* app("PUT", `/api/projects/${created.id}`, user.token, { name: "" }), 422, "INVALID_REQUEST", "an empty name")

        // A viewer may read but not delete; another editor is not the owner.
        const other = yield* member("editor")
        problem(yield* app("DELETE", `/api/projects/${created.id}`, other.token), 403, "not_project_admin", "not the owner")
        assert.strictEqual((yield* app("DELETE", `/api/projects/${created.id}`, user.token)).status, 204)
        problem(yield* app("GET", `/api/projects/${created.id}`, user.token), 404, "NOT_FOUND", "archived")
        problem(yield* app("PUT", `/api/projects/${created.id}`, user.token, { name: "x" }), 404, "NOT_FOUND", "archived update")
        problem(yield* app("DELETE", `/api/projects/${created.id}`, user.token), 404, "NOT_FOUND", "archived twice")
        assert.strictEqual((yield* kit.request("GET", `/api/v1/projects/${created.id}`, { token: user.token })).status, 404)
        const list = expect<Page>(yield* app("GET", "/api/projects?limit=100", user.token), 200, "list")
        assert.notInclude(list.data.map((p) => p.id), created.id)
        // The repository is free again.
        const again = expect<Project>(
          yield* app("POST", "/api/projects", user.token, { name: "Widget 2", repositoryUrl: `https://github.com/${owner}/widget.git`, defaultBranch: "trunk" }),
          201,
          "recreate"
        )
        assert.notStrictEqual(again.id, created.id)
        assert.strictEqual(again.defaultBranch, "trunk")
      }))

    it.effect("cursor pages cover every project once, newest first", () =>
      Effect.gen(function*() {
        const user = yield* member("editor")
        const prefix = `page-${crypto.randomUUID().slice(0, 8)}`
        const made: Array<string> = []
        for (let i = 0; i < 5; i++) {
          made.push(expect<Project>(
            yield* app("POST", "/api/projects", user.token, { name: `${prefix} ${i}`, repositoryUrl: `https://github.com/${prefix}/r${i}` }),
            201,
            "create"
          ).id)
        }
        const seen: Array<string> = []
        let cursor: string | null = null
        let pages = 0
        do {
          const path: string = cursor === null ? "/api/projects?limit=2" : `/api/projects?limit=2&cursor=${encodeURIComponent(cursor)}`
          const page: Page = expect<Page>(yield* app("GET", path, user.token), 200, path)
          assert.isAtMost(page.data.length, 2)
          seen.push(...page.data.map((p) => p.id))
          cursor = page.meta.nextCursor
          pages++
        } while (cursor !== null && pages < 100)
        assert.strictEqual(new Set(seen).size, seen.length, "no project twice")
        const mine = seen.filter((id) => made.includes(id))
        assert.deepStrictEqual(mine, [...made].reverse(), "newest first, each once")
        problem(yield* app("GET", "/api/projects?cursor=not-a-cursor", user.token), 422, "invalid_cursor", "a bad cursor")
        problem(yield* app("GET", "/api/projects?limit=0", user.token), 422, "INVALID_REQUEST", "limit 0")
        problem(yield* app("GET", "/api/projects?limit=101", user.token), 422, "INVALID_REQUEST", "limit 101")
      }))

    it.effect("racing creates of one repository: one wins", () =>
      Effect.gen(function*() {
        const user = yield* member("editor")
        const url = `https://github.com/race-${crypto.randomUUID().slice(0, 8)}/repo.git`
        const replies = yield* Effect.forEach([1, 2, 3, 4], (i) => app("POST", "/api/projects", user.token, { name: `r${i}`, repositoryUrl: url }), {
          concurrency: "unbounded"
        })
        assert.deepStrictEqual(replies.map((r) => r.status).sort(), [201, 409, 409, 409])
      }))

    it.effect("the seed's clone, RAG, map, schema, diagrams, snapshots and docs routes are not served", () =>
      Effect.gen(function*() {
        const user = yield* member("editor")
        const created = expect<Project>(
          yield* app("POST", "/api/projects", user.token, { name: "Outside", repositoryUrl: `https://github.com/o-${crypto.randomUUID().slice(0, 8)}/x` }),
          201,
          "create"
        )
        for (const [method, rest] of [
          ["POST", "clone"],
          ["POST", "pull"],
          ["POST", "index-rag"],
          ["GET", "map"],
          ["GET", "schema"],
          ["GET", "diagrams"],
          ["GET", "snapshots"],
          ["GET", "docs"],
          ["GET", "changelog"]
        ] as const) {
          const reply = yield* app(method, `/api/projects/${created.id}/${rest}`, user.token)
          assert.strictEqual(reply.status, 404, `${method} ${rest}`)
        }
      }))
  })
})
