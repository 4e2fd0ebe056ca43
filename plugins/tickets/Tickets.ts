/**
 * Tickets: create, read, partial update, and the lifecycle (SessionFS seed 001).
 *
 * Every status change is one atomic `UPDATE ... WHERE status IN (<sources of the transition>)`,
 * so two racing callers cannot both pass a check and both write; only when it matches no row
 * does the service read the ticket to say why (404, stale lease, or the transition table's refusal,
 * worded and statused as SessionFS's server words it: 400, or 409 for `start` and `accept`).
 *
 * The claim (`start`) is one statement too: it takes an open ticket, or an in-progress one whose
 * lease expired, increments `lease_epoch`, and records the holder and the expiry. Writes that
 * pass `lease_epoch` (complete, resolve, update, comments) are fenced by it: a worker whose
 * claim was taken over gets 409 `stale_lease_epoch` and changes nothing. A retry of a claim by
 * the same principal with the same `Idempotency-Key` returns the claim it already holds. A fenced
 * update takes the epoch (`lease_epoch + 1`), as SessionFS's does. A lease lasts the project's
 * `lease_seconds`, else the server's; `0` (the default) never expires.
 *
 * Each write records one platform audit entry inside its own transaction.
 */
import { Array as Arr, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import type { Statement } from "effect/sql"
import { AuditLog, CurrentPrincipal, EventLog, Row } from "trellis/plugin"
import type { Principal } from "trellis/plugin"
import { actorId, holderId, isProjectAdmin, newId } from "./Access.ts"
import * as CompiledContext from "./CompiledContext.ts"
import { findCycle } from "./DependencyGraph.ts"
import { mutableFields, StartedTicket, TicketDetail } from "./Domain.ts"
import type { CompleteTicket, CreateTicket, Kind, MutableField, Priority, Status, UpdateTicket } from "./Domain.ts"
import {
  AgentTicketQuota,
  AgentTicketRejected,
  CloseRequiresIssue,
  DependencyCycle,
  InvalidDependency,
  InvalidParent,
  InvalidStatusTransition,
  LeaseHeld,
  LeaseNotHeld,
  NestedIssue,
  NoMutableFields,
  NotProjectAdmin,
  NotTicketEditor,
  StaleLeaseEpoch,
  StatusConflict,
  TicketNotFound
} from "./Errors.ts"
import * as Lifecycle from "./Lifecycle.ts"
import type { Transition } from "./Lifecycle.ts"
import { Projects } from "./Projects.ts"
import { TicketChanges } from "./Streams.ts"
import { commentColumns, decodeComments, decodeEdits, decodeTickets, editColumns, ticketColumns, toComment, toEdit, toTicket } from "./TicketRows.ts"
import type { ProjectRow, TicketRow } from "./TicketRows.ts"
import { TicketSettings } from "./TicketSettings.ts"
import { Tickets } from "./TicketsService.ts"
import type { ListFilters, StartOptions } from "./TicketsService.ts"

/** Agent-created tasks: the quality gates SessionFS applies before a human approves them. */
const agentDescriptionMin = 20
const agentTicketsPerSession = 3

const priorityOrder: ReadonlyArray<Priority> = ["low", "medium", "high", "critical"]

/** Comments the server writes itself (update diffs, escalations) carry this persona. */
export const systemPersona = "system"

export { Tickets } from "./TicketsService.ts"
export type { CreateError, ListFilters, StartOptions, UpdateError } from "./TicketsService.ts"

/** Implements `Tickets` (see `TicketsService.ts`). */
export const layer = Layer.effect(
  Tickets,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* AuditLog
    const projects = yield* Projects
    const settings = yield* TicketSettings
    const events = yield* EventLog
    const columns = sql.literal(ticketColumns)
    const nothing = sql.literal("")

    /** When a lease taken now on a ticket of this project lapses: `NULL` when leases never expire. */
    const leaseExpiry = (project: ProjectRow) => {
      const seconds = projects.leaseSecondsOf(project)
      return seconds === 0 ? sql.literal("NULL") : sql`now() + ${`${seconds} seconds`}::interval`
    }

    /** Appends a ticket's change to the change stream (`Streams.ts`); call inside the change's transaction. */
    const publish = (
      organizationId: string,
      projectId: string,
      ticketId: string,
      change: string,
      status: string,
      notes: string | null
    ) =>
      TicketChanges.at().append(events, `ticket.${change}`, {
        organization_id: organizationId,
        project_id: projectId,
        ticket_id: ticketId,
        change,
        status,
        completion_notes: notes
      }).pipe(Effect.asVoid, Effect.orDie)

    /** Runs a write and its audit entry atomically; database failures are defects. */
    const transact = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, Row.Infrastructure>, R> =>
      Row.dieOnInfrastructure(sql.withTransaction(effect))

    const rowOf = (organizationId: string, projectId: string, ticketId: string) =>
      sql`
        SELECT ${columns} FROM tickets.tickets t
        WHERE t.id = ${ticketId} AND t.project_id = ${projectId} AND t.organization_id = ${organizationId}
      `.pipe(Effect.flatMap(decodeTickets), Effect.map((rows) => Option.fromNullishOr(rows[0])), Effect.orDie)

    const requireRow = Effect.fnUntraced(function*(projectId: string, ticketId: string) {
      const principal = yield* CurrentPrincipal
      const row = yield* rowOf(principal.organizationId, projectId, ticketId)
      if (Option.isNone(row)) {
        return yield* new TicketNotFound({ ticket_id: ticketId, detail: `No ticket ${ticketId} in project ${projectId}.` })
      }
      return row.value
    })

    const ticketOf = (projectId: string, ticketId: string) => Effect.map(requireRow(projectId, ticketId), toTicket)

    /** `(kind, status)` pairs a transition may start from, as a SQL condition on `t`. */
    const guard = (transition: Transition) => {
      const part = (kind: Kind) => {
        const from = Lifecycle.sources(kind, transition)
        return from.length === 0 ? [] : [`(t.kind = '${kind}' AND t.status IN (${from.map((s) => `'${s}'`).join(", ")}))`]
      }
      const parts = [...part("task"), ...part("issue")]
      return sql.literal(parts.length === 0 ? "FALSE" : `(${parts.join(" OR ")})`)
    }

    const fence = (leaseEpoch: number | undefined) =>
      leaseEpoch === undefined ? sql.literal("TRUE") : sql`t.lease_epoch = ${leaseEpoch}`

    /** SessionFS's "Legal transitions" list: the statuses reachable from `status`, sorted. */
    const legalText = (kind: Kind, status: Status) => {
      const legal = [...Lifecycle.allowedFrom(kind, status).statuses].sort()
      return legal.length === 0 ? "(none — terminal state)" : legal.join(", ")
    }

    const transitionMembers = (row: TicketRow, transition: Transition) => {
      const kind = row.kind as Kind
      const status = row.status as Status
      const allowed = Lifecycle.allowedFrom(kind, status)
      return {
        ticket_id: row.id,
        current_status: status,
        target_status: Lifecycle.targetOf(transition),
        transition,
        allowed: allowed.statuses,
        allowed_transitions: allowed.transitions
      }
    }

    /** 400 with SessionFS's text: "Cannot transition from 'x' to 'y'. Legal transitions from 'x': ...". */
    const refused = (row: TicketRow, transition: Transition): InvalidStatusTransition => {
      const status = row.status as Status
      const target = Lifecycle.targetOf(transition)
      return new InvalidStatusTransition({
        detail: `Cannot transition from '${status}' to '${target}'. Legal transitions from '${status}': ${legalText(row.kind as Kind, status)}.`,
        ...transitionMembers(row, transition)
      })
    }

    /** 409 with SessionFS's text for `start`, one of the two routes it answers 409. */
    const startConflict = (row: TicketRow, force: boolean): StatusConflict => {
      const status = row.status as Status
      const expected = (force ? ["blocked", "open"] : ["open"]).map((s) => `'${s}'`).join(", ")
      return new StatusConflict({
        detail: `Cannot start ticket: current status is '${status}', expected one of [${expected}]. Pass force=true to recover from 'blocked'.`,
        ...transitionMembers(row, "start")
      })
    }

    /** 409 with SessionFS's text for `accept` (and `resolve`), the other route it answers 409. */
    const acceptConflict = (refusal: InvalidStatusTransition): StatusConflict => {
      const status = refusal.current_status
      const legal = [...refusal.allowed].sort()
      return new StatusConflict({
        ticket_id: refusal.ticket_id,
        current_status: refusal.current_status,
        target_status: refusal.target_status,
        transition: refusal.transition,
        allowed: refusal.allowed,
        allowed_transitions: refusal.allowed_transitions,
        detail: `Cannot accept ticket: current status is '${status}', expected 'review'. Legal transitions from '${status}': ` +
          `${legal.length === 0 ? "(none — terminal state)" : legal.join(", ")}.`
      })
    }

    const stale = (row: TicketRow, passed: number) => StaleLeaseEpoch.of(row.id, passed, row.lease_epoch)

    /** Why an atomic transition matched no row: missing ticket, stale fence, or the table. */
    const whyNot = Effect.fnUntraced(function*(projectId: string, ticketId: string, transition: Transition, leaseEpoch: number | undefined) {
      const row = yield* requireRow(projectId, ticketId)
      if (leaseEpoch !== undefined && row.lease_epoch !== leaseEpoch) return yield* stale(row, leaseEpoch)
      return yield* refused(row, transition)
    })

    const transition = Effect.fnUntraced(function*(
      projectId: string,
      ticketId: string,
      name: Transition,
      options: {
        readonly leaseEpoch?: number | undefined
        readonly set?: Statement.Fragment
        readonly details?: Record<string, unknown>
        readonly after?: (organizationId: string) => Effect.Effect<void, never, CurrentPrincipal>
      } = {}
    ) {
      const principal = yield* CurrentPrincipal
      const to = Lifecycle.targetOf(name)
      const moved = yield* transact(Effect.gen(function*() {
        const rows = yield* sql`
          UPDATE tickets.tickets t SET status = ${to}, updated_at = now() ${options.set ?? nothing}
          WHERE t.id = ${ticketId} AND t.project_id = ${projectId} AND t.organization_id = ${principal.organizationId}
            AND ${guard(name)} AND ${fence(options.leaseEpoch)}
          RETURNING t.lease_epoch, t.completion_notes
        `
        if (rows.length === 0) return false
        if (options.after !== undefined) yield* options.after(principal.organizationId)
        const notes = (rows[0] as { readonly completion_notes?: unknown }).completion_notes
        yield* publish(principal.organizationId, projectId, ticketId, name, to, typeof notes === "string" ? notes : null)
        // The audit entry last: it locks the organization's chain head, so every row lock comes before it.
        yield* audit.record(`tickets.ticket.${name}`, { type: "ticket", id: ticketId }, {
          project_id: projectId,
          status: to,
          ...(options.leaseEpoch === undefined ? {} : { lease_epoch: options.leaseEpoch }),
          ...options.details
        })
        return true
      }))
      if (!moved) return yield* whyNot(projectId, ticketId, name, options.leaseEpoch)
      return yield* ticketOf(projectId, ticketId)
    })

    // ── dependencies ──────────────────────────────────────────────────────

    /** Deduplicates `depends_on` and checks every id is a ticket of this project. */
    const checkDependencies = Effect.fnUntraced(function*(
      organizationId: string,
      projectId: string,
      dependsOn: ReadonlyArray<string>
    ) {
      const deduped = [...new Set(dependsOn)]
      if (deduped.length === 0) return deduped
      const found = yield* sql<{ readonly id: string }>`
        SELECT t.id FROM tickets.tickets t
        WHERE t.organization_id = ${organizationId} AND t.project_id = ${projectId} AND ${sql.in("t.id", deduped)}
      `.pipe(Effect.orDie)
      const known = new Set(found.map((r) => r.id))
      const missing = deduped.filter((id) => !known.has(id))
      if (missing.length > 0) {
        return yield* new InvalidDependency({
          missing,
          detail: `depends_on references unknown or cross-project ticket(s): ${missing.join(", ")}. Dependencies must exist in the same project.`
        })
      }
      return deduped
    })

    /** Refuses a `depends_on` for an existing ticket that would close a cycle, naming it. */
    const checkCycle = Effect.fnUntraced(function*(
      organizationId: string,
      projectId: string,
      ticketId: string,
      dependsOn: ReadonlyArray<string>
    ) {
      const edges = yield* sql<{ readonly ticket_id: string; readonly depends_on_id: string }>`
        SELECT d.ticket_id, d.depends_on_id FROM tickets.ticket_dependencies d
        JOIN tickets.tickets t ON t.id = d.ticket_id
        WHERE t.organization_id = ${organizationId} AND t.project_id = ${projectId}
      `.pipe(Effect.orDie)
      const cycle = findCycle(ticketId, dependsOn, edges)
      if (cycle !== undefined) {
        return yield* new DependencyCycle({
          cycle,
          detail: `These dependencies would create a cycle: ${cycle.join(" -> ")}.`
        })
      }
    })

    const insertDependencies = (ticketId: string, dependsOn: ReadonlyArray<string>) => {
      const rows: ReadonlyArray<Record<string, unknown>> = dependsOn.map((id, position) => ({ ticket_id: ticketId, depends_on_id: id, position }))
      return Arr.isReadonlyArrayNonEmpty(rows)
        ? Effect.asVoid(sql`INSERT INTO tickets.ticket_dependencies ${sql.insert(rows)}`)
        : Effect.void
    }

    const insertSystemComment = (principal: Principal, ticketId: string, content: string) =>
      sql`
        INSERT INTO tickets.ticket_comments (id, organization_id, ticket_id, author_user_id, author_persona, content, actor_kind)
        VALUES (${newId("tc_")}, ${principal.organizationId}, ${ticketId}, ${actorId(principal)}, ${systemPersona}, ${content}, ${principal.kind})
      `

    const insertEdit = (principal: Principal, ticketId: string, field: string, oldValue: unknown, newValue: unknown, leaseEpoch: number) =>
      sql`
        INSERT INTO tickets.ticket_edits (id, organization_id, ticket_id, edited_by_user_id, field_name, old_value, new_value, lease_epoch)
        VALUES (${newId("te_")}, ${principal.organizationId}, ${ticketId}, ${actorId(principal)}, ${field},
                ${JSON.stringify(oldValue)}::jsonb, ${JSON.stringify(newValue)}::jsonb, ${leaseEpoch})
      `

    // ── reads ─────────────────────────────────────────────────────────────

    const list = Effect.fn("Tickets.list")(function*(projectId: string, filters: ListFilters) {
      const principal = yield* CurrentPrincipal
      yield* projects.require(projectId)
      const conditions = [
        sql`t.organization_id = ${principal.organizationId}`,
        sql`t.project_id = ${projectId}`,
        ...(filters.status === undefined ? [] : [sql`t.status = ${filters.status}`]),
        ...(filters.kind === undefined ? [] : [sql`t.kind = ${filters.kind}`]),
        ...(filters.priority === undefined ? [] : [sql`t.priority = ${filters.priority}`]),
        ...(filters.assigned_to === undefined ? [] : [sql`lower(t.assigned_to) = lower(${filters.assigned_to})`])
      ]
      const rows = yield* sql`
        SELECT ${columns} FROM tickets.tickets t WHERE ${sql.and(conditions)} ORDER BY t.created_at DESC, t.id
      `.pipe(Effect.flatMap(decodeTickets), Effect.orDie)
      return rows.map(toTicket)
    })

    const get = Effect.fn("Tickets.get")(function*(projectId: string, ticketId: string) {
      const principal = yield* CurrentPrincipal
      yield* projects.require(projectId)
      const ticket = yield* ticketOf(projectId, ticketId)
      const dependents = yield* sql<{ readonly id: string }>`
        SELECT t.id FROM tickets.ticket_dependencies d JOIN tickets.tickets t ON t.id = d.ticket_id
        WHERE d.depends_on_id = ${ticketId} AND t.project_id = ${projectId} AND t.organization_id = ${principal.organizationId}
        ORDER BY t.created_at, t.id
      `.pipe(Effect.orDie)
      const recent = yield* recentComments(ticketId, 10)
      return new TicketDetail({ ...ticket, dependents: dependents.map((r) => r.id), recent_comments: recent })
    })

    const recentComments = (ticketId: string, count: number) =>
      sql`
        SELECT * FROM (
          SELECT ${sql.literal(commentColumns)}, c.created_at AS sort_at FROM tickets.ticket_comments c
          WHERE c.ticket_id = ${ticketId} ORDER BY c.created_at DESC, c.id DESC LIMIT ${count}
        ) recent ORDER BY sort_at, id
      `.pipe(Effect.flatMap(decodeComments), Effect.map((rows) => rows.map(toComment)), Effect.orDie)

    const edits = Effect.fn("Tickets.edits")(function*(projectId: string, ticketId: string) {
      yield* projects.require(projectId)
      yield* requireRow(projectId, ticketId)
      const rows = yield* sql`
        SELECT ${sql.literal(editColumns)} FROM tickets.ticket_edits e
        WHERE e.ticket_id = ${ticketId} ORDER BY e.edited_at, e.id
      `.pipe(Effect.flatMap(decodeEdits), Effect.orDie)
      return rows.map(toEdit)
    })

    // ── create ────────────────────────────────────────────────────────────

    const create = Effect.fn("Tickets.create")(function*(projectId: string, input: CreateTicket) {
      const principal = yield* CurrentPrincipal
      const project = yield* projects.require(projectId)
      const kind: Kind = input.kind ?? "task"
      const source = input.source ?? "human"
      const description = input.description ?? ""
      const acceptance = input.acceptance_criteria ?? []
      const parentId = input.parent_ticket_id ?? null
      const sessionId = input.created_by_session_id ?? null

      if (kind === "issue") {
        if (!isProjectAdmin(principal, project)) {
          return yield* new NotProjectAdmin({ detail: "Only the project owner or an organization admin may file kind='issue' tickets." })
        }
        if (parentId !== null) {
          return yield* new NestedIssue({ detail: "Issues cannot be nested under other issues; leave parent_ticket_id null on kind='issue'." })
        }
      }
      if (parentId !== null) {
        const parent = yield* rowOf(principal.organizationId, projectId, parentId)
        if (Option.isNone(parent)) {
          return yield* new InvalidParent({
            parent_ticket_id: parentId,
            detail: `Parent ticket ${parentId} not found in project ${projectId}. Cross-project parent linking is rejected.`
          })
        }
        if (parent.value.kind !== "issue") {
          return yield* new InvalidParent({
            parent_ticket_id: parentId,
            detail: `Parent ticket ${parentId} is kind='${parent.value.kind}'; parent_ticket_id requires the parent to be kind='issue'.`
          })
        }
      }
      if (source === "agent" && kind === "task") {
        if (acceptance.length === 0) {
          return yield* new AgentTicketRejected({ detail: "Agent-created tickets must include acceptance criteria." })
        }
        if (description.trim().length < agentDescriptionMin) {
          return yield* new AgentTicketRejected({
            detail: `Agent-created tickets need a meaningful description (${agentDescriptionMin}+ chars).`
          })
        }
        if (sessionId !== null) {
          const [filed] = yield* sql<{ readonly n: number | bigint | string }>`
            SELECT count(*) AS n FROM tickets.tickets
            WHERE organization_id = ${principal.organizationId} AND created_by_session_id = ${sessionId}
          `.pipe(Effect.orDie)
          if (Number(filed.n) >= agentTicketsPerSession) {
            return yield* new AgentTicketQuota({
              limit: agentTicketsPerSession,
              detail: `Maximum ${agentTicketsPerSession} tickets per session.`
            })
          }
        }
      }
      const dependsOn = yield* checkDependencies(principal.organizationId, projectId, input.depends_on ?? [])
      const status: Status = kind === "task" && source === "agent" ? "suggested" : "open"
      const id = newId("tk_")
      yield* transact(Effect.gen(function*() {
        yield* sql`
          INSERT INTO tickets.tickets (
            id, organization_id, project_id, title, description, priority, kind, status, source, parent_ticket_id,
            assigned_to, created_by_user_id, created_by_session_id, created_by_persona,
            context_refs, file_refs, related_sessions, acceptance_criteria
          ) VALUES (
            ${id}, ${principal.organizationId}, ${projectId}, ${input.title}, ${description}, ${input.priority ?? "medium"},
            ${kind}, ${status}, ${source}, ${parentId}, ${input.assigned_to ?? null}, ${actorId(principal)},
            ${sessionId}, ${input.created_by_persona ?? null},
            ${JSON.stringify(input.context_refs ?? [])}::jsonb, ${JSON.stringify(input.file_refs ?? [])}::jsonb,
            ${JSON.stringify(input.related_sessions ?? [])}::jsonb, ${JSON.stringify(acceptance)}::jsonb
          )
        `
        yield* insertDependencies(id, dependsOn)
        yield* publish(principal.organizationId, projectId, id, "create", status, null)
        yield* audit.record("tickets.ticket.create", { type: "ticket", id }, {
          project_id: projectId,
          title: input.title,
          kind,
          status,
          depends_on: dependsOn
        })
      }))
      return yield* ticketOf(projectId, id).pipe(Effect.catchTag("TicketNotFound", Effect.die))
    })

    // ── update ────────────────────────────────────────────────────────────

    const sameList = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) => a.length === b.length && a.every((x, i) => x === b[i])
    const sameSet = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) => {
      const set = new Set(a)
      return a.length === b.length && b.every((x) => set.has(x))
    }
    const show = (value: unknown) => {
      const text = JSON.stringify(value)
      return text.length > 300 ? `${text.slice(0, 297)}...` : text
    }

    const update = Effect.fn("Tickets.update")(function*(projectId: string, ticketId: string, input: UpdateTicket) {
      // `status` in the body is ignored, as SessionFS's update model has no such field.
      const present = mutableFields.filter((field) => input[field] !== undefined)
      if (present.length === 0) {
        return yield* new NoMutableFields({
          mutable_fields: [...mutableFields],
          detail: "At least one mutable field is required. lease_epoch alone is a fence, not a mutation."
        })
      }
      const principal = yield* CurrentPrincipal
      const project = yield* projects.require(projectId)
      yield* settings.requireLease(input.lease_epoch)
      return yield* transact(Effect.gen(function*() {
        const locked = yield* sql`
          SELECT t.id FROM tickets.tickets t
          WHERE t.id = ${ticketId} AND t.project_id = ${projectId} AND t.organization_id = ${principal.organizationId}
          FOR NO KEY UPDATE
        `
        if (locked.length === 0) {
          return yield* new TicketNotFound({ ticket_id: ticketId, detail: `No ticket ${ticketId} in project ${projectId}.` })
        }
        const row = yield* requireRow(projectId, ticketId)
        const current = toTicket(row)
        if (!isProjectAdmin(principal, project) && current.created_by_user_id !== actorId(principal)) {
          return yield* new NotTicketEditor({
            ticket_id: ticketId,
            detail: "Only the ticket's creator or a project admin may edit it. A persona name does not grant edit rights."
          })
        }
        if (input.lease_epoch !== undefined && input.lease_epoch !== current.lease_epoch) {
          return yield* StaleLeaseEpoch.of(
            ticketId,
            input.lease_epoch,
            current.lease_epoch,
            "Ticket lease_epoch has advanced since you read it. Re-fetch the ticket and retry."
          )
        }
        const changes: Array<{ readonly field: MutableField; readonly from: unknown; readonly to: unknown }> = []
        for (const field of present) {
          if (field === "depends_on") {
            const next = [...new Set(input.depends_on ?? [])]
            if (!sameSet(next, current.depends_on)) changes.push({ field, from: current.depends_on, to: next })
          } else if (field === "acceptance_criteria" || field === "context_refs" || field === "file_refs" || field === "related_sessions") {
            const next = input[field] ?? []
            if (!sameList(next, current[field])) changes.push({ field, from: current[field], to: next })
          } else {
            const next = input[field] ?? null
            if (next !== current[field]) changes.push({ field, from: current[field], to: next })
          }
        }
        const dependsOn = changes.find((c) => c.field === "depends_on")
        if (dependsOn !== undefined) {
          const next = dependsOn.to as ReadonlyArray<string>
          // A ticket depending on itself is the shortest cycle; everything else must exist here.
          yield* checkCycle(principal.organizationId, projectId, ticketId, next)
          yield* checkDependencies(principal.organizationId, projectId, next)
        }
        // A fenced update takes the epoch, as SessionFS's does: the same epoch cannot write twice.
        // It is the row's epoch read under the lock, so `+ 1` is exact.
        const takesEpoch = input.lease_epoch !== undefined
        if (takesEpoch) {
          yield* sql`UPDATE tickets.tickets SET lease_epoch = lease_epoch + 1 WHERE id = ${ticketId} AND organization_id = ${principal.organizationId}`
        }
        const epoch = current.lease_epoch + (takesEpoch ? 1 : 0)
        // A no-op write changes nothing else: no comment, no edit row. A fenced one took the epoch,
        // which the audit log records.
        if (changes.length === 0) {
          if (!takesEpoch) return current
          yield* audit.record("tickets.ticket.update", { type: "ticket", id: ticketId }, {
            project_id: projectId,
            fields: [],
            fenced: true,
            lease_epoch: epoch
          })
          return toTicket(yield* requireRow(projectId, ticketId))
        }

        const sets = changes.filter((c) => c.field !== "depends_on").map((c) =>
          Array.isArray(c.to) ? sql`${sql(c.field)} = ${JSON.stringify(c.to)}::jsonb` : sql`${sql(c.field)} = ${c.to}`
        )
        yield* sql`
          UPDATE tickets.tickets SET ${sql.join(", ", false)([...sets, sql`updated_at = now()`])}
          WHERE id = ${ticketId} AND organization_id = ${principal.organizationId}
        `
        if (dependsOn !== undefined) {
          yield* sql`DELETE FROM tickets.ticket_dependencies WHERE ticket_id = ${ticketId}`
          yield* insertDependencies(ticketId, dependsOn.to as ReadonlyArray<string>)
        }
        const fenced = input.lease_epoch === undefined ? "unfenced: no lease_epoch passed" : `lease_epoch ${input.lease_epoch}`
        yield* insertSystemComment(
          principal,
          ticketId,
          `Ticket updated by ${actorId(principal)} (${fenced}):\n` +
            changes.map((c) => `- ${c.field}: ${show(c.from)} → ${show(c.to)}`).join("\n")
        )
        for (const change of changes) {
          yield* insertEdit(principal, ticketId, change.field, change.from, change.to, epoch)
        }
        yield* audit.record("tickets.ticket.update", { type: "ticket", id: ticketId }, {
          project_id: projectId,
          fields: changes.map((c) => c.field),
          fenced: input.lease_epoch !== undefined
        })
        return toTicket(yield* requireRow(projectId, ticketId))
      }))
    })

    // ── claim ─────────────────────────────────────────────────────────────

    const started = Effect.fnUntraced(function*(projectId: string, row: TicketRow, auditId: string, tool: string) {
      const principal = yield* CurrentPrincipal
      const ticket = toTicket(row)
      const parent = ticket.parent_ticket_id === null
        ? Option.none()
        : yield* rowOf(principal.organizationId, projectId, ticket.parent_ticket_id)
      const children = ticket.child_ticket_ids.length === 0
        ? []
        : yield* sql`SELECT ${columns} FROM tickets.tickets t WHERE ${sql.in("t.id", ticket.child_ticket_ids)} ORDER BY t.created_at, t.id`.pipe(
          Effect.flatMap(decodeTickets),
          Effect.orDie
        )
      const done = ticket.depends_on.length === 0
        ? []
        : yield* sql`
            SELECT ${columns} FROM tickets.tickets t
            WHERE ${sql.in("t.id", ticket.depends_on)} AND t.project_id = ${projectId}
              AND t.organization_id = ${principal.organizationId} AND t.status = 'done'
            ORDER BY t.resolved_at, t.id
          `.pipe(Effect.flatMap(decodeTickets), Effect.orDie)
      const comments = yield* recentComments(ticket.id, 10)
      const compiled = CompiledContext.compile({
        ticket,
        parent: Option.match(parent, { onNone: () => null, onSome: toTicket }),
        children: children.map(toTicket),
        doneDependencies: done.map(toTicket),
        recentComments: comments,
        tool
      })
      return new StartedTicket({ ticket, compiled_context: compiled, retrieval_audit_id: auditId })
    })

    const start = Effect.fn("Tickets.start")(function*(projectId: string, ticketId: string, options: StartOptions) {
      const principal = yield* CurrentPrincipal
      const project = yield* projects.require(projectId)
      const holder = holderId(principal)
      const auditId = newId("ra_", 24)
      // The claim: one statement, so concurrent claims serialize on the row and only one matches.
      const claimed = yield* transact(Effect.gen(function*() {
        const rows = yield* sql<{ readonly lease_epoch: number }>`
          UPDATE tickets.tickets t
          SET status = 'in_progress', lease_epoch = t.lease_epoch + 1, lease_holder = ${holder},
              lease_claim_key = ${options.claimKey ?? null}, lease_audit_id = ${auditId},
              lease_expires_at = ${leaseExpiry(project)}, updated_at = now()
          WHERE t.id = ${ticketId} AND t.project_id = ${projectId} AND t.organization_id = ${principal.organizationId}
            AND (t.status = 'open'
                 OR (t.status = 'in_progress' AND t.lease_expires_at <= now())
                 ${options.force ? sql.literal("OR (t.status = 'blocked' AND t.kind = 'task')") : nothing})
          RETURNING t.lease_epoch
        `
        if (rows.length === 0) return false
        yield* publish(principal.organizationId, projectId, ticketId, "start", "in_progress", null)
        yield* audit.record("tickets.ticket.start", { type: "ticket", id: ticketId }, {
          project_id: projectId,
          lease_epoch: rows[0].lease_epoch,
          lease_holder: holder,
          retrieval_audit_id: auditId,
          force: options.force
        })
        return true
      }))
      const row = yield* requireRow(projectId, ticketId)
      if (claimed) return yield* started(projectId, row, auditId, options.tool)
      if (row.status === "in_progress") {
        if (
          options.claimKey !== undefined && row.lease_active && row.lease_holder === holder &&
          row.lease_claim_key === options.claimKey
        ) {
          // A retry of the claim this principal already holds: the same lease, nothing written.
          return yield* started(projectId, row, row.lease_audit_id ?? auditId, options.tool)
        }
        return yield* new LeaseHeld({
          detail: `Ticket ${ticketId} is in progress under lease_epoch ${row.lease_epoch}` +
            (row.lease_expires_at === null ? "." : `, held until ${row.lease_expires_at}.`),
          ticket_id: ticketId,
          current_status: "in_progress",
          lease_holder: row.lease_holder,
          lease_expires_at: row.lease_expires_at,
          current_lease_epoch: row.lease_epoch
        })
      }
      return yield* startConflict(row, options.force)
    })

    const renew = Effect.fn("Tickets.renew")(function*(projectId: string, ticketId: string, leaseEpoch: number) {
      const principal = yield* CurrentPrincipal
      const project = yield* projects.require(projectId)
      const holder = holderId(principal)
      const renewed = yield* transact(Effect.gen(function*() {
        const rows = yield* sql`
          UPDATE tickets.tickets t SET lease_expires_at = ${leaseExpiry(project)}, updated_at = now()
          WHERE t.id = ${ticketId} AND t.project_id = ${projectId} AND t.organization_id = ${principal.organizationId}
            AND t.status = 'in_progress' AND t.lease_epoch = ${leaseEpoch} AND t.lease_holder = ${holder}
          RETURNING t.id
        `
        if (rows.length === 0) return false
        yield* audit.record("tickets.ticket.renew", { type: "ticket", id: ticketId }, { project_id: projectId, lease_epoch: leaseEpoch })
        return true
      }))
      const row = yield* requireRow(projectId, ticketId)
      if (renewed) return toTicket(row)
      if (row.lease_epoch !== leaseEpoch) return yield* stale(row, leaseEpoch)
      return yield* new LeaseNotHeld({
        detail: `Only the holder of lease_epoch ${leaseEpoch} can renew it while the ticket is in progress.`,
        ticket_id: ticketId,
        current_status: row.status as Status,
        lease_holder: row.lease_holder,
        current_lease_epoch: row.lease_epoch
      })
    })

    // ── lifecycle ─────────────────────────────────────────────────────────

    const complete = Effect.fn("Tickets.complete")(function*(projectId: string, ticketId: string, input: CompleteTicket) {
      const principal = yield* CurrentPrincipal
      yield* projects.require(projectId)
      yield* settings.requireLease(input.lease_epoch)
      return yield* transition(projectId, ticketId, "complete", {
        leaseEpoch: input.lease_epoch,
        set: sql`,
          completion_notes = ${input.notes},
          changed_files = ${JSON.stringify(input.changed_files ?? [])}::jsonb,
          knowledge_entry_ids = ${JSON.stringify(input.knowledge_entry_ids ?? [])}::jsonb,
          resolver_session_id = ${input.resolver_session_id ?? null},
          resolver_user_id = ${actorId(principal)},
          lease_expires_at = NULL`
      })
    })

    /**
     * When a ticket is done, every same-project ticket waiting on it gets a comment with the
     * completion notes, its knowledge entry ids merged into `context_refs`, and, when all of
     * its dependencies are done, is unblocked.
     */
    const enrichDependents = (project: ProjectRow, completedId: string) => (organizationId: string) =>
      Effect.gen(function*() {
        const projectId = project.id
        const completed = toTicket(yield* Effect.map(rowOf(organizationId, projectId, completedId), Option.getOrThrow))
        const dependents = yield* sql`
          SELECT ${columns} FROM tickets.tickets t JOIN tickets.ticket_dependencies d ON d.ticket_id = t.id
          WHERE d.depends_on_id = ${completedId} AND t.project_id = ${projectId} AND t.organization_id = ${organizationId}
          ORDER BY t.created_at, t.id
        `.pipe(Effect.flatMap(decodeTickets))
        for (const dependent of dependents.map(toTicket)) {
          if (dependent.status !== "open" && dependent.status !== "blocked" && dependent.status !== "suggested") continue
          yield* sql`
            INSERT INTO tickets.ticket_comments (id, organization_id, ticket_id, author_user_id, author_persona, content, actor_kind)
            VALUES (${newId("tc_")}, ${organizationId}, ${dependent.id},
                    ${completed.resolver_user_id ?? completed.created_by_user_id}, ${completed.assigned_to},
                    ${`Dependency #${completed.id} (${completed.title}) completed:\n\n${completed.completion_notes ?? "No notes provided."}`},
                    'system')
          `
          if (completed.knowledge_entry_ids.length > 0) {
            const merged = [...new Set([...dependent.context_refs, ...completed.knowledge_entry_ids])]
            yield* sql`UPDATE tickets.tickets SET context_refs = ${JSON.stringify(merged)}::jsonb WHERE id = ${dependent.id}`
          }
          if (dependent.status === "blocked") {
            const [pending] = yield* sql<{ readonly n: number | bigint | string }>`
              SELECT count(*) AS n FROM tickets.ticket_dependencies d JOIN tickets.tickets u ON u.id = d.depends_on_id
              WHERE d.ticket_id = ${dependent.id} AND u.status <> 'done'
            `
            if (Number(pending.n) === 0) {
              const unblocked = yield* sql`
                UPDATE tickets.tickets SET status = 'in_progress', lease_expires_at = ${leaseExpiry(project)}, updated_at = now()
                WHERE id = ${dependent.id} AND status = 'blocked' RETURNING id
              `
              if (unblocked.length > 0) yield* publish(organizationId, projectId, dependent.id, "unblock", "in_progress", null)
            }
          }
        }
      }).pipe(Effect.orDie)

    const resolve = Effect.fn("Tickets.resolve")(function*(projectId: string, ticketId: string, leaseEpoch: number | undefined) {
      const project = yield* projects.require(projectId)
      yield* settings.requireLease(leaseEpoch)
      return yield* transition(projectId, ticketId, "resolve", {
        leaseEpoch,
        set: sql.literal(", resolved_at = now(), lease_expires_at = NULL"),
        after: enrichDependents(project, ticketId)
      }).pipe(Effect.catchTag("InvalidStatusTransition", (refusal) => Effect.fail(acceptConflict(refusal))))
    })

    const close = Effect.fn("Tickets.close")(function*(projectId: string, ticketId: string) {
      const principal = yield* CurrentPrincipal
      const project = yield* projects.require(projectId)
      const row = yield* requireRow(projectId, ticketId)
      if (row.kind !== "issue") {
        return yield* new CloseRequiresIssue({
          ticket_id: ticketId,
          kind: row.kind,
          detail: `Cannot close ticket ${ticketId}: kind='${row.kind}'. The close transition is for issues only; tasks finish with complete and resolve.`
        })
      }
      if (!isProjectAdmin(principal, project)) {
        return yield* new NotProjectAdmin({ detail: "Only the project owner or an organization admin may close an issue." })
      }
      return yield* transition(projectId, ticketId, "close", {
        set: sql.literal(", resolved_at = now(), lease_expires_at = NULL")
      }).pipe(Effect.catchTag("StaleLeaseEpoch", Effect.die))
    })

    const move = Effect.fn("Tickets.move")(function*(
      projectId: string,
      ticketId: string,
      name: "approve" | "block" | "unblock" | "reopen" | "dismiss"
    ) {
      const project = yield* projects.require(projectId)
      const set = name === "unblock"
        ? sql`, lease_expires_at = ${leaseExpiry(project)}`
        : name === "reopen" || name === "dismiss"
        ? sql.literal(", lease_expires_at = NULL")
        : undefined
      // No fence here, so the refusal is never about the lease.
      return yield* transition(projectId, ticketId, name, set === undefined ? {} : { set }).pipe(
        Effect.catchTag("StaleLeaseEpoch", Effect.die)
      )
    })

    const escalate = Effect.fn("Tickets.escalate")(function*(projectId: string, ticketId: string, reason: string | undefined) {
      const principal = yield* CurrentPrincipal
      yield* projects.require(projectId)
      return yield* transact(Effect.gen(function*() {
        const locked = yield* sql`
          SELECT t.id FROM tickets.tickets t
          WHERE t.id = ${ticketId} AND t.project_id = ${projectId} AND t.organization_id = ${principal.organizationId}
          FOR NO KEY UPDATE
        `
        if (locked.length === 0) {
          return yield* new TicketNotFound({ ticket_id: ticketId, detail: `No ticket ${ticketId} in project ${projectId}.` })
        }
        const current = toTicket(yield* requireRow(projectId, ticketId))
        const from = current.priority
        const to = priorityOrder[Math.min(priorityOrder.indexOf(from) + 1, priorityOrder.length - 1)]
        const why = reason === undefined || reason.trim() === "" ? "" : `: ${reason.trim()}`
        if (to !== from) {
          yield* sql`UPDATE tickets.tickets SET priority = ${to}, updated_at = now() WHERE id = ${ticketId}`
          yield* insertEdit(principal, ticketId, "priority", from, to, current.lease_epoch)
        }
        // Every escalation leaves its own comment, even when the priority is already at the top.
        yield* insertSystemComment(
          principal,
          ticketId,
          to !== from
            ? `Escalated ${from} → ${to} by ${actorId(principal)}${why}`
            : `Escalation requested by ${actorId(principal)} (priority already ${from})${why}`
        )
        yield* audit.record("tickets.ticket.escalate", { type: "ticket", id: ticketId }, {
          project_id: projectId,
          from,
          to,
          ...(why === "" ? {} : { reason: reason?.trim() })
        })
        return toTicket(yield* requireRow(projectId, ticketId))
      }))
    })

    return Tickets.of({ list, create, get, update, start, complete, resolve, close, move, escalate, renew, edits })
  })
)
