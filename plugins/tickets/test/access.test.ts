/**
 * Who may do what: organizations are walls (another organization's project or ticket is 404),
 * service keys reach tickets only with `tickets:read` / `tickets:write` and only their allowed
 * projects, users by role, updates by the creator or a project admin. Also the typed HTTP and
 * RPC clients. SessionFS scenarios are cited (tests/server/integration/...).
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { SqlClient } from "effect/sql"
import * as Client from "trellis/client"
import * as TestKit from "trellis/testing"
import { TicketsApi } from "../Api.ts"
import { TicketsPlugin } from "../Plugin.ts"
import { TicketsRpcs } from "../Api.ts"
import { createTicket, expect, member, project, serviceKey, start, storedComments, ticketPath } from "./support.ts"
import type { CommentBody, ProblemBody, TicketBody } from "./support.ts"

const request = (method: "GET" | "POST" | "PUT" | "DELETE", path: string, token: string, body?: unknown) =>
  Effect.flatMap(TestKit.TrellisTest, (kit) => kit.request(method, path, { token, body }))

describe("tickets: access", () => {
  layer(TestKit.layer({ plugins: [TicketsPlugin] }), { timeout: 300_000 })((it) => {
    // test_tickets_api.py::test_list_comments_cross_project_404 and ::test_review_state_cross_project_denied
    it.effect("another organization's project and tickets answer 404 on every route, and its lists leave them out", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const outsider = yield* member("owner", "org_outside")
        const p = yield* project()
        const ticket = yield* createTicket(p.id, { title: "private" })
        yield* expect(yield* kit.request("POST", ticketPath(p.id, ticket.id, "/comments"), { body: { content: "secret" } }), 201)
        const attempts: ReadonlyArray<readonly ["GET" | "POST" | "PUT" | "DELETE", string, unknown?]> = [
          ["GET", `/api/v1/projects/${p.id}`],
          ["GET", `/api/v1/projects/${p.git_remote_normalized}`],
          ["DELETE", `/api/v1/projects/${p.id}`],
          ["GET", `/api/v1/projects/${p.id}/tickets`],
          ["POST", `/api/v1/projects/${p.id}/tickets`, { title: "intrude" }],
          ["GET", ticketPath(p.id, ticket.id)],
          ["PUT", ticketPath(p.id, ticket.id), { title: "hijack" }],
          ["POST", ticketPath(p.id, ticket.id, "/start")],
          ["POST", ticketPath(p.id, ticket.id, "/dismiss")],
          ["POST", ticketPath(p.id, ticket.id, "/escalate")],
          ["GET", ticketPath(p.id, ticket.id, "/comments")],
          ["POST", ticketPath(p.id, ticket.id, "/comments"), { content: "hi" }],
          ["GET", ticketPath(p.id, ticket.id, "/review-state")],
          ["GET", ticketPath(p.id, ticket.id, "/edits")]
        ]
        for (const [method, path, body] of attempts) {
          const response = yield* request(method, path, outsider.key, body)
          assert.strictEqual((yield* expect<ProblemBody>(response, 404)).code, "project_not_found", `${method} ${path}`)
        }
        const theirs = yield* expect<ReadonlyArray<{ id: string }>>(yield* request("GET", "/api/v1/projects/", outsider.key), 200)
        assert.isFalse(theirs.some((x) => x.id === p.id))
        // The same remote may be registered by the other organization: remotes are unique per organization.
        const own = yield* request("POST", "/api/v1/projects/", outsider.key, { name: "mine", git_remote_normalized: p.git_remote_normalized })
        assert.notStrictEqual((yield* expect<{ id: string }>(own, 201)).id, p.id)
        // `sfs project init --org`: naming another organization is refused, and nothing is created anywhere.
        const projectCount = Effect.map(Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: number }>`SELECT count(*)::int AS n FROM tickets.projects`), (rows) => rows[0].n)
        const before = yield* projectCount
        const elsewhere = yield* request("POST", "/api/v1/projects/", outsider.key, { name: "there", git_remote_normalized: "acme/there", org_id: "org_default" })
        assert.strictEqual((yield* expect<ProblemBody>(elsewhere, 403)).code, "cross_org_denied")
        assert.strictEqual(yield* projectCount, before)
        const named = yield* request("POST", "/api/v1/projects/", outsider.key, { name: "here", git_remote_normalized: "acme/here", org_id: "org_outside" })
        yield* expect(named, 201)
        const unchanged = yield* expect<TicketBody>(yield* kit.request("GET", ticketPath(p.id, ticket.id)), 200)
        assert.deepStrictEqual([unchanged.status, unchanged.title], ["open", "private"])
        assert.lengthOf(yield* storedComments(ticket.id), 1)
      }))

    // test_scoped_service_keys.py::test_service_key_tickets_read_routes_allowed
    it.effect("a tickets:read service key lists and reads tickets, comments and review state", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const p = yield* project()
        const ticket = yield* createTicket(p.id, { title: "readable" })
        yield* expect(yield* kit.request("POST", ticketPath(p.id, ticket.id, "/comments"), { body: { content: "ready for polling" } }), 201)
        const reader = yield* serviceKey(["tickets:read"], { projectIds: [p.id] })
        const list = yield* expect<ReadonlyArray<TicketBody>>(yield* request("GET", `/api/v1/projects/${p.id}/tickets`, reader.key), 200)
        assert.deepStrictEqual(list.map((t) => t.id), [ticket.id])
        assert.strictEqual((yield* expect<TicketBody>(yield* request("GET", ticketPath(p.id, ticket.id), reader.key), 200)).id, ticket.id)
        const comments = yield* expect<ReadonlyArray<CommentBody>>(yield* request("GET", ticketPath(p.id, ticket.id, "/comments"), reader.key), 200)
        assert.strictEqual(comments[0].content, "ready for polling")
        assert.deepStrictEqual(
          yield* expect(yield* request("GET", ticketPath(p.id, ticket.id, "/review-state"), reader.key), 200),
          { ticket_id: ticket.id, review_state: null }
        )
        // SessionFS's project routes are for user keys only (`get_current_user`).
        for (const path of [`/api/v1/projects/${p.id}`, "/api/v1/projects/", `/api/v1/projects/${encodeURIComponent(p.git_remote_normalized)}`]) {
          assert.strictEqual((yield* expect<ProblemBody>(yield* request("GET", path, reader.key), 403)).code, "service_key_not_allowed", path)
        }
      }))

    // test_scoped_service_keys.py::test_service_key_tickets_insufficient_scope_denied
    it.effect("a tickets:read service key may not write: 403 insufficient_scope naming tickets:write", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const ticket = yield* createTicket(p.id, { title: "read only" })
        const reader = yield* serviceKey(["tickets:read"], { projectIds: [p.id] })
        const response = yield* request("POST", ticketPath(p.id, ticket.id, "/comments"), reader.key, { content: "should not write" })
        const problem = yield* expect<ProblemBody>(response, 403)
        assert.deepStrictEqual([problem.code, problem.required, problem.current], ["insufficient_scope", ["tickets:write"], ["tickets:read"]])
        assert.lengthOf(yield* storedComments(ticket.id), 0)
      }))

    // test_scoped_service_keys.py::test_service_key_can_create_ticket_with_write_scope
    // and ::test_service_key_tickets_write_routes_allowed_and_comment_audited
    it.effect("a tickets:write service key creates, comments, claims and completes; the audit log names the key", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const p = yield* project()
        const writer = yield* serviceKey(["tickets:write"], { projectIds: [p.id] })
        const created = yield* expect<TicketBody>(yield* request("POST", `/api/v1/projects/${p.id}/tickets`, writer.key, {
          title: "Scout surfaced a backend follow-up",
          description: "Created by scoped service key",
          priority: "medium",
          acceptance_criteria: ["route accepts scoped key"]
        }), 201)
        assert.strictEqual(created.created_by_user_id, writer.id)
        const note = yield* expect<CommentBody>(
          yield* request("POST", ticketPath(p.id, created.id, "/comments"), writer.key, { content: "triage says start this", author_persona: "n8n" }),
          201
        )
        assert.strictEqual(note.author_user_id, writer.id)
        const started = yield* expect<{ ticket: TicketBody }>(yield* request("POST", ticketPath(p.id, created.id, "/start"), writer.key), 200)
        assert.strictEqual(started.ticket.lease_holder, writer.id)
        const completed = yield* request("POST", ticketPath(p.id, created.id, "/complete"), writer.key, { notes: "finished", lease_epoch: started.ticket.lease_epoch })
        assert.strictEqual((yield* expect<TicketBody>(completed, 200)).status, "review")
        const actors = yield* sql<{ action: string; actor_id: string; actor_kind: string }>`
          SELECT action, actor_id, actor_kind FROM audit.entries WHERE target_id = ${created.id} ORDER BY seq`
        assert.deepStrictEqual(actors.map((a) => a.action), ["tickets.ticket.create", "tickets.comment.create", "tickets.ticket.start", "tickets.ticket.complete"])
        for (const actor of actors) assert.deepStrictEqual([actor.actor_id, actor.actor_kind], [writer.id, "service-key"])
        // Service keys never reach project deletion, the settings, or the routes SessionFS keeps for
        // user keys (update, accept and the other moves, project creation and context).
        assert.strictEqual((yield* expect<ProblemBody>(yield* request("DELETE", `/api/v1/projects/${p.id}`, writer.key), 403)).code, "service_key_not_allowed")
        const userOnly: ReadonlyArray<readonly [string, string, unknown]> = [
          ["PUT", ticketPath(p.id, created.id), { title: "renamed by a key" }],
          ["POST", ticketPath(p.id, created.id, "/accept"), undefined],
          ["POST", ticketPath(p.id, created.id, "/resolve"), undefined],
          ["POST", ticketPath(p.id, created.id, "/dismiss"), undefined],
          ["POST", ticketPath(p.id, created.id, "/reopen"), undefined],
          ["POST", ticketPath(p.id, created.id, "/block"), undefined],
          ["POST", "/api/v1/projects/", { name: "by a key", git_remote_normalized: "acme/by-a-key" }],
          ["PUT", `/api/v1/projects/${p.id}/context`, { context_document: "# by a key" }]
        ]
        for (const [method, path, body] of userOnly) {
          const refused = yield* expect<ProblemBody>(yield* request(method as "PUT" | "POST", path, writer.key, body), 403)
          assert.strictEqual(refused.code, "service_key_not_allowed", `${method} ${path}`)
        }
        const still = yield* expect<TicketBody>(yield* request("GET", ticketPath(p.id, created.id), (yield* TestKit.TrellisTest).adminToken), 200)
        assert.deepStrictEqual([still.status, still.title], ["review", "Scout surfaced a backend follow-up"])
        const settings = yield* request("PUT", "/api/v1/tickets/settings", writer.key, { require_lease_epoch_on_ticket_writes: true })
        assert.strictEqual((yield* expect<ProblemBody>(settings, 403)).code, "service_key_not_allowed")
      }))

    // test_scoped_service_keys.py::test_service_key_tickets_project_allowlist_denied_before_write
    it.effect("a project-restricted service key is refused other projects before anything is written", () =>
      Effect.gen(function*() {
        const allowed = yield* project()
        const denied = yield* project()
        const deniedTicket = yield* createTicket(denied.id, { title: "off limits" })
        const key = yield* serviceKey(["tickets:read", "tickets:write"], { projectIds: [allowed.id] })
        const read = yield* expect<ProblemBody>(yield* request("GET", `/api/v1/projects/${denied.id}/tickets`, key.key), 403)
        assert.deepStrictEqual(
          [read.code, read.allowed_project_ids, read.requested_project_id],
          ["project_not_in_allowlist", [allowed.id], denied.id]
        )
        const write = yield* request("POST", ticketPath(denied.id, deniedTicket.id, "/comments"), key.key, { content: "must not land" })
        assert.strictEqual((yield* expect<ProblemBody>(write, 403)).code, "project_not_in_allowlist")
        assert.lengthOf(yield* storedComments(deniedTicket.id), 0)
      }))

    // SessionFS's assert_service_key_can_access_project: another organization's project id with a
    // service key is 403 cross_org_denied (a user still gets the platform's 404).
    it.effect("a service key naming another organization's project id: 403 cross_org_denied that names nothing of it", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const secret = yield* createTicket(p.id, { title: "secret plans of the default org" })
        const admin = yield* member("admin", "org_cross_keys")
        const key = yield* serviceKey(["tickets:read", "tickets:write"], { organizationId: "org_cross_keys", token: admin.key })
        const probes: ReadonlyArray<readonly ["GET" | "POST", string, unknown]> = [
          ["GET", `/api/v1/projects/${p.id}/tickets`, undefined],
          ["GET", ticketPath(p.id, secret.id), undefined],
          ["POST", ticketPath(p.id, secret.id, "/comments"), { content: "from another org" }],
          ["POST", `/api/v1/projects/${p.id}/tickets`, { title: "planted" }]
        ]
        for (const [method, path, body] of probes) {
          const response = yield* request(method, path, key.key, body)
          const text = yield* response.text
          assert.strictEqual(response.status, 403, text)
          assert.strictEqual((JSON.parse(text) as ProblemBody).code, "cross_org_denied", path)
          for (const leak of [p.name, p.git_remote_normalized, secret.title, "org_default"]) assert.notInclude(text, leak, path)
        }
        assert.lengthOf(yield* storedComments(secret.id), 0)
        // A user of the other organization: the platform's 404; an unknown id with the key: 404.
        const user = yield* request("GET", `/api/v1/projects/${p.id}/tickets`, admin.key)
        assert.strictEqual((yield* expect<ProblemBody>(user, 404)).code, "project_not_found")
        const unknown = yield* request("GET", "/api/v1/projects/proj_nothing_here/tickets", key.key)
        assert.strictEqual((yield* expect<ProblemBody>(unknown, 404)).code, "project_not_found")
      }))

    // test_scoped_service_keys.py::test_service_key_ticket_lease_required_mode_and_stale_fence
    it.effect("a service key under the organization's lease requirement: 422 without lease_epoch, 409 stale, 200 current", () =>
      Effect.gen(function*() {
        const admin = yield* member("admin", "org_service_lease")
        yield* expect(yield* request("PUT", "/api/v1/tickets/settings", admin.key, { require_lease_epoch_on_ticket_writes: true }), 200)
        const p = yield* project(admin.key)
        const ticket = yield* createTicket(p.id, { title: "fenced", assigned_to: "atlas" }, admin.key)
        const key = yield* serviceKey(["tickets:write"], { projectIds: [p.id], organizationId: "org_service_lease", token: admin.key })
        const started = yield* expect<{ ticket: TicketBody }>(yield* request("POST", ticketPath(p.id, ticket.id, "/start"), key.key), 200)
        const epoch = started.ticket.lease_epoch
        assert.strictEqual((yield* request("POST", ticketPath(p.id, ticket.id, "/comments"), key.key, { content: "no lease" })).status, 422)
        yield* expect(yield* request("POST", ticketPath(p.id, ticket.id, "/comments"), key.key, { content: "with lease", lease_epoch: epoch }), 201)
        assert.strictEqual((yield* request("POST", ticketPath(p.id, ticket.id, "/complete"), key.key, { notes: "no lease" })).status, 422)
        assert.strictEqual((yield* request("POST", ticketPath(p.id, ticket.id, "/complete"), key.key, { notes: "stale", lease_epoch: epoch - 1 })).status, 409)
        const done = yield* request("POST", ticketPath(p.id, ticket.id, "/complete"), key.key, { notes: "done", lease_epoch: epoch })
        assert.strictEqual((yield* expect<TicketBody>(done, 200)).status, "review")
      }))

    it.effect("users by role: a viewer reads but may not write; an editor writes", () =>
      Effect.gen(function*() {
        const viewer = yield* member("viewer")
        const editor = yield* member("editor")
        const p = yield* project()
        yield* expect(yield* request("GET", `/api/v1/projects/${p.id}/tickets`, viewer.key), 200)
        const denied = yield* request("POST", `/api/v1/projects/${p.id}/tickets`, viewer.key, { title: "nope" })
        assert.strictEqual((yield* expect<ProblemBody>(denied, 403)).code, "insufficient_role")
        yield* expect(yield* request("POST", `/api/v1/projects/${p.id}/tickets`, editor.key, { title: "yes" }), 201)
      }))

    it.effect("PUT is for the ticket's creator or a project admin; a persona name grants nothing", () =>
      Effect.gen(function*() {
        const creator = yield* member("editor")
        const stranger = yield* member("editor")
        const orgAdmin = yield* member("admin")
        const p = yield* project()
        const ticket = yield* createTicket(p.id, { title: "mine", assigned_to: "atlas" }, creator.key)
        const denied = yield* request("PUT", ticketPath(p.id, ticket.id), stranger.key, { title: "theirs" })
        assert.strictEqual((yield* expect<ProblemBody>(denied, 403)).code, "not_ticket_editor")
        assert.lengthOf(yield* storedComments(ticket.id), 0)
        yield* expect(yield* request("PUT", ticketPath(p.id, ticket.id), creator.key, { title: "still mine" }), 200)
        const byAdmin = yield* expect<TicketBody>(yield* request("PUT", ticketPath(p.id, ticket.id), orgAdmin.key, { priority: "high" }), 200)
        assert.deepStrictEqual([byAdmin.title, byAdmin.priority], ["still mine", "high"])
        // The project's owner administers it too.
        const owner = yield* member("editor")
        const owned = yield* project(owner.key)
        const someone = yield* createTicket(owned.id, { title: "filed by someone" }, stranger.key)
        yield* expect(yield* request("PUT", ticketPath(owned.id, someone.id), owner.key, { description: "triaged" }), 200)
      }))

    // test_tickets_api.py::test_org_member_non_admin_cannot_create_issue, ::test_org_admin_can_create_issue
    // and ::test_close_requires_owner_or_admin
    it.effect("issues are filed and closed by the project owner or an organization admin only", () =>
      Effect.gen(function*() {
        const editor = yield* member("editor")
        const orgAdmin = yield* member("admin")
        const p = yield* project()
        const denied = yield* request("POST", `/api/v1/projects/${p.id}/tickets`, editor.key, { title: "Member-filed issue", kind: "issue", assigned_to: "compass" })
        assert.strictEqual((yield* expect<ProblemBody>(denied, 403)).code, "not_project_admin")
        const issue = yield* expect<TicketBody>(yield* request("POST", `/api/v1/projects/${p.id}/tickets`, orgAdmin.key, { title: "Admin-filed issue", kind: "issue" }), 201)
        assert.strictEqual(issue.kind, "issue")
        yield* start(p.id, issue.id, editor.key)
        const close = yield* request("POST", ticketPath(p.id, issue.id, "/close"), editor.key)
        assert.strictEqual((yield* expect<ProblemBody>(close, 403)).code, "not_project_admin")
        assert.strictEqual((yield* expect<TicketBody>(yield* request("POST", ticketPath(p.id, issue.id, "/close"), orgAdmin.key), 200)).status, "closed")
      }))

    it.effect("a project is deleted by its owner or an organization admin only", () =>
      Effect.gen(function*() {
        const owner = yield* member("editor")
        const other = yield* member("editor")
        const p = yield* project(owner.key)
        const denied = yield* request("DELETE", `/api/v1/projects/${p.id}`, other.key)
        assert.strictEqual((yield* expect<ProblemBody>(denied, 403)).code, "not_project_admin")
        assert.deepStrictEqual(yield* expect(yield* request("DELETE", `/api/v1/projects/${p.id}`, owner.key), 200), { status: "deleted", id: p.id })
        assert.strictEqual((yield* request("GET", `/api/v1/projects/${p.id}`, owner.key)).status, 404)
      }))

    it.effect("projects: 409 on a duplicate remote; found by id, by encoded remote and by remote as a path", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const p = yield* project()
        const again = yield* kit.request("POST", "/api/v1/projects/", { body: { name: "dup", git_remote_normalized: p.git_remote_normalized } })
        const problem = yield* expect<ProblemBody>(again, 409)
        assert.deepStrictEqual([problem.code, problem.project_id], ["project_exists", p.id])
        for (const path of [`/api/v1/projects/${p.id}`, `/api/v1/projects/${encodeURIComponent(p.git_remote_normalized)}`, `/api/v1/projects/${p.git_remote_normalized}`]) {
          assert.strictEqual((yield* expect<{ id: string }>(yield* kit.request("GET", path), 200)).id, p.id, path)
        }
        const deep = yield* expect<{ id: string }>(yield* kit.request("POST", "/api/v1/projects", { body: { name: "deep", git_remote_normalized: "github.com/acme/deep" } }), 201)
        assert.strictEqual((yield* expect<{ id: string }>(yield* kit.request("GET", "/api/v1/projects/github.com/acme/deep"), 200)).id, deep.id)
        const listed = yield* expect<ReadonlyArray<{ id: string }>>(yield* kit.request("GET", "/api/v1/projects"), 200)
        assert.isTrue(listed.some((x) => x.id === deep.id))
        const spec = yield* expect<{ paths: Record<string, unknown> }>(yield* kit.request("GET", "/openapi.json"), 200)
        for (const path of ["/api/v1/projects/", "/api/v1/projects/{project_id}/tickets/{ticket_id}/start", "/api/v1/tickets/settings"]) {
          assert.property(spec.paths, path)
        }
      }))

    it.effect("the typed HTTP client: projects, tickets, a stale write decoded as StaleLeaseEpoch", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const client = yield* Client.make(TicketsApi, { baseUrl: kit.baseUrl, token: kit.adminToken })
        const remote = `acme/typed-${crypto.randomUUID().slice(0, 6)}`
        const p = yield* client.ticketProjects.createProject({ payload: { name: "typed", git_remote_normalized: remote } })
        const found = yield* client.ticketProjects.getProject({ params: { project: remote } })
        assert.strictEqual(found.id, p.id)
        const t = yield* client.tickets.create({ params: { project_id: p.id }, payload: { title: "typed ticket", depends_on: [] } })
        const started = yield* client.tickets.start({ params: { project_id: p.id, ticket_id: t.id }, query: {}, headers: {} })
        assert.strictEqual(started.ticket.lease_epoch, 1)
        const stale = yield* client.tickets.complete({
          params: { project_id: p.id, ticket_id: t.id },
          payload: { notes: "late", lease_epoch: 0 }
        }).pipe(Effect.flip)
        assert.strictEqual(stale._tag, "StaleLeaseEpoch")
        const escalated = yield* client.tickets.escalate({ params: { project_id: p.id, ticket_id: t.id }, payload: null })
        assert.strictEqual(escalated.priority, "high")
        const detail = yield* client.tickets.get({ params: { project_id: p.id, ticket_id: t.id } })
        assert.lengthOf(detail.recent_comments, 1)
      }))

    it.effect("the typed RPC client: the same operations at /rpc", () =>
      Effect.scoped(Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const rpc = yield* Client.makeRpc(TicketsRpcs, { baseUrl: kit.baseUrl, token: kit.adminToken })
        const p = yield* rpc["tickets.CreateProject"]({ payload: { name: "rpc", git_remote_normalized: `acme/rpc-${crypto.randomUUID().slice(0, 6)}` } })
        const a = yield* rpc["tickets.Create"]({ params: { project_id: p.id }, payload: { title: "A" } })
        const b = yield* rpc["tickets.Create"]({ params: { project_id: p.id }, payload: { title: "B", depends_on: [a.id] } })
        const ids = { project_id: p.id, ticket_id: a.id }
        const cycle = yield* Effect.exit(rpc["tickets.Update"]({ params: ids, payload: { depends_on: [b.id] } }))
        assert.isTrue(Exit.isFailure(cycle))
        const cycleError = yield* Effect.flip(rpc["tickets.Update"]({ params: ids, payload: { depends_on: [b.id] } }))
        assert.strictEqual(cycleError._tag, "DependencyCycle")
        const claimed = yield* rpc["tickets.Start"]({ params: ids, query: {}, headers: { "idempotency-key": "rpc-claim" } })
        const retried = yield* rpc["tickets.Start"]({ params: ids, query: {}, headers: { "idempotency-key": "rpc-claim" } })
        assert.strictEqual(retried.ticket.lease_epoch, claimed.ticket.lease_epoch)
        const held = yield* Effect.flip(rpc["tickets.Start"]({ params: ids, query: {}, headers: {} }))
        assert.strictEqual(held._tag, "LeaseHeld")
        yield* rpc["tickets.AddComment"]({ params: ids, payload: { content: "via rpc", lease_epoch: claimed.ticket.lease_epoch } })
        const done = yield* rpc["tickets.Complete"]({ params: ids, payload: { notes: "rpc done", lease_epoch: claimed.ticket.lease_epoch } })
        assert.strictEqual(done.status, "review")
        const resolved = yield* rpc["tickets.Resolve"]({ params: ids, query: {} })
        assert.strictEqual(resolved.status, "done")
        const comments = yield* rpc["tickets.ListComments"]({ params: { project_id: p.id, ticket_id: b.id }, query: {} })
        assert.isTrue(comments.some((c) => c.content.includes("rpc done")))
        const state = yield* rpc["tickets.ReviewState"]({ params: ids })
        assert.isNull(state.review_state)
        const illegal = yield* Effect.flip(rpc["tickets.Block"]({ params: ids }))
        assert.strictEqual(illegal._tag, "InvalidStatusTransition")
        const bad = yield* Effect.flip(rpc["tickets.ListComments"]({ params: ids, query: { since: "not a date" } }))
        assert.strictEqual(bad._tag, "InvalidRequest")
        const unauthenticated = yield* Client.makeRpc(TicketsRpcs, { baseUrl: kit.baseUrl, token: "not-a-token" })
        const refused = yield* Effect.flip(unauthenticated["tickets.ListProjects"]())
        assert.strictEqual(refused._tag, "Unauthorized")
      })))
  })
})
