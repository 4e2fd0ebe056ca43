/**
 * The prompts service: prompts, their immutable versions, publishing, rollback, rollouts and
 * version diffs, stored in the plugin's schema and scoped by the caller's organization in
 * every statement.
 *
 * Every write commits together with its audit entry and its change events (one on the
 * organization's change stream, which `/ws` replays and follows, and one on the cache stream,
 * which every server process follows to drop its SDK cache entries): a change is never
 * visible without its event, nor the event without the change.
 *
 * The tag and its interface are in `PromptsService.ts` (what other plugins import); this module
 * is the implementation (`layer`).
 */
import { Effect, Layer, TextDiff } from "effect"
import { lineCount, lineDiff, maxDiffLines } from "./Diff.ts"
import { isSqlError } from "effect/sql/SqlError"
import { SqlClient } from "effect/sql"
import { AuditLog, CurrentPrincipal, EventLog, InvalidEvent, Row, storedWorkspaceId } from "trellis/plugin"
import { bucketCount, newSalt, toBasisPoints } from "./Assignment.ts"
import { Prompts } from "./PromptsService.ts"
import type { Diff, ListFilter, ServedPrompt, ServedVersion } from "./PromptsService.ts"
import { ServedCache } from "./ServedCache.ts"
import { Cache, Changes } from "./Streams.ts"
import type { ChangeData } from "./Streams.ts"
import type {
  CreatePrompt,
  Prompt,
  PromptSettings,
  PromptSettingsInput,
  PromptVersion,
  Rollout,
  RolloutInput,
  ServingMode,
  UpdatePrompt
} from "./Domain.ts"
import {
  DiffTooLarge,
  InvalidRollout,
  PromptKeyTaken,
  PromptNotFound,
  VersionNotFound,
  VersionOfAnotherPrompt
} from "./Errors.ts"

/** Most variants a rollout may have. */
export const maxVariants = 10

export { Prompts } from "./PromptsService.ts"
export type { Diff, ListFilter, ServedPrompt, ServedVersion } from "./PromptsService.ts"

/** Implements `Prompts` (see `PromptsService.ts`). */
export const layer = Layer.effect(
  Prompts,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const events = yield* EventLog
    const audit = yield* AuditLog
    const cache = yield* ServedCache

    const promptColumns = sql.literal(`
      p.id, p.workspace_id, p.key, p.env, p.name, p.description, p.content, p.model, p.category,
      p.tags, p.latest_version_number, p.version_label, p.created_by, p.updated_by, p.created_at, p.updated_at,
      v.number AS live_number, v.label AS live_label, v.content AS live_content, v.model AS live_model`)
    const promptFrom = sql.literal(
      "prompts.prompts p LEFT JOIN prompts.versions v ON v.id = p.live_version_id"
    )

    const selectPrompt = (organizationId: string, id: string, lock: boolean) =>
      sql<PromptRow>`SELECT ${promptColumns} FROM ${promptFrom}
        WHERE p.organization_id = ${organizationId} AND p.id = ${id}
        ${lock ? sql.literal("FOR UPDATE OF p") : sql.literal("")}`.pipe(
        Effect.map((rows) => rows[0])
      )

    const findPrompt = (organizationId: string, id: string, lock = false) =>
      Effect.flatMap(selectPrompt(organizationId, id, lock), (row) =>
        row === undefined
          ? Effect.fail(new PromptNotFound({ promptId: id, detail: `No prompt with id ${id}.` }))
          : Effect.succeed(row))

    const versionColumns = sql.literal(
      "id, prompt_id, number, label, key, env, name, model, content, note, created_by, created_at"
    )

    /** Records the change for `/ws` and for every process's SDK cache, in the caller's transaction. */
    const emit = (
      organizationId: string,
      change: ChangeData,
      coordinates: ReadonlyArray<{ readonly key: string; readonly env: string }>
    ) =>
      Effect.gen(function*() {
        yield* Changes.at(organizationId).append(events, change.type, change)
        yield* Cache.at().append(events, "invalidate", { organizationId, coordinates })
        // This process drops its entries as soon as the transaction commits, before the
        // response: the caller reads its own write. Other processes follow the stream.
        yield* sql.afterCommit(cache.invalidate(organizationId, coordinates))
      })

    const changeOf = (type: string, row: PromptRow, served: boolean): ChangeData => ({
      type,
      id: row.id,
      key: row.key,
      env: row.env,
      version: workingLabel(row),
      version_number: row.live_number,
      workspace_id: row.workspace_id,
      served
    })

    /** The workspace's serving mode (`live` unless set otherwise). */
    const servingOf = (organizationId: string, workspaceId: string) =>
      Effect.map(
        sql<{ readonly serving: string }>`SELECT serving FROM prompts.workspace_settings
          WHERE organization_id = ${organizationId} AND workspace_id = ${workspaceId}`,
        (rows): ServingMode => rows[0]?.serving === "published" ? "published" : "live"
      )

    const uniqueKey = (key: string, env: string, workspaceId: string) =>
      <A, E, R>(self: Effect.Effect<A, E, R>) =>
        self.pipe(Effect.catch((error): Effect.Effect<never, E | PromptKeyTaken> =>
          isSqlError(error) && error.reason._tag === "UniqueViolation"
            ? Effect.fail(new PromptKeyTaken({
              key,
              env,
              workspace_id: workspaceId,
              detail: `A prompt with key ${key} already exists in environment ${env}${workspaceId === "" ? "" : ` of workspace ${workspaceId}`}.`
            }))
            : Effect.fail(error)
        ))

    /**
     * A version of `promptId` by label (the newest version carrying it: labels may repeat),
     * else by number (`2`, `"2"`, `"v2"`), else by id.
     */
    const resolveVersion = (organizationId: string, promptId: string, ref: string | number) =>
      Effect.gen(function*() {
        if (typeof ref === "string" && ref.trim() !== "") {
          const byLabel = yield* sql<VersionRow>`SELECT ${versionColumns} FROM prompts.versions
            WHERE organization_id = ${organizationId} AND prompt_id = ${promptId}
              AND COALESCE(label, 'v' || number) = ${ref.trim()}
            ORDER BY number DESC LIMIT 1`
          if (byLabel[0] !== undefined) return byLabel[0]
        }
        const parsed = parseVersionRef(ref)
        if (parsed._tag === "Number") {
          const rows = yield* sql<VersionRow>`SELECT ${versionColumns} FROM prompts.versions
            WHERE organization_id = ${organizationId} AND prompt_id = ${promptId} AND number = ${parsed.number}`
          if (rows[0] !== undefined) return rows[0]
        } else {
          const rows = yield* sql<VersionRow>`SELECT ${versionColumns} FROM prompts.versions
            WHERE organization_id = ${organizationId} AND id = ${parsed.id}`
          const row = rows[0]
          if (row !== undefined && row.prompt_id !== promptId) {
            return yield* new VersionOfAnotherPrompt({
              promptId,
              version: String(ref),
              detail: `Version ${String(ref)} belongs to another prompt, not to ${promptId}.`
            })
          }
          if (row !== undefined) return row
        }
        return yield* new VersionNotFound({
          promptId,
          version: String(ref),
          detail: `Prompt ${promptId} has no published version ${String(ref)}.`
        })
      })

    const list = Effect.fn("Prompts.list")(function*(filter: ListFilter) {
      const principal = yield* CurrentPrincipal
      const clauses = [sql`p.organization_id = ${principal.organizationId}`]
      if (nonEmpty(filter.env)) clauses.push(sql`p.env = ${filter.env}`)
      if (nonEmpty(filter.category)) clauses.push(sql`p.category = ${filter.category}`)
      if (nonEmpty(filter.workspace)) clauses.push(sql`p.workspace_id = ${storedWorkspaceId(principal.organizationId, filter.workspace)}`)
      if (nonEmpty(filter.tag)) clauses.push(sql`p.tags @> ${JSON.stringify([filter.tag.trim()])}::jsonb`)
      const q = filter.q?.trim().toLowerCase()
      if (q !== undefined && q !== "") {
        clauses.push(sql`(position(${q} in lower(p.key)) > 0 OR position(${q} in lower(p.name)) > 0
          OR position(${q} in lower(p.content)) > 0 OR position(${q} in lower(p.description)) > 0)`)
      }
      const rows = yield* sql<PromptRow>`SELECT ${promptColumns} FROM ${promptFrom}
        WHERE ${sql.and(clauses)} ORDER BY p.updated_at DESC, p.id LIMIT 1000`
      return rows.map(toPrompt)
    }, Effect.orDie)

    const get = Effect.fn("Prompts.get")(function*(id: string) {
      const principal = yield* CurrentPrincipal
      return toPrompt(yield* findPrompt(principal.organizationId, id))
    }, catchSql)

    const create = Effect.fn("Prompts.create")(function*(input: CreatePrompt) {
      const principal = yield* CurrentPrincipal
      const org = principal.organizationId
      const id = crypto.randomUUID()
      const env = input.env ?? "dev"
      const workspaceId = storedWorkspaceId(org, input.workspace_id ?? "")
      return yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`INSERT INTO prompts.prompts
          (id, organization_id, workspace_id, key, env, name, description, content, model, category, tags, version_label, created_by, updated_by)
          VALUES (${id}, ${org}, ${workspaceId}, ${input.key}, ${env}, ${input.name ?? ""}, ${input.description ?? ""},
            ${input.content ?? ""}, ${input.model ?? ""}, ${input.category ?? ""},
            ${JSON.stringify(normalizeTags(input.tags))}::jsonb, ${givenLabel(input.version)}, ${principal.id}, ${principal.id})`
        const row = yield* Effect.orDie(findPrompt(org, id))
        yield* audit.record("prompts.prompt.create", { type: "prompt", id }, { key: row.key, name: row.name, env: row.env, version: workingLabel(row) })
        // In a `live` workspace SDKs are served the new prompt at once.
        const live = (yield* servingOf(org, workspaceId)) === "live"
        yield* emit(org, changeOf("prompt.created", row, live), [{ key: row.key, env: row.env }])
        return toPrompt(row)
      })).pipe(uniqueKey(input.key, env, workspaceId), catchSql)
    })

    const update = Effect.fn("Prompts.update")(function*(id: string, input: UpdatePrompt) {
      const principal = yield* CurrentPrincipal
      const org = principal.organizationId
      return yield* sql.withTransaction(Effect.gen(function*() {
        const before = yield* findPrompt(org, id, true)
        const next = {
          key: input.key ?? before.key,
          env: input.env ?? before.env,
          workspace_id: input.workspace_id === undefined ? before.workspace_id : storedWorkspaceId(org, input.workspace_id),
          name: input.name ?? before.name,
          description: input.description ?? before.description,
          content: input.content ?? before.content,
          model: input.model ?? before.model,
          category: input.category ?? before.category,
          tags: input.tags === undefined ? before.tags : normalizeTags(input.tags),
          version_label: givenLabel(input.version) ?? before.version_label
        }
        yield* sql`UPDATE prompts.prompts SET
            key = ${next.key}, env = ${next.env}, workspace_id = ${next.workspace_id}, name = ${next.name},
            description = ${next.description}, content = ${next.content}, model = ${next.model},
            category = ${next.category}, tags = ${JSON.stringify(next.tags)}::jsonb, version_label = ${next.version_label},
            updated_by = ${principal.id}, updated_at = now()
          WHERE organization_id = ${org} AND id = ${id}`.pipe(uniqueKey(next.key, next.env, next.workspace_id))
        const row = yield* findPrompt(org, id)
        const moved = row.key !== before.key || row.env !== before.env || row.workspace_id !== before.workspace_id
        yield* audit.record("prompts.prompt.update", { type: "prompt", id }, {
          key: row.key,
          name: row.name,
          env: row.env,
          fields: Object.keys(input),
          version: workingLabel(row)
        })
        // A `live` workspace serves the working copy: every save changes what SDKs get.
        const live = (yield* servingOf(org, row.workspace_id)) === "live" ||
          (moved && (yield* servingOf(org, before.workspace_id)) === "live")
        yield* emit(
          org,
          changeOf("prompt.updated", row, live || (moved && row.live_number !== null)),
          moved ? [{ key: before.key, env: before.env }, { key: row.key, env: row.env }] : [{ key: row.key, env: row.env }]
        )
        return toPrompt(row)
      })).pipe(catchSql)
    })

    const remove = Effect.fn("Prompts.remove")(function*(id: string) {
      const principal = yield* CurrentPrincipal
      const org = principal.organizationId
      yield* sql.withTransaction(Effect.gen(function*() {
        const row = yield* findPrompt(org, id, true)
        yield* sql`DELETE FROM prompts.prompts WHERE organization_id = ${org} AND id = ${id}`
        yield* audit.record("prompts.prompt.delete", { type: "prompt", id }, { key: row.key, name: row.name, env: row.env })
        yield* emit(org, { ...changeOf("prompt.deleted", row, true), version: null, version_number: null }, [{
          key: row.key,
          env: row.env
        }])
      })).pipe(catchSql)
    })

    const versions = Effect.fn("Prompts.versions")(function*(id: string) {
      const principal = yield* CurrentPrincipal
      const org = principal.organizationId
      yield* findPrompt(org, id)
      const rows = yield* sql<VersionRow>`SELECT ${versionColumns} FROM prompts.versions
        WHERE organization_id = ${org} AND prompt_id = ${id} ORDER BY number DESC`
      return rows.map(toVersion)
    }, catchSql)

    const version = Effect.fn("Prompts.version")(function*(id: string, ref: string | number) {
      const principal = yield* CurrentPrincipal
      yield* findPrompt(principal.organizationId, id)
      return toVersion(yield* resolveVersion(principal.organizationId, id, ref))
    }, catchSql)

    const diff = Effect.fn("Prompts.diff")(function*(id: string, from: string | undefined, to: string | undefined) {
      const principal = yield* CurrentPrincipal
      const org = principal.organizationId
      const prompt = yield* findPrompt(org, id)
      const side = (ref: string | undefined, fallback: "live" | "current") =>
        Effect.gen(function*() {
          const wanted = ref === undefined || ref.trim() === "" ? fallback : ref.trim()
          if (wanted === "current" || wanted === "draft" || (wanted === "live" && prompt.live_number === null)) {
            return { name: "current", content: prompt.content }
          }
          const row = yield* resolveVersion(org, id, wanted === "live" ? prompt.live_number ?? 0 : wanted)
          return { name: versionLabelOf(row), content: row.content }
        })
      const before = yield* side(from, "live")
      const after = yield* side(to, "current")
      // Bounded work (Diff.ts): one request must not hold the event loop.
      const edits = lineDiff(before.content, after.content)
      if (edits === undefined) {
        const lines = lineCount(before.content) + lineCount(after.content)
        return yield* new DiffTooLarge({
          lines,
          max_lines: maxDiffLines,
          detail: `${before.name} and ${after.name} have ${lines} lines together; at most ${maxDiffLines} are diffed.`
        })
      }
      let added = 0
      let removed = 0
      const changes = edits.map((edit) => {
        if (edit._tag === "Insert") added += edit.items.length
        if (edit._tag === "Delete") removed += edit.items.length
        const op = edit._tag === "Equal" ? "equal" as const : edit._tag === "Insert" ? "insert" as const : "delete" as const
        return { op, lines: edit.items }
      })
      return {
        prompt_id: id,
        from: before.name,
        to: after.name,
        unified: TextDiff.unified(edits, { fromFile: before.name, toFile: after.name }),
        changes,
        added,
        removed
      } satisfies Diff
    }, catchSql)

    const publish = Effect.fn("Prompts.publish")(function*(id: string, note: string | undefined) {
      const principal = yield* CurrentPrincipal
      const org = principal.organizationId
      return yield* sql.withTransaction(Effect.gen(function*() {
        const prompt = yield* findPrompt(org, id, true)
        const number = prompt.latest_version_number + 1
        // The working copy's label as the client set it (PromptOps), else `v<number>`.
        const versionLabel = prompt.version_label ?? label(number)
        const versionId = crypto.randomUUID()
        const rows = yield* sql<VersionRow>`INSERT INTO prompts.versions
            (id, organization_id, prompt_id, number, label, key, env, name, model, content, note, created_by)
          VALUES (${versionId}, ${org}, ${id}, ${number}, ${versionLabel}, ${prompt.key}, ${prompt.env}, ${prompt.name}, ${prompt.model},
            ${prompt.content}, ${note ?? ""}, ${principal.id})
          RETURNING ${versionColumns}`
        yield* sql`UPDATE prompts.prompts SET live_version_id = ${versionId}, latest_version_number = ${number},
            updated_by = ${principal.id}, updated_at = now()
          WHERE organization_id = ${org} AND id = ${id}`
        yield* audit.record("prompts.prompt.publish", { type: "prompt", id }, {
          key: prompt.key,
          env: prompt.env,
          version: versionLabel,
          versionNumber: number,
          versionId
        })
        yield* emit(org, {
          ...changeOf("prompt.published", prompt, true),
          version: versionLabel,
          version_number: number
        }, [{ key: prompt.key, env: prompt.env }])
        return toVersion(rows[0])
      })).pipe(catchSql)
    })

    const rollback = Effect.fn("Prompts.rollback")(function*(id: string, ref: string | number) {
      const principal = yield* CurrentPrincipal
      const org = principal.organizationId
      return yield* sql.withTransaction(Effect.gen(function*() {
        const prompt = yield* findPrompt(org, id, true)
        const target = yield* resolveVersion(org, id, ref)
        // As in PromptOps the working copy gets the version's content; in Trellis the version
        // also becomes the live one, so SDKs are served it at once.
        // A prompt with a client-set label takes the version's label too (PromptOps).
        yield* sql`UPDATE prompts.prompts SET live_version_id = ${target.id}, content = ${target.content},
            model = ${target.model}, version_label = ${prompt.version_label === null ? null : versionLabelOf(target)},
            updated_by = ${principal.id}, updated_at = now()
          WHERE organization_id = ${org} AND id = ${id}`
        const row = yield* findPrompt(org, id)
        yield* audit.record("prompts.prompt.rollback", { type: "prompt", id }, {
          key: prompt.key,
          env: prompt.env,
          from: liveLabel(prompt),
          to: versionLabelOf(target),
          toNumber: target.number
        })
        yield* emit(org, changeOf("prompt.rolled_back", row, true), [{ key: row.key, env: row.env }])
        return toPrompt(row)
      })).pipe(catchSql)
    })

    const rolloutColumns = sql.literal(
      "r.id, r.prompt_id, r.enabled, r.salt, r.variants, r.created_by, r.updated_by, r.created_at, r.updated_at"
    )

    const loadRollout = (org: string, prompt: PromptRow) =>
      Effect.gen(function*() {
        const rows = yield* sql<RolloutRow>`SELECT ${rolloutColumns} FROM prompts.rollouts r
          WHERE r.organization_id = ${org} AND r.prompt_id = ${prompt.id}`
        return rows[0] === undefined ? null : toRollout(rows[0], prompt)
      })

    const getRollout = Effect.fn("Prompts.getRollout")(function*(id: string) {
      const principal = yield* CurrentPrincipal
      const prompt = yield* findPrompt(principal.organizationId, id)
      return yield* loadRollout(principal.organizationId, prompt)
    }, catchSql)

    const setRollout = Effect.fn("Prompts.setRollout")(function*(id: string, input: RolloutInput) {
      const principal = yield* CurrentPrincipal
      const org = principal.organizationId
      return yield* sql.withTransaction(Effect.gen(function*() {
        const prompt = yield* findPrompt(org, id, true)
        const published = yield* sql<{ readonly id: string; readonly number: number; readonly label: string | null }>`
          SELECT id, number, label FROM prompts.versions WHERE organization_id = ${org} AND prompt_id = ${id}`
        const otherIds = (refs: ReadonlyArray<string>) =>
          refs.length === 0
            ? Effect.succeed(new Set<string>())
            : Effect.map(
              sql<{ readonly id: string }>`SELECT id FROM prompts.versions
                WHERE organization_id = ${org} AND prompt_id <> ${id} AND ${sql.in("id", refs)}`,
              (rows) => new Set(rows.map((r) => r.id))
            )
        const candidates = rolloutCandidates(input)
        const idRefs = candidates.flatMap((c) => {
          const parsed = parseVersionRef(c.ref)
          return parsed._tag === "Id" ? [parsed.id] : []
        })
        const plan = validateRollout(input, candidates, published, prompt.latest_version_number, yield* otherIds(idRefs))
        if (plan._tag === "Invalid") {
          return yield* new InvalidRollout({
            errors: plan.errors,
            detail: plan.errors.map((e) => `${e.path}: ${e.message}`).join("; ")
          })
        }
        const stored = JSON.stringify(plan.variants)
        const existing = yield* sql<{ readonly id: string }>`SELECT id FROM prompts.rollouts
          WHERE organization_id = ${org} AND prompt_id = ${id}`
        const rolloutId = existing[0]?.id ?? crypto.randomUUID()
        if (existing[0] === undefined) {
          yield* sql`INSERT INTO prompts.rollouts (id, organization_id, prompt_id, enabled, salt, variants, created_by, updated_by)
            VALUES (${rolloutId}, ${org}, ${id}, ${plan.enabled}, ${input.salt ?? newSalt()}, ${stored}::jsonb, ${principal.id}, ${principal.id})`
        } else {
          yield* sql`UPDATE prompts.rollouts SET enabled = ${plan.enabled}, variants = ${stored}::jsonb,
              salt = ${input.salt === undefined ? sql.literal("salt") : input.salt},
              updated_by = ${principal.id}, updated_at = now()
            WHERE organization_id = ${org} AND id = ${rolloutId}`
        }
        const rollout = yield* loadRollout(org, prompt)
        if (rollout === null) return yield* Effect.die(new Error("rollout vanished inside its transaction"))
        yield* audit.record("prompts.rollout.set", { type: "prompt", id }, {
          key: prompt.key,
          env: prompt.env,
          rolloutId,
          enabled: rollout.enabled,
          variants: rollout.variants.map((v) => `${v.version}:${v.weight}`)
        })
        yield* emit(org, changeOf("rollout.updated", prompt, true), [{ key: prompt.key, env: prompt.env }])
        return rollout
      })).pipe(catchSql)
    })

    const deleteRollout = Effect.fn("Prompts.deleteRollout")(function*(id: string) {
      const principal = yield* CurrentPrincipal
      const org = principal.organizationId
      yield* sql.withTransaction(Effect.gen(function*() {
        const prompt = yield* findPrompt(org, id, true)
        const deleted = yield* sql<{ readonly id: string }>`DELETE FROM prompts.rollouts
          WHERE organization_id = ${org} AND prompt_id = ${id} RETURNING id`
        if (deleted[0] === undefined) return
        yield* audit.record("prompts.rollout.delete", { type: "prompt", id }, {
          key: prompt.key,
          env: prompt.env,
          rolloutId: deleted[0].id
        })
        yield* emit(org, changeOf("rollout.deleted", prompt, true), [{ key: prompt.key, env: prompt.env }])
      })).pipe(catchSql)
    })

    const served = Effect.fn("Prompts.served")(function*(
      organizationId: string,
      key: string,
      env: string,
      given: string | undefined
    ) {
      const workspace = given === undefined ? undefined : storedWorkspaceId(organizationId, given)
      const rows = yield* sql<ServedRow>`SELECT p.id, p.workspace_id, p.key, p.env, p.content AS working_content,
          p.model AS working_model, p.version_label, COALESCE(s.serving, 'live') AS serving,
          v.id AS version_id, v.number, v.label, v.content, v.model
        FROM prompts.prompts p
        LEFT JOIN prompts.versions v ON v.id = p.live_version_id
        LEFT JOIN prompts.workspace_settings s ON s.organization_id = p.organization_id AND s.workspace_id = p.workspace_id
        WHERE p.organization_id = ${organizationId} AND p.key = ${key} AND p.env = ${env}
          AND (v.id IS NOT NULL OR COALESCE(s.serving, 'live') = 'live')
          ${workspace === undefined ? sql.literal("") : sql`AND p.workspace_id = ${workspace}`}
        ORDER BY (p.workspace_id = '') DESC, p.created_at, p.id
        LIMIT 1`
      const row = rows[0]
      if (row === undefined) return null
      const serving: ServingMode = row.serving === "published" ? "published" : "live"
      const liveVersionLabel = row.number === null ? null : row.label ?? label(row.number)
      const live: ServedVersion = serving === "live" || row.version_id === null || row.number === null
        ? {
          id: row.id,
          number: null,
          label: row.version_label ?? liveVersionLabel ?? "v1",
          content: row.working_content,
          model: row.working_model
        }
        : { id: row.version_id, number: row.number, label: liveVersionLabel ?? label(row.number), content: row.content ?? "", model: row.model ?? "" }
      const rollouts = yield* sql<{ readonly id: string; readonly salt: string; readonly variants: unknown }>`
        SELECT id, salt, variants FROM prompts.rollouts
        WHERE organization_id = ${organizationId} AND prompt_id = ${row.id} AND enabled`
      const stored = rollouts[0] === undefined ? [] : storedVariants(rollouts[0].variants)
      let rollout: ServedPrompt["rollout"] = null
      if (rollouts[0] !== undefined && stored.length > 0) {
        const ids = stored.map((v) => v.version_id)
        const versionRows = yield* sql<{ readonly id: string; readonly number: number; readonly label: string | null; readonly content: string; readonly model: string }>`
          SELECT id, number, label, content, model FROM prompts.versions
          WHERE organization_id = ${organizationId} AND prompt_id = ${row.id} AND ${sql.in("id", ids)}`
        const byId = new Map(versionRows.map((v) => [v.id, v]))
        const variants = stored.flatMap((v) => {
          const found = byId.get(v.version_id)
          return found === undefined ? [] : [{
            id: found.id,
            number: found.number,
            label: found.label ?? label(found.number),
            content: found.content,
            model: found.model,
            weightBp: v.weight_bp
          }]
        })
        if (variants.length === stored.length) rollout = { id: rollouts[0].id, salt: rollouts[0].salt, variants }
      }
      return { promptId: row.id, workspaceId: row.workspace_id, key: row.key, env: row.env, serving, live, rollout } satisfies ServedPrompt
    })

    const settingsRow = (org: string, workspace: string) =>
      Effect.map(
        sql<{ readonly serving: string; readonly updated_by: string; readonly updated_at: Date | string }>`
          SELECT serving, updated_by, updated_at FROM prompts.workspace_settings
          WHERE organization_id = ${org} AND workspace_id = ${workspace}`,
        (rows): PromptSettings => {
          const row = rows[0]
          return row === undefined
            ? { workspace_id: workspace, serving: "live", updated_by: null, updated_at: null }
            : {
              workspace_id: workspace,
              serving: row.serving === "published" ? "published" : "live",
              updated_by: row.updated_by,
              updated_at: Row.iso(row.updated_at)
            }
        }
      )

    const settings = Effect.fn("Prompts.settings")(function*(given: string) {
      const principal = yield* CurrentPrincipal
      return yield* settingsRow(principal.organizationId, storedWorkspaceId(principal.organizationId, given))
    }, Effect.orDie)

    const setSettings = Effect.fn("Prompts.setSettings")(function*(given: string, input: PromptSettingsInput) {
      const principal = yield* CurrentPrincipal
      const org = principal.organizationId
      const workspace = storedWorkspaceId(org, given)
      return yield* sql.withTransaction(Effect.gen(function*() {
        const before = yield* servingOf(org, workspace)
        yield* sql`INSERT INTO prompts.workspace_settings (organization_id, workspace_id, serving, updated_by)
          VALUES (${org}, ${workspace}, ${input.serving}, ${principal.id})
          ON CONFLICT (organization_id, workspace_id)
          DO UPDATE SET serving = excluded.serving, updated_by = excluded.updated_by, updated_at = now()`
        yield* audit.record("prompts.settings.set", { type: "workspace", id: workspace }, {
          workspace,
          serving: input.serving,
          from: before
        })
        if (before !== input.serving) {
          // What SDKs are served changes for every prompt of the workspace.
          const rows = yield* sql<PromptRow>`SELECT ${promptColumns} FROM ${promptFrom}
            WHERE p.organization_id = ${org} AND p.workspace_id = ${workspace} ORDER BY p.created_at, p.id`
          for (const row of rows) yield* Changes.at(org).append(events, "serving.changed", changeOf("serving.changed", row, true))
          if (rows.length > 0) {
            const coordinates = rows.map((row) => ({ key: row.key, env: row.env }))
            yield* Cache.at().append(events, "invalidate", { organizationId: org, coordinates })
            yield* sql.afterCommit(cache.invalidate(org, coordinates))
          }
        }
        return yield* settingsRow(org, workspace)
      })).pipe(Effect.orDie)
    })

    return Prompts.of({
      list,
      create,
      get,
      update,
      remove,
      versions,
      version,
      diff,
      publish,
      rollback,
      getRollout,
      setRollout,
      deleteRollout,
      settings,
      setSettings,
      served
    })
  })
)

// ---------------------------------------------------------------------------------------------
// Rows and conversions

interface PromptRow {
  readonly id: string
  readonly workspace_id: string
  readonly key: string
  readonly env: string
  readonly name: string
  readonly description: string
  readonly content: string
  readonly model: string
  readonly category: string
  readonly tags: ReadonlyArray<string>
  readonly latest_version_number: number
  readonly version_label: string | null
  readonly created_by: string
  readonly updated_by: string
  readonly created_at: Date | string
  readonly updated_at: Date | string
  readonly live_number: number | null
  readonly live_label: string | null
  readonly live_content: string | null
  readonly live_model: string | null
}

interface VersionRow {
  readonly id: string
  readonly prompt_id: string
  readonly number: number
  readonly label: string | null
  readonly key: string
  readonly env: string
  readonly name: string
  readonly model: string
  readonly content: string
  readonly note: string
  readonly created_by: string
  readonly created_at: Date | string
}

interface RolloutRow {
  readonly id: string
  readonly prompt_id: string
  readonly enabled: boolean
  readonly salt: string
  readonly variants: unknown
  readonly created_by: string
  readonly updated_by: string
  readonly created_at: Date | string
  readonly updated_at: Date | string
}

interface ServedRow {
  readonly id: string
  readonly workspace_id: string
  readonly key: string
  readonly env: string
  readonly working_content: string
  readonly working_model: string
  readonly version_label: string | null
  readonly serving: string
  readonly version_id: string | null
  readonly number: number | null
  readonly label: string | null
  readonly content: string | null
  readonly model: string | null
}

/** A rollout variant as stored in `prompts.rollouts.variants`. */
interface StoredVariant {
  readonly version_id: string
  readonly number: number
  /** Absent in rollouts saved before labels: `v<number>`. */
  readonly label?: string
  readonly weight_bp: number
}


/** `v<number>`: the label of a version published without a client-set label. */
export const label = (number: number): string => `v${number}`

/** The label a version was published under. */
const versionLabelOf = (row: { readonly label: string | null; readonly number: number }): string =>
  row.label ?? label(row.number)

/** The live version's label; `null` before the first publish. */
const liveLabel = (row: PromptRow): string | null =>
  row.live_number === null ? null : row.live_label ?? label(row.live_number)

/** The working copy's label, as PromptOps reads a prompt's `version`. */
const workingLabel = (row: PromptRow): string => row.version_label ?? liveLabel(row) ?? "v1"

/** A label sent on create or update; empty means "not given". */
const givenLabel = (value: string | undefined): string | null =>
  value === undefined || value.trim() === "" ? null : value.trim()

const nonEmpty = (value: string | undefined): value is string => value !== undefined && value.trim() !== ""

const normalizeTags = (tags: string | ReadonlyArray<string> | undefined): ReadonlyArray<string> => {
  const list = tags === undefined ? [] : typeof tags === "string" ? tags.split(",") : tags
  return [...new Set(list.map((t) => t.trim()).filter((t) => t !== ""))]
}

const toPrompt = (row: PromptRow): Prompt => ({
  id: row.id,
  workspace_id: row.workspace_id,
  key: row.key,
  name: row.name,
  description: row.description,
  content: row.content,
  version: workingLabel(row),
  live_version: liveLabel(row),
  version_number: row.live_number,
  latest_version_number: row.latest_version_number,
  has_unpublished_changes: row.live_number === null || row.live_content !== row.content || row.live_model !== row.model,
  env: row.env,
  category: row.category,
  tags: row.tags.join(","),
  model: row.model,
  created_by: row.created_by,
  updated_by: row.updated_by,
  created_at: Row.iso(row.created_at),
  updated_at: Row.iso(row.updated_at)
})

const toVersion = (row: VersionRow): PromptVersion => ({
  id: row.id,
  prompt_id: row.prompt_id,
  key: row.key,
  version: versionLabelOf(row),
  version_number: row.number,
  env: row.env,
  name: row.name,
  model: row.model,
  content: row.content,
  note: row.note,
  created_by: row.created_by,
  created_at: Row.iso(row.created_at)
})

const storedVariants = (value: unknown): ReadonlyArray<StoredVariant> => {
  const parsed: unknown = typeof value === "string" ? JSON.parse(value) : value
  return Array.isArray(parsed) ? parsed as ReadonlyArray<StoredVariant> : []
}

const toRollout = (row: RolloutRow, prompt: PromptRow): Rollout => {
  const variants = storedVariants(row.variants).map((v) => ({
    version: v.label ?? label(v.number),
    version_number: v.number,
    version_id: v.version_id,
    weight: v.weight_bp / 100
  }))
  return {
    id: row.id,
    prompt_id: row.prompt_id,
    key: prompt.key,
    env: prompt.env,
    enabled: row.enabled,
    variant_a: variants[0]?.version ?? "",
    variant_b: variants[1]?.version ?? "",
    weight_a: variants[0]?.weight ?? 0,
    variants,
    salt: row.salt,
    created_by: row.created_by,
    updated_by: row.updated_by,
    created_at: Row.iso(row.created_at),
    updated_at: Row.iso(row.updated_at)
  }
}

type ParsedRef = { readonly _tag: "Number"; readonly number: number } | { readonly _tag: "Id"; readonly id: string }

/** `2`, `"2"` and `"v2"` name version 2; anything else is a version id. */
export const parseVersionRef = (ref: string | number): ParsedRef => {
  if (typeof ref === "number") return { _tag: "Number", number: ref }
  const match = /^v?(\d{1,9})$/i.exec(ref.trim())
  return match === null ? { _tag: "Id", id: ref.trim() } : { _tag: "Number", number: Number(match[1]) }
}

interface Candidate {
  readonly ref: string | number
  readonly weight: number | undefined
  readonly path: string
}

/** The variants a PUT body asks for, in assignment order, before validation. */
const rolloutCandidates = (input: RolloutInput): ReadonlyArray<Candidate> => {
  if (input.variants !== undefined) {
    return input.variants.map((v, i) => ({ ref: v.version, weight: v.weight, path: `body.variants[${i}]` }))
  }
  const present = (ref: string | number | undefined): ref is string | number =>
    ref !== undefined && !(typeof ref === "string" && ref.trim() === "")
  const out: Array<Candidate> = []
  if (present(input.variant_a)) out.push({ ref: input.variant_a, weight: input.weight_a ?? 100, path: "body.variant_a" })
  if (present(input.variant_b)) {
    out.push({ ref: input.variant_b, weight: input.weight_a === undefined ? 0 : 100 - input.weight_a, path: "body.variant_b" })
  }
  return out
}

type RolloutPlan =
  | { readonly _tag: "Valid"; readonly enabled: boolean; readonly variants: ReadonlyArray<StoredVariant> }
  | { readonly _tag: "Invalid"; readonly errors: ReadonlyArray<{ readonly path: string; readonly message: string }> }

const validateRollout = (
  input: RolloutInput,
  candidates: ReadonlyArray<Candidate>,
  published: ReadonlyArray<{ readonly id: string; readonly number: number; readonly label: string | null }>,
  latest: number,
  idsOfOtherPrompts: ReadonlySet<string>
): RolloutPlan => {
  const enabled = input.enabled ?? true
  const errors: Array<{ path: string; message: string }> = []
  if (input.variants !== undefined && (input.variant_a !== undefined || input.variant_b !== undefined)) {
    errors.push({ path: "body", message: "Give either variants or variant_a/variant_b/weight_a, not both" })
  }
  if (input.weight_a !== undefined && (!Number.isFinite(input.weight_a) || input.weight_a < 0 || input.weight_a > 100)) {
    errors.push({ path: "body.weight_a", message: "weight_a must be between 0 and 100" })
  }
  if (candidates.length === 0 && enabled) {
    errors.push({ path: "body", message: "An enabled rollout needs at least one variant (variant_a, or variants)" })
  }
  if (candidates.length > maxVariants) {
    errors.push({ path: "body.variants", message: `At most ${maxVariants} variants` })
  }
  const byNumber = new Map(published.map((v) => [v.number, v]))
  const byId = new Map(published.map((v) => [v.id, v]))
  // A label names the newest version carrying it.
  const byLabel = new Map<string, { readonly id: string; readonly number: number; readonly label: string | null }>()
  for (const v of [...published].sort((a, b) => a.number - b.number)) byLabel.set(versionLabelOf(v), v)
  const seen = new Set<string>()
  const variants: Array<StoredVariant> = []
  let total = 0
  for (const candidate of candidates) {
    const parsed = parseVersionRef(candidate.ref)
    const found = (typeof candidate.ref === "string" ? byLabel.get(candidate.ref.trim()) : undefined) ??
      (parsed._tag === "Number" ? byNumber.get(parsed.number) : byId.get(parsed.id))
    const versionPath = input.variants === undefined ? candidate.path : `${candidate.path}.version`
    if (found === undefined) {
      const message = parsed._tag === "Number"
        ? parsed.number > latest
          ? `Version v${parsed.number} is not published (the latest published version is ${latest === 0 ? "none" : label(latest)})`
          : `Unknown version v${parsed.number}`
        : idsOfOtherPrompts.has(parsed.id)
        ? `Version ${parsed.id} belongs to another prompt`
        : `Unknown version ${JSON.stringify(String(candidate.ref))}: use a label like v1, a number, or a version id of this prompt`
      errors.push({ path: versionPath, message })
      continue
    }
    if (seen.has(found.id)) {
      errors.push({ path: versionPath, message: `Version ${versionLabelOf(found)} is listed twice` })
      continue
    }
    seen.add(found.id)
    const weightPath = input.variants === undefined ? "body.weight_a" : `${candidate.path}.weight`
    const weight = candidate.weight ?? 0
    const bp = Number.isFinite(weight) && weight >= 0 && weight <= 100 ? toBasisPoints(weight) : undefined
    if (bp === undefined) {
      errors.push({ path: weightPath, message: "A weight is a percentage from 0 to 100 with at most two decimals" })
      continue
    }
    total += bp
    variants.push({ version_id: found.id, number: found.number, label: versionLabelOf(found), weight_bp: bp })
  }
  if (errors.length === 0 && variants.length > 0 && total !== bucketCount) {
    errors.push({
      path: input.variants === undefined ? "body.weight_a" : "body.variants",
      message: `Weights must add up to 100 (they add up to ${total / 100})`
    })
  }
  return errors.length > 0 ? { _tag: "Invalid", errors } : { _tag: "Valid", enabled, variants }
}

/** Database failures (and events refused for a bug) are defects: a 500 with a reference. */
function catchSql<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, Row.Infrastructure | InvalidEvent>, R> {
  return Row.dieOnInfrastructure(Effect.catchIf(self, (error) => error instanceof InvalidEvent, Effect.die)) as Effect.Effect<
    A,
    Exclude<E, Row.Infrastructure | InvalidEvent>,
    R
  >
}
