/**
 * The plugin's event streams and what their events carry. Two streams, both appended in the
 * write's transaction: the organization's change stream (pushed to `/ws` clients, replayable
 * by sequence number) and one cache stream for all organizations (followed by every server
 * process to drop its SDK cache entries).
 */

/** The stream of one organization's prompt changes (what `/ws` pushes). */
export const changesStream = (organizationId: string): string => `prompts.changes.${organizationId}`

/** The stream every process follows to invalidate its SDK cache (all organizations). */
export const cacheStream = "prompts.cache"

/** The data of a change event, as stored (the stream's `seq` is added on delivery). */
export interface ChangeData {
  readonly type: string
  readonly id: string
  readonly key: string
  readonly env: string
  readonly version: string | null
  readonly version_number: number | null
  readonly workspace_id: string
  /** Whether what SDKs are served changed, not just the working copy. */
  readonly served: boolean
}

/** The data of a cache invalidation event. */
export interface InvalidationData {
  readonly organizationId: string
  readonly coordinates: ReadonlyArray<{ readonly key: string; readonly env: string }>
}
