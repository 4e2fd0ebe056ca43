/**
 * The `Workflows` service: PromptOps's workflow definitions (one row per workflow, steps as
 * jsonb), checked when saved (every step against the step registry, `workflow` steps for
 * cycles), and runs of them through the runs plugin.
 *
 * A run's steps are the workflow's after one hidden first step (`__start`, an empty `render`):
 * PromptOps threads `""` into the first step as `{{input}}`, where the runs engine would give the
 * run's variables. The run's trace and PromptOps's `step N` count the workflow's steps only.
 *
 * `api_key`: sealed with the platform's `SecretBox` into the run's input (variable `__workflow`,
 * bound to the organization and a fresh nonce), so whichever process executes a model step can
 * open it and the run log never holds it in clear. Callers cannot pass `__workflow` themselves.
 */
import { Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { AuditLog, CurrentPrincipal, SecretBox, storedWorkspaceId } from "trellis/plugin"
import type { Run, StepDefinition } from "../runs/Domain.ts"
import { InvalidRunDefinition } from "../runs/Errors.ts"
import { Runs } from "../runs/RunsService.ts"
import { StepRegistry } from "../runs/StepRegistry.ts"
import type { CreateWorkflow, RunWorkflowResponse, UpdateWorkflow, Workflow } from "./Domain.ts"
import { textOf } from "./Domain.ts"
import { InvalidWorkflowDefinition, WorkflowKeyRequired, WorkflowKeyTaken, WorkflowNotFound, WorkflowRunFailed } from "./Errors.ts"
import { Workflows } from "./WorkflowsService.ts"
import type { ListFilter, RunOptions } from "./WorkflowsService.ts"

/** The run variable that carries the run's sealed credentials (never taken from a caller). */
export const credentialsVariable = "__workflow"

/** The name of the hidden first step of every workflow run. */
export const startStep = "__start"

/** What `__workflow` holds. */
export interface RunCredentials {
  readonly nonce: string
  readonly api_key?: string | undefined
  readonly base_url?: string | undefined
  /** The workflow's workspace: whose provider settings its model calls use (absent: the default workspace). */
  readonly workspace_id?: string | undefined
}

export const sealContext = (organizationId: string, nonce: string) => JSON.stringify(["workflows.api_key", organizationId, nonce])

/** Step types that refer to stored workflows, and where (for cycles): a `workflow` step, and those nested in `parallel` branches. */
export const referencedWorkflows = (steps: ReadonlyArray<StepDefinition>): ReadonlyArray<string> =>
  steps.flatMap((step) => {
    if (step.type === "workflow" && typeof step.workflow === "string") return [step.workflow]
    if (step.type === "parallel" && Array.isArray(step.branches)) {
      return (step.branches as ReadonlyArray<unknown>).flatMap((branch) =>
        typeof branch === "object" && branch !== null && Array.isArray((branch as { steps?: unknown }).steps)
          ? referencedWorkflows((branch as { steps: ReadonlyArray<StepDefinition> }).steps)
          : []
      )
    }
    return []
  })

/** Variables a caller gives, without the reserved `__workflow`. */
export const callerVariables = (variables: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(variables ?? {})) if (name !== credentialsVariable) out[name] = value
  return out
}

interface WorkflowRow {
  readonly id: string
  readonly organization_id: string
  readonly workspace_id: string
  readonly key: string
  readonly name: string
  readonly description: string
  readonly steps: unknown
  readonly created_at: Date | string
  readonly updated_at: Date | string
}

const columns = "id, organization_id, workspace_id, key, name, description, steps::text AS steps, created_at, updated_at"

const toWorkflow = (row: WorkflowRow): Workflow => ({
  id: row.id,
  workspace_id: row.workspace_id,
  key: row.key,
  name: row.name,
  description: row.description,
  steps: (typeof row.steps === "string" ? JSON.parse(row.steps) : row.steps) as ReadonlyArray<StepDefinition>,
  created_at: new Date(row.created_at).toISOString(),
  updated_at: new Date(row.updated_at).toISOString()
})

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const runs = yield* Runs
  const registry = yield* StepRegistry
  const box = yield* SecretBox
  const audit = yield* AuditLog

  const find = (organizationId: string, id: string) =>
    sql<WorkflowRow>`SELECT ${sql.literal(columns)} FROM workflows.workflows WHERE organization_id = ${organizationId} AND id = ${id}`.pipe(
      Effect.map((rows) => Option.fromNullishOr(rows[0])),
      Effect.orDie
    )

  const require = (id: string) =>
    Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      const row = yield* find(principal.organizationId, id)
      if (Option.isNone(row)) return yield* new WorkflowNotFound({ workflow_id: id, detail: "not found" })
      return row.value
    })

  const refuse = (index: number | null, step: string | null, reason: string) =>
    new InvalidWorkflowDefinition({
      step_index: index,
      step,
      reason,
      detail: index === null ? reason : `step ${index + 1} (${step}): ${reason}`
    })

  /**
   * Every step against the registry (type, members, effectful checks such as a prompt key with
   * something to serve), names unique and not reserved; for a stored workflow (`selfId`), no
   * chain of `workflow` steps leads back to it.
   */
  const validate = (steps: ReadonlyArray<StepDefinition>, selfId: string | undefined) =>
    Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      const names = new Set<string>()
      for (const [index, step] of steps.entries()) {
        if (step.name.startsWith("__")) return yield* refuse(index, step.name, "step names starting with __ are reserved")
        if (names.has(step.name)) return yield* refuse(index, step.name, "duplicate step name")
        names.add(step.name)
        const type = registry.get(step.type)
        if (type === undefined) return yield* refuse(index, step.name, `unknown step type ${step.type} (known: ${registry.types().join(", ")})`)
        const checked = type.validate(step, steps, index)
        const invalid = Effect.isEffect(checked) ? yield* checked : checked
        if (invalid !== undefined) return yield* refuse(index, step.name, invalid)
      }
      if (selfId === undefined) return
      // A cycle through this workflow: follow the stored workflows each step calls, depth first.
      const calls = new Map<string, ReadonlyArray<string>>()
      const callsOf = (id: string) =>
        Effect.gen(function*() {
          const known = calls.get(id)
          if (known !== undefined) return known
          const row = yield* find(principal.organizationId, id)
          const found = Option.isSome(row) ? referencedWorkflows(toWorkflow(row.value).steps) : []
          calls.set(id, found)
          return found
        })
      /** Workflows explored fully without leading back here. */
      const dead = new Set<string>()
      /** The chain of workflows from `id` back to this one, if there is one. */
      const chainFrom = (id: string, path: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<string> | undefined> =>
        Effect.gen(function*() {
          if (id === selfId) return path
          if (path.includes(id) || dead.has(id)) return undefined
          for (const next of yield* callsOf(id)) {
            const chain = yield* chainFrom(next, [...path, id])
            if (chain !== undefined) return chain
          }
          dead.add(id)
          return undefined
        })
      for (const [index, step] of steps.entries()) {
        for (const called of referencedWorkflows([step])) {
          const chain = yield* chainFrom(called, [])
          if (chain !== undefined) {
            return yield* refuse(index, step.name, `a cycle: this workflow calls itself${chain.length === 0 ? "" : ` through ${chain.join(" -> ")}`}`)
          }
        }
      }
    })

  const runSteps = (workflow: Workflow): ReadonlyArray<StepDefinition> => [
    { name: startStep, type: "render", template: "" },
    ...workflow.steps
  ]

  const credentials = (organizationId: string, workspaceId: string, options: RunOptions) =>
    Effect.gen(function*() {
      const nonce = crypto.randomUUID()
      const apiKey = options.apiKey === undefined || options.apiKey === ""
        ? undefined
        : yield* box.seal(options.apiKey, sealContext(organizationId, nonce))
      const baseUrl = options.baseUrl === undefined || options.baseUrl === "" ? undefined : options.baseUrl
      return {
        nonce,
        ...(apiKey === undefined ? {} : { api_key: apiKey }),
        ...(baseUrl === undefined ? {} : { base_url: baseUrl }),
        workspace_id: workspaceId
      } satisfies RunCredentials
    })

  const start = (id: string, variables: Readonly<Record<string, unknown>>, options: RunOptions) =>
    Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      const workflow = toWorkflow(yield* require(id))
      const input = { ...callerVariables(variables), [credentialsVariable]: yield* credentials(principal.organizationId, workflow.workspace_id, options) }
      return yield* runs.run({
        steps: runSteps(workflow),
        input,
        source: "workflow",
        refKey: workflow.id,
        title: workflow.name === "" ? workflow.key : workflow.name
      }).pipe(
        Effect.catchTag("InvalidRunDefinition", (e: InvalidRunDefinition) =>
          // The definition was valid when saved; something it names changed since (a prompt key, a workflow).
          Effect.fail(refuse(e.stepIndex === null ? null : e.stepIndex - 1, e.step, e.reason)))
      )
    })

  const list = (filter: ListFilter) =>
    Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      const org = principal.organizationId
      const clauses = [sql`organization_id = ${org}`]
      if (filter.workspace !== undefined && filter.workspace.trim() !== "") clauses.push(sql`workspace_id = ${storedWorkspaceId(org, filter.workspace)}`)
      const q = filter.q?.trim().toLowerCase()
      if (q !== undefined && q !== "") {
        clauses.push(sql`(position(${q} in lower(key)) > 0 OR position(${q} in lower(name)) > 0 OR position(${q} in lower(description)) > 0)`)
      }
      const rows = yield* sql<WorkflowRow>`SELECT ${sql.literal(columns)} FROM workflows.workflows
        WHERE ${sql.and(clauses)} ORDER BY updated_at DESC, id LIMIT 1000`.pipe(Effect.orDie)
      return rows.map(toWorkflow)
    })

  const create = (input: CreateWorkflow) =>
    Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      const org = principal.organizationId
      if (input.key.trim() === "") return yield* new WorkflowKeyRequired({ detail: "key is required" })
      const steps = input.steps ?? []
      yield* validate(steps, undefined)
      const id = crypto.randomUUID()
      const workspaceId = storedWorkspaceId(org, input.workspace_id ?? "")
      const inserted = yield* sql.withTransaction(Effect.gen(function*() {
        const rows = yield* sql<{ ok: number }>`
          INSERT INTO workflows.workflows (id, organization_id, workspace_id, key, name, description, steps, created_by, updated_by)
          VALUES (${id}, ${org}, ${workspaceId}, ${input.key}, ${input.name ?? ""}, ${input.description ?? ""},
            ${JSON.stringify(steps)}::jsonb, ${principal.id}, ${principal.id})
          ON CONFLICT (organization_id, workspace_id, key) DO NOTHING
          RETURNING 1 AS ok
        `
        if (rows.length > 0) yield* audit.record("workflows.workflow.create", { type: "workflow", id }, { key: input.key, name: input.name ?? "" })
        return rows
      })).pipe(Effect.orDie)
      if (inserted.length === 0) {
        return yield* new WorkflowKeyTaken({
          key: input.key,
          workspace_id: workspaceId,
          detail: `A workflow with key ${input.key} already exists${workspaceId === "" ? "" : ` in workspace ${workspaceId}`}.`
        })
      }
      return toWorkflow(Option.getOrThrow(yield* find(org, id)))
    })

  const update = (id: string, input: UpdateWorkflow) =>
    Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      yield* require(id)
      const steps = input.steps ?? []
      yield* validate(steps, id)
      // PromptOps replaces name, description and steps; the key and the workspace stay.
      const rows = yield* sql.withTransaction(Effect.gen(function*() {
        const updated = yield* sql<WorkflowRow>`
          UPDATE workflows.workflows SET name = ${input.name ?? ""}, description = ${input.description ?? ""},
            steps = ${JSON.stringify(steps)}::jsonb, updated_by = ${principal.id}, updated_at = now()
          WHERE organization_id = ${principal.organizationId} AND id = ${id}
          RETURNING ${sql.literal(columns)}
        `
        if (updated.length > 0) yield* audit.record("workflows.workflow.update", { type: "workflow", id }, { key: updated[0].key, name: updated[0].name })
        return updated
      })).pipe(Effect.orDie)
      if (rows.length === 0) return yield* new WorkflowNotFound({ workflow_id: id, detail: "not found" })
      return toWorkflow(rows[0])
    })

  const remove = (id: string) =>
    Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      const rows = yield* sql.withTransaction(Effect.gen(function*() {
        const deleted = yield* sql<{ key: string; name: string }>`
          DELETE FROM workflows.workflows WHERE organization_id = ${principal.organizationId} AND id = ${id} RETURNING key, name
        `
        if (deleted.length > 0) yield* audit.record("workflows.workflow.delete", { type: "workflow", id }, { key: deleted[0].key, name: deleted[0].name })
        return deleted
      })).pipe(Effect.orDie)
      if (rows.length === 0) return yield* new WorkflowNotFound({ workflow_id: id, detail: "not found" })
    })

  const run = (id: string, request: { readonly variables?: Readonly<Record<string, unknown>> | undefined; readonly api_key?: string | undefined; readonly base_url?: string | undefined }) =>
    Effect.gen(function*() {
      const started: Run = yield* start(id, request.variables ?? {}, { apiKey: request.api_key, baseUrl: request.base_url })
      const ended = yield* runs.awaitEnd(started.id).pipe(Effect.orDie)
      if (ended.status !== "succeeded") {
        const error = ended.error
        // PromptOps: `step N (name): cause`, N counting the workflow's steps from 1 (the hidden first step is 0).
        const message = error === null
          ? `the run ended ${ended.status}`
          : error.stepIndex === null || error.step === null
          ? error.message
          : `step ${error.stepIndex} (${error.step}): ${error.message}`
        return yield* new WorkflowRunFailed({ run_id: started.id, step: error?.step ?? null, detail: ended.status === "cancelled" ? "the run was cancelled" : message })
      }
      const detail = yield* runs.get(started.id).pipe(Effect.orDie)
      const steps = [...detail.checkpoints]
        .filter((c) => c.stepIndex > 0)
        .sort((a, b) => a.stepIndex - b.stepIndex)
        .map((c) => ({ name: c.name, type: c.type, output: textOf(c.output) }))
      return { output: textOf(ended.output), steps, run_id: started.id } satisfies RunWorkflowResponse
    })

  return Workflows.of({
    list,
    create,
    get: (id) => Effect.map(require(id), toWorkflow),
    update,
    remove,
    runSteps,
    start,
    run
  })
})

export const layer = Layer.effect(Workflows, make)
