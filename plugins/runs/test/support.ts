/**
 * Helpers the runs tests share: a probe plugin that hands the test the `Runs` and
 * `StepRegistry` services the real server built, a local HTTP sink on 127.0.0.1 that counts
 * calls (with their idempotency keys) and can hold, fail or hang a request, a restartable
 * server on one database (embedded directory or PostgreSQL database) for crash and restart
 * tests, and polling helpers (the test's own timeout bounds them: no timed assertions).
 */
import { Deferred, Effect } from "effect"
import type { Scope } from "effect"
import * as NodeHttp from "node:http"
import { CurrentPrincipal, Principal, systemPrincipal } from "trellis/plugin"
import type { Plugin } from "trellis/plugin"
import * as TestKit from "trellis/testing"
import type { RunStatus } from "../Domain.ts"
import { makeRunsPlugin } from "../Plugin.ts"
import { Runs } from "../RunsService.ts"
import { StepRegistry } from "../StepRegistry.ts"

export interface Services {
  readonly runs: Runs["Service"]
  readonly steps: StepRegistry["Service"]
}

/** A plugin that requires `runs` and gives its services to the test. */
export const probePlugin = (services: Deferred.Deferred<Services>) =>
  TestKit.probe({ id: "runs_probe", requires: ["runs"] }, Effect.gen(function*() {
    const runs = yield* Runs
    const steps = yield* StepRegistry
    yield* Deferred.succeed(services, { runs, steps })
  }))

/** The runs plugin as tests use it: `http` steps may reach the local sink; fast job retries. */
export const testRunsPlugin = () =>
  makeRunsPlugin({
    steps: { httpPolicy: { allowPrivate: true } },
    engine: { jobRetryLimit: 10, jobRetryDelaySeconds: 1, concurrency: 20 }
  })

/** The principal tests act as: the default organization. */
export const tester = systemPrincipal("runs-tests")

/** Someone in another organization. */
export const outsider = new Principal({ ...tester, id: "outsider", organizationId: "org_other" })

export const as = (principal: Principal) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(effect, CurrentPrincipal, principal)

/** Polls `check` until it is true. */
export const eventually = <E, R>(check: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function*() {
    while (!(yield* check)) yield* Effect.sleep("50 millis")
  })

/** Waits until the run's status is one of `statuses`; returns it. */
export const statusOf = (runs: Runs["Service"], runId: string, statuses: ReadonlyArray<RunStatus>) =>
  Effect.gen(function*() {
    for (;;) {
      const detail = yield* runs.get(runId)
      if (statuses.includes(detail.run.status)) return detail
      yield* Effect.sleep("50 millis")
    }
  }).pipe(as(tester))

// ── the sink ─────────────────────────────────────────────────────────────

export type Mode = "ok" | "fail" | "hang" | "hold"

export interface Hit {
  readonly path: string
  readonly key: string | undefined
}

export interface Sink {
  readonly url: (path: string) => string
  readonly hits: (path: string) => ReadonlyArray<Hit>
  /** The calling processes of `path`'s requests, in order (header `x-process-id`, sent by the kill test's `sink` step). */
  readonly pids: (path: string) => ReadonlyArray<number | undefined>
  readonly setMode: (path: string, mode: Mode) => void
  /** Answers every held request of `path` (200). */
  readonly release: (path: string) => void
  /** Requests of `path` whose connection closed before they were answered (a cancel or a crash). */
  readonly aborted: (path: string) => number
  readonly arrived: (path: string, count: number) => Effect.Effect<void>
}

export const sink: Effect.Effect<Sink, never, Scope.Scope> = Effect.gen(function*() {
  const hits: Array<Hit> = []
  const callers: Array<{ readonly path: string; readonly pid: number | undefined }> = []
  const modes = new Map<string, Mode>()
  const held = new Map<string, Array<NodeHttp.ServerResponse>>()
  const aborted = new Map<string, number>()
  const server = NodeHttp.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]
    const key = req.headers["idempotency-key"]
    const pid = req.headers["x-process-id"]
    hits.push({ path, key: typeof key === "string" ? key : undefined })
    callers.push({ path, pid: typeof pid === "string" ? Number(pid) : undefined })
    req.resume()
    const mode = modes.get(path) ?? "ok"
    if (mode === "ok") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, path }))
      return
    }
    if (mode === "fail") {
      res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ ok: false }))
      return
    }
    res.on("close", () => {
      if (!res.writableEnded) aborted.set(path, (aborted.get(path) ?? 0) + 1)
    })
    if (mode === "hold") held.set(path, [...(held.get(path) ?? []), res])
  })
  const port = yield* Effect.acquireRelease(
    Effect.callback<number>((resume) => {
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
      })
    }),
    () => Effect.sync(() => server.close()).pipe(Effect.andThen(Effect.sync(() => server.closeAllConnections())))
  )
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    hits: (path) => hits.filter((h) => h.path === path),
    pids: (path) => callers.filter((c) => c.path === path).map((c) => c.pid),
    setMode: (path, mode) => void modes.set(path, mode),
    release: (path) => {
      modes.set(path, "ok")
      for (const res of held.get(path) ?? []) {
        if (!res.writableEnded && !res.destroyed) res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, path }))
      }
      held.delete(path)
    },
    aborted: (path) => aborted.get(path) ?? 0,
    arrived: (path, count) => eventually(Effect.sync(() => hits.filter((h) => h.path === path).length >= count))
  }
})

// ── a server that can restart on the same database ───────────────────────

/**
 * One database (the test kit's `restartable`: embedded, or a fresh PostgreSQL database when
 * `TRELLIS_TEST_DATABASE_URL` is set) and a function that boots the server with the runs
 * plugin (and `extra` plugins) on it; each boot's scope is one "process".
 */
export const restartableWith = (extra: ReadonlyArray<Plugin.Any>) => Effect.gen(function*() {
  const server = yield* TestKit.restartable({ plugins: [testRunsPlugin(), ...extra] })
  /** Boots a server in the current scope and returns the services it built. */
  const boot = Effect.gen(function*() {
    const services = yield* Deferred.make<Services>()
    yield* server.boot([testRunsPlugin(), ...extra, probePlugin(services)])
    return yield* Deferred.await(services)
  })
  return { boot }
})

export const restartable = restartableWith([])
