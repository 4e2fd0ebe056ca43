/**
 * The automations service: a workspace's automations, and the three triggers that start their
 * runs through the runs plugin's `Runs` service (one step: `{name: "target", type, workflow |
 * agent: id, input}`, source `automation`, refKey the automation id, as the automation's
 * creator).
 *
 * - Cron: one pg-boss schedule per enabled cron automation (queue `automations.cron`, key the
 *   automation id), written in the transaction that creates, edits, disables or deletes it; pg-boss
 *   fires each occurrence once across processes. The job's id is the firing's key, so a retried
 *   job starts nothing twice.
 * - Webhook: `receive` checks the HMAC signature over the raw body (`Signature`), then starts the
 *   run; the delivery's digest is the firing's key, so a replayed delivery starts nothing.
 * - Events: every process follows the prompts plugin's change stream of each organization that
 *   has an event automation; what it reads is consumed under the stream's row in
 *   `automations.event_cursors` (locked, so two processes never both consume an event), and the
 *   position advances in the transaction that starts the runs: after a restart it resumes where
 *   it stopped, missing and repeating nothing.
 *
 * Workspaces are the platform's (`identity.workspaces`, read-only here): a path's workspace must
 * belong to the caller's organization, otherwise it is `WorkspaceNotFound` (404).
 */
import { Cause, Context, Duration, Effect, Layer, Option, Schedule, Schema, Stream } from "effect"
import type { HttpServerRequest } from "effect/http"
import * as SqlClient from "effect/sql/SqlClient"
import { createHash, randomBytes } from "node:crypto"
import { CurrentPrincipal, EventLog, EventStream, JobQueue, Principal, RateLimiter, Row, SecretBox, Signature } from "trellis/plugin"
import type { Problems, RateGroupPolicy } from "trellis/plugin"
import { ChangeData, changesStream } from "../prompts/Events.ts"
import { Runs } from "../runs/RunsService.ts"
import { StepRegistry } from "../runs/StepRegistry.ts"
import { AutomationsConfig } from "./AutomationsConfig.ts"
import type { Automation, CreateAutomation, CreatedAutomation, Firing, Target, Trigger, UpdateAutomation, WebhookAccepted } from "./Domain.ts"
import { Trigger as TriggerSchema } from "./Domain.ts"
import {
  AutomationDisabled,
  AutomationNotFound,
  InvalidAutomation,
  WebhookAutomationMissing,
  WebhookSignatureInvalid,
  WorkspaceNotFound
} from "./Errors.ts"

/** The queue cron schedules enqueue into (one schedule per automation, keyed by its id). */
export const cronQueue = "automations.cron"
export const CronJob = Schema.Struct({ automationId: Schema.String })

/** Where every process hears that an organization's event stream needs following. */
const Control = EventStream.make("automations.control", Schema.Struct({ stream: Schema.String }))

/** The path a webhook automation is called at. */
export const webhookPath = "/api/v1/webhooks/incoming"

const sealContext = (automationId: string) => `automations.webhook:${automationId}`

const newId = (prefix: string) => `${prefix}_${crypto.randomUUID().replace(/-/g, "")}`

interface AutomationRow {
  readonly id: string
  readonly organization_id: string
  readonly workspace_id: string
  readonly workspace_default: boolean
  readonly name: string
  readonly description: string
  readonly enabled: boolean
  readonly trigger_type: string
  readonly trigger: unknown
  readonly target: unknown
  readonly webhook_secret: string | null
  readonly event_stream: string | null
  readonly event_after_seq: number | string | bigint
  readonly principal: unknown
  readonly created_by: string
  readonly created_at: Date | string
  readonly updated_at: Date | string
  readonly last_fired_at: Date | string | null
}

const columns = `id, organization_id, workspace_id, workspace_default, name, description, enabled, trigger_type, trigger, target,
  webhook_secret, event_stream, event_after_seq, principal, created_by, created_at, updated_at, last_fired_at`

const parseJson = (value: unknown): unknown => typeof value === "string" ? JSON.parse(value) : value
const decodeTrigger = Schema.decodeUnknownSync(TriggerSchema)
const decodePrincipal = Schema.decodeUnknownEffect(Principal)
const encodePrincipal = Schema.encodeSync(Principal)

interface StoredTarget {
  readonly type: Target["type"]
  readonly id: string
  readonly inputs: Readonly<Record<string, unknown>>
}

const targetOf = (row: AutomationRow): StoredTarget => parseJson(row.target) as StoredTarget
const triggerOf = (row: AutomationRow): Trigger => decodeTrigger(parseJson(row.trigger))

const toAutomation = (row: AutomationRow): Automation => ({
  id: row.id,
  workspace_id: row.workspace_id,
  name: row.name,
  description: row.description,
  enabled: row.enabled,
  trigger: triggerOf(row),
  target: targetOf(row),
  created_by: row.created_by,
  created_at: Row.iso(row.created_at),
  updated_at: Row.iso(row.updated_at),
  last_fired_at: Row.isoOrNull(row.last_fired_at)
})

/** The one step a run of the target has. */
const stepOf = (target: StoredTarget, input: Readonly<Record<string, unknown>>) => ({
  name: "target",
  type: target.type,
  [target.type]: target.id,
  input
})

const invalid = (field: string, reason: string) => new InvalidAutomation({ field, reason, detail: `${field}: ${reason}` })

/** Why a cron trigger cannot be scheduled, or `undefined`. pg-boss checks the expression again when it stores it. */
const cronProblem = (trigger: Trigger): InvalidAutomation | undefined => {
  if (trigger.type !== "cron") return undefined
  if (!/^\S+(\s+\S+){4}$/.test(trigger.schedule.trim())) {
    return invalid("trigger.schedule", "a cron expression has 5 fields: minute hour day-of-month month day-of-week")
  }
  if (trigger.timezone !== undefined) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: trigger.timezone })
    } catch {
      return invalid("trigger.timezone", `unknown time zone ${trigger.timezone} (an IANA name such as Europe/Paris)`)
    }
  }
  return undefined
}

/** Whether a prompts change event matches an event automation. */
const matches = (row: AutomationRow, trigger: Trigger, event: { readonly event: string; readonly seq: number; readonly data: ChangeData }) => {
  if (trigger.type !== "event" || trigger.event !== event.event) return false
  if (event.seq <= Number(row.event_after_seq)) return false
  const workspace = event.data.workspace_id
  if (workspace !== row.workspace_id && !(workspace === "" && row.workspace_default)) return false
  const filter = trigger.filter ?? {}
  if (filter.key !== undefined && filter.key !== event.data.key) return false
  if (filter.env !== undefined && filter.env !== event.data.env) return false
  if (filter.prompt_id !== undefined && filter.prompt_id !== event.data.id) return false
  return true
}

/** A webhook delivery as the handler read it. */
export interface Delivery {
  readonly automationId: string | undefined
  readonly signature: string | undefined
  /** The body exactly as received (what was signed). */
  readonly rawBody: string
  readonly payload: Readonly<Record<string, unknown>>
  readonly address: string
}

const webhookGroup = (perMinute: number): RateGroupPolicy => ({ name: "automations-webhook", perMinute })
const addressGroup = (perMinute: number): RateGroupPolicy => ({ name: "automations-webhook-address", perMinute })

export class Automations extends Context.Service<Automations, {
  readonly list: (workspaceId: string) => Effect.Effect<ReadonlyArray<Automation>, WorkspaceNotFound, CurrentPrincipal>
  readonly create: (workspaceId: string, input: CreateAutomation) => Effect.Effect<CreatedAutomation, WorkspaceNotFound | InvalidAutomation | SecretKeyError, CurrentPrincipal>
  readonly get: (workspaceId: string, id: string) => Effect.Effect<Automation, WorkspaceNotFound | AutomationNotFound, CurrentPrincipal>
  readonly update: (
    workspaceId: string,
    id: string,
    patch: UpdateAutomation
  ) => Effect.Effect<CreatedAutomation, WorkspaceNotFound | AutomationNotFound | InvalidAutomation | SecretKeyError, CurrentPrincipal>
  readonly remove: (workspaceId: string, id: string) => Effect.Effect<void, WorkspaceNotFound | AutomationNotFound, CurrentPrincipal>
  readonly firings: (workspaceId: string, id: string, limit: number) => Effect.Effect<ReadonlyArray<Firing>, WorkspaceNotFound | AutomationNotFound, CurrentPrincipal>
  /** A webhook delivery: checks, then starts the run (or answers the first delivery's run again). */
  readonly receive: (delivery: Delivery) => Effect.Effect<
    WebhookAccepted,
    WebhookAutomationMissing | WebhookSignatureInvalid | AutomationNotFound | AutomationDisabled | InvalidAutomation | RateLimitedError | SecretKeyError,
    HttpServerRequest.HttpServerRequest
  >
  /** Consumes what the event stream holds after its stored position (tests and the follower call it). */
  readonly drain: (stream: string) => Effect.Effect<void>
}>()("automations/Automations") {}

type SecretKeyError = Problems.SecretKeyUnavailable
type RateLimitedError = Problems.RateLimited

export const layer = Layer.effect(
  Automations,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const events = yield* EventLog
    const jobs = yield* JobQueue
    const runs = yield* Runs
    const registry = yield* StepRegistry
    const box = yield* SecretBox
    const limiter = yield* RateLimiter
    const config = yield* AutomationsConfig
    const cols = sql.literal(columns)

    const transact = <A, E, R>(effect: Effect.Effect<A, E, R>) => Row.dieOnInfrastructure(sql.withTransaction(effect))

    const workspace = (workspaceId: string) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const rows = yield* sql<{ readonly id: string; readonly is_default: boolean }>`
          SELECT id, is_default FROM identity.workspaces WHERE organization_id = ${principal.organizationId} AND id = ${workspaceId}`.pipe(
          Effect.orDie
        )
        if (rows.length === 0) {
          return yield* new WorkspaceNotFound({ workspace_id: workspaceId, detail: `No workspace with id ${workspaceId}.` })
        }
        return { principal, id: rows[0].id, isDefault: rows[0].is_default }
      })

    const findRow = (organizationId: string, workspaceId: string, id: string, lock: boolean) =>
      sql<AutomationRow>`SELECT ${cols} FROM automations.automations
        WHERE organization_id = ${organizationId} AND workspace_id = ${workspaceId} AND id = ${id}
        ${lock ? sql.literal("FOR UPDATE") : sql.literal("")}`.pipe(
        Effect.orDie,
        Effect.flatMap((rows) =>
          rows[0] === undefined
            ? Effect.fail(new AutomationNotFound({ automation_id: id, detail: `No automation with id ${id} in workspace ${workspaceId}.` }))
            : Effect.succeed(rows[0])
        )
      )

    /** Refuses a target no loaded plugin runs, or whose members its step type refuses (in the caller's organization). */
    const checkTarget = (target: Target) =>
      Effect.gen(function*() {
        const type = registry.get(target.type)
        if (type === undefined) {
          return yield* invalid("target.type", `no ${target.type} step type is registered (is the ${target.type}s plugin loaded?)`)
        }
        const step = stepOf({ type: target.type, id: target.id, inputs: target.inputs ?? {} }, target.inputs ?? {})
        const checked = type.validate(step, [step], 0)
        const reason = Effect.isEffect(checked) ? yield* checked : checked
        if (reason !== undefined) return yield* invalid("target", reason)
      })

    const schedule = (id: string, trigger: Trigger) =>
      trigger.type !== "cron" ? Effect.void : jobs.schedule(cronQueue, trigger.schedule.trim(), { automationId: id }, {
        key: id,
        ...(trigger.timezone === undefined ? {} : { timezone: trigger.timezone })
      }).pipe(Effect.mapError((e) => invalid("trigger.schedule", e.message)))

    const unschedule = (id: string) => jobs.unschedule(cronQueue, id).pipe(Effect.orDie)

    /** An event trigger's stream: its position row exists, every process follows it, and the automation starts after its current end. */
    const startFollowing = (organizationId: string) =>
      Effect.gen(function*() {
        const stream = changesStream(organizationId)
        const last = yield* events.lastSeq(stream).pipe(Effect.orDie)
        const created = yield* sql<{ readonly stream: string }>`
          INSERT INTO automations.event_cursors (stream, organization_id, last_seq) VALUES (${stream}, ${organizationId}, ${last})
          ON CONFLICT (stream) DO NOTHING RETURNING stream`.pipe(Effect.orDie)
        if (created.length > 0) yield* Control.at().append(events, "follow", { stream }).pipe(Effect.orDie)
        return { stream, last }
      })

    const newSecret = () => `whsec_${randomBytes(32).toString("base64url")}`

    const webhookDetails = (secret: string) => ({ url: webhookPath, secret, signature_header: "X-Trellis-Signature" })

    const list = (workspaceId: string) =>
      Effect.gen(function*() {
        const ws = yield* workspace(workspaceId)
        const rows = yield* sql<AutomationRow>`SELECT ${cols} FROM automations.automations
          WHERE organization_id = ${ws.principal.organizationId} AND workspace_id = ${ws.id}
          ORDER BY created_at, id`.pipe(Effect.orDie)
        return rows.map(toAutomation)
      })

    const create = (workspaceId: string, input: CreateAutomation) =>
      Effect.gen(function*() {
        const ws = yield* workspace(workspaceId)
        const problem = cronProblem(input.trigger)
        if (problem !== undefined) return yield* problem
        yield* checkTarget(input.target)
        const id = newId("aut")
        const enabled = input.enabled ?? true
        const secret = input.trigger.type === "webhook" ? newSecret() : undefined
        const sealed = secret === undefined ? null : yield* box.seal(secret, sealContext(id))
        const target: StoredTarget = { type: input.target.type, id: input.target.id, inputs: input.target.inputs ?? {} }
        const row = yield* transact(Effect.gen(function*() {
          const following = input.trigger.type === "event" ? yield* startFollowing(ws.principal.organizationId) : undefined
          const rows = yield* sql<AutomationRow>`INSERT INTO automations.automations
              (id, organization_id, workspace_id, workspace_default, name, description, enabled, trigger_type, trigger, target,
               webhook_secret, event_stream, event_after_seq, principal, created_by)
            VALUES (${id}, ${ws.principal.organizationId}, ${ws.id}, ${ws.isDefault}, ${input.name}, ${input.description ?? ""}, ${enabled},
              ${input.trigger.type}, ${Row.jsonb(input.trigger)}::jsonb, ${Row.jsonb(target)}::jsonb, ${sealed},
              ${following?.stream ?? null}, ${following?.last ?? 0}, ${Row.jsonb(encodePrincipal(ws.principal))}::jsonb, ${ws.principal.id})
            RETURNING ${cols}`
          if (enabled) yield* schedule(id, input.trigger)
          return rows[0]
        }))
        const automation = toAutomation(row)
        return secret === undefined ? automation : { ...automation, webhook: webhookDetails(secret) }
      })

    const get = (workspaceId: string, id: string) =>
      Effect.gen(function*() {
        const ws = yield* workspace(workspaceId)
        return toAutomation(yield* findRow(ws.principal.organizationId, ws.id, id, false))
      })

    const update = (workspaceId: string, id: string, patch: UpdateAutomation) =>
      Effect.gen(function*() {
        const ws = yield* workspace(workspaceId)
        // Found first: another organization's (or workspace's) automation is 404 whatever the body.
        yield* findRow(ws.principal.organizationId, ws.id, id, false)
        if (patch.trigger !== undefined) {
          const problem = cronProblem(patch.trigger)
          if (problem !== undefined) return yield* problem
        }
        if (patch.target !== undefined) yield* checkTarget(patch.target)
        // Sealed outside the transaction (it may fail); used only if the automation becomes a webhook one.
        const freshSecret = patch.trigger?.type === "webhook" ? newSecret() : undefined
        const freshSealed = freshSecret === undefined ? null : yield* box.seal(freshSecret, sealContext(id))
        const result = yield* transact(Effect.gen(function*() {
          const before = yield* findRow(ws.principal.organizationId, ws.id, id, true)
          const beforeTrigger = triggerOf(before)
          const trigger = patch.trigger ?? beforeTrigger
          const enabled = patch.enabled ?? before.enabled
          const target: StoredTarget = patch.target === undefined
            ? targetOf(before)
            : { type: patch.target.type, id: patch.target.id, inputs: patch.target.inputs ?? {} }
          // A webhook automation keeps its secret; one that becomes a webhook automation gets one.
          const becameWebhook = trigger.type === "webhook" && before.trigger_type !== "webhook"
          const secret = trigger.type !== "webhook" ? null : becameWebhook ? freshSealed : before.webhook_secret
          // An event trigger that is new, changed or enabled again starts after the stream's current end.
          const eventChanged = trigger.type === "event" &&
            (JSON.stringify(trigger) !== JSON.stringify(beforeTrigger) || (enabled && !before.enabled))
          const following = eventChanged ? yield* startFollowing(ws.principal.organizationId) : undefined
          const rows = yield* sql<AutomationRow>`UPDATE automations.automations SET
              name = ${patch.name ?? before.name},
              description = ${patch.description ?? before.description},
              enabled = ${enabled},
              trigger_type = ${trigger.type},
              trigger = ${Row.jsonb(trigger)}::jsonb,
              target = ${Row.jsonb(target)}::jsonb,
              webhook_secret = ${secret},
              event_stream = ${trigger.type === "event" ? changesStream(ws.principal.organizationId) : null},
              event_after_seq = ${following?.last ?? Number(before.event_after_seq)},
              updated_at = now()
            WHERE id = ${id}
            RETURNING ${cols}`
          if (enabled && trigger.type === "cron") yield* schedule(id, trigger)
          else if (before.trigger_type === "cron") yield* unschedule(id)
          return { row: rows[0], becameWebhook }
        }))
        const automation = toAutomation(result.row)
        return result.becameWebhook && freshSecret !== undefined ? { ...automation, webhook: webhookDetails(freshSecret) } : automation
      })

    const remove = (workspaceId: string, id: string) =>
      Effect.gen(function*() {
        const ws = yield* workspace(workspaceId)
        yield* transact(Effect.gen(function*() {
          const row = yield* findRow(ws.principal.organizationId, ws.id, id, true)
          yield* sql`DELETE FROM automations.firings WHERE automation_id = ${id}`
          yield* sql`DELETE FROM automations.automations WHERE id = ${id}`
          if (row.trigger_type === "cron") yield* unschedule(id)
        }))
      })

    const firings = (workspaceId: string, id: string, limit: number) =>
      Effect.gen(function*() {
        const ws = yield* workspace(workspaceId)
        yield* findRow(ws.principal.organizationId, ws.id, id, false)
        const rows = yield* sql<{
          readonly id: string
          readonly automation_id: string
          readonly trigger: "cron" | "webhook" | "event"
          readonly run_id: string | null
          readonly error: string | null
          readonly created_at: Date | string
        }>`SELECT id, automation_id, trigger, run_id, error, created_at FROM automations.firings
          WHERE automation_id = ${id} AND organization_id = ${ws.principal.organizationId}
          ORDER BY created_at DESC, id DESC LIMIT ${limit}`.pipe(Effect.orDie)
        return rows.map((r): Firing => ({ ...r, created_at: Row.iso(r.created_at) }))
      })

    // ── firing ────────────────────────────────────────────────────────────

    type Fired =
      | { readonly _tag: "Started"; readonly runId: string }
      | { readonly _tag: "Replayed"; readonly runId: string | null }
      | { readonly _tag: "Refused"; readonly reason: string }

    /**
     * Starts the automation's run as its creator, recorded as a firing under `dedupeKey`; a key
     * already recorded starts nothing. Run it inside the caller's transaction: the firing, the
     * run and its first job commit together.
     */
    const fire = (
      row: AutomationRow,
      trigger: "cron" | "webhook" | "event",
      dedupeKey: string,
      extra: Readonly<Record<string, unknown>>
    ) =>
      Effect.gen(function*() {
        const firingId = newId("fir")
        const inserted = yield* sql<{ readonly id: string }>`
          INSERT INTO automations.firings (id, automation_id, organization_id, trigger, dedupe_key)
          VALUES (${firingId}, ${row.id}, ${row.organization_id}, ${trigger}, ${dedupeKey})
          ON CONFLICT (automation_id, dedupe_key) DO NOTHING RETURNING id`
        if (inserted.length === 0) {
          const seen = yield* sql<{ readonly run_id: string | null }>`
            SELECT run_id FROM automations.firings WHERE automation_id = ${row.id} AND dedupe_key = ${dedupeKey}`
          return { _tag: "Replayed", runId: seen[0]?.run_id ?? null } satisfies Fired as Fired
        }
        // The platform deletes a workspace without telling plugins: its automations stop starting runs.
        const workspaceLeft = yield* sql<{ readonly id: string }>`
          SELECT id FROM identity.workspaces WHERE organization_id = ${row.organization_id} AND id = ${row.workspace_id}`
        if (workspaceLeft.length === 0) {
          const reason = `workspace ${row.workspace_id} no longer exists`
          yield* sql`UPDATE automations.firings SET error = ${reason} WHERE id = ${firingId}`
          return { _tag: "Refused", reason } satisfies Fired as Fired
        }
        const principal = yield* decodePrincipal(parseJson(row.principal)).pipe(Effect.orDie)
        const target = targetOf(row)
        const input = { ...target.inputs, ...extra }
        const started = yield* runs.run({
          title: `automation ${row.name}`,
          source: "automation",
          refKey: row.id,
          input,
          steps: [stepOf(target, input)]
        }).pipe(Effect.provideService(CurrentPrincipal, principal), Effect.result)
        const fired: Fired = started._tag === "Success"
          ? { _tag: "Started", runId: started.success.id }
          : { _tag: "Refused", reason: started.failure.reason }
        yield* sql`UPDATE automations.firings SET
            run_id = ${fired._tag === "Started" ? fired.runId : null},
            error = ${fired._tag === "Refused" ? fired.reason : null}
          WHERE id = ${firingId}`
        yield* sql`UPDATE automations.automations SET last_fired_at = now() WHERE id = ${row.id}`
        return fired
      })

    const rowById = (id: string) =>
      sql<AutomationRow>`SELECT ${cols} FROM automations.automations WHERE id = ${id}`.pipe(Effect.map((rows) => rows[0]))

    // ── cron ──────────────────────────────────────────────────────────────

    yield* jobs.register(cronQueue, {
      schema: CronJob,
      retryLimit: 3,
      expireInSeconds: 60,
      handler: ({ automationId }, job) =>
        Row.dieOnInfrastructure(sql.withTransaction(Effect.gen(function*() {
          const row = yield* rowById(automationId)
          if (row === undefined || !row.enabled || row.trigger_type !== "cron") {
            // A schedule left behind (it is removed in the transaction that disables or deletes): nothing to start.
            return
          }
          const fired = yield* fire(row, "cron", `cron:${job.id}`, {})
          if (fired._tag === "Refused") yield* Effect.logWarning(`Automation ${row.id}: the cron trigger could not start a run: ${fired.reason}`)
        })))
    })

    // ── webhooks ──────────────────────────────────────────────────────────

    const spend = (key: { readonly organizationId: string; readonly id: string }, group: RateGroupPolicy) =>
      group.perMinute <= 0 ? Effect.void : Effect.gen(function*() {
        const decision = yield* limiter.consume({ ...key, kind: "service-key" }, "default", group)
        if (decision._tag === "Refused") return yield* decision.error.fail
      })

    const receive = (delivery: Delivery) =>
      Effect.gen(function*() {
        yield* spend({ organizationId: "", id: `address:${delivery.address}` }, addressGroup(config.webhookAddressPerMinute))
        const automationId = delivery.automationId?.trim()
        if (automationId === undefined || automationId === "") {
          return yield* new WebhookAutomationMissing({
            detail: "Name the automation: the X-Trellis-Automation header or ?automation_id=."
          })
        }
        const row = yield* rowById(automationId).pipe(Effect.orDie)
        if (row === undefined || row.trigger_type !== "webhook" || row.webhook_secret === null) {
          return yield* new AutomationNotFound({ automation_id: automationId, detail: `No webhook automation with id ${automationId}.` })
        }
        const secret = yield* box.open(row.webhook_secret, sealContext(row.id))
        const now = Math.floor(Date.now() / 1000)
        const refusal = Signature.refusal(delivery.signature, secret, delivery.rawBody, now)
        if (refusal !== undefined) return yield* new WebhookSignatureInvalid({ detail: refusal })
        if (!row.enabled) {
          return yield* new AutomationDisabled({ automation_id: row.id, detail: `Automation ${row.id} is disabled; nothing was started.` })
        }
        yield* spend({ organizationId: row.organization_id, id: `webhook:${row.id}` }, webhookGroup(config.webhookPerMinute))
        // The same timestamp and body: the same delivery (the signature covers exactly these).
        const timestamp = /(?:^|,)\s*t=(\d+)/.exec(delivery.signature ?? "")?.[1] ?? ""
        const digest = createHash("sha256").update(`${timestamp}.${delivery.rawBody}`).digest("hex")
        const fired = yield* transact(Effect.gen(function*() {
          const fired = yield* fire(row, "webhook", `webhook:${digest}`, delivery.payload)
          // Refused: nothing is kept, so the sender may deliver again once the target is fixed.
          if (fired._tag === "Refused") return yield* invalid("target", fired.reason)
          return fired
        }))
        return {
          automation_id: row.id,
          run_ids: fired._tag === "Started" ? [fired.runId] : fired._tag === "Replayed" && fired.runId !== null ? [fired.runId] : [],
          replayed: fired._tag === "Replayed"
        } satisfies WebhookAccepted
      })

    // ── events ────────────────────────────────────────────────────────────

    const batch = 200

    /** One batch after the stream's stored position, consumed in one transaction; whether more may follow. */
    const drainOnce = (stream: string) =>
      transact(Effect.gen(function*() {
        const cursor = yield* sql<{ readonly organization_id: string; readonly last_seq: number | string | bigint }>`
          SELECT organization_id, last_seq FROM automations.event_cursors WHERE stream = ${stream} FOR UPDATE`
        if (cursor[0] === undefined) return false
        const after = Number(cursor[0].last_seq)
        const stored = yield* events.read(stream, after, batch)
        if (stored.length === 0) return false
        const automations = yield* sql<AutomationRow>`SELECT ${cols} FROM automations.automations
          WHERE event_stream = ${stream} AND trigger_type = 'event' AND enabled ORDER BY created_at, id`
        const decode = Schema.decodeUnknownOption(Schema.toCodecJson(ChangeData))
        for (const event of stored) {
          const data = decode(event.data)
          if (Option.isNone(data)) continue
          for (const row of automations) {
            if (!matches(row, triggerOf(row), { event: event.event, seq: event.seq, data: data.value })) continue
            const fired = yield* fire(row, "event", `event:${event.seq}`, {
              event: {
                name: event.event,
                seq: event.seq,
                prompt_id: data.value.id,
                key: data.value.key,
                env: data.value.env,
                version: data.value.version,
                version_number: data.value.version_number,
                workspace_id: row.workspace_id
              }
            })
            if (fired._tag === "Refused") {
              yield* Effect.logWarning(`Automation ${row.id}: the event trigger could not start a run: ${fired.reason}`)
            }
          }
        }
        yield* sql`UPDATE automations.event_cursors SET last_seq = ${stored[stored.length - 1].seq} WHERE stream = ${stream}`
        return stored.length === batch
      }))

    const drain = (stream: string): Effect.Effect<void> =>
      Effect.flatMap(drainOnce(stream), (more) => more ? drain(stream) : Effect.void)

    // Every process follows every stream that has a position row: it drains what was stored
    // while it was away, then drains again whenever an event of the stream commits.
    const following = new Set<string>()
    const follow = (stream: string) =>
      Effect.suspend(() => {
        if (following.has(stream)) return Effect.void
        following.add(stream)
        return Effect.gen(function*() {
          const from = yield* events.lastSeq(stream)
          yield* drain(stream)
          yield* events.subscribe(stream, from).pipe(Stream.runForEach(() => drain(stream)))
        }).pipe(
          Effect.tapCause((cause) =>
            Cause.hasInterruptsOnly(cause) ? Effect.void : Effect.logWarning(`Automations: following ${stream} failed; trying again`, cause)
          ),
          // A failing batch is tried again (nothing of it committed), backing off to every 30 s.
          Effect.retry(Schedule.min([Schedule.exponential(Duration.seconds(1), 2), Schedule.spaced(Duration.seconds(30))])),
          Effect.forkScoped,
          Effect.asVoid
        )
      })

    yield* Effect.gen(function*() {
      const controlFrom = yield* events.lastSeq(Control.at().name)
      const streams = yield* sql<{ readonly stream: string }>`SELECT stream FROM automations.event_cursors`
      yield* Effect.forEach(streams, (s) => follow(s.stream), { discard: true })
      yield* Control.at().subscribe(events, controlFrom).pipe(Stream.runForEach((event) => follow(event.data.stream)))
    }).pipe(
      Effect.tapCause((cause) =>
        Cause.hasInterruptsOnly(cause) ? Effect.void : Effect.logWarning("Automations: following the control stream failed; again in 1 s", cause)
      ),
      Effect.retry(Schedule.spaced(Duration.seconds(1))),
      Effect.forkScoped
    )

    return Automations.of({ list, create, get, update, remove, firings, receive, drain })
  })
)
