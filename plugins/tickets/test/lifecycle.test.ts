/**
 * What must hold for issue 5, over real HTTP on a fresh database (embedded, or PostgreSQL with
 * TRELLIS_TEST_DATABASE_URL): the claim race, lease expiry and fencing, cycle refusal, the state
 * machine table, updates and their audit trail, the organization's lease requirement.
 *
 * Where a test translates a SessionFS scenario, the comment names the file and test of
 * SessionFS's server suite (tests/server/integration/...).
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"
import { makeTicketsPlugin } from "../Plugin.ts"
import {
  auditCount,
  createTicket,
  expect,
  expireLease,
  forceState,
  getTicket,
  member,
  project,
  start,
  storedComments,
  storedEdits,
  ticketPath
} from "./support.ts"
import type { ProblemBody, TicketBody } from "./support.ts"

type Route = "approve" | "start" | "block" | "unblock" | "complete" | "resolve" | "reopen" | "dismiss" | "close"

/** SessionFS's transition table (routes/tickets.py `_LEGAL_TRANSITIONS_TASK` / `_ISSUE`), written out independently. */
const expectedTable: Record<string, Record<string, Partial<Record<Route, string>>>> = {
  task: {
    suggested: { approve: "open", dismiss: "cancelled" },
    open: { start: "in_progress", dismiss: "cancelled" },
    in_progress: { block: "blocked", complete: "review" },
    blocked: { unblock: "in_progress" },
    review: { resolve: "done", reopen: "open" },
    done: {},
    cancelled: {}
  },
  issue: {
    open: { start: "in_progress", dismiss: "cancelled" },
    in_progress: { close: "closed", reopen: "open", dismiss: "cancelled" },
    closed: {},
    cancelled: {}
  }
}

const routes: ReadonlyArray<Route> = ["approve", "start", "block", "unblock", "complete", "resolve", "reopen", "dismiss", "close"]

const sorted = (values: ReadonlyArray<unknown>) => [...values].map(String).sort()

describe("tickets: the guarantees of issue 5", () => {
  // A server lease length, so the expiry paths run (the default, 0, never expires: sessionfs.test.ts).
  layer(TestKit.layer({ plugins: [makeTicketsPlugin({ leaseSeconds: 1800 })] }), { timeout: 300_000 })((it) => {
    it.effect("20 concurrent starts on one open ticket: exactly one 200, the rest 409, lease_epoch rose by exactly one", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const p = yield* project()
        const ticket = yield* createTicket(p.id, { title: "race me" })
        assert.strictEqual(ticket.lease_epoch, 0)
        const responses = yield* Effect.all(
          Array.from({ length: 20 }, () => kit.request("POST", ticketPath(p.id, ticket.id, "/start"))),
          { concurrency: "unbounded" }
        )
        const statuses = responses.map((r) => r.status)
        assert.strictEqual(statuses.filter((s) => s === 200).length, 1, String(statuses))
        assert.strictEqual(statuses.filter((s) => s === 409).length, 19, String(statuses))
        for (const response of responses.filter((r) => r.status === 409)) {
          const problem = yield* expect<ProblemBody>(response, 409)
          assert.strictEqual(problem.code, "lease_held")
          assert.strictEqual(problem.current_lease_epoch, 1)
        }
        const after = yield* getTicket(p.id, ticket.id)
        assert.strictEqual(after.lease_epoch, 1)
        assert.strictEqual(after.status, "in_progress")
        assert.strictEqual(yield* auditCount("tickets.ticket.start", ticket.id), 1)
      }))

    it.effect("an expired lease is claimable again; the old holder's complete, comment and update get 409 and change nothing", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const workerA = yield* member("editor")
        const workerB = yield* member("editor")
        const p = yield* project()
        const ticket = yield* createTicket(p.id, { title: "long job", description: "d" }, workerA.key)
        const first = yield* start(p.id, ticket.id, workerA.key)
        assert.strictEqual(first.ticket.lease_epoch, 1)
        assert.strictEqual(first.ticket.lease_holder, workerA.userId)

        // While A's lease is live, B cannot claim.
        const early = yield* kit.request("POST", ticketPath(p.id, ticket.id, "/start"), { token: workerB.key })
        assert.strictEqual((yield* expect<ProblemBody>(early, 409)).code, "lease_held")

        yield* expireLease(ticket.id)
        const second = yield* start(p.id, ticket.id, workerB.key)
        assert.strictEqual(second.ticket.lease_epoch, 2)
        assert.strictEqual(second.ticket.lease_holder, workerB.userId)
        const snapshot = yield* getTicket(p.id, ticket.id)

        const staleComplete = yield* kit.request("POST", ticketPath(p.id, ticket.id, "/complete"), {
          token: workerA.key,
          body: { notes: "I was slow", lease_epoch: 1 }
        })
        const problem = yield* expect<ProblemBody & { error: { code: string; details: Record<string, unknown> } }>(staleComplete, 409)
        assert.strictEqual(problem.code, "stale_lease_epoch")
        assert.strictEqual(problem.passed_lease_epoch, 1)
        assert.strictEqual(problem.current_lease_epoch, 2)
        assert.strictEqual(problem.error.code, "stale_lease_epoch")
        assert.deepStrictEqual(problem.error.details, { error: "stale_lease_epoch", passed_lease_epoch: 1, current_lease_epoch: 2 })

        const staleComment = yield* kit.request("POST", ticketPath(p.id, ticket.id, "/comments"), {
          token: workerA.key,
          body: { content: "progress", lease_epoch: 1 }
        })
        assert.strictEqual((yield* expect<ProblemBody>(staleComment, 409)).code, "stale_lease_epoch")
        const staleUpdate = yield* kit.request("PUT", ticketPath(p.id, ticket.id), {
          token: workerA.key,
          body: { title: "renamed by a zombie", lease_epoch: 1 }
        })
        assert.strictEqual((yield* expect<ProblemBody>(staleUpdate, 409)).code, "stale_lease_epoch")
        const staleRenew = yield* kit.request("POST", ticketPath(p.id, ticket.id, "/renew"), {
          token: workerA.key,
          body: { lease_epoch: 1 }
        })
        assert.strictEqual((yield* expect<ProblemBody>(staleRenew, 409)).code, "stale_lease_epoch")

        const after = yield* getTicket(p.id, ticket.id)
        assert.deepStrictEqual(after, snapshot)
        assert.strictEqual(after.title, "long job")
        assert.strictEqual(after.status, "in_progress")
        assert.strictEqual(after.completion_notes, null)
        assert.lengthOf(yield* storedComments(ticket.id), 0)
        assert.lengthOf(yield* storedEdits(ticket.id), 0)

        // The new holder's writes go through.
        const done = yield* kit.request("POST", ticketPath(p.id, ticket.id, "/complete"), {
          token: workerB.key,
          body: { notes: "finished", lease_epoch: 2 }
        })
        assert.strictEqual((yield* expect<TicketBody>(done, 200)).status, "review")
      }))

    it.effect("a dependency cycle of any length is refused with 400 naming the cycle, and nothing is written", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const p = yield* project()
        const a = yield* createTicket(p.id, { title: "A" })
        const b = yield* createTicket(p.id, { title: "B", depends_on: [a.id] })
        const c = yield* createTicket(p.id, { title: "C", depends_on: [b.id] })
        const d = yield* createTicket(p.id, { title: "D", depends_on: [c.id] })
        const e = yield* createTicket(p.id, { title: "E", depends_on: [d.id] })
        const unrelated = yield* createTicket(p.id, { title: "X" })
        const before = yield* getTicket(p.id, a.id)

        const refuse = (dependsOn: ReadonlyArray<string>, cycle: ReadonlyArray<string>) =>
          Effect.gen(function*() {
            const response = yield* kit.request("PUT", ticketPath(p.id, a.id), { body: { depends_on: dependsOn } })
            const problem = yield* expect<ProblemBody>(response, 400)
            assert.strictEqual(problem.code, "dependency_cycle")
            assert.deepStrictEqual(problem.cycle, cycle)
            for (const id of cycle) assert.include(problem.detail, id)
          })
        yield* refuse([a.id], [a.id, a.id])
        yield* refuse([b.id], [a.id, b.id, a.id])
        yield* refuse([e.id], [a.id, e.id, d.id, c.id, b.id, a.id])
        yield* refuse([unrelated.id, c.id], [a.id, c.id, b.id, a.id])

        const after = yield* getTicket(p.id, a.id)
        assert.deepStrictEqual(after, before)
        assert.deepStrictEqual(after.depends_on, [])
        assert.lengthOf(yield* storedComments(a.id), 0)
        assert.lengthOf(yield* storedEdits(a.id), 0)
        assert.strictEqual(yield* auditCount("tickets.ticket.update", a.id), 0)

        // A diamond is not a cycle.
        const ok = yield* kit.request("PUT", ticketPath(p.id, e.id), { body: { depends_on: [d.id, b.id, unrelated.id] } })
        assert.deepStrictEqual(sorted((yield* expect<TicketBody>(ok, 200)).depends_on), sorted([d.id, b.id, unrelated.id]))
      }))

    it.effect("the state machine: every route from every status follows SessionFS's table or answers 400 (start, accept and resolve: 409) naming the current status and the allowed ones", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const p = yield* project()
        for (const [kind, statuses] of Object.entries(expectedTable)) {
          for (const [status, allowed] of Object.entries(statuses)) {
            const ticket = yield* createTicket(p.id, { title: `${kind} in ${status}`, kind })
            for (const route of routes) {
              yield* forceState(ticket.id, kind, status)
              const response = yield* kit.request("POST", ticketPath(p.id, ticket.id, `/${route}`), {
                body: route === "complete" ? { notes: "n" } : undefined
              })
              const label = `${kind} ${status} --${route}-->`
              const target = allowed[route]
              if (route === "close" && kind === "task") {
                const problem = yield* expect<ProblemBody>(response, 400)
                assert.strictEqual(problem.code, "close_requires_issue", label)
              } else if (target !== undefined) {
                const body = yield* expect<TicketBody & { ticket?: TicketBody }>(response, 200)
                assert.strictEqual((body.ticket ?? body).status, target, label)
              } else if (route === "start" && status === "in_progress") {
                assert.strictEqual((yield* expect<ProblemBody>(response, 409)).code, "lease_held", label)
              } else {
                const conflict = route === "start" || route === "resolve"
                const problem = yield* expect<ProblemBody>(response, conflict ? 409 : 400)
                assert.strictEqual(problem.code, conflict ? "status_conflict" : "invalid_status_transition", label)
                assert.strictEqual(problem.current_status, status, label)
                assert.deepStrictEqual(sorted(problem.allowed_transitions as Array<string>), sorted(Object.keys(allowed)), label)
                assert.deepStrictEqual(sorted(problem.allowed as Array<string>), sorted([...new Set(Object.values(allowed))]), label)
                assert.include(problem.detail, status, label)
                const unchanged = yield* getTicket(p.id, ticket.id)
                assert.strictEqual(unchanged.status, status, label)
              }
            }
          }
        }
      }))

    it.effect("status never changes through PUT; close on a task is 400", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const p = yield* project()
        const ticket = yield* createTicket(p.id, { title: "no shortcuts" })
        // SessionFS's update model has no status: it is ignored, the other fields apply.
        const sneaky = yield* kit.request("PUT", ticketPath(p.id, ticket.id), { body: { status: "done", title: "sneaky" } })
        assert.strictEqual((yield* expect<TicketBody>(sneaky, 200)).status, "open")
        const after = yield* getTicket(p.id, ticket.id)
        assert.strictEqual(after.status, "open")
        assert.strictEqual(after.title, "sneaky")
        const close = yield* kit.request("POST", ticketPath(p.id, ticket.id, "/close"))
        const problem = yield* expect<ProblemBody>(close, 400)
        assert.strictEqual(problem.code, "close_requires_issue")
        assert.include(problem.detail, "kind='task'")
      }))

    it.effect("a retry of a claim with the same Idempotency-Key returns the same claim; a new claim by the same principal is 409", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const p = yield* project()
        const ticket = yield* createTicket(p.id, { title: "retry me" })
        const claim = (key?: string) =>
          kit.request("POST", ticketPath(p.id, ticket.id, "/start"), key === undefined ? {} : { headers: { "idempotency-key": key } })
        const first = yield* expect<{ ticket: TicketBody; retrieval_audit_id: string }>(yield* claim("claim-1"), 200)
        const retry = yield* expect<{ ticket: TicketBody; retrieval_audit_id: string }>(yield* claim("claim-1"), 200)
        assert.strictEqual(retry.ticket.lease_epoch, first.ticket.lease_epoch)
        assert.strictEqual(retry.retrieval_audit_id, first.retrieval_audit_id)
        assert.strictEqual((yield* expect<ProblemBody>(yield* claim(), 409)).code, "lease_held")
        assert.strictEqual((yield* expect<ProblemBody>(yield* claim("claim-2"), 409)).code, "lease_held")
        assert.strictEqual((yield* getTicket(p.id, ticket.id)).lease_epoch, 1)
        assert.strictEqual(yield* auditCount("tickets.ticket.start", ticket.id), 1)
      }))

    it.effect("the holder renews its lease; another principal cannot", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const holder = yield* member("editor")
        const other = yield* member("editor")
        const p = yield* project()
        const ticket = yield* createTicket(p.id, { title: "renewable" })
        const claimed = yield* start(p.id, ticket.id, holder.key)
        yield* expireLease(ticket.id)
        const renewed = yield* expect<TicketBody>(
          yield* kit.request("POST", ticketPath(p.id, ticket.id, "/renew"), { token: holder.key, body: { lease_epoch: 1 } }),
          200
        )
        assert.isAbove(Date.parse(renewed.lease_expires_at ?? ""), Date.now())
        assert.strictEqual(renewed.lease_epoch, claimed.ticket.lease_epoch)
        // Renewed, so not claimable by another.
        const steal = yield* kit.request("POST", ticketPath(p.id, ticket.id, "/start"), { token: other.key })
        assert.strictEqual((yield* expect<ProblemBody>(steal, 409)).code, "lease_held")
        const foreign = yield* kit.request("POST", ticketPath(p.id, ticket.id, "/renew"), { token: other.key, body: { lease_epoch: 1 } })
        assert.strictEqual((yield* expect<ProblemBody>(foreign, 409)).code, "lease_not_held")
      }))

    it.effect("an effective update posts one system diff comment and one edit row per changed field; a no-op writes nothing", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const p = yield* project()
        const dep = yield* createTicket(p.id, { title: "dep" })
        const ticket = yield* createTicket(p.id, { title: "old", priority: "low", acceptance_criteria: ["a"] })
        const put = (body: Record<string, unknown>) => kit.request("PUT", ticketPath(p.id, ticket.id), { body })

        const updated = yield* expect<TicketBody>(
          yield* put({ title: "new", priority: "critical", acceptance_criteria: ["a", "b"], depends_on: [dep.id, dep.id] }),
          200
        )
        assert.deepStrictEqual(
          [updated.title, updated.priority, updated.acceptance_criteria, updated.depends_on],
          ["new", "critical", ["a", "b"], [dep.id]]
        )
        const comments = yield* storedComments(ticket.id)
        assert.lengthOf(comments, 1)
        assert.strictEqual(comments[0].author_persona, "system")
        for (const field of ["title", "priority", "acceptance_criteria", "depends_on"]) assert.include(comments[0].content, field)
        assert.include(comments[0].content, "unfenced")
        assert.deepStrictEqual(sorted((yield* storedEdits(ticket.id)).map((e) => e.field_name)), sorted(["title", "priority", "acceptance_criteria", "depends_on"]))
        assert.strictEqual(yield* auditCount("tickets.ticket.update", ticket.id), 1)
        const edits = yield* expect<ReadonlyArray<{ field_name: string; old_value: unknown; new_value: unknown }>>(
          yield* kit.request("GET", ticketPath(p.id, ticket.id, "/edits")),
          200
        )
        const titleEdit = edits.find((e) => e.field_name === "title")
        assert.deepStrictEqual([titleEdit?.old_value, titleEdit?.new_value], ["old", "new"])

        // The same values again: nothing is written, not even updated_at.
        const noop = yield* expect<TicketBody>(yield* put({ title: "new", priority: "critical", depends_on: [dep.id] }), 200)
        assert.strictEqual(noop.updated_at, updated.updated_at)
        assert.lengthOf(yield* storedComments(ticket.id), 1)
        assert.lengthOf(yield* storedEdits(ticket.id), 4)
        assert.strictEqual(yield* auditCount("tickets.ticket.update", ticket.id), 1)

        // One changed field among unchanged ones: one comment, one edit row, fenced this time.
        yield* expect<TicketBody>(yield* put({ title: "new", description: "more detail", lease_epoch: 0 }), 200)
        const after = yield* storedComments(ticket.id)
        assert.lengthOf(after, 2)
        assert.include(after[1].content, "description")
        assert.include(after[1].content, "lease_epoch 0")
        assert.notInclude(after[1].content, "title")
        assert.lengthOf(yield* storedEdits(ticket.id), 5)
      }))

    it.effect("lease_epoch alone in an update is 400; an empty update is 400; an unknown dependency is 400", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const p = yield* project()
        const other = yield* project()
        const foreign = yield* createTicket(other.id, { title: "elsewhere" })
        const ticket = yield* createTicket(p.id, { title: "fenced" })
        const alone = yield* kit.request("PUT", ticketPath(p.id, ticket.id), { body: { lease_epoch: 0 } })
        const problem = yield* expect<ProblemBody>(alone, 400)
        assert.strictEqual(problem.code, "no_mutable_fields")
        assert.include(problem.detail, "fence")
        assert.strictEqual((yield* expect<ProblemBody>(yield* kit.request("PUT", ticketPath(p.id, ticket.id), { body: {} }), 400)).code, "no_mutable_fields")
        const bad = yield* kit.request("PUT", ticketPath(p.id, ticket.id), { body: { depends_on: [foreign.id, "tk_nope"] } })
        const invalid = yield* expect<ProblemBody>(bad, 400)
        assert.strictEqual(invalid.code, "invalid_dependency")
        assert.deepStrictEqual(sorted(invalid.missing as Array<string>), sorted([foreign.id, "tk_nope"]))
        assert.lengthOf(yield* storedComments(ticket.id), 0)
      }))

    it.effect("an organization can require lease_epoch on ticket writes (422); only an admin sets it", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const admin = yield* member("admin", "org_lease_required")
        const editor = yield* member("editor")
        const settingsOf = (token: string) => kit.request("GET", "/api/v1/tickets/settings", { token })
        assert.deepStrictEqual(yield* expect(yield* settingsOf(admin.key), 200), { require_lease_epoch_on_ticket_writes: false })
        const denied = yield* kit.request("PUT", "/api/v1/tickets/settings", { token: editor.key, body: { require_lease_epoch_on_ticket_writes: true } })
        assert.strictEqual(denied.status, 403)
        const set = yield* kit.request("PUT", "/api/v1/tickets/settings", { token: admin.key, body: { require_lease_epoch_on_ticket_writes: true } })
        assert.deepStrictEqual(yield* expect(set, 200), { require_lease_epoch_on_ticket_writes: true })
        // Per organization: the default organization is unaffected.
        assert.deepStrictEqual(yield* expect(yield* settingsOf(kit.adminToken), 200), { require_lease_epoch_on_ticket_writes: false })

        const p = yield* project(admin.key)
        const ticket = yield* createTicket(p.id, { title: "compliance" }, admin.key)
        const claimed = yield* start(p.id, ticket.id, admin.key)
        const epoch = claimed.ticket.lease_epoch
        const write = (method: "POST" | "PUT", rest: string, body: Record<string, unknown>) =>
          kit.request(method, ticketPath(p.id, ticket.id, rest), { token: admin.key, body })
        for (const [method, rest, body] of [
          ["POST", "/comments", { content: "no lease" }],
          ["POST", "/complete", { notes: "no lease" }],
          ["PUT", "", { title: "no lease" }]
        ] as const) {
          const problem = yield* expect<ProblemBody>(yield* write(method, rest, body), 422)
          assert.strictEqual(problem.code, "lease_epoch_required")
          assert.include(problem.detail, "require_lease_epoch_on_ticket_writes")
        }
        assert.lengthOf(yield* storedComments(ticket.id), 0)
        yield* expect(yield* write("POST", "/comments", { content: "with lease", lease_epoch: epoch }), 201)
        yield* expect(yield* write("POST", "/complete", { notes: "with lease", lease_epoch: epoch }), 200)
        const resolveWithout = yield* kit.request("POST", ticketPath(p.id, ticket.id, "/resolve"), { token: admin.key })
        assert.strictEqual((yield* expect<ProblemBody>(resolveWithout, 422)).code, "lease_epoch_required")
        const resolved = yield* kit.request("POST", ticketPath(p.id, ticket.id, `/resolve?lease_epoch=${epoch}`), { token: admin.key })
        assert.strictEqual((yield* expect<TicketBody>(resolved, 200)).status, "done")
        assert.strictEqual(yield* auditCount("tickets.settings.update", "org_lease_required"), 1)
      }))

    it.effect("escalate raises the priority one level and appends a comment every time, even at critical", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const p = yield* project()
        const ticket = yield* createTicket(p.id, { title: "urgent?", priority: "low" })
        const escalate = (body?: unknown) => kit.request("POST", ticketPath(p.id, ticket.id, "/escalate"), body === undefined ? {} : { body })
        assert.strictEqual((yield* expect<TicketBody>(yield* escalate(), 200)).priority, "medium")
        assert.strictEqual((yield* expect<TicketBody>(yield* escalate({ reason: "customer is blocked" }), 200)).priority, "high")
        assert.strictEqual((yield* expect<TicketBody>(yield* escalate({}), 200)).priority, "critical")
        assert.strictEqual((yield* expect<TicketBody>(yield* escalate(), 200)).priority, "critical")
        const comments = yield* storedComments(ticket.id)
        assert.lengthOf(comments, 4)
        assert.include(comments[0].content, "low → medium")
        assert.include(comments[1].content, "customer is blocked")
        assert.include(comments[3].content, "already critical")
        assert.deepStrictEqual((yield* storedEdits(ticket.id)).map((e) => e.field_name), ["priority", "priority", "priority"])
        assert.strictEqual(yield* auditCount("tickets.ticket.escalate", ticket.id), 4)
      }))

    it.effect("records every write in the platform audit log", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const p = yield* project()
        assert.strictEqual(yield* auditCount("tickets.project.create", p.id), 1)
        const ticket = yield* createTicket(p.id, { title: "audited" })
        const claimed = yield* start(p.id, ticket.id)
        yield* expect(yield* kit.request("POST", ticketPath(p.id, ticket.id, "/comments"), { body: { content: "note" } }), 201)
        yield* expect(yield* kit.request("POST", ticketPath(p.id, ticket.id, "/complete"), {
          body: { notes: "n", lease_epoch: claimed.ticket.lease_epoch }
        }), 200)
        yield* expect(yield* kit.request("POST", ticketPath(p.id, ticket.id, "/resolve")), 200)
        for (const action of ["create", "start", "complete", "resolve"]) {
          assert.strictEqual(yield* auditCount(`tickets.ticket.${action}`, ticket.id), 1, action)
        }
        assert.strictEqual(yield* auditCount("tickets.comment.create", ticket.id), 1)
        yield* expect(yield* kit.request("DELETE", `/api/v1/projects/${p.id}`), 200)
        assert.strictEqual(yield* auditCount("tickets.project.delete", p.id), 1)
        assert.strictEqual((yield* kit.request("GET", ticketPath(p.id, ticket.id))).status, 404)
      }))
  })
})

describe("tickets: lease TTL", () => {
  layer(TestKit.layer({ plugins: [makeTicketsPlugin({ leaseSeconds: 3 })] }), { timeout: 300_000 })((it) => {
    it.effect("a lease lapses by itself after its TTL, and the holder's renewal pushes that back", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const holder = yield* member("editor")
        const other = yield* member("editor")
        const p = yield* project()
        const ticket = yield* createTicket(p.id, { title: "ttl" })
        const sleep = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))
        const claimed = yield* start(p.id, ticket.id, holder.key)
        const expires = Date.parse(claimed.ticket.lease_expires_at ?? "")
        assert.approximately(expires - Date.parse(claimed.ticket.updated_at), 3000, 50)
        yield* sleep(1500)
        yield* expect(yield* kit.request("POST", ticketPath(p.id, ticket.id, "/renew"), { token: holder.key, body: { lease_epoch: 1 } }), 200)
        yield* sleep(2000) // past the first expiry, within the renewed one
        const early = yield* kit.request("POST", ticketPath(p.id, ticket.id, "/start"), { token: other.key })
        assert.strictEqual((yield* expect<ProblemBody>(early, 409)).code, "lease_held")
        yield* sleep(1500) // past the renewed expiry
        const taken = yield* start(p.id, ticket.id, other.key)
        assert.strictEqual(taken.ticket.lease_epoch, 2)
        assert.strictEqual(taken.ticket.lease_holder, other.userId)
      }))
  })
})
