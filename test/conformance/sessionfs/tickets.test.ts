/**
 * SessionFS's own clients against Trellis's tickets: the calls its CLI (`sfs project ...`,
 * `sfs ticket ...`, src/sessionfs/cli/cmd_project.py and cmd_ticket.py) and its MCP tools
 * (src/sessionfs/mcp/server.py, `_handle_*_ticket`) make, replayed over HTTP with their exact
 * paths, query strings and bodies, asserting the fields those clients read from the answers.
 *
 * The clients authenticate with a user's API key (`Authorization: Bearer <key>`), resolve the
 * project by its normalized git remote written into the path (unencoded), and branch on the
 * status codes (404 "not found", 409 "already started" / stale lease) before reading bodies.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"
import { TicketsPlugin } from "../../../plugins/tickets/Plugin.ts"
import { member } from "../../../plugins/tickets/test/support.ts"

type Json = Record<string, unknown>
type Method = "GET" | "POST" | "PUT"

/** One client call: the status and the parsed body (SessionFS's clients call `resp.json()`). */
const call = (method: Method, path: string, token: string, body?: unknown) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request(method, path, { token, body })
    const text = yield* response.text
    return { status: response.status, body: (text === "" ? null : JSON.parse(text)) as unknown, text }
  })

const ok = <A = Json>(reply: { readonly status: number; readonly body: unknown; readonly text: string }, status = 200): A => {
  assert.strictEqual(reply.status, status, reply.text.slice(0, 400))
  return reply.body as A
}

/** The fields `sfs ticket show` and the MCP `get_ticket` read, with the types they expect. */
const assertTicketShape = (t: Json) => {
  for (const key of ["id", "title", "status", "priority", "kind", "description"]) assert.isString(t[key], key)
  for (const key of ["acceptance_criteria", "file_refs", "depends_on", "child_ticket_ids", "context_refs", "related_sessions"]) {
    assert.isArray(t[key], key)
  }
  assert.isNumber(t.lease_epoch)
  assert.isTrue(Number.isInteger(t.lease_epoch))
  for (const key of ["assigned_to", "parent_ticket_id", "completion_notes"]) assert.property(t, key)
}

/** When the platform wraps errors in SessionFS's envelope, its members are what the CLI prints. */
const assertErrorReadable = (body: unknown) => {
  const b = body as { detail?: unknown; error?: unknown }
  assert.isTrue(typeof b.detail === "string" || typeof b.error === "object", JSON.stringify(body))
  if (typeof b.error === "object" && b.error !== null) {
    const envelope = b.error as { code?: unknown; message?: unknown }
    assert.isString(envelope.code)
    assert.isString(envelope.message)
  }
}

describe("SessionFS's CLI and MCP tools against the tickets plugin", () => {
  layer(TestKit.layer({ plugins: [TicketsPlugin] }), { timeout: 300_000 })((it) => {
    it.effect("sfs project init / show / set-context, then the ticket commands, as the CLI sends them", () =>
      Effect.gen(function*() {
        const user = yield* member("admin")
        const key = user.key
        const normalized = `github.com/acme/conformance-${crypto.randomUUID().slice(0, 8)}`

        // cmd_project.py init: POST /api/v1/projects/ {name, git_remote_normalized, org_id}
        const created = ok<Json>(yield* call("POST", "/api/v1/projects/", key, {
          name: normalized.split("/").at(-1),
          git_remote_normalized: normalized,
          org_id: "org_default"
        }), 201)
        assert.isString(created.id)
        // cmd_project.py show: GET /api/v1/projects/{normalized} (unencoded), reads context_document
        const shown = ok<Json>(yield* call("GET", `/api/v1/projects/${normalized}`, key))
        assert.strictEqual(shown.id, created.id)
        assert.include(shown.context_document as string, "## Overview")
        for (const field of ["auto_narrative", "kb_retention_days", "kb_max_context_words", "kb_section_page_limit"]) {
          assert.property(shown, field)
        }
        // cmd_project.py edit / set-context: PUT /api/v1/projects/{normalized}/context {context_document}
        const document = "# Project Context\n\n## Overview\nConformance run.\n"
        const updated = ok<Json>(yield* call("PUT", `/api/v1/projects/${normalized}/context`, key, { context_document: document }))
        assert.deepStrictEqual(updated, { status: "updated", size: document.length })
        assert.strictEqual(ok<Json>(yield* call("GET", `/api/v1/projects/${normalized}`, key)).context_document, document)

        // cmd_ticket.py _resolve_project: GET /api/v1/projects/{normalized} -> id
        const projectId = ok<Json>(yield* call("GET", `/api/v1/projects/${normalized}`, key)).id as string
        const base = `/api/v1/projects/${projectId}/tickets`

        // ticket create: the CLI's full payload
        const dep = ok<Json>(yield* call("POST", base, key, {
          title: "Dependency",
          description: "",
          priority: "medium",
          acceptance_criteria: [],
          file_refs: [],
          depends_on: [],
          kind: "task"
        }), 201)
        const ticket = ok<Json>(yield* call("POST", base, key, {
          title: "Wire the CLI",
          description: "Make sfs ticket work end to end",
          priority: "high",
          acceptance_criteria: ["sfs ticket start works"],
          file_refs: ["src/cli.py"],
          depends_on: [dep.id],
          kind: "task",
          assigned_to: "atlas"
        }), 201)
        assert.isString(ticket.id)
        assert.strictEqual(ticket.title, "Wire the CLI")
        const id = ticket.id as string

        // ticket list with every filter the CLI sends
        const listed = ok<ReadonlyArray<Json>>(yield* call("GET", `${base}?assigned_to=atlas&status=open&priority=high&kind=task`, key))
        assert.deepStrictEqual(listed.map((t) => t.id), [id])
        for (const t of listed) for (const field of ["id", "title", "status", "priority", "assigned_to"]) assert.property(t, field)

        // ticket show
        const shownTicket = ok<Json>(yield* call("GET", `${base}/${id}`, key))
        assertTicketShape(shownTicket)
        assert.deepStrictEqual(shownTicket.depends_on, [dep.id])

        // ticket start ?tool= : reads ticket.assigned_to, ticket.lease_epoch (int), retrieval_audit_id, compiled_context
        const started = ok<{ ticket: Json; compiled_context: string; retrieval_audit_id: string }>(
          yield* call("POST", `${base}/${id}/start?tool=claude-code`, key)
        )
        assertTicketShape(started.ticket)
        assert.strictEqual(started.ticket.assigned_to, "atlas")
        assert.strictEqual(started.ticket.status, "in_progress")
        assert.isString(started.retrieval_audit_id)
        assert.include(started.compiled_context, "Wire the CLI")
        let epoch = started.ticket.lease_epoch as number
        // A second start: the CLI prints "Ticket already started" on 409.
        const again = yield* call("POST", `${base}/${id}/start`, key)
        assert.strictEqual(again.status, 409)
        assertErrorReadable(again.body)
        // Unknown ticket: the CLI prints "not found" on 404.
        assert.strictEqual((yield* call("POST", `${base}/tk_missing/start`, key)).status, 404)

        // ticket comment: {content, author_persona, lease_epoch from the bundle}
        const note = ok<Json>(yield* call("POST", `${base}/${id}/comments`, key, { content: "Started on it", author_persona: "atlas", lease_epoch: epoch }), 201)
        for (const field of ["id", "author_persona", "author_user_id", "content", "created_at"]) assert.property(note, field)

        // ticket update: {title?, description?, priority?, acceptance_criteria?, lease_epoch}; a fenced PUT takes the epoch
        const edited = ok<Json>(yield* call("PUT", `${base}/${id}`, key, {
          description: "Make sfs ticket work end to end, with tests",
          acceptance_criteria: ["sfs ticket start works", "tests pass"],
          lease_epoch: epoch
        }))
        assert.strictEqual(edited.lease_epoch, epoch + 1)
        const stale = yield* call("PUT", `${base}/${id}`, key, { priority: "critical", lease_epoch: epoch })
        assert.strictEqual(stale.status, 409)
        assertErrorReadable(stale.body)
        epoch = edited.lease_epoch as number

        // ticket comments (list) and the watch poll: chronological, the system diff comment among them
        const thread = ok<ReadonlyArray<Json>>(yield* call("GET", `${base}/${id}/comments`, key))
        assert.deepStrictEqual(thread.map((c) => c.author_persona), ["atlas", "system"])

        // ticket complete: {notes, changed_files, knowledge_entry_ids, lease_epoch}
        const completed = ok<Json>(yield* call("POST", `${base}/${id}/complete`, key, {
          notes: "Done: CLI wired",
          changed_files: ["src/cli.py"],
          knowledge_entry_ids: [],
          lease_epoch: epoch
        }))
        assert.strictEqual(completed.status, "review")

        // ticket review-state: review_state is null without codex-reviewer rounds
        const review = ok<Json>(yield* call("GET", `${base}/${id}/review-state`, key))
        assert.deepStrictEqual(review, { ticket_id: id, review_state: null })

        // ticket accept ?lease_epoch=
        const accepted = ok<Json>(yield* call("POST", `${base}/${id}/accept?lease_epoch=${epoch}`, key))
        assert.strictEqual(accepted.status, "done")
        assert.isString(accepted.resolved_at)
        // Accepting again: 409 with SessionFS's "Cannot accept ticket" text.
        const twice = yield* call("POST", `${base}/${id}/accept`, key)
        assert.strictEqual(twice.status, 409)
        assertErrorReadable(twice.body)
      }))

    it.effect("the MCP ticket tools: list, get, comments polling, start, create, complete, add comment, update, assign, escalate, resolve, approve", () =>
      Effect.gen(function*() {
        const user = yield* member("admin")
        const key = user.key
        const normalized = `github.com/acme/mcp-${crypto.randomUUID().slice(0, 8)}`
        ok(yield* call("POST", "/api/v1/projects/", key, { name: "mcp", git_remote_normalized: normalized }), 201)
        // _resolve_project_id: GET /api/v1/projects/{normalized} -> .get("id")
        const projectId = ok<Json>(yield* call("GET", `/api/v1/projects/${normalized}`, key)).id as string
        const base = `/api/v1/projects/${projectId}/tickets`

        // create_ticket: {title, description, priority, source, created_by_session_id, created_by_persona, kind, acceptance_criteria, ...}
        const suggested = ok<Json>(yield* call("POST", base, key, {
          title: "Agent found a flaky test",
          description: "The retry test fails one run in ten on CI",
          priority: "low",
          source: "agent",
          created_by_session_id: "ses_mcp_1",
          created_by_persona: "scout",
          kind: "task",
          acceptance_criteria: ["test passes 100 runs"],
          context_refs: ["kb_1"],
          file_refs: ["tests/test_retry.py"],
          related_sessions: ["ses_mcp_1"],
          depends_on: []
        }), 201)
        assert.strictEqual(suggested.status, "suggested")
        const id = suggested.id as string

        // approve_ticket: POST .../approve
        assert.strictEqual(ok<Json>(yield* call("POST", `${base}/${id}/approve`, key)).status, "open")

        // list_tickets: params status / assigned_to / priority / kind
        const listed = ok<ReadonlyArray<Json>>(yield* call("GET", `${base}?status=open&priority=low&kind=task`, key))
        assert.deepStrictEqual(listed.map((t) => t.id), [id])

        // assign_persona: PUT {assigned_to}
        assert.strictEqual(ok<Json>(yield* call("PUT", `${base}/${id}`, key, { assigned_to: "atlas" })).assigned_to, "atlas")

        // escalate_ticket: GET -> priority, PUT {priority: next}, POST a comment with the reason
        const current = ok<Json>(yield* call("GET", `${base}/${id}`, key)).priority as string
        assert.strictEqual(current, "low")
        assert.strictEqual(ok<Json>(yield* call("PUT", `${base}/${id}`, key, { priority: "medium" })).priority, "medium")
        ok(yield* call("POST", `${base}/${id}/comments`, key, { content: "Escalated low → medium: blocks the release" }), 201)

        // start_ticket: params force / tool
        const started = ok<{ ticket: Json; compiled_context: string; retrieval_audit_id: string }>(
          yield* call("POST", `${base}/${id}/start?tool=cursor`, key)
        )
        const epoch = started.ticket.lease_epoch as number
        assert.isTrue(Number.isInteger(epoch))

        // add_ticket_comment: {content, author_persona, session_id, lease_epoch}
        const first = ok<Json>(yield* call("POST", `${base}/${id}/comments`, key, {
          content: "Reproduced locally",
          author_persona: "atlas",
          session_id: "ses_mcp_2",
          lease_epoch: epoch
        }), 201)
        assert.strictEqual(first.session_id, "ses_mcp_2")
        // An agent may post a system-attributed note.
        ok(yield* call("POST", `${base}/${id}/comments`, key, { content: "Automated check ran", author_persona: "system" }), 201)

        // list_ticket_comments: since + since_id + limit, the polling cursor
        const all = ok<ReadonlyArray<Json>>(yield* call("GET", `${base}/${id}/comments?limit=500`, key))
        const cursor = all.find((c) => c.id === first.id) as Json
        const newer = ok<ReadonlyArray<Json>>(yield* call(
          "GET",
          `${base}/${id}/comments?since=${encodeURIComponent(cursor.created_at as string)}&since_id=${cursor.id}&limit=50`,
          key
        ))
        assert.deepStrictEqual(newer.map((c) => c.content), ["Automated check ran"])
        // since_id without since is ignored: the whole thread.
        assert.lengthOf(ok<ReadonlyArray<Json>>(yield* call("GET", `${base}/${id}/comments?since_id=${cursor.id}`, key)), all.length)

        // update_ticket: only the fields passed, lease_epoch as the fence; 409 surfaces the body
        const updated = ok<Json>(yield* call("PUT", `${base}/${id}`, key, { file_refs: ["tests/test_retry.py", "src/retry.py"], lease_epoch: epoch }))
        assert.strictEqual(updated.lease_epoch, epoch + 1)
        const stale = yield* call("PUT", `${base}/${id}`, key, { title: "late", lease_epoch: epoch })
        assert.strictEqual(stale.status, 409)
        const staleBody = stale.body as Json
        const details = (staleBody.error as { details?: Json } | undefined)?.details ?? staleBody
        assert.strictEqual(details.current_lease_epoch, epoch + 1)

        // get_ticket_review_state
        assert.property(ok<Json>(yield* call("GET", `${base}/${id}/review-state`, key)), "review_state")

        // complete_ticket: {notes, changed_files, knowledge_entry_ids, lease_epoch}
        const done = ok<Json>(yield* call("POST", `${base}/${id}/complete`, key, {
          notes: "Fixed the race",
          changed_files: ["src/retry.py"],
          knowledge_entry_ids: ["kb_2"],
          lease_epoch: epoch + 1
        }))
        assert.strictEqual(done.status, "review")

        // resolve_ticket: POST .../accept with params {lease_epoch}
        const resolved = ok<Json>(yield* call("POST", `${base}/${id}/accept?lease_epoch=${epoch + 1}`, key))
        assert.strictEqual(resolved.status, "done")
        assertTicketShape(resolved)

        // get_ticket on an unknown id: the tool maps 404 to "not found"
        assert.strictEqual((yield* call("GET", `${base}/tk_nope`, key)).status, 404)
        // An illegal move answers 400 with SessionFS's "Legal transitions" text.
        const illegal = yield* call("POST", `${base}/${id}/block`, key)
        assert.strictEqual(illegal.status, 400)
        assert.include(illegal.text, "Legal transitions from 'done'")
      }))
  })
})
