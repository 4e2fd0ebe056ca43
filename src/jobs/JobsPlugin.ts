/**
 * The job queue's platform plugin: serves `GET /api/jobs/dead`. The `JobQueue` service itself
 * is a platform service (built in `Server.platformLayer`), so every plugin can register workers.
 */
import { Effect, Layer } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { CurrentPrincipal } from "../auth/Principal.ts"
import * as Plugin from "../plugin/Plugin.ts"
import { JobQueue } from "./JobQueue.ts"
import { defaultDeadLimit, JobsApi, JobsGroup } from "./JobsApi.ts"

export const JobsHttp = HttpApiBuilder.group(
  JobsApi,
  "jobs",
  Effect.fn(function*(handlers) {
    const jobs = yield* JobQueue
    return handlers.handle("dead", ({ query }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const data = yield* Effect.orDie(jobs.dead(principal.organizationId, query.limit ?? defaultDeadLimit))
        return { data: [...data] }
      }))
  })
)

export const JobsPlugin = Plugin.make({
  id: "jobs",
  version: "1.0.0",
  description: "Durable background jobs (pg-boss): dead-letter list for admins",
  groups: [JobsGroup],
  migrations: [],
  scopes: [],
  problems: [],
  layer: Layer.mergeAll(JobsHttp)
})
