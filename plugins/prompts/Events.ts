/**
 * The plugin's event streams as other plugins and clients see them (client-safe, part of the
 * contract with `Domain.ts`, `Errors.ts` and `Api.ts`): their names and what their events
 * carry. Two streams, both appended in the write's transaction: the organization's change
 * stream (pushed to `/ws` clients, replayable by sequence number; what automations trigger
 * on) and one cache stream for all organizations (followed by every server process to drop its
 * SDK cache entries). `Streams.ts` declares them as typed `EventStream`s on these.
 */
import { Schema } from "effect"

/** The data of a change event, as stored (the stream's `seq` is added on delivery: `Domain.ts`'s `ChangeEvent`). */
export const ChangeData = Schema.Struct({
  type: Schema.String,
  id: Schema.String,
  key: Schema.String,
  env: Schema.String,
  version: Schema.NullOr(Schema.String),
  version_number: Schema.NullOr(Schema.Number),
  workspace_id: Schema.String,
  /**
   * Whether what SDKs are served changed: in a `live` workspace every create and save too; in a
   * `published` one publish, rollback, rollout, delete and a change of serving mode.
   */
  served: Schema.Boolean
})
export type ChangeData = typeof ChangeData.Type

/** The data of a cache invalidation event. */
export const InvalidationData = Schema.Struct({
  organizationId: Schema.String,
  coordinates: Schema.Array(Schema.Struct({ key: Schema.String, env: Schema.String }))
})
export type InvalidationData = typeof InvalidationData.Type

/** The prefix of the organizations' change streams. */
export const changesPrefix = "prompts.changes"

/** The name of one organization's change stream. */
export const changesStream = (organizationId: string): string => `${changesPrefix}.${organizationId}`

/** The name of the cache stream (one for all organizations). */
export const cacheStream = "prompts.cache"
