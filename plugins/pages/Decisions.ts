/**
 * The `Decisions` implementation: a page's actions, its approval chain, the chain's timeouts
 * and escalations, the signed webhooks of executed actions, and the notifications of
 * `notify` channels and of assignees whose step became pending.
 *
 * Each decision runs in one transaction that first locks the page's row
 * (`SELECT ... FOR UPDATE`): two racing decisions on one chain are serialized, so neither
 * double counts nor skips a step, and the unique keys of `pages.decisions` (one row per person
 * per step; one execution of a chainless page) refuse a repeat. The chain's state is derived
 * from the stored facts by `Chain.ts`. Everything a decision causes (the page's completion,
 * its events, audit entry, webhook job, timeout jobs, notices) commits with it or not at all.
 *
 * Who decides: the organization's own credentials (a member or key of the page's
 * organization) decide as `actor.identity` when given (they are the tenant's own system); a
 * person with a viewer session, or a member of another organization, decides as their proven
 * email (another `actor.identity` is 403); nobody may act only on a public page without a
 * chain (recorded as `actor.identity`, else `anonymous`).
 */
import { Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { AuditLog, JobQueue, Mailer, OutboundHttp, Principal, Row, SecretBox, Setting, Signature, TrellisConfig, systemPrincipal } from "trellis/plugin"
import * as Chain from "./Chain.ts"
import { ActionNotFound, DecisionConflict } from "./DecisionErrors.ts"
import { Decisions } from "./DecisionsService.ts"
import type { ActionError, ActionRequest, ActionResult, ApprovalView, ChainStepView } from "./DecisionsService.ts"
import type { Action, PageOutcome, PageRecord } from "./Domain.ts"
import { InvalidPage, PageForbidden, PageLoginRequired, PageNotFound, PageStateConflict } from "./Errors.ts"
import { PageEvents } from "./PageEvents.ts"
import { pageUrlOf } from "./Pages.ts"
import { Pages } from "./PagesService.ts"
import { identityOf } from "./Viewers.ts"
import type { Viewer } from "./Viewers.ts"

/** The decisions part's settings. */
export class DecisionsConfig extends Setting.Service<DecisionsConfig>()("pages/DecisionsConfig", {
  webhooksAllowPrivate: Setting.boolean("TRELLIS_PAGES_WEBHOOKS_ALLOW_PRIVATE", {
    default: false,
    description: "Pages plugin: let action webhooks and Slack notices reach private and loopback addresses (an agent on the same network). Off, such a URL is refused and the delivery dropped (audited as `pages.webhook.refused`)."
  })
}) {}

/** The step id of a page without a chain: its actions are one implicit step. */
export const implicitStep = "default"

/** What an action means in a chain: its `decision`, else `reject` when its id or label reads so. */
export const decisionOf = (action: Action): "approve" | "reject" =>
  action.decision ?? (/reject|deny|decline/i.test(`${action.action_id} ${action.label}`) ? "reject" : "approve")

// ── jobs ────────────────────────────────────────────────────────────────

const WebhookJob = Schema.Struct({ organizationId: Schema.String, pageId: Schema.String, url: Schema.String, body: Schema.String })
const TimeoutJob = Schema.Struct({ pageId: Schema.String, stepId: Schema.String })
const EmailJob = Schema.Struct({ to: Schema.String, subject: Schema.String, text: Schema.String })
const SlackJob = Schema.Struct({ organizationId: Schema.String, pageId: Schema.String, url: Schema.String, text: Schema.String })

export const webhookQueue = "pages.webhook"
export const timeoutQueue = "pages.chain-timeout"
export const emailQueue = "pages.notify-email"
export const slackQueue = "pages.notify-slack"

// ── rows ────────────────────────────────────────────────────────────────

interface FactRow {
  readonly step_id: string
  readonly identity: string
  readonly decision: string
  readonly comment: string | null
  readonly created_at: Date | string
}

const factOf = (row: FactRow): Chain.Fact => ({
  stepId: row.step_id,
  identity: row.identity,
  decision: row.decision === "rejected" ? "rejected" : row.decision === "escalated" ? "escalated" : "approved",
  comment: row.comment,
  decidedAt: row.created_at instanceof Date ? row.created_at : new Date(row.created_at)
})

const decodePrincipal = Schema.decodeUnknownOption(Principal)

const randomId = (prefix: string): string => {
  const bytes = crypto.getRandomValues(new Uint8Array(9))
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").slice(0, 16)
}

const stepView = (step: Chain.StepState, timeoutAt: string | null): ChainStepView => {
  const settled = step.settledBy
  return {
    step_id: step.stepId,
    name: step.name,
    status: step.status,
    assignees: step.assignees,
    quorum: step.quorum,
    ...(settled !== null && (step.status === "completed" || step.status === "rejected")
      ? {
        decision: step.status === "completed" ? "approved" as const : "rejected" as const,
        decided_by: settled.identity,
        decided_at: Row.iso(settled.decidedAt)
      }
      : {}),
    decisions: step.decisions.map((fact) => ({
      identity: fact.identity,
      decision: fact.decision === "rejected" ? "rejected" as const : "approved" as const,
      comment: fact.comment,
      decided_at: Row.iso(fact.decidedAt)
    })),
    timeout_at: timeoutAt
  }
}

export const layer = Layer.effect(
  Decisions,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const pages = yield* Pages
    const events = yield* PageEvents
    const audit = yield* AuditLog
    const jobs = yield* JobQueue
    const box = yield* SecretBox
    const mailer = yield* Mailer
    const config = yield* DecisionsConfig
    const policy: OutboundHttp.Policy = { allowPrivate: config.webhooksAllowPrivate }
    const trellisConfig = yield* TrellisConfig
    /** The page's link (`pageUrlOf`: the request's origin when `TRELLIS_PUBLIC_URL` is unset). */
    const pageLink = (pageId: string) => Effect.provideService(pageUrlOf(pageId), TrellisConfig, trellisConfig)

    const facts = (pageId: string) =>
      sql<FactRow>`SELECT step_id, identity, decision, comment, created_at FROM pages.decisions
        WHERE page_id = ${pageId} ORDER BY created_at, id`.pipe(Effect.map((rows) => rows.map(factOf)))

    /** Locks the page's row for the transaction; its status and publisher's principal. */
    const lock = (pageId: string) =>
      sql<{ status: string; principal: unknown }>`SELECT status, principal FROM pages.pages WHERE id = ${pageId} FOR UPDATE`.pipe(
        Effect.map((rows) => rows[0])
      )

    const principalOf = (raw: unknown, organizationId: string): Principal => {
      const parsed = decodePrincipal(typeof raw === "string" ? JSON.parse(raw) : raw)
      return Option.isSome(parsed) && parsed.value.organizationId === organizationId ? parsed.value : systemPrincipal("pages")
    }

    const insertFact = (page: PageRecord, fact: Chain.Fact, extra: { actionId: string | null; formData: unknown; implicit: boolean }) =>
      sql<{ id: string }>`INSERT INTO pages.decisions
          (id, page_id, organization_id, step_id, identity, decision, action_id, comment, form_data, implicit, created_at)
        VALUES (${randomId("dec_")}, ${page.id}, ${page.organizationId}, ${fact.stepId}, ${fact.identity}, ${fact.decision},
          ${extra.actionId}, ${fact.comment}, ${extra.formData === undefined || extra.formData === null ? null : Row.jsonb(extra.formData)},
          ${extra.implicit}, ${fact.decidedAt})
        ON CONFLICT DO NOTHING RETURNING id`.pipe(Effect.map((rows) => rows.length === 1))

    // ── notices and jobs ──────────────────────────────────────────────

    /** Enqueues the timeout of each newly open step with `timeout_minutes`, and emails its assignees. */
    const opened = (page: PageRecord, steps: ReadonlyArray<Chain.StepState>, principal: Principal, now: Date) =>
      Effect.gen(function*() {
        const link = yield* pageLink(page.id)
        for (const step of steps) {
          if (step.timeoutMinutes !== null && step.status === "pending") {
            yield* jobs.enqueue(timeoutQueue, TimeoutJob, { pageId: page.id, stepId: step.stepId }, {
              startAfter: new Date(now.getTime() + step.timeoutMinutes * 60_000),
              principal
            })
          }
          yield* notifyAssignees(page, step.assignees, step.name, link, principal)
        }
      })

    const notifyAssignees = (page: PageRecord, assignees: ReadonlyArray<string>, stepName: string, link: string, principal: Principal) =>
      Effect.forEach(
        assignees.filter((a) => a.includes("@")),
        (to) =>
          jobs.enqueue(emailQueue, EmailJob, {
            to,
            subject: `Your decision is requested: ${page.title}`,
            text: `${page.title}\n\nStep: ${stepName}\n\nOpen the page to decide: ${link}\n`
          }, { principal }),
        { discard: true }
      )

    const webhookUrlOf = (page: PageRecord, action: Action | undefined): string | null =>
      action?.url ?? page.onAction?.default_url ?? null

    const enqueueWebhook = (page: PageRecord, url: string | null, body: Record<string, unknown>, principal: Principal) =>
      url === null
        ? Effect.void
        : jobs.enqueue(webhookQueue, WebhookJob, {
          organizationId: page.organizationId,
          pageId: page.id,
          url,
          body: JSON.stringify(body)
        }, { principal }).pipe(Effect.asVoid)

    // ── the organization's signing secret ─────────────────────────────

    const secretContext = (organizationId: string) => `pages.webhook-secret:${organizationId}`

    const webhookSecret = (organizationId: string) =>
      Effect.gen(function*() {
        const existing = yield* sql<{ sealed: string }>`SELECT sealed FROM pages.webhook_secrets WHERE organization_id = ${organizationId}`
        if (existing[0] !== undefined) return yield* box.open(existing[0].sealed, secretContext(organizationId))
        const bytes = crypto.getRandomValues(new Uint8Array(32))
        const secret = "whsec_" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")
        const sealed = yield* box.seal(secret, secretContext(organizationId))
        yield* sql`INSERT INTO pages.webhook_secrets (organization_id, sealed) VALUES (${organizationId}, ${sealed})
          ON CONFLICT (organization_id) DO NOTHING`
        // A racing first use may have stored its own: the stored one is the secret.
        const stored = yield* sql<{ sealed: string }>`SELECT sealed FROM pages.webhook_secrets WHERE organization_id = ${organizationId}`
        return yield* box.open(stored[0]!.sealed, secretContext(organizationId))
      })

    // ── workers ───────────────────────────────────────────────────────

    const refused = (organizationId: string, pageId: string, url: string, reason: string, what: string) =>
      Effect.gen(function*() {
        yield* Effect.logWarning(`pages: ${what} to ${url} refused: ${reason}`)
        yield* audit.append({
          organizationId,
          actor: { id: "system:pages", kind: "system" },
          action: `pages.${what}.refused`,
          target: { type: "page", id: pageId },
          details: { url, reason }
        })
      })

    yield* jobs.register(webhookQueue, {
      schema: WebhookJob,
      retryLimit: 8,
      retryDelay: 2,
      retryBackoff: true,
      retryDelayMax: 900,
      handler: (job) =>
        Effect.gen(function*() {
          const secret = yield* Row.dieOnInfrastructure(webhookSecret(job.organizationId))
          const signature = Signature.sign(secret, job.body, Math.floor(Date.now() / 1000))
          const sent = yield* OutboundHttp.send({
            url: job.url,
            method: "POST",
            headers: { "content-type": "application/json", "x-trellis-signature": signature, "user-agent": "Trellis-Pages-Webhook" },
            body: job.body,
            timeoutMs: 15_000
          }, policy).pipe(Effect.result)
          if (sent._tag === "Failure") {
            // A refused address will not become allowed by retrying: audited and dropped.
            if (sent.failure._tag === "OutboundRefused") return yield* refused(job.organizationId, job.pageId, job.url, sent.failure.reason, "webhook")
            return yield* Effect.fail(`webhook ${job.url}: ${sent.failure.message}`)
          }
          const status = sent.success.status
          yield* Effect.promise(() => sent.success.arrayBuffer().catch(() => undefined))
          if (status < 200 || status >= 300) return yield* Effect.fail(`webhook ${job.url}: HTTP ${status}`)
        })
    }).pipe(Effect.orDie)

    yield* jobs.register(emailQueue, {
      schema: EmailJob,
      retryLimit: 5,
      handler: (job) => mailer.send({ to: job.to, subject: job.subject, text: job.text })
    }).pipe(Effect.orDie)

    yield* jobs.register(slackQueue, {
      schema: SlackJob,
      retryLimit: 5,
      handler: (job) =>
        Effect.gen(function*() {
          const sent = yield* OutboundHttp.send({
            url: job.url,
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ text: job.text }),
            timeoutMs: 15_000
          }, policy).pipe(Effect.result)
          if (sent._tag === "Failure") {
            if (sent.failure._tag === "OutboundRefused") return yield* refused(job.organizationId, job.pageId, job.url, sent.failure.reason, "slack")
            return yield* Effect.fail(`slack ${job.url}: ${sent.failure.message}`)
          }
          const status = sent.success.status
          yield* Effect.promise(() => sent.success.arrayBuffer().catch(() => undefined))
          if (status < 200 || status >= 300) return yield* Effect.fail(`slack ${job.url}: HTTP ${status}`)
        })
    }).pipe(Effect.orDie)

    // ── completing a page ─────────────────────────────────────────────

    /** Completes the page (guarded): `None` when someone else won; then events, counters, webhook. */
    const complete = (
      page: PageRecord,
      outcome: PageOutcome,
      webhook: { url: string | null; body: Record<string, unknown> },
      principal: Principal
    ) =>
      Effect.gen(function*() {
        const completed = yield* pages.complete(page.id, outcome)
        if (Option.isNone(completed)) return Option.none<PageRecord>()
        yield* enqueueWebhook(completed.value, webhook.url, webhook.body, principal)
        return completed
      })

    // ── timeouts ──────────────────────────────────────────────────────

    yield* jobs.register(timeoutQueue, {
      schema: TimeoutJob,
      retryLimit: 5,
      handler: (job) =>
        Row.dieOnInfrastructure(sql.withTransaction(Effect.gen(function*() {
          const row = yield* lock(job.pageId)
          if (row === undefined || row.status !== "active") return
          const found = yield* pages.find(job.pageId)
          if (Option.isNone(found) || found.value.approvalChain === null) return
          const page = found.value
          const chain = page.approvalChain!
          const principal = principalOf(row.principal, page.organizationId)
          const now = new Date()
          const outcome = Chain.timeout(chain, yield* facts(page.id), job.stepId, now)
          if (outcome._tag === "Ignore") return
          yield* insertFact(page, outcome.fact, { actionId: null, formData: null, implicit: false })
          const step = outcome.after.steps.find((s) => s.stepId === job.stepId)!
          if (outcome._tag === "Escalate") {
            yield* events.emit(page, {
              type: "decision.recorded",
              data: { stepId: job.stepId, decision: "escalated", actor: Chain.escalationIdentity, escalatedTo: outcome.added, assignees: step.assignees },
              actor: "system",
              toAgent: true
            })
            yield* audit.append({
              organizationId: page.organizationId,
              actor: { id: "system:pages", kind: "system" },
              action: "pages.step.escalate",
              target: { type: "page", id: page.id },
              details: { stepId: job.stepId, escalatedTo: outcome.added }
            })
            yield* notifyAssignees(page, outcome.added, step.name, yield* pageLink(page.id), principal)
            return
          }
          yield* events.emit(page, {
            type: "decision.recorded",
            data: { stepId: job.stepId, decision: "rejected", actor: Chain.timeoutIdentity, comment: "timed out", chainStatus: "rejected" },
            actor: "system",
            toAgent: true
          })
          yield* audit.append({
            organizationId: page.organizationId,
            actor: { id: "system:pages", kind: "system" },
            action: "pages.step.timeout",
            target: { type: "page", id: page.id },
            details: { stepId: job.stepId }
          })
          yield* complete(page, { actionId: "timeout", decision: "reject", actor: Chain.timeoutIdentity }, {
            url: page.onAction?.default_url ?? null,
            body: {
              event: "chain.completed",
              pageId: page.id,
              actionId: null,
              actor: Chain.timeoutIdentity,
              comment: "timed out",
              form_data: null,
              decision: "reject",
              chain_status: "rejected",
              executedAt: Row.iso(now)
            }
          }, principal)
        })))
    }).pipe(Effect.orDie)

    // ── listeners ─────────────────────────────────────────────────────

    yield* pages.listen({
      name: "decisions",
      published: (page) =>
        Effect.gen(function*() {
          const rows = yield* sql<{ principal: unknown }>`SELECT principal FROM pages.pages WHERE id = ${page.id}`
          const principal = principalOf(rows[0]?.principal, page.organizationId)
          const link = yield* pageLink(page.id)
          for (const channel of page.notify?.channels ?? []) {
            if (channel.type === "email" && channel.target !== undefined) {
              yield* jobs.enqueue(emailQueue, EmailJob, {
                to: channel.target,
                subject: page.title,
                text: `${page.title}\n\n${page.summary ?? ""}\n\n${link}\n`
              }, { principal })
            } else if (channel.type === "slack") {
              const url = channel.webhook_url ?? (channel.target?.startsWith("https://") ? channel.target : undefined)
              if (url !== undefined) {
                yield* jobs.enqueue(slackQueue, SlackJob, { organizationId: page.organizationId, pageId: page.id, url, text: `${page.title} ${link}` }, { principal })
              } else {
                yield* Effect.logWarning(`pages: slack channel ${channel.target ?? ""} of ${page.id} has no webhook URL; not notified`)
              }
            }
          }
          if (page.approvalChain !== null) {
            yield* opened(page, Chain.initiallyOpen(page.approvalChain), principal, new Date())
          }
        }).pipe(Effect.mapError((e) => e as never), Effect.orDie)
    })

    // ── the service ───────────────────────────────────────────────────

    const formErrors = (page: PageRecord, formData: Readonly<Record<string, unknown>> | null | undefined): string | null => {
      for (const block of page.blocks) {
        if (block.type !== "form") continue
        const fields = block.data["fields"]
        if (!Array.isArray(fields)) continue
        for (const field of fields) {
          if (typeof field !== "object" || field === null) continue
          const name = (field as Record<string, unknown>)["name"]
          const required = (field as Record<string, unknown>)["required"] === true
          if (!required || typeof name !== "string") continue
          const value = formData?.[name]
          if (value === undefined || value === null || (typeof value === "string" && value.trim() === "")) return name
        }
      }
      return null
    }

    /** The identity this viewer decides as, or the problem refusing it. */
    const identityFor = (page: PageRecord, viewer: Viewer, request: ActionRequest): Effect.Effect<string, ActionError> => {
      const given = request.identity?.trim() || undefined
      switch (viewer._tag) {
        case "Member": {
          if (viewer.principal.organizationId === page.organizationId) {
            return Effect.succeed(given ?? identityOf(viewer) ?? viewer.principal.id)
          }
          const own = identityOf(viewer) ?? viewer.principal.id
          return given !== undefined && Chain.normalize(given) !== Chain.normalize(own)
            ? Effect.fail(new PageForbidden({ pageId: page.id, detail: "You may decide only as yourself: actor.identity differs from your signed-in identity." }))
            : Effect.succeed(own)
        }
        case "Identity":
          return given !== undefined && Chain.normalize(given) !== Chain.normalize(viewer.email)
            ? Effect.fail(new PageForbidden({ pageId: page.id, detail: "You may decide only as yourself: actor.identity differs from the address you proved." }))
            : Effect.succeed(viewer.email)
        case "Anonymous":
          if (page.approvalChain !== null || page.access.mode !== "public") {
            return Effect.fail(new PageLoginRequired({ pageId: page.id, detail: "Sign in (or open your magic link) to decide on this page." }))
          }
          return Effect.succeed(given ?? "anonymous")
      }
    }

    const execute = (page: PageRecord, actionId: string, viewer: Viewer, request: ActionRequest): Effect.Effect<ActionResult, ActionError> =>
      Effect.gen(function*() {
        const action = page.actions.find((a) => a.action_id === actionId)
        if (action === undefined) {
          return yield* new ActionNotFound({
            pageId: page.id,
            actionId,
            actionIds: page.actions.map((a) => a.action_id),
            detail: `Page ${page.id} has no action ${actionId}.`
          })
        }
        const comment = request.comment?.trim() || null
        if (action.requires_comment === true && comment === null) {
          return yield* new InvalidPage({ field: "comment", constraint: "required", detail: `Action ${actionId} requires a comment.` })
        }
        const verdict = decisionOf(action)
        if (verdict === "approve") {
          const missing = formErrors(page, request.formData)
          if (missing !== null) {
            return yield* new InvalidPage({ field: `form_data.${missing}`, constraint: "required", detail: `The form field ${missing} is required.` })
          }
        }
        const identity = yield* identityFor(page, viewer, request)
        return yield* Row.dieOnInfrastructure(sql.withTransaction(Effect.gen(function*() {
          const row = yield* lock(page.id)
          if (row === undefined) return yield* new PageNotFound({ pageId: page.id, detail: `No page ${page.id}.` })
          if (row.status !== "active") {
            return yield* new PageStateConflict({ pageId: page.id, currentStatus: row.status, detail: `The page is ${row.status}: it takes no more actions.` })
          }
          const principal = principalOf(row.principal, page.organizationId)
          const now = new Date()
          const executedAt = Row.iso(now)
          const formData = request.formData ?? null
          const webhookBody = (extra: Record<string, unknown>) => ({
            event: "action.executed",
            pageId: page.id,
            actionId,
            actor: identity,
            comment,
            form_data: formData,
            decision: verdict,
            executedAt,
            ...extra
          })
          const eventData = { actionId, actor: identity, ...(comment !== null ? { comment } : {}), decision: verdict }
          const auditEntry = (what: string, details: Record<string, unknown>) =>
            audit.append({
              organizationId: page.organizationId,
              actor: viewer._tag === "Member" ? { id: viewer.principal.id, kind: viewer.principal.kind } : { id: identity, kind: "viewer" },
              action: what,
              target: { type: "page", id: page.id },
              details: { actionId, identity, decision: verdict, ...details }
            })

          if (page.approvalChain === null) {
            const fact: Chain.Fact = { stepId: implicitStep, identity, decision: verdict === "approve" ? "approved" : "rejected", comment, decidedAt: now }
            const inserted = yield* insertFact(page, fact, { actionId, formData, implicit: true })
            if (!inserted) return yield* new DecisionConflict({ pageId: page.id, reason: "already_executed", detail: "An action of this page already executed." })
            const completed = yield* complete(page, { actionId, decision: verdict, actor: identity }, {
              url: webhookUrlOf(page, action),
              body: webhookBody({})
            }, principal)
            if (Option.isNone(completed)) {
              return yield* new DecisionConflict({ pageId: page.id, reason: "already_executed", detail: "An action of this page already executed." })
            }
            yield* pages.countAction(page.id)
            yield* events.emit(completed.value, { type: "action.executed", data: eventData, actor: identity, toAgent: true })
            yield* auditEntry("pages.action.execute", {})
            return { action_id: actionId, status: "executed" as const, page_state: { previous: "active", current: "completed" }, executedAt }
          }

          const chain = page.approvalChain
          const outcome = Chain.decide(chain, yield* facts(page.id), identity, verdict === "approve" ? "approved" : "rejected", now, comment)
          if (outcome._tag === "Refused") {
            switch (outcome.refusal._tag) {
              case "NotAssignee":
                return yield* new PageForbidden({ pageId: page.id, detail: `${identity} is no assignee of a pending step of this page's approval chain.` })
              case "AlreadyDecided":
                return yield* new DecisionConflict({ pageId: page.id, reason: "already_decided", detail: `${identity} already decided step ${outcome.refusal.stepId}.` })
              case "ChainSettled":
                return yield* new DecisionConflict({ pageId: page.id, reason: "chain_settled", detail: `The approval chain is ${outcome.refusal.status}.` })
            }
          }
          const fact = { stepId: outcome.stepId, identity: Chain.normalize(identity), decision: verdict === "approve" ? "approved" as const : "rejected" as const, comment, decidedAt: now }
          const inserted = yield* insertFact(page, fact, { actionId, formData, implicit: false })
          if (!inserted) return yield* new DecisionConflict({ pageId: page.id, reason: "already_decided", detail: `${identity} already decided step ${outcome.stepId}.` })
          yield* pages.countAction(page.id)
          yield* events.emit(page, {
            type: "decision.recorded",
            data: { ...eventData, stepId: outcome.stepId, chainStatus: outcome.after.status, currentStep: outcome.after.current },
            actor: identity,
            toAgent: true
          })
          yield* auditEntry("pages.decision.record", { stepId: outcome.stepId, chainStatus: outcome.after.status })
          if (outcome.after.status === "in_progress") {
            yield* opened(page, outcome.opened, principal, now)
            return { action_id: actionId, status: "recorded" as const, page_state: { previous: "active", current: "active" }, executedAt }
          }
          const completed = yield* complete(page, { actionId, decision: verdict, actor: identity }, {
            url: webhookUrlOf(page, action),
            body: webhookBody({ chain_status: outcome.after.status })
          }, principal)
          if (Option.isNone(completed)) {
            return yield* new DecisionConflict({ pageId: page.id, reason: "chain_settled", detail: "The page was completed by another decision." })
          }
          yield* events.emit(completed.value, { type: "action.executed", data: { ...eventData, chainStatus: outcome.after.status }, actor: identity, toAgent: true })
          yield* auditEntry("pages.action.execute", { chainStatus: outcome.after.status })
          return { action_id: actionId, status: "executed" as const, page_state: { previous: "active", current: "completed" }, executedAt }
        }).pipe(Effect.catchTag("JobError", (error) => Effect.die(error)))))
      })

    const approval = (page: PageRecord): Effect.Effect<ApprovalView> =>
      Effect.gen(function*() {
        const stored = yield* Effect.orDie(facts(page.id))
        if (page.approvalChain === null) {
          const decided = stored.find((f) => f.stepId === implicitStep)
          const step: ChainStepView = {
            step_id: implicitStep,
            name: page.title,
            status: decided === undefined ? (page.status === "active" ? "pending" : "skipped") : decided.decision === "rejected" ? "rejected" : "completed",
            assignees: [],
            quorum: 1,
            ...(decided !== undefined
              ? { decision: decided.decision === "rejected" ? "rejected" as const : "approved" as const, decided_by: decided.identity, decided_at: Row.iso(decided.decidedAt) }
              : {}),
            decisions: decided === undefined
              ? []
              : [{ identity: decided.identity, decision: decided.decision === "rejected" ? "rejected" as const : "approved" as const, comment: decided.comment, decided_at: Row.iso(decided.decidedAt) }],
            timeout_at: null
          }
          return { chain_status: "none" as const, mode: "sequential" as const, current_step: decided === undefined && page.status === "active" ? implicitStep : null, steps: [step] }
        }
        const state = Chain.state(page.approvalChain, stored)
        // A step's timeout counts from when it opened: the page's publishing, or the fact that settled the step before it.
        const openedAt = (index: number): Date | null => {
          if (state.mode === "parallel" || index === 0) return page.publishedAt
          return state.steps[index - 1]?.settledBy?.decidedAt ?? null
        }
        const steps = state.steps.map((step, index) => {
          const from = openedAt(index)
          const timeoutAt = step.status === "pending" && step.timeoutMinutes !== null && from !== null
            ? Row.iso(new Date(from.getTime() + step.timeoutMinutes * 60_000))
            : null
          return stepView(step, timeoutAt)
        })
        const anyDecision = stored.some((f) => f.decision !== "escalated")
        const chainStatus = state.status === "in_progress" ? (anyDecision ? "in_progress" as const : "not_started" as const) : state.status
        return { chain_status: chainStatus, mode: state.mode, current_step: state.current, steps }
      })

    const canDecide = (page: PageRecord, viewer: Viewer): Effect.Effect<boolean> =>
      Effect.gen(function*() {
        if (page.status !== "active") return false
        const identity = yield* identityFor(page, viewer, {}).pipe(Effect.option)
        if (Option.isNone(identity)) return false
        if (page.approvalChain === null) return true
        const state = Chain.state(page.approvalChain, yield* Effect.orDie(facts(page.id)))
        const who = Chain.normalize(identity.value)
        if (viewer._tag === "Member" && viewer.principal.organizationId === page.organizationId && identityOf(viewer) === null) return state.status === "in_progress"
        return state.steps.some((step) =>
          (step.status === "pending" || step.status === "escalated") && step.assignees.includes(who) &&
          !step.decisions.some((f) => Chain.normalize(f.identity) === who)
        )
      })

    return Decisions.of({ execute, approval, canDecide, webhookSecret: (organizationId) => Row.dieOnInfrastructure(webhookSecret(organizationId)) })
  })
)
