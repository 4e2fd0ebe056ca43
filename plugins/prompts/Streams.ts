/**
 * The plugin's event streams and what their events carry. Two streams, both appended in the
 * write's transaction: the organization's change stream (pushed to `/ws` clients, replayable
 * by sequence number) and one cache stream for all organizations (followed by every server
 * process to drop its SDK cache entries). Both are typed (`EventStream`): appends encode
 * through the Schema, subscribers get decoded values.
 */
import { Schema } from "effect"
import { EventStream } from "trellis/plugin"

/** The data of a change event, as stored (the stream's `seq` is added on delivery). */
export const ChangeData = Schema.Struct({
  type: Schema.String,
  id: Schema.String,
  key: Schema.String,
  env: Schema.String,
  version: Schema.NullOr(Schema.String),
  version_number: Schema.NullOr(Schema.Number),
  workspace_id: Schema.String,
  /** Whether what SDKs are served changed, not just the working copy. */
  served: Schema.Boolean
})
export type ChangeData = typeof ChangeData.Type

/** The data of a cache invalidation event. */
export const InvalidationData = Schema.Struct({
  organizationId: Schema.String,
  coordinates: Schema.Array(Schema.Struct({ key: Schema.String, env: Schema.String }))
})
export type InvalidationData = typeof InvalidationData.Type

/** One organization's prompt changes (what `/ws` pushes): `Changes.at(organizationId)`. */
export const Changes = EventStream.make("prompts.changes", ChangeData)

/** The stream every process follows to invalidate its SDK cache (all organizations): `Cache.at()`. */
export const Cache = EventStream.make("prompts.cache", InvalidationData)

/** The name of one organization's change stream. */
export const changesStream = (organizationId: string): string => Changes.at(organizationId).name

/** The name of the cache stream. */
export const cacheStream = Cache.at().name
