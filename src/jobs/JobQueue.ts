/**
 * Durable background jobs for plugins: the `JobQueue` service tag and its contract.
 *
 * A plugin registers a worker from its layer (`register`) and enqueues inside its own
 * transaction (`enqueue`): the job exists if and only if that transaction commits. A job runs
 * with a principal (the one that enqueued it, or a named system principal), provided to the
 * handler as `CurrentPrincipal`, so services that read it work unchanged inside jobs.
 * The implementation (pg-boss on the app's one SqlClient) is in `JobQueueLive.ts`.
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"
import type { CurrentPrincipal } from "../auth/Principal.ts"
import { Principal } from "../auth/Principal.ts"
import { adminPrincipal } from "../auth/Credentials.ts"

/** A queue name: letters, digits and `._-/`, 1..100 characters (pg-boss's own rule, plus a length cap). */
export const jobNamePattern = /^[A-Za-z0-9_.\-/]{1,100}$/

/** A job call the queue refused or the database failed (bad name, unknown queue, payload that does not encode). */
export class JobError extends Schema.TaggedError<JobError>()("JobError", {
  name: Schema.String,
  message: Schema.String
}) {}

/** What a worker is: how to decode its payload, what to run, and its retry and timeout policy. */
export interface WorkerOptions<S extends Schema.Top, R> {
  /** Decodes (and, on enqueue, encodes) the payload. */
  readonly schema: S
  /** Runs one job with the job's principal as `CurrentPrincipal`. A failure or defect fails the attempt. */
  readonly handler: (payload: S["Type"], job: JobInfo) => Effect.Effect<void, unknown, R | CurrentPrincipal>
  /** Retries after the first attempt (default 3). */
  readonly retryLimit?: number | undefined
  /** Seconds before the first retry (default 2). */
  readonly retryDelay?: number | undefined
  /** Exponential backoff between retries (default true). */
  readonly retryBackoff?: boolean | undefined
  /** Longest backoff delay, in seconds. */
  readonly retryDelayMax?: number | undefined
  /**
   * Seconds without a heartbeat after which a running job counts as lost (its process died) and
   * is retried elsewhere (default 10, pg-boss's minimum; `null` disables: then only
   * `expireInSeconds` ends a lost attempt). The worker sends heartbeats at half this interval.
   */
  readonly heartbeatSeconds?: number | null | undefined
  /** Per-attempt timeout, in seconds (default 300): a longer attempt is interrupted and fails. */
  readonly expireInSeconds?: number | undefined
  /**
   * pg-boss's queue policy (default `standard`). `exclusive`: at most one queued-or-running job
   * per singleton key; `stately`: at most one queued and one running per key; `singleton`: at
   * most one running per key. In the non-standard policies jobs without a key share one key.
   */
  readonly policy?: "standard" | "exclusive" | "stately" | "singleton" | undefined
  /** Jobs of this queue one process fetches and runs at once (default 10). */
  readonly concurrency?: number | undefined
}

/** Facts about the running attempt. */
export interface JobInfo {
  readonly id: string
  readonly name: string
  /** Attempts before this one. */
  readonly retryCount: number
}

export interface EnqueueOptions {
  /**
   * The job's key for the queue's policy (`exclusive`: a second queued-or-running job with the key
   * is refused, `enqueue` returns `null`); with `singletonSeconds`, in any policy, at most one
   * job per key per time slot of that many seconds.
   */
  readonly singletonKey?: string | undefined
  readonly singletonSeconds?: number | undefined
  /** Start no earlier than this date, or this many seconds from now. */
  readonly startAfter?: Date | number | undefined
  readonly priority?: number | undefined
  /** Run as this principal instead of the caller's `CurrentPrincipal`. */
  readonly principal?: Principal | undefined
}

export interface ScheduleOptions {
  /** Tells several schedules of one queue apart (one per automation, say); default `""`. */
  readonly key?: string | undefined
  /** The IANA time zone the expression is read in (default `UTC`). */
  readonly timezone?: string | undefined
}

/** A job that ran out of retries, as the dead-letter endpoint shows it. */
export const DeadJob = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  payload: Schema.Unknown,
  /** The last attempt's error. */
  error: Schema.Unknown,
  attempts: Schema.Int,
  actor_id: Schema.NullOr(Schema.String),
  created_at: Schema.String,
  failed_at: Schema.NullOr(Schema.String)
})
export type DeadJob = typeof DeadJob.Type

export interface JobQueueShape {
  /**
   * Registers the worker of queue `name` (creating the queue). Call it from a plugin layer;
   * the handler runs with the services of the registering fiber plus `CurrentPrincipal`.
   */
  readonly register: <S extends Schema.Top, R = never>(
    name: string,
    options: WorkerOptions<S, R>
  ) => Effect.Effect<void, JobError, Exclude<R, CurrentPrincipal> | S["EncodingServices"] | S["DecodingServices"]>
  /**
   * Enqueues a job. Inside `sql.withTransaction` it joins that transaction. Returns the job id,
   * or `null` when a singleton key already has a job. The principal is `options.principal`,
   * else the caller's `CurrentPrincipal`, else the system principal.
   */
  readonly enqueue: <S extends Schema.Top>(
    name: string,
    schema: S,
    payload: S["Type"],
    options?: EnqueueOptions
  ) => Effect.Effect<string | null, JobError, S["EncodingServices"]>
  /**
   * Runs queue `name` on a cron schedule (5 fields; UTC unless `options.timezone`; at most once a
   * minute, once across processes) as the system principal. A queue has one schedule per
   * `options.key` (default `""`): scheduling the same key again replaces it. Inside
   * `sql.withTransaction` it joins that transaction.
   */
  readonly schedule: (name: string, cron: string, payload: unknown, options?: ScheduleOptions) => Effect.Effect<void, JobError>
  /** Removes the schedule of `name` with `key` (default `""`); inside `sql.withTransaction` it joins it. */
  readonly unschedule: (name: string, key?: string) => Effect.Effect<void, JobError>
  /** Jobs of `organizationId` that ran out of retries, newest first. */
  readonly dead: (organizationId: string, limit: number) => Effect.Effect<ReadonlyArray<DeadJob>, JobError>
  /**
   * Which of `singletonKeys` still have a job of queue `name` that is queued, waiting for a
   * retry or running: a key not returned has none left (its last job completed, ran out of
   * retries, or was dropped).
   */
  readonly unsettled: (name: string, singletonKeys: ReadonlyArray<string>) => Effect.Effect<ReadonlySet<string>, JobError>
  /** Wakes this process's idle workers of `name` (done by `enqueue` already). */
  readonly wake: (name: string) => Effect.Effect<void>
}

export class JobQueue extends Context.Service<JobQueue, JobQueueShape>()("trellis/jobs/JobQueue") {}

/** The principal of jobs nobody enqueued (cron): the admin token's (owner of the default organization), named `system:<name>`. */
export const systemPrincipal = (name = "jobs"): Principal => new Principal({ ...adminPrincipal, id: `system:${name}` })
