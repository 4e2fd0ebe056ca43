/**
 * Actions and approval chains over real HTTP on a fresh database: executing a chainless page's
 * action once, the checks of a decision (unknown action, comment, form fields, who decides),
 * sequential and parallel chains with quorum, 20 racing decisions (one completion, one
 * webhook), signed webhook deliveries with a retry, escalation by a step's timeout, and the
 * runs plugin's approval channel end to end.
 */
import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Deferred, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { Signature } from "trellis/plugin"
import * as TestKit from "trellis/testing"
import { RunsPlugin } from "../../runs/Plugin.ts"
import { PagesPlugin } from "../Plugin.ts"
import { as, probePlugin, statusOf, tester } from "../../runs/test/support.ts"
import type { Services } from "../../runs/test/support.ts"
import { act, call, eventually, mail, publish, receiver } from "./decisionsSupport.ts"

const T = 120_000
const services = Effect.runSync(Deferred.make<Services>())

interface ActionAnswer {
  readonly action_id: string
  readonly status: string
  readonly page_state: { readonly previous: string; readonly current: string }
  readonly executedAt: string
}
interface Problem {
  readonly error: { readonly code: string }
  readonly field?: string
  readonly reason?: string
  readonly actionIds?: ReadonlyArray<string>
}
interface Approval {
  readonly chain_status: string
  readonly mode: string
  readonly current_step: string | null
  readonly steps: ReadonlyArray<{ readonly step_id: string; readonly status: string; readonly assignees: ReadonlyArray<string>; readonly decision?: string; readonly decided_by?: string; readonly decisions: ReadonlyArray<{ identity: string }> }>
}

const kit = TestKit.layer({ plugins: [RunsPlugin, PagesPlugin, probePlugin(services)] }).pipe(
  Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({ ...process.env, TRELLIS_PAGES_WEBHOOKS_ALLOW_PRIVATE: "true" })))
)

const approval = (pageId: string) => Effect.map(call("GET", `/v1/pages/${pageId}/approval`), (a) => a.body as unknown as Approval)
const pageStatus = (pageId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ status: string }>`SELECT status FROM pages.pages WHERE id = ${pageId}`
    return rows[0]?.status
  })

layer(kit, { timeout: T, excludeTestServices: true })("pages: actions and approval chains", (it) => {
  it.effect("a chainless public page: anyone executes an action once; the second is 409", () =>
    Effect.gen(function*() {
      const pageId = yield* publish({ title: "Refund #1", access: { mode: "public" } })
      const first = yield* act(pageId, "act_approve", { actor: { identity: "customer-7" }, comment: "fine" }, null)
      assert.strictEqual(first.status, 200, first.text)
      const answer = first.body as unknown as ActionAnswer
      assert.strictEqual(answer.action_id, "act_approve")
      assert.strictEqual(answer.status, "executed")
      assert.deepStrictEqual(answer.page_state, { previous: "active", current: "completed" })
      assert.match(answer.executedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      assert.strictEqual(yield* pageStatus(pageId), "completed")
      const again = yield* act(pageId, "act_reject", {}, null)
      assert.strictEqual(again.status, 409, again.text)
      assert.strictEqual((again.body as unknown as Problem).error.code, "CONFLICT")
      const view = yield* approval(pageId)
      assert.strictEqual(view.chain_status, "none")
      assert.strictEqual(view.steps[0]!.step_id, "default")
      assert.strictEqual(view.steps[0]!.decided_by, "customer-7")
    }))

  it.effect("bad input is a 4xx that records nothing: unknown action, missing comment, missing form field", () =>
    Effect.gen(function*() {
      const pageId = yield* publish({
        title: "Refund #2",
        access: { mode: "public" },
        blocks: [{ type: "form", data: { fields: [{ name: "amount", label: "Amount", required: true }, { name: "note" }] } }],
        actions: [
          { action_id: "act_approve", label: "Approve" },
          { action_id: "act_reject", label: "Reject", requires_comment: true }
        ]
      })
      const unknown = yield* act(pageId, "act_nope", {}, null)
      assert.strictEqual(unknown.status, 404)
      assert.strictEqual((unknown.body as unknown as Problem).error.code, "NOT_FOUND")
      assert.deepStrictEqual((unknown.body as unknown as Problem).actionIds, ["act_approve", "act_reject"])
      const noComment = yield* act(pageId, "act_reject", { comment: "  " }, null)
      assert.strictEqual(noComment.status, 400)
      assert.strictEqual((noComment.body as unknown as Problem).field, "comment")
      const noField = yield* act(pageId, "act_approve", { form_data: { note: "x" } }, null)
      assert.strictEqual(noField.status, 400)
      assert.strictEqual((noField.body as unknown as Problem).field, "form_data.amount")
      const badBody = yield* act(pageId, "act_approve", { comment: 5 }, null)
      assert.strictEqual(badBody.status, 400)
      const missingPage = yield* act("pg_doesnotexist0", "act_approve", {}, null)
      assert.strictEqual(missingPage.status, 404)
      assert.strictEqual(yield* pageStatus(pageId), "active")
      const ok = yield* act(pageId, "act_approve", { form_data: { amount: 12 } }, null)
      assert.strictEqual(ok.status, 200, ok.text)
    }))

  it.effect("a sequential chain with a quorum: recorded, then executed; non-assignees 403, repeats 409, anonymous 401", () =>
    Effect.gen(function*() {
      const pageId = yield* publish({
        title: "Budget",
        access: { mode: "public" },
        approval_chain: {
          mode: "sequential",
          steps: [
            { step_id: "managers", name: "Managers", assignees: [mail("ann"), mail("bob"), mail("cat")], quorum: 2 },
            { step_id: "finance", name: "Finance", assignees: [mail("fin")] }
          ]
        }
      })
      const before = yield* approval(pageId)
      assert.strictEqual(before.chain_status, "not_started")
      assert.strictEqual(before.current_step, "managers")
      assert.deepStrictEqual(before.steps.map((s) => s.status), ["pending", "waiting"])

      const anonymous = yield* act(pageId, "act_approve", { actor: { identity: mail("ann") } }, null)
      assert.strictEqual(anonymous.status, 401, anonymous.text)
      const finTooEarly = yield* act(pageId, "act_approve", { actor: { identity: mail("fin") } })
      assert.strictEqual(finTooEarly.status, 403, finTooEarly.text)

      const ann = yield* act(pageId, "act_approve", { actor: { identity: mail("ann") }, comment: "ok" })
      assert.strictEqual(ann.status, 200, ann.text)
      assert.strictEqual((ann.body as unknown as ActionAnswer).status, "recorded")
      assert.deepStrictEqual((ann.body as unknown as ActionAnswer).page_state, { previous: "active", current: "active" })
      const annAgain = yield* act(pageId, "act_approve", { actor: { identity: mail("ANN") } })
      assert.strictEqual(annAgain.status, 409, annAgain.text)
      assert.strictEqual((annAgain.body as unknown as Problem).reason, "already_decided")

      const bob = yield* act(pageId, "act_approve", { actor: { identity: mail("bob") } })
      assert.strictEqual((bob.body as unknown as ActionAnswer).status, "recorded")
      const middle = yield* approval(pageId)
      assert.strictEqual(middle.chain_status, "in_progress")
      assert.strictEqual(middle.current_step, "finance")
      assert.deepStrictEqual(middle.steps.map((s) => s.status), ["completed", "pending"])
      assert.strictEqual(middle.steps[0]!.decision, "approved")
      assert.strictEqual(middle.steps[0]!.decided_by, mail("bob"))

      const fin = yield* act(pageId, "act_approve", { actor: { identity: mail("fin") } })
      assert.strictEqual((fin.body as unknown as ActionAnswer).status, "executed", fin.text)
      const after = yield* approval(pageId)
      assert.strictEqual(after.chain_status, "approved")
      assert.strictEqual(after.current_step, null)
      const late = yield* act(pageId, "act_approve", { actor: { identity: mail("cat") } })
      assert.strictEqual(late.status, 409, late.text)
      assert.strictEqual(yield* pageStatus(pageId), "completed")
    }))

  it.effect("a parallel chain is rejected by the first rejection", () =>
    Effect.gen(function*() {
      const pageId = yield* publish({
        title: "Launch",
        approval_chain: { mode: "parallel", steps: [{ step_id: "legal", assignees: [mail("lee")] }, { step_id: "security", assignees: [mail("sec")] }] }
      })
      const start = yield* approval(pageId)
      assert.deepStrictEqual(start.steps.map((s) => s.status), ["pending", "pending"])
      const lee = yield* act(pageId, "act_approve", { actor: { identity: mail("lee") } })
      assert.strictEqual((lee.body as unknown as ActionAnswer).status, "recorded", lee.text)
      const sec = yield* act(pageId, "act_reject", { actor: { identity: mail("sec") }, comment: "no" })
      assert.strictEqual((sec.body as unknown as ActionAnswer).status, "executed", sec.text)
      const view = yield* approval(pageId)
      assert.strictEqual(view.chain_status, "rejected")
      assert.deepStrictEqual(view.steps.map((s) => s.status), ["completed", "rejected"])
    }))

  it.effect("20 racing decisions on a quorum of 2 of 5: two count, one completes, one webhook", () =>
    Effect.scoped(Effect.gen(function*() {
      const hook = yield* receiver
      const pageId = yield* publish({
        title: "Race",
        on_action: { default_url: hook.url },
        approval_chain: { steps: [{ step_id: "s", assignees: ["a", "b", "c", "d", "e"].map(mail), quorum: 2 }] }
      })
      const attempts = Array.from({ length: 20 }, (_, i) => mail(["a", "b", "c", "d", "e"][i % 5]!))
      const answers = yield* Effect.forEach(attempts, (identity) => act(pageId, "act_approve", { actor: { identity } }), { concurrency: "unbounded" })
      const statuses = answers.map((a) => a.status)
      assert.strictEqual(statuses.filter((s) => s === 200).length, 2, statuses.join(","))
      assert.strictEqual(statuses.filter((s) => s === 409).length, 18, statuses.join(","))
      const executed = answers.filter((a) => a.status === 200 && (a.body as unknown as ActionAnswer).status === "executed")
      assert.strictEqual(executed.length, 1)
      const sql = yield* SqlClient.SqlClient
      const decisions = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM pages.decisions WHERE page_id = ${pageId}`
      assert.strictEqual(decisions[0]!.n, 2)
      const jobs = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'pages.webhook' AND data->'payload'->>'pageId' = ${pageId}`
      assert.strictEqual(jobs[0]!.n, 1)
      yield* eventually(Effect.sync(() => (hook.deliveries.length > 0 ? true : undefined)))
      assert.strictEqual((yield* approval(pageId)).chain_status, "approved")
    })))

  it.effect("webhooks are signed with the organization's secret, and a 500 answer is retried", () =>
    Effect.scoped(Effect.gen(function*() {
      const hook = yield* receiver
      hook.answers.push(500)
      const secretAnswer = yield* call("GET", "/v1/webhooks/secret")
      assert.strictEqual(secretAnswer.status, 200, secretAnswer.text)
      const secret = secretAnswer.body["secret"] as string
      assert.strictEqual((yield* call("GET", "/v1/webhooks/secret")).body["secret"], secret)
      const pageId = yield* publish({
        title: "Signed",
        access: { mode: "public" },
        actions: [{ action_id: "act_ship", label: "Ship", url: hook.url }],
        on_action: { default_url: "https://agent.invalid/never" }
      })
      const done = yield* act(pageId, "act_ship", { actor: { identity: "ops" }, comment: "go", form_data: { qty: 2 } }, null)
      assert.strictEqual(done.status, 200, done.text)
      yield* eventually(Effect.sync(() => (hook.deliveries.length >= 2 ? true : undefined)))
      const [failed, retried] = hook.deliveries
      assert.strictEqual(failed!.body, retried!.body)
      for (const delivery of [failed!, retried!]) {
        const header = delivery.headers["x-trellis-signature"] as string
        assert.strictEqual(Signature.refusal(header, secret, delivery.body, Math.floor(Date.now() / 1000)), undefined)
        assert.notStrictEqual(Signature.refusal(header, "another secret", delivery.body, Math.floor(Date.now() / 1000)), undefined)
      }
      const body = JSON.parse(retried!.body) as Record<string, unknown>
      assert.deepStrictEqual(
        { event: body["event"], pageId: body["pageId"], actionId: body["actionId"], actor: body["actor"], comment: body["comment"], form_data: body["form_data"], decision: body["decision"] },
        { event: "action.executed", pageId, actionId: "act_ship", actor: "ops", comment: "go", form_data: { qty: 2 }, decision: "approve" }
      )
    })))

  it.effect("a step's timeout escalates it to escalate_to, who may then decide", () =>
    Effect.gen(function*() {
      const pageId = yield* publish({
        title: "Escalate",
        approval_chain: { steps: [{ step_id: "s", assignees: [mail("slow")], timeout_minutes: 0.01, escalate_to: [mail("boss")] }] }
      })
      const escalated = yield* eventually(Effect.map(approval(pageId), (v) => (v.steps[0]!.status === "escalated" ? v : undefined)))
      assert.deepStrictEqual(escalated.steps[0]!.assignees, [mail("slow"), mail("boss")])
      const boss = yield* act(pageId, "act_approve", { actor: { identity: mail("boss") } })
      assert.strictEqual((boss.body as unknown as ActionAnswer).status, "executed", boss.text)
    }))

  it.effect("a step's timeout without escalate_to rejects the chain", () =>
    Effect.gen(function*() {
      const pageId = yield* publish({
        title: "Timeout",
        approval_chain: { steps: [{ step_id: "s", assignees: [mail("slow")], timeout_minutes: 0.01 }] }
      })
      const view = yield* eventually(Effect.map(approval(pageId), (v) => (v.chain_status === "rejected" ? v : undefined)))
      assert.strictEqual(view.steps[0]!.decided_by, "system:timeout")
      assert.strictEqual(yield* pageStatus(pageId), "completed")
    }))

  it.effect("a workflow's approval step publishes a page; approving it resumes the run, rejecting fails it", () =>
    Effect.gen(function*() {
      const { runs } = yield* Deferred.await(services)
      const sql = yield* SqlClient.SqlClient
      const startRun = (amount: string) =>
        Effect.gen(function*() {
          const started = yield* runs.run({
            input: { amount },
            steps: [
              { name: "draft", type: "render", template: "refund {{amount}}" },
              { name: "review", type: "approval", message: `Refund ${amount}?` },
              { name: "after", type: "transform", op: "upper" }
            ]
          }).pipe(as(tester))
          yield* statusOf(runs, started.id, ["awaiting_approval"])
          const rows = yield* sql<{ page_id: string }>`SELECT page_id FROM pages.run_approvals WHERE run_id = ${started.id}`
          assert.strictEqual(rows.length, 1)
          return { runId: started.id, pageId: rows[0]!.page_id }
        })
      const yes = yield* startRun("42")
      const page = yield* call("GET", `/v1/pages/${yes.pageId}`)
      assert.strictEqual(page.body["title"], "review")
      const approved = yield* act(yes.pageId, "act_approve", { actor: { identity: mail("lead") } })
      assert.strictEqual(approved.status, 200, approved.text)
      const ended = yield* statusOf(runs, yes.runId, ["succeeded", "failed"])
      assert.strictEqual(ended.run.status, "succeeded")

      const no = yield* startRun("43")
      const rejected = yield* act(no.pageId, "act_reject", { actor: { identity: mail("lead") } })
      assert.strictEqual(rejected.status, 200, rejected.text)
      const failed = yield* statusOf(runs, no.runId, ["succeeded", "failed"])
      assert.strictEqual(failed.run.status, "failed")
    }))
})

layer(TestKit.layer({ plugins: [RunsPlugin, PagesPlugin] }), { timeout: T, excludeTestServices: true })("pages: webhooks under the default policy", (it) => {
  it.effect("a webhook to a private address is refused (audited), never sent", () =>
    Effect.scoped(Effect.gen(function*() {
      const hook = yield* receiver
      const pageId = yield* publish({ title: "Private", access: { mode: "public" }, on_action: { default_url: hook.url } })
      const done = yield* act(pageId, "act_approve", {}, null)
      assert.strictEqual(done.status, 200, done.text)
      const sql = yield* SqlClient.SqlClient
      yield* eventually(Effect.map(
        sql<{ n: number }>`SELECT count(*)::int AS n FROM audit.entries WHERE action = 'pages.webhook.refused' AND target_id = ${pageId}`,
        (rows) => (rows[0]!.n > 0 ? true : undefined)
      ))
      assert.strictEqual(hook.deliveries.length, 0)
    })))
})
