/**
 * The automations plugin over real HTTP (embedded PGlite, or PostgreSQL with
 * TRELLIS_TEST_DATABASE_URL): CRUD and validation, the cron schedule's lifecycle in pg-boss and
 * the job it enqueues, signed webhooks (good, bad, stale, replayed, disabled, rate-limited),
 * and an event trigger on a real `prompt.published`. Runs are started through the real runs
 * plugin; the `workflow` step type is the probe's (support.ts).
 */
import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Deferred, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { Signature } from "trellis/plugin"
import * as TestKit from "trellis/testing"
import { PromptsPlugin } from "../../prompts/Plugin.ts"
import { as, tester, testRunsPlugin } from "../../runs/test/support.ts"
import { CronJob, cronQueue } from "../Automations.ts"
import { AutomationsPlugin } from "../Plugin.ts"
import { call, deliver, eventually, probePlugin } from "./support.ts"
import type { Json, Services } from "./support.ts"

// Low enough for the rate-limit test (every other test stays under it per automation), given to
// this file's server only (test files share a worker process).
const lowWebhookBudget = ConfigProvider.layer(
  ConfigProvider.fromEnvRecord({ ...process.env, TRELLIS_AUTOMATIONS_WEBHOOK_PER_MINUTE: "5" })
)

const services = Effect.runSync(Deferred.make<Services>())
const T = 180_000

/** The admin token acts in the default organization, whose default workspace's id is `default`. */
const base = "/api/v1/workspace/default/automations"

const scheduleOf = (id: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* sql<{ readonly cron: string; readonly timezone: string }>`
      SELECT cron, timezone FROM pgboss.schedule WHERE name = ${cronQueue} AND key = ${id}`
  })

const firingsOf = (id: string) =>
  Effect.map(call("GET", `${base}/${id}/firings`), (reply) => {
    assert.strictEqual(reply.status, 200, reply.text)
    return reply.body.data as ReadonlyArray<{ run_id: string | null; trigger: string; error: string | null }>
  })

const runsOf = (automationId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* sql<{ readonly id: string; readonly input: unknown; readonly steps: unknown; readonly source: string; readonly created_by: string }>`
      SELECT id, input, steps, source, created_by FROM runs.runs WHERE ref_key = ${automationId} ORDER BY created_at, id`
  })

const parsed = (value: unknown) => (typeof value === "string" ? JSON.parse(value) : value) as Json

const create = (body: Json, status = 201) =>
  Effect.map(call("POST", base, { body }), (reply) => {
    assert.strictEqual(reply.status, status, reply.text)
    return reply.body
  })

const workflowTarget = (inputs: Json = {}) => ({ type: "workflow", id: "wf_ok_target", inputs })

layer(
  TestKit.layer({ plugins: [PromptsPlugin, testRunsPlugin(), AutomationsPlugin, probePlugin(services)] }).pipe(Layer.provide(lowWebhookBudget)),
  { timeout: T, excludeTestServices: true }
)("automations", (it) => {
  it.effect("CRUD: create, read, list, disable and enable (the cron schedule follows), replace, delete", () =>
    Effect.gen(function*() {
      const created = yield* create({
        name: "nightly report",
        trigger: { type: "cron", schedule: "0 3 * * *", timezone: "Europe/Paris" },
        target: workflowTarget({ report: "daily" })
      })
      const id = created.id as string
      assert.match(id, /^aut_/)
      assert.strictEqual(created.enabled, true)
      assert.strictEqual(created.workspace_id, "default")
      assert.deepStrictEqual(created.trigger, { type: "cron", schedule: "0 3 * * *", timezone: "Europe/Paris" })
      assert.deepStrictEqual(created.target, { type: "workflow", id: "wf_ok_target", inputs: { report: "daily" } })
      assert.notProperty(created, "webhook")
      assert.deepStrictEqual(yield* scheduleOf(id), [{ cron: "0 3 * * *", timezone: "Europe/Paris" }])

      const one = yield* call("GET", `${base}/${id}`)
      assert.strictEqual(one.status, 200)
      assert.deepStrictEqual(one.body, created)
      const listed = yield* call("GET", base)
      assert.include((listed.body.data as ReadonlyArray<Json>).map((a) => a.id), id)

      const disabled = yield* call("PATCH", `${base}/${id}`, { body: { enabled: false } })
      assert.strictEqual(disabled.status, 200, disabled.text)
      assert.strictEqual(disabled.body.enabled, false)
      assert.deepStrictEqual(yield* scheduleOf(id), [], "a disabled automation has no schedule")
      const enabled = yield* call("PATCH", `${base}/${id}`, { body: { enabled: true } })
      assert.strictEqual(enabled.body.enabled, true)
      assert.strictEqual((yield* scheduleOf(id)).length, 1)

      const replaced = yield* call("PUT", `${base}/${id}`, {
        body: { name: "every five", trigger: { type: "cron", schedule: "*/5 * * * *" }, target: { type: "workflow", id: "wf_ok_other" } }
      })
      assert.strictEqual(replaced.status, 200, replaced.text)
      assert.strictEqual(replaced.body.name, "every five")
      assert.deepStrictEqual(replaced.body.target, { type: "workflow", id: "wf_ok_other", inputs: {} })
      assert.deepStrictEqual(yield* scheduleOf(id), [{ cron: "*/5 * * * *", timezone: "UTC" }])

      const toEvent = yield* call("PATCH", `${base}/${id}`, { body: { trigger: { type: "event", event: "prompt.published" } } })
      assert.strictEqual(toEvent.status, 200, toEvent.text)
      assert.deepStrictEqual(yield* scheduleOf(id), [], "no longer a cron automation: no schedule")
      yield* call("PATCH", `${base}/${id}`, { body: { trigger: { type: "cron", schedule: "0 * * * *" } } })
      assert.strictEqual((yield* scheduleOf(id)).length, 1)

      const removed = yield* call("DELETE", `${base}/${id}`)
      assert.strictEqual(removed.status, 204)
      const gone = yield* call("GET", `${base}/${id}`)
      assert.strictEqual(gone.status, 404)
      assert.strictEqual(gone.body.code, "automation_not_found")
      assert.deepStrictEqual(gone.body.error, { code: "automation_not_found", message: gone.body.detail, details: { automation_id: id } })
      assert.deepStrictEqual(yield* scheduleOf(id), [], "a deleted automation has no schedule")
    }), T)

  it.effect("refuses bad automations with a problem naming the field, and stores nothing", () =>
    Effect.gen(function*() {
      const before = ((yield* call("GET", base)).body.data as ReadonlyArray<unknown>).length
      const refused = (body: Json, status: number, code: string) =>
        Effect.gen(function*() {
          const reply = yield* call("POST", base, { body })
          assert.strictEqual(reply.status, status, reply.text)
          assert.strictEqual(reply.body.code, code, reply.text)
          return reply.body
        })
      const cron = (schedule: string, timezone?: string) => ({
        name: "bad",
        trigger: { type: "cron", schedule, ...(timezone === undefined ? {} : { timezone }) },
        target: workflowTarget()
      })
      assert.strictEqual((yield* refused(cron("every day"), 422, "invalid_automation")).field, "trigger.schedule")
      assert.strictEqual((yield* refused(cron("99 * * * *"), 422, "invalid_automation")).field, "trigger.schedule")
      assert.strictEqual((yield* refused(cron("0 * * * *", "Mars/Olympus"), 422, "invalid_automation")).field, "trigger.timezone")
      // No plugin of this process registers an `agent` step type: the target is unknown.
      const agent = yield* refused({ name: "bad", trigger: { type: "webhook" }, target: { type: "agent", id: "agt_1" } }, 422, "invalid_automation")
      assert.strictEqual(agent.field, "target.type")
      assert.include(agent.detail as string, "agent")
      // The step type's own validation (in the caller's organization) refuses the id.
      const missing = yield* refused({ name: "bad", trigger: { type: "webhook" }, target: { type: "workflow", id: "wf_missing" } }, 422, "invalid_automation")
      assert.deepStrictEqual([missing.field, missing.reason], ["target", "no workflow wf_missing"])
      // Schema failures: 422 INVALID_REQUEST with the fields named (SessionFS's dialect).
      yield* refused({ name: "bad", trigger: { type: "sometimes" }, target: workflowTarget() }, 422, "INVALID_REQUEST")
      yield* refused({ name: "bad", trigger: { type: "event", event: "ticket.closed" }, target: workflowTarget() }, 422, "INVALID_REQUEST")
      yield* refused({ name: "", trigger: { type: "webhook" }, target: workflowTarget() }, 422, "INVALID_REQUEST")
      const workspace = yield* call("POST", "/api/v1/workspace/ws_nowhere/automations", {
        body: { name: "x", trigger: { type: "webhook" }, target: workflowTarget() }
      })
      assert.strictEqual(workspace.status, 404)
      assert.strictEqual(workspace.body.code, "workspace_not_found")
      assert.strictEqual(((yield* call("GET", base)).body.data as ReadonlyArray<unknown>).length, before, "nothing was stored")
      // An edit that is refused changes nothing.
      const kept = yield* create({ name: "kept", trigger: { type: "cron", schedule: "0 1 * * *" }, target: workflowTarget() })
      const badEdit = yield* call("PATCH", `${base}/${kept.id}`, { body: { trigger: { type: "cron", schedule: "nope" }, name: "changed" } })
      assert.strictEqual(badEdit.status, 422)
      assert.deepStrictEqual((yield* call("GET", `${base}/${kept.id}`)).body, kept)
      assert.deepStrictEqual(yield* scheduleOf(kept.id as string), [{ cron: "0 1 * * *", timezone: "UTC" }])
    }), T)

  it.effect("cron: the job the schedule enqueues starts one run of the target, as the creator; a disabled automation's job starts nothing", () =>
    Effect.gen(function*() {
      const { jobs, runs } = yield* Deferred.await(services)
      const created = yield* create({ name: "hourly", trigger: { type: "cron", schedule: "0 * * * *" }, target: workflowTarget({ region: "eu" }) })
      const id = created.id as string
      // What pg-boss's cron pass enqueues for the schedule (no waiting on the wall clock).
      yield* Effect.orDie(jobs.enqueue(cronQueue, CronJob, { automationId: id }))
      const firings = yield* eventually(Effect.map(firingsOf(id), (f) => (f.length > 0 && f[0].run_id !== null ? f : undefined)))
      assert.strictEqual(firings.length, 1)
      assert.strictEqual(firings[0].trigger, "cron")
      const runId = firings[0].run_id as string
      const started = yield* runsOf(id)
      assert.deepStrictEqual(started.map((r) => r.id), [runId])
      assert.strictEqual(started[0].source, "automation")
      assert.strictEqual(started[0].created_by, "admin", "the creator's principal")
      assert.deepStrictEqual(parsed(started[0].input), { region: "eu" })
      assert.deepStrictEqual(parsed({ steps: started[0].steps }).steps, [{ name: "target", type: "workflow", workflow: "wf_ok_target", input: { region: "eu" } }])
      // The run itself ran the target step.
      const ended = yield* eventually(Effect.map(
        runs.get(runId).pipe(as(tester)),
        (d) => (d.run.status === "succeeded" || d.run.status === "failed" ? d : undefined)
      ))
      assert.strictEqual(ended.run.status, "succeeded", JSON.stringify(ended.run.error))
      assert.deepStrictEqual(ended.run.output, { workflow: "wf_ok_target", input: { region: "eu" } })
      const automation = (yield* call("GET", `${base}/${id}`)).body
      assert.isString(automation.last_fired_at)

      // A job left over for a disabled automation completes and starts nothing.
      yield* call("PATCH", `${base}/${id}`, { body: { enabled: false } })
      const jobId = yield* Effect.orDie(jobs.enqueue(cronQueue, CronJob, { automationId: id }))
      const sql = yield* SqlClient.SqlClient
      const state = yield* eventually(Effect.map(
        sql<{ readonly state: string }>`SELECT state FROM pgboss.job WHERE name = ${cronQueue} AND id = ${jobId}`,
        (rows) => (rows[0]?.state === "completed" || rows[0]?.state === "failed" ? rows[0].state : undefined)
      ))
      assert.strictEqual(state, "completed")
      assert.strictEqual((yield* firingsOf(id)).length, 1)
      assert.strictEqual((yield* runsOf(id)).length, 1)
    }), T)

  it.effect("webhook: the secret is shown once; a signed delivery starts a run with the body as input; a replay starts nothing", () =>
    Effect.gen(function*() {
      const created = yield* create({ name: "on push", trigger: { type: "webhook" }, target: workflowTarget({ repo: "trellis", branch: "main" }) })
      const id = created.id as string
      const webhook = created.webhook as { url: string; secret: string; signature_header: string }
      assert.strictEqual(webhook.url, "/api/v1/webhooks/incoming")
      assert.strictEqual(webhook.signature_header, "X-Trellis-Signature")
      assert.match(webhook.secret, /^whsec_/)
      const read = yield* call("GET", `${base}/${id}`)
      assert.notInclude(read.text, webhook.secret, "the secret is never shown again")
      const sql = yield* SqlClient.SqlClient
      const stored = yield* sql<{ readonly webhook_secret: string }>`SELECT webhook_secret FROM automations.automations WHERE id = ${id}`
      assert.notInclude(stored[0].webhook_secret, webhook.secret, "the secret is stored sealed")

      const body = JSON.stringify({ branch: "feature/x", commits: 3 })
      const timestamp = Math.floor(Date.now() / 1000)
      const accepted = yield* deliver(id, webhook.secret, body, { timestamp })
      assert.strictEqual(accepted.status, 202, accepted.text)
      assert.strictEqual(accepted.body.automation_id, id)
      assert.strictEqual(accepted.body.replayed, false)
      const runIds = accepted.body.run_ids as ReadonlyArray<string>
      assert.strictEqual(runIds.length, 1)
      const started = yield* runsOf(id)
      assert.deepStrictEqual(started.map((r) => r.id), runIds)
      assert.deepStrictEqual(parsed(started[0].input), { repo: "trellis", branch: "feature/x", commits: 3 })

      // The same delivery again (same signature): nothing new, the first delivery's run named.
      const replay = yield* deliver(id, webhook.secret, body, { timestamp })
      assert.strictEqual(replay.status, 202, replay.text)
      assert.deepStrictEqual([replay.body.replayed, replay.body.run_ids], [true, runIds])
      assert.strictEqual((yield* runsOf(id)).length, 1)

      // `?automation_id=` works as well as the header.
      const viaQuery = yield* deliver(id, webhook.secret, JSON.stringify({ n: 2 }), { via: "query" })
      assert.strictEqual(viaQuery.status, 202, viaQuery.text)
      assert.strictEqual((yield* runsOf(id)).length, 2)

      // Two copies of one delivery at once: one starts the run, the other replays it.
      const twin = JSON.stringify({ n: 3 })
      const at = Math.floor(Date.now() / 1000)
      const both = yield* Effect.all([deliver(id, webhook.secret, twin, { timestamp: at }), deliver(id, webhook.secret, twin, { timestamp: at })], {
        concurrency: 2
      })
      assert.deepStrictEqual(both.map((r) => r.status), [202, 202], both.map((r) => r.text).join("\n"))
      assert.deepStrictEqual(both.map((r) => r.body.replayed).sort(), [false, true])
      assert.deepStrictEqual(both[0].body.run_ids, both[1].body.run_ids)
      assert.strictEqual((yield* runsOf(id)).length, 3)
    }), T)

  it.effect("webhook: bad, missing or stale signatures, unknown and disabled automations are 4xx problems and start nothing", () =>
    Effect.gen(function*() {
      const created = yield* create({ name: "guarded", trigger: { type: "webhook" }, target: workflowTarget() })
      const id = created.id as string
      const secret = (created.webhook as { secret: string }).secret
      const body = JSON.stringify({ hello: "world" })
      const now = Math.floor(Date.now() / 1000)
      const refused = (reply: { status: number; body: Json; text: string }, status: number, code: string) => {
        assert.strictEqual(reply.status, status, reply.text)
        assert.strictEqual(reply.body.code, code, reply.text)
        assert.strictEqual((reply.body.error as Json).code, code, "SessionFS's error envelope")
        return reply.body
      }
      refused(yield* deliver(id, "whsec_not-the-secret", body), 401, "invalid_signature")
      refused(yield* deliver(id, secret, body, { signature: null }), 401, "invalid_signature")
      refused(yield* deliver(id, secret, body, { signature: "t=abc,v1=zz" }), 401, "invalid_signature")
      // Signed over another body.
      refused(yield* deliver(id, secret, body, { signature: Signature.sign(secret, JSON.stringify({ hello: "mars" }), now) }), 401, "invalid_signature")
      const stale = refused(yield* deliver(id, secret, body, { timestamp: now - 600 }), 401, "invalid_signature")
      assert.include(stale.detail as string, "300 seconds")
      refused(yield* deliver(id, secret, body, { timestamp: now + 600 }), 401, "invalid_signature")
      refused(yield* deliver("aut_unknown", secret, body), 404, "automation_not_found")
      refused(yield* deliver("", secret, body), 400, "automation_id_required")
      // A cron automation is not a webhook one.
      const cron = yield* create({ name: "not a hook", trigger: { type: "cron", schedule: "0 0 * * *" }, target: workflowTarget() })
      refused(yield* deliver(cron.id as string, secret, body), 404, "automation_not_found")
      // Not an object: the schema refuses it before anything else.
      const array = yield* deliver(id, secret, "[1,2]")
      assert.strictEqual(array.status, 422, array.text)
      yield* call("PATCH", `${base}/${id}`, { body: { enabled: false } })
      refused(yield* deliver(id, secret, body), 409, "automation_disabled")
      assert.deepStrictEqual(yield* firingsOf(id), [])
      assert.deepStrictEqual(yield* runsOf(id), [])
    }), T)

  it.effect("a workspace of the organization other than the default one; once deleted, its automations start nothing", () =>
    Effect.gen(function*() {
      const workspace = yield* call("POST", "/api/workspaces", { body: { name: `automations ${crypto.randomUUID().slice(0, 8)}` } })
      assert.strictEqual(workspace.status, 201, workspace.text)
      const workspaceId = (workspace.body.data as Json).id as string
      const path = `/api/v1/workspace/${workspaceId}/automations`
      const created = yield* call("POST", path, { body: { name: "hook", trigger: { type: "webhook" }, target: workflowTarget() } })
      assert.strictEqual(created.status, 201, created.text)
      assert.strictEqual(created.body.workspace_id, workspaceId)
      assert.deepStrictEqual(((yield* call("GET", path)).body.data as ReadonlyArray<Json>).map((a) => a.id), [created.body.id])
      // Not in the default workspace's list, and not found through it.
      assert.notInclude((yield* call("GET", base)).text, created.body.id as string)
      assert.strictEqual((yield* call("GET", `${base}/${created.body.id as string}`)).status, 404)

      const secret = (created.body.webhook as { secret: string }).secret
      assert.strictEqual((yield* deliver(created.body.id as string, secret, "{}")).status, 202)
      assert.strictEqual((yield* call("DELETE", `/api/workspaces/${workspaceId}`)).status, 200)
      assert.strictEqual((yield* call("GET", path)).body.code, "workspace_not_found")
      const refused = yield* deliver(created.body.id as string, secret, JSON.stringify({ again: true }))
      assert.strictEqual(refused.status, 422, refused.text)
      assert.strictEqual(refused.body.reason, `workspace ${workspaceId} no longer exists`)
      assert.strictEqual((yield* runsOf(created.body.id as string)).length, 1)
    }), T)

  it.effect("webhook: deliveries beyond the automation's budget are 429 with Retry-After", () =>
    Effect.gen(function*() {
      const created = yield* create({ name: "busy", trigger: { type: "webhook" }, target: workflowTarget() })
      const id = created.id as string
      const secret = (created.webhook as { secret: string }).secret
      for (let n = 0; n < 5; n++) {
        const reply = yield* deliver(id, secret, JSON.stringify({ n }))
        assert.strictEqual(reply.status, 202, reply.text)
      }
      const limited = yield* deliver(id, secret, JSON.stringify({ n: 5 }))
      assert.strictEqual(limited.status, 429, limited.text)
      assert.strictEqual(limited.body.code, "RATE_LIMITED")
      assert.isString(limited.headers["retry-after"])
      assert.strictEqual((yield* runsOf(id)).length, 5)
    }), T)

  it.effect("event: a real prompt.published of the workspace starts a run; other events and keys do not; nothing twice", () =>
    Effect.gen(function*() {
      const { automations } = yield* Deferred.await(services)
      const key = `greeting-${crypto.randomUUID().slice(0, 8)}`
      const other = `${key}-other`
      const prompt = yield* call("POST", "/api/prompts", { body: { key, content: "Hello {{name}}" } })
      assert.strictEqual(prompt.status, 200, prompt.text)
      const otherPrompt = yield* call("POST", "/api/prompts", { body: { key: other, content: "Other" } })
      const promptId = (prompt.body.data as Json).id as string
      const created = yield* create({
        name: "on publish",
        trigger: { type: "event", event: "prompt.published", filter: { key } },
        target: workflowTarget({ channel: "#releases" })
      })
      const id = created.id as string
      // An update of the key, then a publish of another key, then the publish that matches.
      yield* call("PUT", `/api/prompts/${promptId}`, { body: { content: "Hello {{name}}!" } })
      const publishOther = yield* call("POST", "/api/prompts/publish", { body: { id: (otherPrompt.body.data as Json).id } })
      assert.strictEqual(publishOther.status, 200, publishOther.text)
      const published = yield* call("POST", "/api/prompts/publish", { body: { id: promptId } })
      assert.strictEqual(published.status, 200, published.text)
      const firings = yield* eventually(Effect.map(firingsOf(id), (f) => (f.length > 0 && f[0].run_id !== null ? f : undefined)))
      // Events are consumed in order: the two earlier ones were seen and did not match.
      assert.strictEqual(firings.length, 1)
      assert.strictEqual(firings[0].trigger, "event")
      const started = yield* runsOf(id)
      assert.strictEqual(started.length, 1)
      const input = parsed(started[0].input)
      assert.strictEqual(input.channel, "#releases")
      assert.deepStrictEqual(
        { ...(input.event as Json), seq: 0 },
        { name: "prompt.published", seq: 0, prompt_id: promptId, key, env: "dev", version: "v1", version_number: 1, workspace_id: "default" }
      )
      // Draining again (a second process, a restart) consumes nothing twice.
      const sql = yield* SqlClient.SqlClient
      const cursor = yield* sql<{ readonly stream: string; readonly last_seq: number | string }>`
        SELECT stream, last_seq FROM automations.event_cursors WHERE organization_id = 'org_default'`
      assert.strictEqual(cursor.length, 1)
      assert.isAtLeast(Number(cursor[0].last_seq), (input.event as { seq: number }).seq)
      yield* automations.drain(cursor[0].stream)
      yield* automations.drain(cursor[0].stream)
      assert.strictEqual((yield* runsOf(id)).length, 1)
      // A disabled event automation starts nothing; the position still moves on.
      yield* call("PATCH", `${base}/${id}`, { body: { enabled: false } })
      yield* call("POST", "/api/prompts/publish", { body: { id: promptId } })
      yield* automations.drain(cursor[0].stream)
      assert.strictEqual((yield* runsOf(id)).length, 1)
    }), T)
})
