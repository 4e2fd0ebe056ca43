/**
 * Handlers of `POST /v1/publish/a2ui` and `POST /v1/publish/ag-ui`: read the body's content with
 * the pure translations, refuse what cannot be read (a 400 naming the field), then publish
 * through `Pages.publish` with the translation's warnings, so a protocol page is in every way a
 * page published with `POST /v1/publish` (events, audit, listeners, expiry).
 */
import { Effect } from "effect"
import { HttpApi, HttpApiBuilder } from "effect/http-api"
import * as A2ui from "./A2ui.ts"
import * as AgUi from "./AgUi.ts"
import type { Action, PageInput } from "./Domain.ts"
import { InvalidPage } from "./Errors.ts"
import { ProtocolsGroup } from "./ProtocolsApi.ts"
import type { A2uiEnvelope, AgUiPublish } from "./ProtocolsApi.ts"
import { publishedAnswer } from "./Pages.ts"
import { Pages } from "./PagesService.ts"

/** The group's own API value, for its handlers. */
export class ProtocolsApi extends HttpApi.make("pageProtocols").add(ProtocolsGroup) {}

const invalid = (field: string, constraint: string) =>
  new InvalidPage({ field, constraint, detail: `${field}: ${constraint}.` })

/** The page fields of a protocol body, as `PageInput` without its blocks and title. */
const pageFieldsOf = (body: A2uiEnvelope | AgUiPublish | undefined, keepVersion: boolean) => {
  if (body === undefined) return {}
  const { title: _title, ...rest } = body
  const fields: Record<string, unknown> = {}
  if (keepVersion && rest.version !== undefined) fields.version = rest.version
  for (
    const key of [
      "page_type",
      "summary",
      "priority",
      "tags",
      "access",
      "notify",
      "on_action",
      "approval_chain",
      "expires_at"
    ] as const
  ) if (rest[key] !== undefined) fields[key] = rest[key]
  return fields as Omit<PageInput, "title" | "blocks" | "actions" | "metadata">
}

/** The body's actions first, then the translation's (a translated id the body already has is a warning). */
const mergeActions = (
  given: ReadonlyArray<Action> | undefined,
  translated: ReadonlyArray<Action>,
  warnings: Array<string>
): ReadonlyArray<Action> | undefined => {
  const out = [...(given ?? [])]
  const ids = new Set(out.map((action) => action.action_id))
  for (const action of translated) {
    if (ids.has(action.action_id)) warnings.push(`actions: the Button action "${action.action_id}" is also in the body's actions (the body's is kept)`)
    else {
      ids.add(action.action_id)
      out.push(action)
    }
  }
  return out.length === 0 ? undefined : out
}

/** The translation's metadata under the body's (the body's keys win). */
const mergeMetadata = (
  given: Readonly<Record<string, unknown>> | undefined,
  translated: Readonly<Record<string, string>>
): Record<string, unknown> | undefined => {
  const merged = { ...translated, ...(given ?? {}) }
  return Object.keys(merged).length === 0 ? undefined : merged
}

/**
 * Publishes a translation. The blocks were made here, not sent: a refusal of the store's block
 * checks (too many blocks, a block too large) names the list they came from (`source`).
 */
const publishFrom = (pages: Pages["Service"], input: PageInput, warnings: ReadonlyArray<string>, source: string) =>
  pages.publish(input, { status: "active", warnings }).pipe(
    Effect.catchTag("InvalidPage", (error) =>
      Effect.fail(
        error.field.startsWith("blocks")
          ? invalid(source, `translates to blocks the page cannot hold (${error.field}: ${error.constraint})`)
          : error
      ))
  )

export const ProtocolsHttpLive = HttpApiBuilder.group(
  ProtocolsApi,
  "pageProtocols",
  Effect.fn(function*(handlers) {
    const pages = yield* Pages
    return handlers
      .handle("publishA2ui", ({ payload }) =>
        Effect.gen(function*() {
          const found = A2ui.componentsOf(payload)
          if (found._tag === "Missing") return yield* invalid(found.field, found.constraint)
          if (found.components.length > A2ui.maxComponents) {
            return yield* invalid(found.field === "" ? "body" : found.field, `at most ${A2ui.maxComponents} components`)
          }
          const translation = A2ui.translate(payload)
          const body = Array.isArray(payload) ? undefined : payload as A2uiEnvelope
          const warnings = [...translation.warnings]
          const actions = mergeActions(body?.actions, translation.actions, warnings)
          const metadata = mergeMetadata(body?.metadata, translation.surfaceId === undefined ? {} : { surface_id: translation.surfaceId })
          const input: PageInput = {
            // The envelope's `version` is A2UI's ("v0.9"), not the page's.
            ...pageFieldsOf(body, false),
            title: translation.title,
            blocks: translation.blocks,
            ...(actions === undefined ? {} : { actions }),
            ...(metadata === undefined ? {} : { metadata })
          }
          const published = yield* publishFrom(pages, input, warnings, found.field === "" ? "body" : found.field)
          return yield* publishedAnswer(published)
        }))
      .handle("publishAgUi", ({ payload }) =>
        Effect.gen(function*() {
          const checked = AgUi.check(payload.events)
          if ("problem" in checked) return yield* invalid(checked.problem.field, checked.problem.constraint)
          const translation = AgUi.translate(checked.events)
          const warnings = [...translation.warnings]
          const metadata = mergeMetadata(payload.metadata, translation.metadata)
          const input: PageInput = {
            ...pageFieldsOf(payload, true),
            title: payload.title !== undefined && payload.title.trim() !== "" ? payload.title : "Untitled",
            blocks: translation.blocks,
            ...(payload.actions === undefined ? {} : { actions: payload.actions }),
            ...(metadata === undefined ? {} : { metadata })
          }
          const published = yield* publishFrom(pages, input, warnings, "events")
          return yield* publishedAnswer(published)
        }))
  })
)
