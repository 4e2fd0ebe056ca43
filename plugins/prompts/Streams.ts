/**
 * The plugin's event streams, typed (`EventStream`): appends encode through the Schema,
 * subscribers get decoded values. Names and data Schemas are the contract's (`Events.ts`,
 * which other plugins import); this server-side module only declares the streams on them.
 */
import { EventStream } from "trellis/plugin"
import { cacheStream, ChangeData, changesPrefix, InvalidationData } from "./Events.ts"

export { cacheStream, ChangeData, changesStream, InvalidationData } from "./Events.ts"

/** One organization's prompt changes (what `/ws` pushes): `Changes.at(organizationId)`. */
export const Changes = EventStream.make(changesPrefix, ChangeData)

/** The stream every process follows to invalidate its SDK cache (all organizations): `Cache.at()`. */
export const Cache = EventStream.make(cacheStream, InvalidationData)
