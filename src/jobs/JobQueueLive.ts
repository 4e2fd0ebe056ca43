/**
 * `JobQueue` on pg-boss 12, with all its SQL through the app's one SqlClient (`PgBossAdapter`).
 *
 * - pg-boss owns the `pgboss` schema and migrates it in `start()` under an advisory lock, so
 *   two processes starting together are safe.
 * - `enqueue` runs pg-boss's insert with a `db` bound to the caller's Effect context: inside
 *   `sql.withTransaction` that is the transaction's connection, so the job commits or rolls
 *   back with the caller's writes (and never deadlocks on the embedded single connection).
 * - Latency: `enqueue` wakes this process's idle workers of the queue at once; on PostgreSQL
 *   queues are `notify` queues and a LISTEN (through the app's PgClient) wakes workers in every
 *   process when the enqueuing transaction commits. Polling (`TRELLIS_JOBS_POLL_SECONDS`) is a
 *   backstop only.
 * - A job's data is `{ payload, principal }`: the handler runs with that principal as
 *   `CurrentPrincipal`.
 * - On shutdown (layer close, before the database closes) workers stop fetching, running jobs
 *   get the grace period to finish, and pg-boss fails (so retries) whatever is still running.
 * - Takeover faster than pg-boss's heartbeat (10 s at least): see `Liveness` below. A job whose
 *   process died is failed (so retried per its policy) by a surviving process within about
 *   `TRELLIS_JOBS_MONITOR_SECONDS`; on the embedded database, at the next start.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { Cause, Context, Duration, Effect, Exit, Fiber, Layer, Queue, Schedule, Schema } from "effect"
import * as SqlClient from "effect/sql/SqlClient"
import { PgBoss } from "pg-boss"
import type { JobResult } from "pg-boss"
import { CurrentPrincipal, Principal } from "../auth/Principal.ts"
import { TrellisConfig } from "../config/TrellisConfig.ts"
import { DatabaseInfo } from "../database/Database.ts"
import * as PgBossAdapter from "./PgBossAdapter.ts"
import { type DeadJob, JobError, jobNamePattern, JobQueue, systemPrincipal } from "./JobQueue.ts"

/** pg-boss's PostgreSQL schema. */
export const bossSchema = "pgboss"

const checkName = (name: string) =>
  jobNamePattern.test(name) ? Effect.void : Effect.fail(new JobError({ name, message: "invalid queue name" }))

const fromPromise = <A>(name: string, f: () => Promise<A>) =>
  Effect.tryPromise({ try: f, catch: (e) => new JobError({ name, message: e instanceof Error ? e.message : String(e) }) })

/** The advisory-lock namespace of process liveness (`pg_advisory_lock(livenessSpace, key)`). */
const livenessSpace = 0x7472_6a71 & 0x7fff_ffff

const groupByName = (rows: ReadonlyArray<{ readonly id: string; readonly name: string }>) => {
  const out = new Map<string, Array<string>>()
  for (const row of rows) out.set(row.name, [...(out.get(row.name) ?? []), row.id])
  return out
}

const encodePrincipal = Schema.encodeEffect(Principal)
const decodePrincipal = Schema.decodeUnknownEffect(Principal)

/** Fails when pg-boss gives the job up (shutdown past the grace period, expiry), interrupting the handler. */
const released = (name: string, signal: AbortSignal) =>
  Effect.callback<never, JobError>((resume) => {
    const onAbort = () => resume(Effect.fail(new JobError({ name, message: "released before it finished (shutdown or expiry)" })))
    if (signal.aborted) onAbort()
    else signal.addEventListener("abort", onAbort, { once: true })
    return Effect.sync(() => signal.removeEventListener("abort", onAbort))
  })

interface Envelope {
  readonly payload: unknown
  readonly principal: unknown
}

export const layer = Layer.effect(
  JobQueue,
  Effect.gen(function*() {
    const config = yield* TrellisConfig
    const info = yield* DatabaseInfo
    const pg = yield* PgClient.PgClient
    const appContext = yield* Effect.context<SqlClient.SqlClient | PgClient.PgClient>()
    const postgres = info.kind === "postgres"
    const scope = yield* Effect.scope
    // Logs from pg-boss's callbacks go through the app's logger.
    const log = Effect.runForkWith(yield* Effect.context<never>())

    // LISTEN through the app's PgClient (PostgreSQL only): pg-boss's notifications wake its workers.
    const listen = (channel: string, onNotification: (payload: string) => void, onReconnect: () => void): Promise<{ close(): Promise<void> }> =>
      Effect.runPromiseWith(appContext)(Effect.gen(function*() {
        const fiber = yield* Effect.forkIn(
          Effect.scoped(Effect.gen(function*() {
            const queue = yield* pg.listen(channel)
            yield* Effect.sync(onReconnect)
            while (true) {
              const note = yield* Queue.take(queue)
              onNotification(note.payload)
            }
          })).pipe(
            Effect.tapCause((cause) => Effect.logWarning("Jobs: LISTEN lost, reconnecting", Cause.pretty(cause))),
            Effect.retry(Schedule.spaced(Duration.seconds(1)))
          ),
          scope
        )
        return { close: () => Effect.runPromise(Fiber.interrupt(fiber)).then(() => undefined) }
      }))

    const db = PgBossAdapter.make(appContext, postgres ? { listen } : undefined)
    const boss = new PgBoss({
      db,
      schema: bossSchema,
      migrate: true,
      createSchema: true,
      supervise: true,
      schedule: true,
      useListenNotify: postgres,
      monitorIntervalSeconds: config.jobs.monitorSeconds,
      superviseIntervalSeconds: config.jobs.monitorSeconds,
      maintenanceIntervalSeconds: 60,
      cronWorkerIntervalSeconds: 15
    })
    boss.on("error", (error: unknown) => {
      log(Effect.logWarning("Jobs: pg-boss error", error instanceof Error ? error.message : String(error)))
    })
    boss.on("warning", (warning: { message?: unknown }) => {
      log(Effect.logInfo("Jobs: pg-boss warning", String(warning.message ?? "")))
    })
    yield* fromPromise("pgboss", () => boss.start())
    const workers = new Map<string, Array<string>>()
    // ── liveness ──────────────────────────────────────────────────────────
    // PostgreSQL: each process holds a session advisory lock (namespace `livenessSpace`, a random
    // key) on a connection of its own for its whole life; the kernel closes a killed process's
    // connections, so PostgreSQL releases its lock at once. Each batch a worker fetches is recorded
    // in `pgboss.trellis_job_owner` under the process's key (one statement per batch), and every
    // process looks, every monitor interval, for active jobs whose owner's lock is gone: those
    // are failed through pg-boss (so retried). A process that dies between fetching a batch and
    // recording it leaves its jobs to pg-boss's heartbeat, as before.
    // Embedded: the database is one process's (its directory is locked), so every job still
    // active when the queue starts belonged to a process that is gone: failed at start.
    const ownerKey = 1 + Math.floor(Math.random() * 2_147_483_646)
    const failLost = (rows: ReadonlyArray<{ readonly id: string; readonly name: string }>, message: string) =>
      Effect.forEach(groupByName(rows), ([name, ids]) =>
        fromPromise(name, () => boss.fail(name, [...ids], { message })).pipe(
          Effect.andThen(Effect.logInfo(`Jobs: ${ids.length} job(s) of ${name} failed for a retry: ${message}`)),
          Effect.andThen(Effect.sync(() => {
            for (const id of workers.get(name) ?? []) boss.notifyWorker(id)
          })),
          Effect.ignore
        ), { discard: true })
    const sqlApp = yield* SqlClient.SqlClient
    if (postgres) {
      yield* sqlApp.withTransaction(Effect.gen(function*() {
        yield* sqlApp`SELECT pg_advisory_xact_lock(${livenessSpace}, 0)`
        yield* sqlApp.unsafe(`CREATE TABLE IF NOT EXISTS ${bossSchema}.trellis_job_owner (
          name text NOT NULL,
          job_id uuid NOT NULL,
          owner_key integer NOT NULL,
          recorded_on timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (name, job_id)
        )`)
      })).pipe(Effect.mapError((e) => new JobError({ name: "liveness", message: e.message })))
      const connection = yield* sqlApp.reserve.pipe(Effect.mapError((e) => new JobError({ name: "liveness", message: e.message })))
      const hold = connection.executeUnprepared(`SELECT pg_advisory_lock(${livenessSpace}, ${ownerKey})`, [], undefined).pipe(
        Effect.mapError((e) => new JobError({ name: "liveness", message: e.message }))
      )
      yield* hold
      // Released after pg-boss has stopped (finalizers run in reverse): this process's running
      // jobs get their grace period before the others may take them over.
      yield* Effect.addFinalizer(() =>
        connection.executeUnprepared(`SELECT pg_advisory_unlock(${livenessSpace}, ${ownerKey})`, [], undefined).pipe(Effect.ignore)
      )
      const lost = sqlApp<{ id: string; name: string }>`
        SELECT j.id::text AS id, j.name FROM ${sqlApp(bossSchema)}.trellis_job_owner o
        JOIN ${sqlApp(bossSchema)}.job j ON j.name = o.name AND j.id = o.job_id AND j.state = 'active'
        WHERE NOT EXISTS (
          SELECT 1 FROM pg_locks l
          WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND l.classid::bigint = ${livenessSpace} AND l.objid::bigint = o.owner_key
        )`
      const forget = sqlApp`
        DELETE FROM ${sqlApp(bossSchema)}.trellis_job_owner o
        WHERE NOT EXISTS (SELECT 1 FROM ${sqlApp(bossSchema)}.job j WHERE j.name = o.name AND j.id = o.job_id AND j.state = 'active')`
      let sweeps = 0
      const sweep = Effect.gen(function*() {
        const rows = yield* lost
        if (rows.length > 0) yield* failLost(rows, "its process is gone")
        if (sweeps++ % 30 === 0) yield* forget
      })
      yield* sweep.pipe(
        Effect.tapCause((cause) => Effect.logWarning("Jobs: liveness sweep failed", Cause.pretty(cause))),
        Effect.ignore,
        Effect.repeat(Schedule.spaced(Duration.seconds(config.jobs.monitorSeconds))),
        Effect.forkScoped
      )
    } else {
      const orphans = yield* sqlApp<{ id: string; name: string }>`
        SELECT id::text AS id, name FROM ${sqlApp(bossSchema)}.job WHERE state = 'active'`.pipe(Effect.orElseSucceed(() => []))
      if (orphans.length > 0) yield* failLost(orphans, "the process running it stopped before it finished")
    }
    const recordOwner = (name: string, ids: ReadonlyArray<string>) =>
      postgres
        ? sqlApp`
            INSERT INTO ${sqlApp(bossSchema)}.trellis_job_owner (name, job_id, owner_key)
            SELECT ${name}, id, ${ownerKey} FROM unnest(${PgBossAdapter.prepareValue(ids)}::uuid[]) AS id
            ON CONFLICT (name, job_id) DO UPDATE SET owner_key = EXCLUDED.owner_key, recorded_on = now()`.pipe(
            Effect.tapCause((cause) => Effect.logWarning("Jobs: could not record the jobs' process", Cause.pretty(cause))),
            Effect.ignore
          )
        : Effect.void

    // Workers stop fetching; running jobs get the grace period; then pg-boss fails (so retries)
    // what still runs and aborts its signal, which interrupts the handler (see `released`).
    yield* Effect.addFinalizer(() =>
      fromPromise("pgboss", () => boss.stop({ graceful: true, close: false, timeout: Math.max(1, config.shutdownGraceSeconds) * 1000 })).pipe(
        Effect.tapError((e) => Effect.logWarning("Jobs: stop failed", e.message)),
        Effect.ignore
      )
    )

    const wake = (name: string) => Effect.sync(() => {
      for (const id of workers.get(name) ?? []) boss.notifyWorker(id)
    })
    const retention = {
      retentionSeconds: config.jobs.retentionDays * 86_400,
      deleteAfterSeconds: config.jobs.deleteAfterDays * 86_400
    }
    // A queue's policy is fixed when pg-boss creates it; the other options follow the latest registration.
    const ensureQueue = (name: string, policy: string | undefined, options: Record<string, unknown>) =>
      fromPromise(name, async () => {
        const existing = await boss.getQueue(name)
        if (existing === null) {
          await boss.createQueue(name, { ...retention, notify: postgres, ...options, ...(policy === undefined ? {} : { policy }) })
          return undefined
        }
        await boss.updateQueue(name, { ...retention, notify: postgres, ...options })
        return existing.policy !== (policy ?? "standard") ? existing.policy : undefined
      }).pipe(Effect.flatMap((kept) =>
        kept === undefined ? Effect.void : Effect.logWarning(`Jobs: queue ${name} keeps its policy ${kept} (a policy cannot change after creation)`)
      ))

    return JobQueue.of({
      register: (name, options) =>
        Effect.gen(function*() {
          yield* checkName(name)
          const context = (yield* Effect.context<never>()) as Context.Context<unknown>
          const decode = Schema.decodeUnknownEffect(options.schema)
          const expireInSeconds = options.expireInSeconds ?? 300
          yield* ensureQueue(name, options.policy, {
            retryLimit: options.retryLimit ?? 3,
            retryDelay: options.retryDelay ?? 2,
            retryBackoff: options.retryBackoff ?? true,
            ...(options.retryDelayMax === undefined ? {} : { retryDelayMax: options.retryDelayMax }),
            expireInSeconds,
            heartbeatSeconds: options.heartbeatSeconds === undefined ? 10 : options.heartbeatSeconds
          })
          const runOne = (job: { id: string; name: string; data: Envelope; retryCount: number; signal: AbortSignal }) =>
            Effect.gen(function*() {
              const principal = yield* decodePrincipal(job.data.principal ?? null).pipe(
                Effect.orElseSucceed(() => systemPrincipal())
              )
              const payload = yield* decode(job.data.payload)
              yield* options.handler(payload, { id: job.id, name: job.name, retryCount: job.retryCount }).pipe(
                Effect.provideService(CurrentPrincipal, principal)
              )
            }).pipe(
              Effect.raceFirst(released(name, job.signal)),
              Effect.timeoutOrElse({
                duration: Duration.seconds(expireInSeconds),
                orElse: () => Effect.fail(new JobError({ name, message: `timed out after ${expireInSeconds} s` }))
              }),
              Effect.exit,
              Effect.map((exit): JobResult =>
                Exit.isSuccess(exit)
                  ? { id: job.id, status: "completed" }
                  : { id: job.id, status: "failed", output: { message: Cause.pretty(exit.cause).slice(0, 4000) } }
              ),
              Effect.annotateLogs({ job: job.name, jobId: job.id })
            )
          const concurrency = Math.max(1, options.concurrency ?? 10)
          const heartbeatSeconds = options.heartbeatSeconds === undefined ? 10 : options.heartbeatSeconds
          const id = yield* fromPromise(name, () =>
            boss.work<Envelope>(name, {
              batchSize: concurrency,
              perJobResults: true,
              burstWhenBatchFull: concurrency > 1,
              // Frequent heartbeats: a dead process's job is seen lost soon after `heartbeatSeconds`.
              ...(heartbeatSeconds === null ? {} : { heartbeatRefreshSeconds: Math.min(2, heartbeatSeconds / 2) }),
              pollingIntervalSeconds: config.jobs.pollSeconds,
              notifyPollingIntervalSeconds: config.jobs.pollSeconds
            }, (jobs) =>
              Effect.runPromiseWith(context)(
                // Recorded alongside (not before) the jobs: their timeouts start with pg-boss's own.
                Effect.zipWith(
                  recordOwner(name, jobs.map((job) => job.id)),
                  Effect.forEach(jobs, runOne, { concurrency: "unbounded" }),
                  (_, results) => [...results],
                  { concurrent: true }
                )
              )))
          workers.set(name, [...(workers.get(name) ?? []), id])
        }),

      enqueue: (name, schema, payload, options) =>
        Effect.gen(function*() {
          yield* checkName(name)
          const encoded = yield* Schema.encodeEffect(schema)(payload).pipe(
            Effect.mapError((e) => new JobError({ name, message: `payload does not encode: ${e.message}` }))
          )
          const current = yield* Effect.serviceOption(CurrentPrincipal)
          const principal = options?.principal ?? (current._tag === "Some" ? current.value : systemPrincipal())
          const envelope = { payload: encoded, principal: yield* Effect.orDie(encodePrincipal(principal)) }
          // The caller's context: inside `sql.withTransaction` it carries the transaction's connection.
          const callerContext = Context.merge(appContext, yield* Effect.context<never>())
          const bound = PgBossAdapter.make(callerContext)
          const id = yield* fromPromise(name, () =>
            boss.send(name, envelope, {
              db: bound,
              ...(options?.singletonKey === undefined ? {} : { singletonKey: options.singletonKey }),
              ...(options?.singletonSeconds === undefined ? {} : { singletonSeconds: options.singletonSeconds }),
              ...(options?.priority === undefined ? {} : { priority: options.priority }),
              ...(options?.startAfter === undefined ? {} : { startAfter: options.startAfter })
            })
          )
          if (options?.startAfter === undefined) yield* wake(name)
          return id
        }),

      schedule: (name, cron, payload, options) =>
        Effect.gen(function*() {
          yield* checkName(name)
          const principal = yield* Effect.orDie(encodePrincipal(systemPrincipal("cron")))
          // The caller's context: inside `sql.withTransaction` the schedule row joins the transaction.
          const bound = PgBossAdapter.make(Context.merge(appContext, yield* Effect.context<never>()))
          yield* fromPromise(name, () =>
            boss.schedule(name, cron, { payload, principal }, {
              tz: options?.timezone ?? "UTC",
              db: bound,
              ...(options?.key === undefined ? {} : { key: options.key })
            }))
        }),

      unschedule: (name, key) =>
        Effect.gen(function*() {
          const bound = PgBossAdapter.make(Context.merge(appContext, yield* Effect.context<never>()))
          yield* fromPromise(name, () => boss.unschedule(name, key ?? "", { db: bound }))
        }),

      dead: (organizationId, limit) =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const rows = yield* sql<{
            id: string
            name: string
            data: Envelope | null
            output: unknown
            retry_count: number
            created_on: Date | string
            completed_on: Date | string | null
          }>`SELECT id::text AS id, name, data, output, retry_count, created_on, completed_on
             FROM ${sql(bossSchema)}.job
             WHERE state = 'failed' AND data -> 'principal' ->> 'organizationId' = ${organizationId}
             ORDER BY completed_on DESC NULLS LAST
             LIMIT ${limit}`
          return rows.map((r): DeadJob => {
            const principal = r.data?.principal as { id?: unknown } | undefined
            return {
              id: r.id,
              name: r.name,
              payload: r.data?.payload ?? null,
              error: r.output ?? null,
              attempts: Number(r.retry_count) + 1,
              actor_id: typeof principal?.id === "string" ? principal.id : null,
              created_at: new Date(r.created_on).toISOString(),
              failed_at: r.completed_on === null ? null : new Date(r.completed_on).toISOString()
            }
          })
        }).pipe(
          Effect.provideContext(appContext),
          Effect.mapError((e) => new JobError({ name: "dead", message: e.message }))
        ),

      unsettled: (name, singletonKeys) =>
        singletonKeys.length === 0
          ? Effect.succeed(new Set<string>())
          : sqlApp<{ key: string }>`
              SELECT DISTINCT singleton_key AS key FROM ${sqlApp(bossSchema)}.job
              WHERE name = ${name} AND state IN ('created', 'retry', 'active')
                AND singleton_key = ANY(${PgBossAdapter.prepareValue([...singletonKeys])}::text[])`.pipe(
              Effect.map((rows) => new Set(rows.map((row) => row.key))),
              Effect.mapError((e) => new JobError({ name, message: e.message }))
            ),

      wake
    })
  })
)
