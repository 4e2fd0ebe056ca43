/**
 * The runs plugin's `approval` channel: a workflow's `approval` step publishes a page in the
 * run's organization (the step's name as title, its message as a text block, what is to be
 * approved as a JSON code block, actions `act_approve` / `act_reject`), and the page's
 * completion decides the run (`Runs.approve` / `Runs.reject`, in the completion's transaction).
 *
 * `open` is idempotent by the request's idempotency key (`pages.run_approvals`): a repeat while
 * the page is undecided opens nothing new; after a decision (a `retry` of a rejected run asks
 * again with the same key) it publishes a new page. The page's `metadata.run` names the run.
 */
import { Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { CurrentPrincipal } from "trellis/contract"
import { Principal, Row, systemPrincipal } from "trellis/plugin"
import { Runs } from "../runs/RunsService.ts"
import { StepFailed, StepRegistry } from "../runs/StepRegistry.ts"
import type { ApprovalRequest } from "../runs/StepRegistry.ts"
import type { PageInput } from "./Domain.ts"
import { Pages } from "./PagesService.ts"

/** The marker in a page's metadata naming the run it decides. */
export const runMarker = "run"

/** The run's organization's principal, for a channel call or listener that carries none of that organization. */
const principalFor = (organizationId: string): Effect.Effect<Principal> =>
  Effect.map(Effect.serviceOption(CurrentPrincipal), (current) =>
    Option.isSome(current) && current.value.organizationId === organizationId
      ? current.value
      : new Principal({ ...systemPrincipal("pages"), organizationId }))

const render = (input: unknown): string => {
  if (typeof input === "string") return input
  try {
    return JSON.stringify(input ?? null, null, 2) ?? "null"
  } catch {
    return String(input)
  }
}

export const pageOf = (request: ApprovalRequest): PageInput => ({
  page_type: "approval",
  title: request.step,
  summary: request.message ?? null,
  blocks: [
    { type: "text", data: { content: request.message ?? `The workflow step ${request.step} asks for your approval.` } },
    { type: "code", title: "Input", data: { language: "json", code: render(request.input) } }
  ],
  actions: [
    { action_id: "act_approve", label: "Approve", style: "primary", decision: "approve" },
    { action_id: "act_reject", label: "Reject", style: "danger", decision: "reject" }
  ],
  access: { mode: "authenticated" },
  metadata: { [runMarker]: { runId: request.runId, stepIndex: request.stepIndex, idempotencyKey: request.idempotencyKey } }
})

export const layer = Layer.effectDiscard(Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const pages = yield* Pages
  const runs = yield* Runs
  const steps = yield* StepRegistry

  const open = (request: ApprovalRequest) =>
    Row.dieOnInfrastructure(sql.withTransaction(Effect.gen(function*() {
      // The placeholder row is what two racing opens of one key serialize on.
      yield* sql`INSERT INTO pages.run_approvals (idempotency_key, organization_id, run_id, page_id)
        VALUES (${request.idempotencyKey}, ${request.organizationId}, ${request.runId}, '')
        ON CONFLICT (idempotency_key) DO NOTHING`
      const rows = yield* sql<{ page_id: string }>`SELECT page_id FROM pages.run_approvals
        WHERE idempotency_key = ${request.idempotencyKey} FOR UPDATE`
      const existing = rows[0]?.page_id ?? ""
      if (existing !== "") {
        const page = yield* pages.find(existing)
        if (Option.isSome(page) && (page.value.status === "active" || page.value.status === "draft")) return
      }
      const principal = yield* principalFor(request.organizationId)
      const published = yield* pages.publish(pageOf(request), { status: "active" }).pipe(
        Effect.provideService(CurrentPrincipal, principal),
        Effect.mapError((invalid) => new StepFailed({ message: `approval page refused: ${invalid.message}`, retryable: false }))
      )
      yield* sql`UPDATE pages.run_approvals SET page_id = ${published.page.id}, run_id = ${request.runId}
        WHERE idempotency_key = ${request.idempotencyKey}`
    })))

  yield* steps.addApprovalChannel({ name: "pages", open })

  yield* pages.listen({
    name: "run-approvals",
    completed: (page, outcome) =>
      Effect.gen(function*() {
        const marker = page.metadata?.[runMarker]
        if (typeof marker !== "object" || marker === null) return
        const runId = (marker as Record<string, unknown>)["runId"]
        if (typeof runId !== "string") return
        // Only a page this channel opened decides a run (metadata alone is the publisher's to write).
        const owned = yield* sql<{ run_id: string }>`SELECT run_id FROM pages.run_approvals WHERE page_id = ${page.id} AND run_id = ${runId}`
        if (owned.length === 0) return
        const principal = yield* principalFor(page.organizationId)
        const notes = `${outcome.decision === "approve" ? "approved" : "rejected"} on page ${page.id} by ${outcome.actor}`
        const decided = outcome.decision === "approve" ? runs.approve(runId, { notes }) : runs.reject(runId, { notes })
        yield* decided.pipe(
          Effect.provideService(CurrentPrincipal, principal),
          // The run may have been decided through seed 002's routes or cancelled meanwhile: the page's decision is then moot.
          Effect.catch((error) => Effect.logWarning(`pages: run ${runId} not decided by page ${page.id}: ${error._tag}`))
        )
      })
  })
}))
