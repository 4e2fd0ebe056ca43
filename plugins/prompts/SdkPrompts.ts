/**
 * SDK fetch (`GET /api/sdk/prompts/:key?env=`): what a PromptOps SDK gets for a key, answered
 * from {@link ServedCache} with bodies and ETags computed once per cached slot.
 *
 * With an enabled rollout the version is chosen by {@link Assignment}: sticky for a caller
 * that gives a stickiness value, a fresh random draw (marked `sticky: false`) otherwise.
 */
import { Context, Effect, Layer } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import { createHash } from "node:crypto"
import { bucketOf, randomBucket, variantIndex, variantLetter } from "./Assignment.ts"
import type { SdkPrompt, SdkQuery } from "./Domain.ts"
import { Prompts } from "./Prompts.ts"
import type { ServedPrompt, ServedVersion } from "./Prompts.ts"
import { ServedCache } from "./ServedCache.ts"

/** A ready response: the JSON body and its strong ETag. */
export interface Prepared {
  readonly body: string
  readonly etag: string
  readonly versionNumber: number | null
}

interface Entry {
  readonly served: ServedPrompt | null
  /** Without a rollout: the one response. */
  readonly live: Prepared | null
  /** With a rollout: per variant, the sticky and the non-sticky response. */
  readonly variants: ReadonlyArray<{ readonly sticky: Prepared; readonly random: Prepared }>
  readonly weightsBp: ReadonlyArray<number>
}

export type FetchResult =
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "NotModified"; readonly etag: string }
  | { readonly _tag: "Ok"; readonly prepared: Prepared }

export interface FetchRequest {
  readonly organizationId: string
  readonly key: string
  readonly env: string
  readonly workspace: string | undefined
  /** The caller's stickiness value (sticky key, user id or session id); `undefined` draws at random. */
  readonly stickiness: string | undefined
  /** The `If-None-Match` header, if any. */
  readonly ifNoneMatch: string | undefined
}

const prepare = (
  served: ServedPrompt,
  version: ServedVersion,
  extra: { readonly variant?: string; readonly rolloutId: string | null; readonly sticky: boolean }
): Prepared => {
  const payload: SdkPrompt = {
    key: served.key,
    version: version.label,
    env: served.env,
    model: version.model,
    content: version.content,
    ...(extra.variant === undefined ? {} : { variant: extra.variant }),
    version_number: version.number,
    serving: served.serving,
    rollout_id: extra.rolloutId,
    sticky: extra.sticky,
    id: served.promptId,
    workspace_id: served.workspaceId
  }
  const body = JSON.stringify(payload)
  const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 32)}"`
  return { body, etag, versionNumber: version.number }
}

const build = (served: ServedPrompt | null): Entry => {
  if (served === null) return { served, live: null, variants: [], weightsBp: [] }
  const rollout = served.rollout
  if (rollout === null) {
    return { served, live: prepare(served, served.live, { rolloutId: null, sticky: true }), variants: [], weightsBp: [] }
  }
  return {
    served,
    live: null,
    variants: rollout.variants.map((v, i) => ({
      sticky: prepare(served, v, { variant: variantLetter(i), rolloutId: rollout.id, sticky: true }),
      random: prepare(served, v, { variant: variantLetter(i), rolloutId: rollout.id, sticky: false })
    })),
    weightsBp: rollout.variants.map((v) => v.weightBp)
  }
}

const first = (...values: ReadonlyArray<string | string[] | undefined>): string | undefined => {
  for (const value of values) if (typeof value === "string" && value !== "") return value
  return undefined
}

/** The SDK query parameters of a fetch: the endpoint's `SdkQuery`. */
export type FetchQuery = SdkQuery

/**
 * The fetch an SDK request asks for: `env` defaults to `prod`; the stickiness value is the
 * first of `sticky_key`, `stickyKey`, `X-Sticky-Key`, `user_id`, `userId`, `X-User-Id`,
 * `session_id`, `sessionId`, `X-Session-Id` that is set.
 */
export const fetchRequestOf = (
  organizationId: string,
  key: string,
  query: FetchQuery,
  headers: Readonly<Record<string, string | string[] | undefined>>
): FetchRequest => ({
  organizationId,
  key,
  env: first(query.env) ?? "prod",
  workspace: query.workspace,
  stickiness: first(
    query.sticky_key,
    query.stickyKey,
    headers["x-sticky-key"],
    query.user_id,
    query.userId,
    headers["x-user-id"],
    query.session_id,
    query.sessionId,
    headers["x-session-id"]
  ),
  ifNoneMatch: first(headers["if-none-match"])
})

/** The cache headers of an SDK fetch answer (200 or 304). */
export const cacheHeaders = (etag: string) => ({ etag, "cache-control": "no-cache" })

/** Whether an `If-None-Match` value lists `etag` (or is `*`). */
const matches = (ifNoneMatch: string | undefined, etag: string): boolean => {
  if (ifNoneMatch === undefined) return false
  return ifNoneMatch.split(",").some((candidate) => {
    const tag = candidate.trim().replace(/^W\//, "")
    return tag === etag || tag === "*"
  })
}

export class SdkPrompts extends Context.Service<SdkPrompts, {
  readonly fetch: (request: FetchRequest) => Effect.Effect<FetchResult, SqlError>
  /** What `fetch` answers when the prompt is in this process's cache; `undefined` otherwise. */
  readonly fetchCached: (request: FetchRequest) => FetchResult | undefined
}>()("prompts/SdkPrompts") {
  static readonly layer = Layer.effect(
    SdkPrompts,
    Effect.gen(function*() {
      const prompts = yield* Prompts
      const cache = yield* ServedCache

      const entryFor = (request: FetchRequest): Effect.Effect<Entry, SqlError> => {
        const cached = cache.get<Entry>(request.organizationId, request.env, request.key, request.workspace)
        if (cached !== undefined) return Effect.succeed(cached)
        const epoch = cache.epoch()
        return Effect.map(
          prompts.served(request.organizationId, request.key, request.env, request.workspace),
          (served) => {
            const entry = build(served)
            cache.set(request.organizationId, request.env, request.key, request.workspace, entry, epoch)
            return entry
          }
        )
      }

      const answer = (entry: Entry, request: FetchRequest): FetchResult => {
        let prepared: Prepared
        if (entry.live !== null) {
          prepared = entry.live
        } else if (entry.served !== null && entry.served.rollout !== null && entry.variants.length > 0) {
          const sticky = request.stickiness !== undefined && request.stickiness !== ""
          const bucket = sticky
            ? bucketOf(entry.served.key, entry.served.rollout.salt, request.stickiness ?? "")
            : randomBucket()
          const choice = entry.variants[variantIndex(entry.weightsBp, bucket)]
          prepared = sticky ? choice.sticky : choice.random
        } else {
          return { _tag: "NotFound" }
        }
        return matches(request.ifNoneMatch, prepared.etag)
          ? { _tag: "NotModified", etag: prepared.etag }
          : { _tag: "Ok", prepared }
      }

      const fetch = (request: FetchRequest): Effect.Effect<FetchResult, SqlError> =>
        Effect.map(entryFor(request), (entry) => answer(entry, request))

      const fetchCached = (request: FetchRequest): FetchResult | undefined => {
        const cached = cache.get<Entry>(request.organizationId, request.env, request.key, request.workspace)
        return cached === undefined ? undefined : answer(cached, request)
      }

      return SdkPrompts.of({ fetch, fetchCached })
    })
  )
}
