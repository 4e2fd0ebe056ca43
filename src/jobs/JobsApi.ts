/**
 * The job queue's admin endpoint: `GET /api/jobs/dead?limit=` lists the caller's
 * organization's jobs that ran out of retries (newest first), so an admin can see what failed
 * for good and why. Platform dialect. Client-safe: imports only `effect`.
 */
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { Authentication } from "../auth/Authentication.ts"
import * as Requirement from "../auth/Requirement.ts"
import { Requires } from "../auth/Requirement.ts"
import { DeadJob } from "./JobQueue.ts"

export const defaultDeadLimit = 50
export const maxDeadLimit = 500

export const DeadJobList = Schema.Struct({ data: Schema.Array(DeadJob) })

export class JobsGroup extends HttpApiGroup.make("jobs")
  .add(
    HttpApiEndpoint.get("dead", "/api/jobs/dead", {
      query: {
        limit: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1), Schema.isLessThanOrEqualTo(maxDeadLimit)))
      },
      success: DeadJobList
    }).annotate(Requires, Requirement.admin())
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({
    title: "Background jobs",
    description: "Dead-lettered jobs of the caller's organization (admins)"
  }))
{}

export class JobsApi extends HttpApi.make("jobs").add(JobsGroup) {}
