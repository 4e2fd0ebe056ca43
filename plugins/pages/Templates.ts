/**
 * Page templates: the built-in set (in code, the same on every server) and the templates an
 * organization adds (`pages.templates`). Publishing from one checks the variables against the
 * template's declarations, then substitutes them into the page's strings only (`{{key}}`, the
 * platform's `Template.render`: text replacement, never code), and publishes with `Pages`.
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { CurrentPrincipal, Template } from "trellis/contract"
import { AuditLog, Row } from "trellis/plugin"
import type { CreateTemplate, TemplateSummary, TemplateVariable } from "./CatalogApi.ts"
import { TemplateVariable as TemplateVariableSchema } from "./CatalogApi.ts"
import * as Blocks from "./Blocks.ts"
import { TemplateConflict, TemplateNotFound } from "./CatalogErrors.ts"
import { InvalidPage } from "./Errors.ts"
import { PagesCore } from "./Pages.ts"
import { PublishBody } from "./PagesApi.ts"
import type { Published } from "./PagesService.ts"


export interface PageTemplate {
  readonly name: string
  readonly description: string
  readonly variables: ReadonlyArray<TemplateVariable>
  readonly page: PublishBody
}

const variable = (key: string, label: string, type: TemplateVariable["type"], required: boolean): TemplateVariable => ({
  key,
  label,
  required,
  type
})

const approveReject = (approve: string, reject: string): PublishBody["actions"] => [
  { action_id: "approve", label: approve, style: "primary", decision: "approve" },
  { action_id: "reject", label: reject, style: "danger", decision: "reject", requires_comment: true }
]

/** The server's built-in templates. */
export const builtInTemplates: ReadonlyArray<PageTemplate> = [
  {
    name: "refund_approval",
    description: "Customer refund approval: the customer, order, amount and reason, with approve and reject buttons.",
    variables: [
      variable("customer", "Customer name", "string", true),
      variable("order_id", "Order id", "string", false),
      variable("amount", "Refund amount", "number", true),
      variable("reason", "Reason for the refund", "string", false)
    ],
    page: {
      page_type: "approval",
      title: "Refund approval: {{customer}}",
      summary: "Refund of {{amount}} requested for {{customer}}",
      priority: "high",
      tags: ["refund"],
      blocks: [
        {
          type: "key_value",
          data: {
            title: "Refund",
            pairs: [
              { key: "Customer", value: "{{customer}}" },
              { key: "Order", value: "{{order_id}}" },
              { key: "Amount", value: "{{amount}}" }
            ]
          }
        },
        { type: "text", data: { title: "Reason", content: "{{reason}}" } }
      ],
      actions: approveReject("Approve refund", "Reject")
    }
  },
  {
    name: "deploy_approval",
    description: "Deployment approval: service, version and environment, the change summary, approve or reject.",
    variables: [
      variable("service", "Service", "string", true),
      variable("version", "Version", "string", true),
      variable("environment", "Environment", "string", true),
      variable("changes", "Summary of the changes (markdown)", "string", false),
      variable("requested_by", "Requested by", "string", false)
    ],
    page: {
      page_type: "approval",
      title: "Deploy {{service}} {{version}} to {{environment}}",
      summary: "Deployment of {{service}} {{version}} to {{environment}} awaits approval",
      priority: "high",
      tags: ["deploy"],
      blocks: [
        {
          type: "key_value",
          data: {
            title: "Deployment",
            pairs: [
              { key: "Service", value: "{{service}}" },
              { key: "Version", value: "{{version}}" },
              { key: "Environment", value: "{{environment}}" },
              { key: "Requested by", value: "{{requested_by}}" }
            ]
          }
        },
        { type: "text", data: { title: "Changes", content: "{{changes}}" } }
      ],
      actions: approveReject("Approve deploy", "Reject")
    }
  },
  {
    name: "incident_report",
    description: "Incident report: severity, status, impact and timeline, acknowledged by the reader.",
    variables: [
      variable("title", "Incident title", "string", true),
      variable("severity", "Severity (SEV1...)", "string", true),
      variable("status", "Current status", "string", false),
      variable("impact", "Customer impact", "string", false),
      variable("timeline", "Timeline (markdown)", "string", false)
    ],
    page: {
      page_type: "report",
      title: "Incident: {{title}}",
      summary: "{{severity}} incident: {{impact}}",
      priority: "urgent",
      tags: ["incident"],
      blocks: [
        { type: "callout", data: { style: "error", title: "{{severity}}", content: "{{impact}}" } },
        {
          type: "key_value",
          data: { title: "Incident", pairs: [{ key: "Severity", value: "{{severity}}" }, { key: "Status", value: "{{status}}" }] }
        },
        { type: "text", data: { title: "Timeline", content: "{{timeline}}" } }
      ],
      actions: [{ action_id: "acknowledge", label: "Acknowledge", style: "primary", decision: "approve" }]
    }
  },
  {
    name: "data_review",
    description: "Data review: a dataset and its findings for a person to accept or send back.",
    variables: [
      variable("dataset", "Dataset", "string", true),
      variable("row_count", "Number of rows", "number", false),
      variable("findings", "Findings (markdown)", "string", true),
      variable("reviewer_note", "Note for the reviewer", "string", false)
    ],
    page: {
      page_type: "review",
      title: "Data review: {{dataset}}",
      summary: "{{reviewer_note}}",
      priority: "normal",
      tags: ["data"],
      blocks: [
        { type: "metric", data: { items: [{ label: "Rows", value: "{{row_count}}" }] } },
        { type: "text", data: { title: "Findings", content: "{{findings}}" } }
      ],
      actions: approveReject("Accept", "Send back")
    }
  }
]

const builtInNames = new Set(builtInTemplates.map((t) => t.name))

/** Every string of `value` with the variables substituted; other values as they are. */
const substitute = (value: unknown, variables: Readonly<Record<string, string>>): unknown => {
  if (typeof value === "string") return Template.render(value, variables)
  if (Array.isArray(value)) return value.map((item) => substitute(item, variables))
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substitute(item, variables)]))
  }
  return value
}

/** Every `{{name}}` used in the strings of `value`. */
const placeholdersOf = (value: unknown, into: Set<string>): Set<string> => {
  if (typeof value === "string") for (const name of Template.variablesOf(value)) into.add(name)
  else if (Array.isArray(value)) for (const item of value) placeholdersOf(item, into)
  else if (typeof value === "object" && value !== null) for (const item of Object.values(value)) placeholdersOf(item, into)
  return into
}

const invalid = (field: string, constraint: string) => new InvalidPage({ field, constraint, detail: `${field}: ${constraint}` })

const typeOf = (value: unknown): string => value === null ? "null" : Array.isArray(value) ? "array" : typeof value

/**
 * The variables' text values, checked against the declarations: a required one missing, a
 * value of the wrong type or an undeclared variable is a 400 naming `variables.<key>`. An
 * optional variable left out renders as an empty string.
 */
export const checkVariables = (
  template: PageTemplate,
  given: Readonly<Record<string, unknown>>
): Effect.Effect<Record<string, string>, InvalidPage> =>
  Effect.gen(function*() {
    const declared = new Map(template.variables.map((v) => [v.key, v]))
    for (const key of Object.keys(given)) {
      if (!declared.has(key)) {
        return yield* invalid(`variables.${key}`, `not a variable of template '${template.name}' (its variables: ${[...declared.keys()].join(", ")})`)
      }
    }
    const values: Record<string, string> = {}
    for (const v of template.variables) {
      const value = Object.prototype.hasOwnProperty.call(given, v.key) ? given[v.key] : undefined
      if (value === undefined || value === null) {
        if (v.required) return yield* invalid(`variables.${v.key}`, "required")
        values[v.key] = ""
        continue
      }
      const ok = v.type === "number"
        ? typeof value === "number" && Number.isFinite(value)
        : typeof value === v.type
      if (!ok) return yield* invalid(`variables.${v.key}`, `must be a ${v.type} (got ${typeOf(value)})`)
      if (typeof value === "string" && value.length > 10_000) return yield* invalid(`variables.${v.key}`, "at most 10000 characters")
      values[v.key] = String(value)
    }
    return values
  })

/**
 * What a publish checks before it writes (`Blocks.check`, `Blocks.checkParts`), run on a new
 * template's page, so that a broken template is refused when it is added rather than at every
 * publish. Placeholders fill in text only, so the structure checked here (block types and ids,
 * actions, approval chain, notify channels) is what every publish from the template gets. The
 * field is named inside `page`.
 */
export const checkPage = (page: PublishBody): Effect.Effect<void, InvalidPage> => {
  const checked = Blocks.check(page.blocks ?? [])
  const problem = checked._tag === "Invalid" ? checked : Blocks.checkParts(page)
  return problem === undefined ? Effect.void : Effect.fail(invalid(`page.${problem.field}`, problem.constraint))
}

/** The page a template renders to with checked variables (decoded again: a template's page stays a `PageInput`). */
export const render = (template: PageTemplate, values: Readonly<Record<string, string>>): PublishBody =>
  Schema.decodeUnknownSync(PublishBody)(substitute(Schema.encodeSync(PublishBody)(template.page), values))

const StoredTemplate = Schema.Struct({
  name: Schema.String,
  description: Schema.String,
  variables: Row.Json(Schema.Array(TemplateVariableSchema)),
  page: Row.Json(PublishBody)
})

const summaryOf = (template: PageTemplate, builtIn: boolean): TemplateSummary => ({
  name: template.name,
  description: template.description,
  variables: template.variables,
  builtIn
})

export class Templates extends Context.Service<Templates, {
  readonly list: Effect.Effect<ReadonlyArray<TemplateSummary>, never, CurrentPrincipal>
  readonly create: (input: CreateTemplate) => Effect.Effect<TemplateSummary, TemplateConflict | InvalidPage, CurrentPrincipal>
  readonly remove: (name: string) => Effect.Effect<void, TemplateNotFound | TemplateConflict, CurrentPrincipal>
  readonly publish: (
    name: string,
    variables: Readonly<Record<string, unknown>>
  ) => Effect.Effect<Published, TemplateNotFound | InvalidPage, CurrentPrincipal>
}>()("pages/Templates") {}

export const layer = Layer.effect(
  Templates,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const audit = yield* AuditLog
    const core = yield* PagesCore

    const own = (organizationId: string) =>
      sql`SELECT name, description, variables, page FROM pages.templates
          WHERE organization_id = ${organizationId} ORDER BY name`.pipe(
        Effect.flatMap(Row.decode(StoredTemplate)),
        Effect.orDie
      )

    const find = (organizationId: string, name: string): Effect.Effect<Option.Option<PageTemplate>> => {
      const builtIn = builtInTemplates.find((t) => t.name === name)
      if (builtIn !== undefined) return Effect.succeed(Option.some(builtIn))
      return sql`SELECT name, description, variables, page FROM pages.templates
          WHERE organization_id = ${organizationId} AND name = ${name}`.pipe(
        Effect.flatMap(Row.decode(StoredTemplate)),
        Effect.map((rows) => Option.fromNullishOr(rows[0])),
        Effect.orDie
      )
    }

    const available = (organizationId: string) =>
      Effect.map(own(organizationId), (rows) => [...builtInTemplates.map((t) => t.name), ...rows.map((r) => r.name)])

    const list = Effect.gen(function*() {
      const principal = yield* CurrentPrincipal
      const rows = yield* own(principal.organizationId)
      return [...builtInTemplates.map((t) => summaryOf(t, true)), ...rows.map((t) => summaryOf(t, false))]
    })

    const create = (input: CreateTemplate) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        if (builtInNames.has(input.name)) {
          return yield* new TemplateConflict({ name: input.name, builtIn: true, detail: `'${input.name}' is a built-in template` })
        }
        const keys = new Set<string>()
        for (const [index, v] of input.variables.entries()) {
          if (keys.has(v.key)) return yield* invalid(`variables[${index}].key`, `'${v.key}' is declared twice`)
          keys.add(v.key)
        }
        for (const name of placeholdersOf(Schema.encodeSync(PublishBody)(input.page), new Set())) {
          if (!keys.has(name)) return yield* invalid("page", `uses {{${name}}}, which is not a declared variable`)
        }
        yield* checkPage(input.page)
        const template: PageTemplate = {
          name: input.name,
          description: input.description ?? "",
          variables: input.variables,
          page: input.page
        }
        const inserted = yield* sql.withTransaction(Effect.gen(function*() {
          const rows = yield* sql`INSERT INTO pages.templates (organization_id, name, description, variables, page, created_by)
            VALUES (${principal.organizationId}, ${template.name}, ${template.description},
              ${Row.jsonb(template.variables)}::jsonb, ${Row.jsonb(Schema.encodeSync(PublishBody)(template.page))}::jsonb, ${principal.id})
            ON CONFLICT (organization_id, name) DO NOTHING
            RETURNING name`
          if (rows.length === 0) return false
          yield* audit.record("pages.template.create", { type: "page_template", id: template.name }, { variables: [...keys] })
          return true
        })).pipe(Effect.orDie)
        if (!inserted) return yield* new TemplateConflict({ name: input.name, builtIn: false, detail: `a template named '${input.name}' exists` })
        return summaryOf(template, false)
      })

    const remove = (name: string) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        if (builtInNames.has(name)) {
          return yield* new TemplateConflict({ name, builtIn: true, detail: `'${name}' is a built-in template and cannot be deleted` })
        }
        const deleted = yield* sql.withTransaction(Effect.gen(function*() {
          const rows = yield* sql`DELETE FROM pages.templates WHERE organization_id = ${principal.organizationId} AND name = ${name} RETURNING name`
          if (rows.length === 0) return false
          yield* audit.record("pages.template.delete", { type: "page_template", id: name })
          return true
        })).pipe(Effect.orDie)
        if (!deleted) {
          return yield* new TemplateNotFound({ name, available: yield* available(principal.organizationId), detail: `no template named '${name}'` })
        }
      })

    const publish = (name: string, variables: Readonly<Record<string, unknown>>) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const template = yield* find(principal.organizationId, name)
        if (Option.isNone(template)) {
          return yield* new TemplateNotFound({ name, available: yield* available(principal.organizationId), detail: `no template named '${name}'` })
        }
        const values = yield* checkVariables(template.value, variables)
        const page = yield* Effect.try({
          try: () => render(template.value, values),
          catch: () => invalid("variables", "the rendered page is not a valid page")
        })
        return yield* core.publish(page, { status: "active" })
      })

    return Templates.of({ list, create, remove, publish })
  })
)
