/**
 * SessionFS's project access across organizations (`ProjectOrganization.ts`, the platform's
 * `ActingOrganization`): a user reaches the projects of every organization they belong to, by
 * id or by remote, with the role they hold there, whatever their default organization; the
 * lists, service keys, `X-Trellis-Organization` and non-members are unchanged.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import * as TestKit from "trellis/testing"
import { TicketsPlugin } from "../Plugin.ts"
import { expect, member, serviceKey, ticketPath } from "./support.ts"
import type { ProblemBody, TicketBody } from "./support.ts"

const second = "org_projects_second"

const request = (method: "GET" | "POST", path: string, token: string, body?: unknown, headers?: Record<string, string>) =>
  Effect.flatMap(TestKit.TrellisTest, (kit) => kit.request(method, path, { token, body, headers }))

/** Adds an existing user to another organization with this role (their default stays). */
const join = (userId: string, organizationId: string, role: "viewer" | "editor" | "owner") =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`INSERT INTO identity.memberships (organization_id, user_id, role) VALUES (${organizationId}, ${userId}, ${role})`)

describe("tickets: projects of every organization a user belongs to", () => {
  layer(TestKit.layer({ plugins: [TicketsPlugin] }), { timeout: 300_000 })((it) => {
    it.effect("a user reaches another organization's project by id and remote with their role there; lists, keys, the header and outsiders are unchanged", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const sql = yield* SqlClient.SqlClient
        // Someone whose default organization is the second one owns a project there.
        const resident = yield* member("owner", second)
        const suffix = crypto.randomUUID().slice(0, 8)
        const remote = `acme/second-${suffix}`
        const theirs = yield* expect<{ id: string }>(
          yield* request("POST", "/api/v1/projects/", resident.key, { name: "second", git_remote_normalized: remote }),
          201
        )

        // alice: default organization org_default, editor in the second.
        const alice = yield* member("owner")
        yield* join(alice.userId, second, "editor")
        const byId = yield* expect<{ id: string }>(yield* request("GET", `/api/v1/projects/${theirs.id}`, alice.key), 200)
        assert.strictEqual(byId.id, theirs.id)
        const byRemote = yield* expect<{ id: string }>(yield* request("GET", `/api/v1/projects/${encodeURIComponent(remote)}`, alice.key), 200)
        assert.strictEqual(byRemote.id, theirs.id)
        const ticket = yield* expect<TicketBody>(
          yield* request("POST", `/api/v1/projects/${theirs.id}/tickets`, alice.key, { title: "from alice's default" }),
          201
        )
        const [stored] = yield* sql<{ organization_id: string }>`SELECT organization_id FROM tickets.tickets WHERE id = ${ticket.id}`
        assert.strictEqual(stored.organization_id, second)
        // The project's own members see it.
        assert.strictEqual((yield* expect<TicketBody>(yield* request("GET", ticketPath(theirs.id, ticket.id), resident.key), 200)).title, "from alice's default")
        // Lists stay those of the organization the key acts in.
        const listed = yield* expect<ReadonlyArray<{ id: string }>>(yield* request("GET", "/api/v1/projects/", alice.key), 200)
        assert.isFalse(listed.some((p) => p.id === theirs.id))
        // An explicit X-Trellis-Organization wins: the project is not in that one.
        const pinned = yield* request("GET", `/api/v1/projects/${theirs.id}`, alice.key, undefined, { "x-trellis-organization": "org_default" })
        assert.strictEqual((yield* expect<ProblemBody>(pinned, 404)).code, "project_not_found")

        // bob: owner of his default organization, viewer in the second: he reads, he cannot write.
        const bob = yield* member("owner")
        yield* join(bob.userId, second, "viewer")
        yield* expect(yield* request("GET", `/api/v1/projects/${theirs.id}/tickets`, bob.key), 200)
        const refused = yield* request("POST", `/api/v1/projects/${theirs.id}/tickets`, bob.key, { title: "by a viewer" })
        assert.strictEqual((yield* expect<ProblemBody>(refused, 403)).code, "insufficient_role")

        // Not a member there: as before, the project does not exist for them.
        const outsider = yield* member("owner")
        const hidden = yield* request("GET", `/api/v1/projects/${theirs.id}`, outsider.key)
        assert.strictEqual((yield* expect<ProblemBody>(hidden, 404)).code, "project_not_found")
        // Service keys never leave their organization.
        const key = yield* serviceKey(["tickets:read"])
        const keyed = yield* request("GET", `/api/v1/projects/${theirs.id}/tickets`, key.key)
        assert.strictEqual((yield* expect<ProblemBody>(keyed, 403)).code, "cross_org_denied")

        // A remote both organizations registered: the one the user acts in comes first.
        const own = yield* expect<{ id: string }>(
          yield* kit.request("POST", "/api/v1/projects/", { body: { name: "default twin", git_remote_normalized: remote } }),
          201
        )
        const twin = yield* expect<{ id: string }>(yield* request("GET", `/api/v1/projects/${encodeURIComponent(remote)}`, alice.key), 200)
        assert.strictEqual(twin.id, own.id)
      }))
  })
})
