/**
 * SessionFS's own ticket API scenarios, translated to Trellis (one test each, named after the
 * scenario; the comment gives its file and test in SessionFS's server suite,
 * tests/server/integration/). Personas, tiers and sessions are outside this plugin, so scenarios
 * about them are left out (see the README). Where Trellis answers differently on purpose, the
 * comment says so:
 * - a body that fails its schema answers the platform's validation problem (the wire dialect of
 *   the group decides its status);
 * - SessionFS's `accept` is served under both `resolve` (seed 001) and `accept`.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import * as TestKit from "trellis/testing"
import { TicketsPlugin } from "../Plugin.ts"
import { auditCount, createTicket, expect, expireLease, getTicket, member, project, start, storedComments, storedEdits, ticketPath } from "./support.ts"
import type { CommentBody, ProblemBody, TicketBody } from "./support.ts"

const post = (path: string, body?: unknown, token?: string) =>
  Effect.flatMap(TestKit.TrellisTest, (kit) => kit.request("POST", path, { body, token }))
const get = (path: string, token?: string) => Effect.flatMap(TestKit.TrellisTest, (kit) => kit.request("GET", path, { token }))
const put = (path: string, body: unknown, token?: string) => Effect.flatMap(TestKit.TrellisTest, (kit) => kit.request("PUT", path, { body, token }))

const listTickets = (projectId: string, query = "") =>
  Effect.flatMap(get(`/api/v1/projects/${projectId}/tickets${query}`), (r) => expect<ReadonlyArray<TicketBody>>(r, 200))

const comment = (projectId: string, ticketId: string, body: Record<string, unknown>) =>
  Effect.flatMap(post(ticketPath(projectId, ticketId, "/comments"), body), (r) => expect<CommentBody>(r, 201))

const listComments = (projectId: string, ticketId: string, query = "") =>
  Effect.flatMap(get(ticketPath(projectId, ticketId, `/comments${query}`)), (r) => expect<ReadonlyArray<CommentBody>>(r, 200))

const reviewState = (projectId: string, ticketId: string) =>
  Effect.flatMap(get(ticketPath(projectId, ticketId, "/review-state")), (r) =>
    expect<{ ticket_id: string; review_state: null | Record<string, unknown> & { open_findings: ReadonlyArray<Record<string, unknown>>; closed_findings: ReadonlyArray<Record<string, unknown>>; rounds: ReadonlyArray<unknown> } }>(r, 200))

/** Two comments with the same `created_at`, written straight to the table (SessionFS's tie scenario). */
const insertComments = (ticketId: string, rows: ReadonlyArray<{ id: string; content: string; persona?: string; at: string }>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    for (const row of rows) {
      yield* sql`
        INSERT INTO tickets.ticket_comments (id, organization_id, ticket_id, author_user_id, author_persona, content, actor_kind, created_at)
        VALUES (${row.id}, 'org_default', ${ticketId}, 'admin', ${row.persona ?? null}, ${row.content}, 'admin-token', ${row.at}::timestamptz)`
    }
  })

const bulkComments = (ticketId: string, count: number, persona: string, from: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      INSERT INTO tickets.ticket_comments (id, organization_id, ticket_id, author_user_id, author_persona, content, actor_kind, created_at)
      SELECT 'tc_bulk_' || ${ticketId} || '_' || lpad(i::text, 4, '0'), 'org_default', ${ticketId}, 'admin', ${persona},
             'filler comment ' || i, 'admin-token', now() + ((${from} + i) * interval '1 second')
      FROM generate_series(0, ${count - 1}) AS i`
  })

describe("tickets: SessionFS's ticket API scenarios", () => {
  layer(TestKit.layer({ plugins: [TicketsPlugin] }), { timeout: 300_000 })((it) => {
    // test_tickets_api.py::test_create_human_ticket_defaults_to_open
    it.effect("test_create_human_ticket_defaults_to_open", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "Fix rate limit", description: "xxxxx" })
        assert.deepStrictEqual([t.status, t.priority, t.depends_on, t.created_by_user_id], ["open", "medium", [], "admin"])
      }))

    // test_tickets_api.py::test_list_tickets_with_filters (+ test_list_tickets_case_insensitive_assigned_to_filter)
    it.effect("test_list_tickets_with_filters", () =>
      Effect.gen(function*() {
        const p = yield* project()
        yield* createTicket(p.id, { title: "a1", assigned_to: "atlas", priority: "high" })
        yield* createTicket(p.id, { title: "p1", assigned_to: "prism", priority: "low" })
        yield* createTicket(p.id, { title: "legacy", assigned_to: "Atlas", priority: "medium" })
        assert.deepStrictEqual(sortTitles(yield* listTickets(p.id, "?assigned_to=atlas")), ["a1", "legacy"])
        assert.deepStrictEqual((yield* listTickets(p.id, "?priority=low")).map((t) => t.title), ["p1"])
        assert.deepStrictEqual((yield* listTickets(p.id, "?status=open&priority=high")).map((t) => t.title), ["a1"])
      }))

    // test_tickets_api.py::test_create_ticket_keeps_unknown_assigned_to_as_freetext
    it.effect("test_create_ticket_keeps_unknown_assigned_to_as_freetext", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "Free-text assignee", description: "No persona by this name", priority: "low", assigned_to: "some-future-persona" })
        assert.strictEqual(t.assigned_to, "some-future-persona")
      }))

    // test_tickets_api.py::test_get_ticket_404
    it.effect("test_get_ticket_404", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const missing = yield* get(ticketPath(p.id, "tk_missing"))
        assert.strictEqual((yield* expect<ProblemBody>(missing, 404)).code, "ticket_not_found")
      }))

    // test_tickets_api.py::test_put_updates_non_status_fields
    it.effect("test_put_updates_non_status_fields", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "old", priority: "low" })
        const updated = yield* expect<TicketBody>(yield* put(ticketPath(p.id, t.id), { title: "new", priority: "critical", assigned_to: "atlas" }), 200)
        assert.deepStrictEqual([updated.title, updated.priority, updated.assigned_to, updated.status], ["new", "critical", "atlas", "open"])
      }))

    // test_tickets_api.py::test_lifecycle_open_to_done_happy_path (+ test_existing_task_fsm_unchanged)
    it.effect("test_lifecycle_open_to_done_happy_path", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "Walk the FSM", assigned_to: "atlas" })
        const started = yield* start(p.id, t.id)
        assert.strictEqual(started.ticket.status, "in_progress")
        assert.isString(started.compiled_context)
        assert.isTrue(started.retrieval_audit_id.startsWith("ra_"))
        const completed = yield* expect<TicketBody>(yield* post(ticketPath(p.id, t.id, "/complete"), { notes: "Done.", changed_files: ["src/x.py"] }), 200)
        assert.deepStrictEqual([completed.status, completed.completion_notes, completed.changed_files], ["review", "Done.", ["src/x.py"]])
        const accepted = yield* expect<TicketBody>(yield* post(ticketPath(p.id, t.id, "/accept")), 200)
        assert.strictEqual(accepted.status, "done")
        assert.isNotNull(accepted.resolved_at)
      }))

    // test_tickets_api.py::test_ticket_lease_epoch_fences_complete_comment_and_resolve
    it.effect("test_ticket_lease_epoch_fences_complete_comment_and_resolve", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "Fence stale daemons", assigned_to: "atlas" })
        const started = yield* start(p.id, t.id)
        assert.isTrue(started.retrieval_audit_id.startsWith("ra_"))
        const epoch = started.ticket.lease_epoch
        assert.strictEqual(epoch, 1)
        assert.strictEqual((yield* post(ticketPath(p.id, t.id, "/comments"), { content: "stale", lease_epoch: epoch - 1 })).status, 409)
        yield* comment(p.id, t.id, { content: "current", lease_epoch: epoch })
        assert.strictEqual((yield* post(ticketPath(p.id, t.id, "/complete"), { notes: "stale", lease_epoch: epoch - 1 })).status, 409)
        const completed = yield* expect<TicketBody>(yield* post(ticketPath(p.id, t.id, "/complete"), { notes: "done", lease_epoch: epoch }), 200)
        assert.strictEqual(completed.status, "review")
        assert.strictEqual((yield* post(ticketPath(p.id, t.id, `/resolve?lease_epoch=${epoch - 1}`))).status, 409)
        const resolved = yield* expect<TicketBody>(yield* post(ticketPath(p.id, t.id, `/resolve?lease_epoch=${epoch}`)), 200)
        assert.strictEqual(resolved.status, "done")
      }))

    // test_tickets_api.py::test_force_start_increments_ticket_lease_epoch
    it.effect("test_force_start_increments_ticket_lease_epoch", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "Force lease", assigned_to: "atlas" })
        assert.strictEqual((yield* start(p.id, t.id)).ticket.lease_epoch, 1)
        yield* expect(yield* post(ticketPath(p.id, t.id, "/block")), 200)
        const forced = yield* expect<{ ticket: TicketBody }>(yield* post(ticketPath(p.id, t.id, "/start?force=true")), 200)
        assert.strictEqual(forced.ticket.lease_epoch, 2)
      }))

    // test_tickets_api.py::test_block_unblock_round_trip
    it.effect("test_block_unblock_round_trip", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "block test" })
        yield* start(p.id, t.id)
        assert.strictEqual((yield* expect<TicketBody>(yield* post(ticketPath(p.id, t.id, "/block")), 200)).status, "blocked")
        assert.strictEqual((yield* expect<TicketBody>(yield* post(ticketPath(p.id, t.id, "/unblock")), 200)).status, "in_progress")
      }))

    // test_tickets_api.py::test_reopen_review_to_open
    it.effect("test_reopen_review_to_open", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "reopen test" })
        yield* start(p.id, t.id)
        yield* expect(yield* post(ticketPath(p.id, t.id, "/complete"), { notes: "draft" }), 200)
        assert.strictEqual((yield* expect<TicketBody>(yield* post(ticketPath(p.id, t.id, "/reopen")), 200)).status, "open")
      }))

    // test_tickets_api.py::test_illegal_transitions_return_400: 400 with SessionFS's text, except
    // accept, which SessionFS answers 409 ("Cannot accept ticket: ...").
    it.effect("test_illegal_transitions_return_400", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "illegal" })
        for (const [route, body, target] of [["complete", { notes: "x" }, "review"], ["block", undefined, "blocked"]] as const) {
          const problem = yield* expect<ProblemBody>(yield* post(ticketPath(p.id, t.id, `/${route}`), body), 400)
          assert.strictEqual(problem.code, "invalid_status_transition", route)
          assert.strictEqual(problem.detail, `Cannot transition from 'open' to '${target}'. Legal transitions from 'open': cancelled, in_progress.`)
          assert.strictEqual(problem.current_status, "open")
          assert.deepStrictEqual([...(problem.allowed_transitions as Array<string>)].sort(), ["dismiss", "start"])
        }
        const accept = yield* expect<ProblemBody>(yield* post(ticketPath(p.id, t.id, "/accept")), 409)
        assert.strictEqual(accept.code, "status_conflict")
        assert.strictEqual(accept.detail, "Cannot accept ticket: current status is 'open', expected 'review'. Legal transitions from 'open': cancelled, in_progress.")
        const unchanged = yield* expect<TicketBody>(yield* get(ticketPath(p.id, t.id)), 200)
        assert.strictEqual(unchanged.status, "open")
      }))

    // test_tickets_api.py::test_start_409_when_already_in_progress
    it.effect("test_start_409_when_already_in_progress", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "race", assigned_to: "atlas" })
        yield* start(p.id, t.id)
        assert.strictEqual((yield* post(ticketPath(p.id, t.id, "/start"))).status, 409)
      }))

    // test_tickets_api.py::test_start_force_recovers_blocked_ticket
    it.effect("test_start_force_recovers_blocked_ticket", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "force-recover", assigned_to: "atlas" })
        yield* start(p.id, t.id)
        yield* expect(yield* post(ticketPath(p.id, t.id, "/block")), 200)
        const nope = yield* expect<ProblemBody>(yield* post(ticketPath(p.id, t.id, "/start")), 409)
        assert.include(nope.detail, "force=true")
        const forced = yield* expect<{ ticket: TicketBody }>(yield* post(ticketPath(p.id, t.id, "/start?force=true")), 200)
        assert.strictEqual(forced.ticket.status, "in_progress")
      }))

    // test_tickets_api.py::test_suggested_approve_to_open
    it.effect("test_suggested_approve_to_open", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "agent-created", description: "A".repeat(30), source: "agent", acceptance_criteria: ["c1"] })
        assert.strictEqual(t.status, "suggested")
        assert.strictEqual((yield* expect<TicketBody>(yield* post(ticketPath(p.id, t.id, "/approve")), 200)).status, "open")
      }))

    // test_tickets_api.py::test_suggested_dismiss_to_cancelled
    it.effect("test_suggested_dismiss_to_cancelled", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "agent-created", description: "A".repeat(30), source: "agent", acceptance_criteria: ["c1"] })
        assert.strictEqual((yield* expect<TicketBody>(yield* post(ticketPath(p.id, t.id, "/dismiss")), 200)).status, "cancelled")
      }))

    // test_tickets_api.py::test_agent_ticket_requires_acceptance_criteria
    it.effect("test_agent_ticket_requires_acceptance_criteria", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const response = yield* post(`/api/v1/projects/${p.id}/tickets`, { title: "missing-criteria", description: "A".repeat(30), source: "agent" })
        assert.include((yield* expect<ProblemBody>(response, 400)).detail?.toLowerCase(), "acceptance criteria")
      }))

    // test_tickets_api.py::test_agent_ticket_requires_min_description
    it.effect("test_agent_ticket_requires_min_description", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const response = yield* post(`/api/v1/projects/${p.id}/tickets`, { title: "too-short", description: "short", source: "agent", acceptance_criteria: ["c1"] })
        assert.include((yield* expect<ProblemBody>(response, 400)).detail, "20+ chars")
      }))

    // test_tickets_api.py::test_agent_ticket_per_session_quota
    it.effect("test_agent_ticket_per_session_quota", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const payload = { description: "A".repeat(30), source: "agent", acceptance_criteria: ["c1"], created_by_session_id: `ses_${crypto.randomUUID().slice(0, 8)}` }
        for (let i = 0; i < 3; i++) yield* createTicket(p.id, { ...payload, title: `agent-${i}` })
        const fourth = yield* post(`/api/v1/projects/${p.id}/tickets`, { ...payload, title: "agent-4" })
        assert.strictEqual((yield* expect<ProblemBody>(fourth, 429)).code, "agent_ticket_quota")
      }))

    // test_tickets_api.py::test_accept_enriches_dependent_with_comment_and_kb_refs
    it.effect("test_accept_enriches_dependent_with_comment_and_kb_refs", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const parent = yield* createTicket(p.id, { title: "parent", assigned_to: "atlas" })
        const child = yield* createTicket(p.id, { title: "child", context_refs: ["kb_existing"], depends_on: [parent.id] })
        assert.deepStrictEqual(child.depends_on, [parent.id])
        yield* start(p.id, parent.id)
        yield* expect(yield* post(ticketPath(p.id, parent.id, "/complete"), { notes: "Implemented the foundation", knowledge_entry_ids: ["kb_new1", "kb_new2"] }), 200)
        yield* expect(yield* post(ticketPath(p.id, parent.id, "/accept")), 200)
        const after = yield* getTicket(p.id, child.id)
        assert.deepStrictEqual(after.context_refs, ["kb_existing", "kb_new1", "kb_new2"])
        const comments = yield* storedComments(child.id)
        assert.lengthOf(comments, 1)
        assert.include(comments[0].content, "Implemented the foundation")
        assert.include(comments[0].content, parent.id)
      }))

    // test_tickets_api.py::test_accept_auto_unblocks_dependent_when_all_deps_done
    it.effect("test_accept_auto_unblocks_dependent_when_all_deps_done", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const parent = yield* createTicket(p.id, { title: "parent", assigned_to: "atlas" })
        const child = yield* createTicket(p.id, { title: "child", assigned_to: "atlas", depends_on: [parent.id] })
        yield* start(p.id, child.id)
        yield* expect(yield* post(ticketPath(p.id, child.id, "/block")), 200)
        assert.strictEqual((yield* getTicket(p.id, child.id)).status, "blocked")
        yield* start(p.id, parent.id)
        yield* expect(yield* post(ticketPath(p.id, parent.id, "/complete"), { notes: "Done" }), 200)
        yield* expect(yield* post(ticketPath(p.id, parent.id, "/accept")), 200)
        assert.strictEqual((yield* getTicket(p.id, child.id)).status, "in_progress")
      }))

    // test_tickets_api.py::test_cannot_create_dependency_cycle
    it.effect("test_cannot_create_dependency_cycle", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const a = yield* createTicket(p.id, { title: "A" })
        const b = yield* createTicket(p.id, { title: "B", depends_on: [a.id] })
        const c = yield* createTicket(p.id, { title: "C-chain", depends_on: [b.id] })
        assert.deepStrictEqual(c.depends_on, [b.id])
      }))

    // test_tickets_api.py::test_create_ticket_dedups_duplicate_depends_on
    it.effect("test_create_ticket_dedups_duplicate_depends_on", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const parent = yield* createTicket(p.id, { title: "parent" })
        const child = yield* createTicket(p.id, { title: "child", depends_on: [parent.id, parent.id, parent.id] })
        assert.deepStrictEqual(child.depends_on, [parent.id])
      }))

    // test_tickets_api.py::test_create_ticket_rejects_missing_dependency_id
    it.effect("test_create_ticket_rejects_missing_dependency_id", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const response = yield* post(`/api/v1/projects/${p.id}/tickets`, { title: "dangling", depends_on: ["tk_does_not_exist"] })
        const problem = yield* expect<ProblemBody>(response, 400)
        assert.include(problem.detail?.toLowerCase(), "unknown or cross-project")
        assert.lengthOf(yield* listTickets(p.id), 0)
      }))

    // test_tickets_api.py::test_create_ticket_rejects_cross_project_dependency
    it.effect("test_create_ticket_rejects_cross_project_dependency", () =>
      Effect.gen(function*() {
        const a = yield* project()
        const b = yield* project()
        const inA = yield* createTicket(a.id, { title: "in-a" })
        const response = yield* post(`/api/v1/projects/${b.id}/tickets`, { title: "cross-project-dep", depends_on: [inA.id] })
        assert.include((yield* expect<ProblemBody>(response, 400)).detail?.toLowerCase(), "cross-project")
      }))

    // test_tickets_api.py::test_concurrent_accept_returns_409_no_duplicate_enrichment
    it.effect("test_concurrent_accept_returns_409_no_duplicate_enrichment", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const parent = yield* createTicket(p.id, { title: "parent", assigned_to: "atlas" })
        const child = yield* createTicket(p.id, { title: "child", depends_on: [parent.id] })
        yield* start(p.id, parent.id)
        yield* expect(yield* post(ticketPath(p.id, parent.id, "/complete"), { notes: "Done" }), 200)
        const [first, second] = yield* Effect.all(
          [post(ticketPath(p.id, parent.id, "/accept")), post(ticketPath(p.id, parent.id, "/resolve"))],
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual([first.status, second.status].sort(), [200, 409])
        assert.lengthOf(yield* storedComments(child.id), 1)
      }))

    // test_tickets_api.py::test_list_comments_returns_chronological (+ test_ticket_comments_api.py::test_list_comments_returns_chronological)
    it.effect("test_list_comments_returns_chronological", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "t", description: "xxxxx" })
        for (const content of ["first", "second", "third"]) yield* comment(p.id, t.id, { content })
        assert.deepStrictEqual((yield* listComments(p.id, t.id)).map((c) => c.content), ["first", "second", "third"])
      }))

    // test_tickets_api.py::test_list_comments_empty_thread
    it.effect("test_list_comments_empty_thread", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "empty" })
        assert.deepStrictEqual(yield* listComments(p.id, t.id), [])
      }))

    // test_tickets_api.py::test_list_comments_missing_ticket_404 (+ test_ticket_comments_api.py::test_comment_on_missing_ticket_returns_404)
    it.effect("test_list_comments_missing_ticket_404", () =>
      Effect.gen(function*() {
        const p = yield* project()
        assert.strictEqual((yield* get(ticketPath(p.id, "tk_missing", "/comments"))).status, 404)
        assert.strictEqual((yield* post(ticketPath(p.id, "tk_missing", "/comments"), { content: "hello" })).status, 404)
      }))

    // test_tickets_api.py::test_list_comments_since_filter_incremental_polling
    it.effect("test_list_comments_since_filter_incremental_polling", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "polling", description: "xxxxx" })
        const c1 = yield* comment(p.id, t.id, { content: "old" })
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))
        const c2 = yield* comment(p.id, t.id, { content: "new" })
        const newer = yield* listComments(p.id, t.id, `?since=${encodeURIComponent(c1.created_at)}`)
        assert.deepStrictEqual(newer.map((c) => c.id), [c2.id])
        // SessionFS clients send `+00:00` offsets; an unencoded `+` arrives as a space and still works.
        const offset = c1.created_at.replace("Z", "+00:00")
        assert.deepStrictEqual((yield* listComments(p.id, t.id, `?since=${offset}`)).map((c) => c.id), [c2.id])
        const bad = yield* get(ticketPath(p.id, t.id, "/comments?since=yesterday"))
        assert.strictEqual((yield* expect<ProblemBody>(bad, 400)).code, "INVALID_REQUEST")
      }))

    // test_tickets_api.py::test_list_comments_since_id_tiebreaker_no_skip_on_same_timestamp
    it.effect("test_list_comments_since_id_tiebreaker_no_skip_on_same_timestamp", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "ties", description: "xxxxx" })
        const a = `tc_a_${t.id}`
        const b = `tc_b_${t.id}`
        const shared = new Date().toISOString()
        yield* insertComments(t.id, [{ id: a, content: "first", at: shared }, { id: b, content: "second", at: shared }])
        const rows = yield* listComments(p.id, t.id)
        assert.deepStrictEqual(rows.map((r) => r.id), [a, b])
        assert.strictEqual(rows[0].created_at, rows[1].created_at)
        const follow = yield* listComments(p.id, t.id, `?since=${encodeURIComponent(rows[0].created_at)}&since_id=${a}`)
        assert.deepStrictEqual(follow.map((r) => r.id), [b])
        assert.deepStrictEqual(yield* listComments(p.id, t.id, `?since=${encodeURIComponent(follow[0].created_at)}&since_id=${b}`), [])
        // since_id without since is ignored, as SessionFS does: the whole thread.
        assert.deepStrictEqual((yield* listComments(p.id, t.id, `?since_id=${a}`)).map((r) => r.id), [a, b])
      }))

    // test_tickets_api.py::test_list_comments_limit_caps_response
    it.effect("test_list_comments_limit_caps_response", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "lim", description: "xxxxx" })
        for (let i = 0; i < 5; i++) yield* comment(p.id, t.id, { content: `c${i}` })
        assert.lengthOf(yield* listComments(p.id, t.id, "?limit=2"), 2)
        assert.strictEqual((yield* get(ticketPath(p.id, t.id, "/comments?limit=501"))).status, 422)
      }))

    // test_tickets_api.py::test_review_state_returns_null_for_ticket_without_codex_comments
    it.effect("test_review_state_returns_null_for_ticket_without_codex_comments", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "regular work", description: "do stuff" })
        assert.deepStrictEqual(yield* reviewState(p.id, t.id), { ticket_id: t.id, review_state: null })
      }))

    // test_tickets_api.py::test_review_state_summarizes_full_review_cycle
    it.effect("test_review_state_summarizes_full_review_cycle", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "review thread", description: "x".repeat(20) })
        const r1 = "Codex R1 review on tk_x: CHANGES REQUESTED\n\nFindings:\n\n - MEDIUM - thing is broken\n\nVerified clean / no change needed:\n\n - other thing\n"
        yield* comment(p.id, t.id, { content: r1, author_persona: "codex-reviewer" })
        yield* comment(p.id, t.id, { content: "R1 closure - fixed in abc123", author_persona: "atlas" })
        const r2 = "Codex R2 review on tk_x: VERIFIED-CLEAN\n\nFindings: none.\n\nVerified:\n - all good\n"
        yield* comment(p.id, t.id, { content: r2, author_persona: "codex-reviewer" })
        const state = (yield* reviewState(p.id, t.id)).review_state
        assert.isNotNull(state)
        assert.strictEqual(state?.last_verdict, "VERIFIED-CLEAN")
        assert.lengthOf(state?.open_findings ?? [], 0)
        assert.lengthOf(state?.closed_findings ?? [], 1)
        const closed = state?.closed_findings[0]
        assert.deepStrictEqual([closed?.severity, closed?.round, closed?.closed_round], ["MEDIUM", 1, 2])
        assert.deepStrictEqual(state?.severity_counts, { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0 })
        assert.isNotNull(state?.last_review_comment_id)
        assert.isNotNull(state?.last_implementer_comment_id)
        assert.lengthOf(state?.rounds ?? [], 2)
      }))

    // test_tickets_api.py::test_review_state_unknown_ticket_returns_404
    it.effect("test_review_state_unknown_ticket_returns_404", () =>
      Effect.gen(function*() {
        const p = yield* project()
        assert.strictEqual((yield* get(ticketPath(p.id, "tk_does_not_exist", "/review-state"))).status, 404)
      }))

    // test_tickets_api.py::test_review_state_caps_at_500_comments
    it.effect("test_review_state_caps_at_500_comments", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "high-volume thread", description: "x".repeat(20) })
        yield* bulkComments(t.id, 510, "atlas", 0)
        assert.deepStrictEqual(yield* reviewState(p.id, t.id), { ticket_id: t.id, review_state: null })
      }))

    // test_tickets_api.py::test_review_state_cap_preserves_earliest_rounds
    it.effect("test_review_state_cap_preserves_earliest_rounds", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "high-volume with codex", description: "x".repeat(20) })
        const sql = yield* SqlClient.SqlClient
        yield* sql`
          INSERT INTO tickets.ticket_comments (id, organization_id, ticket_id, author_user_id, author_persona, content, actor_kind, created_at)
          VALUES (${`tc_codex_r1_${t.id}`}, 'org_default', ${t.id}, 'admin', 'codex-reviewer',
                  ${"Codex R1 review on tk_x: CHANGES REQUESTED\n\nFindings:\n\n - LOW - thing is broken\n"}, 'admin-token', now())`
        yield* bulkComments(t.id, 500, "atlas", 1)
        const state = (yield* reviewState(p.id, t.id)).review_state
        assert.isNotNull(state)
        assert.strictEqual(state?.last_verdict, "CHANGES_REQUESTED")
        assert.lengthOf(state?.open_findings ?? [], 1)
        assert.strictEqual(state?.open_findings[0].severity, "LOW")
      }))

    // test_tickets_api.py::test_default_kind_is_task
    it.effect("test_default_kind_is_task", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "Plain task" })
        assert.deepStrictEqual([t.kind, t.parent_ticket_id, t.child_ticket_ids], ["task", null, []])
      }))

    // test_tickets_api.py::test_owner_can_create_issue
    it.effect("test_owner_can_create_issue", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "Dashboard rules update broken for enterprise", kind: "issue" })
        assert.deepStrictEqual([t.kind, t.status, t.parent_ticket_id, t.child_ticket_ids], ["issue", "open", null, []])
      }))

    // test_tickets_api.py::test_task_can_have_issue_parent
    it.effect("test_task_can_have_issue_parent", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const issue = yield* createTicket(p.id, { title: "Rollup", kind: "issue" })
        const task = yield* createTicket(p.id, { title: "Child task", parent_ticket_id: issue.id })
        assert.deepStrictEqual([task.kind, task.parent_ticket_id], ["task", issue.id])
      }))

    // test_tickets_api.py::test_task_with_task_parent_rejected
    it.effect("test_task_with_task_parent_rejected", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const parent = yield* createTicket(p.id, { title: "Plain task parent" })
        const child = yield* post(`/api/v1/projects/${p.id}/tickets`, { title: "Child", parent_ticket_id: parent.id })
        assert.include((yield* expect<ProblemBody>(child, 422)).detail, "kind='issue'")
      }))

    // test_tickets_api.py::test_issue_with_parent_rejected
    it.effect("test_issue_with_parent_rejected", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const parent = yield* createTicket(p.id, { title: "Top issue", kind: "issue" })
        const nested = yield* post(`/api/v1/projects/${p.id}/tickets`, { title: "Nested issue", kind: "issue", parent_ticket_id: parent.id })
        assert.strictEqual((yield* expect<ProblemBody>(nested, 400)).code, "nested_issue")
      }))

    // test_tickets_api.py::test_cross_project_parent_rejected
    it.effect("test_cross_project_parent_rejected", () =>
      Effect.gen(function*() {
        const a = yield* project()
        const b = yield* project()
        const issueA = yield* createTicket(a.id, { title: "A-Issue", kind: "issue" })
        const cross = yield* post(`/api/v1/projects/${b.id}/tickets`, { title: "Cross-project child", parent_ticket_id: issueA.id })
        assert.strictEqual((yield* expect<ProblemBody>(cross, 422)).code, "invalid_parent")
      }))

    // test_tickets_api.py::test_get_issue_includes_child_ticket_ids
    it.effect("test_get_issue_includes_child_ticket_ids", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const issue = yield* createTicket(p.id, { title: "Rollup", kind: "issue" })
        const children: Array<string> = []
        for (let i = 0; i < 3; i++) children.push((yield* createTicket(p.id, { title: `Child ${i}`, parent_ticket_id: issue.id })).id)
        const detail = yield* getTicket(p.id, issue.id)
        assert.strictEqual(detail.kind, "issue")
        assert.deepStrictEqual([...detail.child_ticket_ids].sort(), [...children].sort())
      }))

    // test_tickets_api.py::test_get_task_has_empty_child_ticket_ids
    it.effect("test_get_task_has_empty_child_ticket_ids", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const task = yield* createTicket(p.id, { title: "Plain task" })
        assert.deepStrictEqual((yield* getTicket(p.id, task.id)).child_ticket_ids, [])
      }))

    // test_tickets_api.py::test_list_filters_by_kind
    it.effect("test_list_filters_by_kind", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const issue = yield* createTicket(p.id, { title: "An issue", kind: "issue" })
        const task = yield* createTicket(p.id, { title: "A task" })
        assert.deepStrictEqual((yield* listTickets(p.id)).map((t) => t.id).sort(), [issue.id, task.id].sort())
        assert.deepStrictEqual((yield* listTickets(p.id, "?kind=issue")).map((t) => t.id), [issue.id])
        assert.deepStrictEqual((yield* listTickets(p.id, "?kind=task")).map((t) => t.id), [task.id])
      }))

    // test_tickets_api.py::test_list_filter_rejects_invalid_kind
    it.effect("test_list_filter_rejects_invalid_kind", () =>
      Effect.gen(function*() {
        const p = yield* project()
        assert.strictEqual((yield* get(`/api/v1/projects/${p.id}/tickets?kind=invalid`)).status, 422)
      }))

    // test_tickets_api.py::test_create_rejects_invalid_kind — 422 INVALID_REQUEST (SessionFS's wire dialect)
    it.effect("test_create_rejects_invalid_kind", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const response = yield* post(`/api/v1/projects/${p.id}/tickets`, { title: "Wrong kind", kind: "epic" })
        const problem = yield* expect<ProblemBody & { errors: ReadonlyArray<{ path: string }> }>(response, 422)
        assert.strictEqual(problem.errors[0].path, "body.kind")
      }))

    // test_tickets_api.py::test_issue_close_lifecycle
    it.effect("test_issue_close_lifecycle", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const issue = yield* createTicket(p.id, { title: "Closeable", kind: "issue", assigned_to: "compass" })
        assert.strictEqual((yield* start(p.id, issue.id)).ticket.status, "in_progress")
        const closed = yield* expect<TicketBody>(yield* post(ticketPath(p.id, issue.id, "/close")), 200)
        assert.strictEqual(closed.status, "closed")
        assert.isNotNull(closed.resolved_at)
      }))

    // test_tickets_api.py::test_close_rejects_task
    it.effect("test_close_rejects_task", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const task = yield* createTicket(p.id, { title: "Plain task" })
        const response = yield* post(ticketPath(p.id, task.id, "/close"))
        assert.include((yield* expect<ProblemBody>(response, 400)).detail, "kind=")
      }))

    // test_tickets_api.py::test_issue_cancel_from_open
    it.effect("test_issue_cancel_from_open", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const issue = yield* createTicket(p.id, { title: "Filed by mistake", kind: "issue" })
        assert.strictEqual((yield* expect<TicketBody>(yield* post(ticketPath(p.id, issue.id, "/dismiss")), 200)).status, "cancelled")
      }))

    // test_tickets_api.py::test_compiled_context_surfaces_kind_and_parent
    it.effect("test_compiled_context_surfaces_kind_and_parent", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const issue = yield* createTicket(p.id, { title: "Rollup container", kind: "issue", assigned_to: "compass" })
        const task = yield* createTicket(p.id, { title: "Atlas child task", assigned_to: "atlas", parent_ticket_id: issue.id, description: "Do the thing" })
        const taskContext = (yield* start(p.id, task.id)).compiled_context
        assert.include(taskContext, "Kind: task")
        assert.include(taskContext, `Parent Issue: ${issue.id}`)
        assert.include(taskContext, "Rollup container")
        const issueContext = (yield* start(p.id, issue.id)).compiled_context
        assert.include(issueContext, "Kind: issue")
        assert.include(issueContext, "Child Tasks")
        assert.include(issueContext, task.id)
      }))

    // test_tickets_api.py::test_issue_cannot_use_block_route
    it.effect("test_issue_cannot_use_block_route", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const issue = yield* createTicket(p.id, { title: "I", kind: "issue", assigned_to: "compass" })
        yield* start(p.id, issue.id)
        const refused = yield* expect<ProblemBody>(yield* post(ticketPath(p.id, issue.id, "/block")), 400)
        assert.strictEqual(refused.code, "invalid_status_transition")
        assert.strictEqual(refused.detail, "Cannot transition from 'in_progress' to 'blocked'. Legal transitions from 'in_progress': cancelled, closed, open.")
      }))

    // test_tickets_api.py::test_agent_issue_skips_suggested_gate
    it.effect("test_agent_issue_skips_suggested_gate", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const issue = yield* createTicket(p.id, { title: "Auto-filed issue", kind: "issue", source: "agent", description: "short" })
        assert.strictEqual(issue.status, "open")
      }))

    // test_ticket_comments_api.py::test_post_comment_returns_201_and_persists
    it.effect("test_post_comment_returns_201_and_persists", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "comment-test" })
        const c = yield* comment(p.id, t.id, { content: "Progress update: investigating..." })
        assert.deepStrictEqual(
          [c.ticket_id, c.author_user_id, c.content, c.author_persona, c.session_id],
          [t.id, "admin", "Progress update: investigating...", null, null]
        )
        assert.isTrue(c.id.startsWith("tc_"))
        assert.deepStrictEqual((yield* getTicket(p.id, t.id)).recent_comments.map((r) => r.id), [c.id])
      }))

    // test_ticket_comments_api.py::test_comment_with_persona_attribution
    it.effect("test_comment_with_persona_attribution", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "persona-comment-test" })
        assert.strictEqual((yield* comment(p.id, t.id, { content: "Speaking as atlas", author_persona: "atlas" })).author_persona, "atlas")
        // SessionFS accepts any persona, `system` too (its agents post system notes).
        const system = yield* comment(p.id, t.id, { content: "Automated note", author_persona: "system" })
        assert.strictEqual(system.author_persona, "system")
      }))

    // test_ticket_comments_api.py::test_empty_comment_rejected
    it.effect("test_empty_comment_rejected", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "empty-test" })
        assert.strictEqual((yield* post(ticketPath(p.id, t.id, "/comments"), { content: "   " })).status, 422)
        assert.lengthOf(yield* storedComments(t.id), 0)
      }))

    // test_ticket_comments_api.py::test_start_returns_compiled_context_with_persona (the ticket part; personas are not in this plugin)
    it.effect("test_start_returns_compiled_context_with_persona (ticket sections)", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, {
          title: "Fix the rate limiter",
          description: "The KB search endpoint allows unbounded queries.",
          assigned_to: "atlas",
          priority: "high",
          acceptance_criteria: ["Per-user rate limit", "Tier-aware"],
          file_refs: ["src/sessionfs/server/routes/knowledge.py"]
        })
        const started = yield* start(p.id, t.id)
        assert.strictEqual(started.ticket.status, "in_progress")
        const ctx = started.compiled_context
        for (const part of ["Fix the rate limiter", "Priority: high", "- [ ] Per-user rate limit", "- [ ] Tier-aware", "src/sessionfs/server/routes/knowledge.py"]) {
          assert.include(ctx, part)
        }
      }))

    // test_ticket_comments_api.py::test_start_context_omits_persona_when_unassigned
    it.effect("test_start_context_omits_persona_when_unassigned", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "unassigned" })
        const ctx = (yield* start(p.id, t.id)).compiled_context
        assert.notInclude(ctx, "You are ")
        assert.include(ctx, "Current Ticket: unassigned")
      }))

    // test_ticket_comments_api.py::test_start_context_includes_recent_comments
    it.effect("test_start_context_includes_recent_comments", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "comments-in-context", assigned_to: "atlas" })
        yield* comment(p.id, t.id, { content: "Spotted a related bug in the cache layer." })
        const ctx = (yield* start(p.id, t.id)).compiled_context
        assert.include(ctx, "Recent Comments")
        assert.include(ctx, "Spotted a related bug")
      }))

    // test_ticket_comments_api.py::test_start_context_tool_specific_truncation (a long description stands in for the persona)
    it.effect("test_start_context_tool_specific_truncation", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const huge = "## section\n" + "- detail\n".repeat(5000)
        const forCursor = yield* createTicket(p.id, { title: "trunc-cursor", description: huge })
        const forClaude = yield* createTicket(p.id, { title: "trunc-claude", description: huge })
        const cursor = yield* expect<{ compiled_context: string }>(yield* post(ticketPath(p.id, forCursor.id, "/start?tool=cursor")), 200)
        const claude = yield* expect<{ compiled_context: string }>(yield* post(ticketPath(p.id, forClaude.id, "/start?tool=claude-code")), 200)
        assert.include(cursor.compiled_context, "[...truncated to fit tool token limit]")
        assert.isAbove(claude.compiled_context.length, cursor.compiled_context.length)
      }))

    // test_tickets_api.py::test_update_ticket_lease_epoch_fence_409s_on_stale
    it.effect("test_update_ticket_lease_epoch_fence_409s_on_stale", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const created = yield* createTicket(p.id, { title: "Fenced", description: "x", priority: "low" })
        const initial = created.lease_epoch
        const ok = yield* expect<TicketBody>(yield* put(ticketPath(p.id, created.id), { title: "Fenced v2", lease_epoch: initial }), 200)
        assert.strictEqual(ok.lease_epoch, initial + 1)
        const stale = yield* expect<ProblemBody>(yield* put(ticketPath(p.id, created.id), { title: "Should not win", lease_epoch: initial }), 409)
        assert.deepStrictEqual([stale.code, stale.passed_lease_epoch, stale.current_lease_epoch], ["stale_lease_epoch", initial, initial + 1])
        assert.strictEqual(stale.detail, "Ticket lease_epoch has advanced since you read it. Re-fetch the ticket and retry.")
        const after = yield* getTicket(p.id, created.id)
        assert.deepStrictEqual([after.title, after.lease_epoch], ["Fenced v2", initial + 1])
        // The edit row records the epoch the write took; an unfenced write leaves the epoch alone.
        const edits = yield* expect<ReadonlyArray<{ field_name: string; lease_epoch: number }>>(yield* get(ticketPath(p.id, created.id, "/edits")), 200)
        assert.deepStrictEqual(edits.map((e) => [e.field_name, e.lease_epoch]), [["title", initial + 1]])
        const unfenced = yield* expect<TicketBody>(yield* put(ticketPath(p.id, created.id), { priority: "high" }), 200)
        assert.strictEqual(unfenced.lease_epoch, initial + 1)
        // A fenced write that changes nothing still takes the epoch, as SessionFS's does (no comment, no edit).
        const noop = yield* expect<TicketBody>(yield* put(ticketPath(p.id, created.id), { priority: "high", lease_epoch: initial + 1 }), 200)
        assert.strictEqual(noop.lease_epoch, initial + 2)
        assert.lengthOf(yield* storedEdits(created.id), 2)
        // Three writes, three audit entries (the fenced no-op's records the epoch it took).
        assert.strictEqual(yield* auditCount("tickets.ticket.update", created.id), 3)
      }))

    it.effect("a fenced PUT takes the epoch, so a worker holding it can no longer complete: the claim moved", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "claimed then edited" })
        const claimed = yield* start(p.id, t.id)
        const epoch = claimed.ticket.lease_epoch
        yield* expect(yield* put(ticketPath(p.id, t.id), { description: "refined", lease_epoch: epoch }), 200)
        const late = yield* expect<ProblemBody>(yield* post(ticketPath(p.id, t.id, "/complete"), { notes: "done", lease_epoch: epoch }), 409)
        assert.deepStrictEqual([late.code, late.current_lease_epoch], ["stale_lease_epoch", epoch + 1])
        assert.strictEqual((yield* getTicket(p.id, t.id)).status, "in_progress")
      }))

    it.effect("related_sessions is editable through PUT, with its edit row", () =>
      Effect.gen(function*() {
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "sessions", related_sessions: ["ses_a"] })
        const updated = yield* expect<TicketBody>(yield* put(ticketPath(p.id, t.id), { related_sessions: ["ses_a", "ses_b"] }), 200)
        assert.deepStrictEqual(updated.related_sessions, ["ses_a", "ses_b"])
        assert.deepStrictEqual((yield* storedEdits(t.id)).map((e) => e.field_name), ["related_sessions"])
        // related_sessions alone is a mutation (SessionFS's list), lease_epoch alone is not.
        const fenceOnly = yield* expect<ProblemBody>(yield* put(ticketPath(p.id, t.id), { lease_epoch: 0 }), 400)
        assert.include(fenceOnly.mutable_fields as ReadonlyArray<string>, "related_sessions")
      }))

    it.effect("leases never expire by default (SessionFS's clients never renew): another worker cannot take the ticket", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const other = yield* member("editor")
        const p = yield* project()
        const t = yield* createTicket(p.id, { title: "long task" })
        const claimed = yield* start(p.id, t.id)
        assert.isNull(claimed.ticket.lease_expires_at)
        const settings = yield* expect<{ lease_seconds: number | null; effective_lease_seconds: number }>(
          yield* get(`/api/v1/tickets/settings/projects/${p.id}`),
          200
        )
        assert.deepStrictEqual([settings.lease_seconds, settings.effective_lease_seconds], [null, 0])
        const steal = yield* kit.request("POST", ticketPath(p.id, t.id, "/start"), { token: other.key })
        const held = yield* expect<ProblemBody>(steal, 409)
        assert.deepStrictEqual([held.code, held.lease_expires_at], ["lease_held", null])
        const renewed = yield* expect<TicketBody>(yield* post(ticketPath(p.id, t.id, "/renew"), { lease_epoch: claimed.ticket.lease_epoch }), 200)
        assert.isNull(renewed.lease_expires_at)
      }))

    it.effect("a project sets its own lease length (project owner or organization admin); 0 is never, null the server's", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const editor = yield* member("editor")
        const other = yield* member("editor")
        const p = yield* project()
        const path = `/api/v1/tickets/settings/projects/${p.id}`
        const refused = yield* kit.request("PUT", path, { token: editor.key, body: { lease_seconds: 60 } })
        assert.strictEqual((yield* expect<ProblemBody>(refused, 403)).code, "not_project_admin")
        for (const bad of [-1, 1.5, 31_536_001, "60"]) {
          const response = yield* put(path, { lease_seconds: bad })
          assert.isTrue(response.status === 400 || response.status === 422, `lease_seconds ${JSON.stringify(bad)}: ${response.status}`)
        }
        const set = yield* expect<{ lease_seconds: number | null; effective_lease_seconds: number }>(yield* put(path, { lease_seconds: 600 }), 200)
        assert.deepStrictEqual([set.lease_seconds, set.effective_lease_seconds], [600, 600])
        const t = yield* createTicket(p.id, { title: "timed" }, editor.key)
        const claimed = yield* start(p.id, t.id, editor.key)
        const expires = Date.parse(claimed.ticket.lease_expires_at ?? "")
        assert.isAbove(expires, Date.now())
        assert.isBelow(expires, Date.now() + 601_000)
        yield* expireLease(t.id)
        const taken = yield* expect<{ ticket: TicketBody }>(yield* kit.request("POST", ticketPath(p.id, t.id, "/start"), { token: other.key }), 200)
        assert.strictEqual(taken.ticket.lease_epoch, claimed.ticket.lease_epoch + 1)
        const back = yield* expect<{ lease_seconds: number | null }>(yield* put(path, { lease_seconds: null }), 200)
        assert.isNull(back.lease_seconds)
        const audit = yield* SqlClient.SqlClient.pipe(Effect.flatMap((sql) =>
          sql<{ n: number | string }>`SELECT count(*) AS n FROM audit.entries WHERE action = 'tickets.project.settings' AND target_id = ${p.id}`
        ))
        assert.strictEqual(Number(audit[0].n), 2)
      }))

    // SessionFS's ProjectResponse and its create_project's DEFAULT_TEMPLATE
    it.effect("projects carry SessionFS's settings and a new project's context document is the template", () =>
      Effect.gen(function*() {
        const p = yield* expect<Record<string, unknown>>(yield* get(`/api/v1/projects/${(yield* project()).id}`), 200)
        assert.deepStrictEqual(
          [p.auto_narrative, p.kb_retention_days, p.kb_max_context_words, p.kb_section_page_limit, p.session_count],
          [false, 180, 2000, 30, 0]
        )
        const doc = p.context_document as string
        for (const heading of ["# Project Context", "## Overview", "## Architecture", "## Conventions", "## API Contracts", "## Key Decisions", "## Team"]) {
          assert.include(doc, heading)
        }
        const given = yield* expect<{ context_document: string }>(
          yield* post("/api/v1/projects/", { name: "given", git_remote_normalized: `acme/given-${crypto.randomUUID().slice(0, 6)}`, context_document: "# Mine" }),
          201
        )
        assert.strictEqual(given.context_document, "# Mine")
      }))

    // SessionFS's update_project_context, as `sfs project edit` / `set-context` call it
    it.effect("PUT /api/v1/projects/{remote}/context replaces the document: by remote as a path, URL-encoded, or by id", () =>
      Effect.gen(function*() {
        const remote = `github.com/acme/ctx-${crypto.randomUUID().slice(0, 6)}`
        const created = yield* expect<{ id: string }>(yield* post("/api/v1/projects/", { name: "ctx", git_remote_normalized: remote }), 201)
        const paths = [`/api/v1/projects/${remote}/context`, `/api/v1/projects/${encodeURIComponent(remote)}/context`, `/api/v1/projects/${created.id}/context`]
        for (const [i, path] of paths.entries()) {
          const doc = `# Context ${i}\n\nÉté ✓`
          const answer = yield* expect<{ status: string; size: number }>(yield* put(path, { context_document: doc }), 200)
          assert.deepStrictEqual(answer, { status: "updated", size: doc.length }, path)
          const read = yield* expect<{ context_document: string }>(yield* get(`/api/v1/projects/${remote}`), 200)
          assert.strictEqual(read.context_document, doc, path)
        }
        const missing = yield* put("/api/v1/projects/github.com/acme/nothing-here/context", { context_document: "x" })
        assert.strictEqual((yield* expect<ProblemBody>(missing, 404)).code, "project_not_found")
        const noBody = yield* put(`/api/v1/projects/${created.id}/context`, { document: "wrong key" })
        assert.isTrue(noBody.status === 400 || noBody.status === 422, String(noBody.status))
        const viewer = yield* member("viewer")
        const kit = yield* TestKit.TrellisTest
        const denied = yield* kit.request("PUT", `/api/v1/projects/${created.id}/context`, { token: viewer.key, body: { context_document: "x" } })
        assert.strictEqual(denied.status, 403)
        assert.strictEqual((yield* expect<{ context_document: string }>(yield* get(`/api/v1/projects/${created.id}`), 200)).context_document, "# Context 2\n\nÉté ✓")
      }))
  })
})

const sortTitles = (tickets: ReadonlyArray<TicketBody>) => tickets.map((t) => t.title).sort()
