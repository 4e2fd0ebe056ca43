/**
 * The hot-reload WebSocket (`GET /ws`) and the registry of live connections (`GET /api/clients`).
 *
 * PromptOps's SDKs open `/ws?token=...&client=node-sdk&namespace=prod[&app=...]` and, for each
 * JSON text frame with a `key` they have cached, re-fetch that prompt. Trellis pushes one frame
 * per committed change of the caller's organization, read from the organization's change
 * stream in the event log, so a frame is only ever sent for a change that committed, on every
 * server process. Frames carry the stream's `seq`: a client that reconnects with
 * `?since=<seq>` first receives everything it missed, then follows live. When some of that is
 * older than the event log keeps (retention), it first gets a `gap` frame telling it to
 * refetch what it caches, instead of silently missing changes.
 *
 * An open connection holds one of the principal's live-stream slots (the platform's
 * `RateLimiter`, the same count SSE streams use) until it closes; over the limit the upgrade
 * is refused with the same 429 problem (and `Retry-After`, `RateLimit-*` headers) as SSE.
 *
 * Live connections are registered in `prompts.clients` (and refreshed every 15 seconds while
 * open), so `GET /api/clients` lists those of every server process sharing the database; a
 * row whose process died disappears from the list 45 seconds after its last refresh.
 *
 * Connections that name a `namespace` (or `env`) get only that environment's changes; SDK
 * connections (`client` ending in `-sdk`) get only changes to what SDKs are served (in a
 * `live` workspace every save too; in a `published` one publish, rollback, rollout, delete,
 * not working-copy edits), so their `update` callbacks fire only when a re-fetch can give
 * something new.
 *
 * Only changes are sent unasked (PromptOps's console reloads its prompt list on every frame):
 * the `hello` frame comes only with `?hello=1`, a `pong` only answers a `ping`; a `gap` frame
 * (only after `?since=`) does mean that something changed.
 */
import { Context, Effect, Layer, Option, Schedule, Stream } from "effect"
import { HttpServerResponse } from "effect/http"
import type { HttpServerRequest } from "effect/http"
import { Socket } from "effect/socket"
import { SqlClient } from "effect/sql"
import { authorize, Credentials, EventLog, Lifecycle, Problems, RateLimiter, Row } from "trellis/plugin"
import { watchRequirement } from "./Api.ts"
import type { Denial, Resolved } from "trellis/plugin"
// Not (yet) re-exported by `trellis/plugin`.
import { Changes } from "./Streams.ts"

export interface ConnectionParams {
  readonly token?: string | undefined
  readonly client?: string | undefined
  readonly app?: string | undefined
  /** `1` / `true`: send the `hello` frame first. */
  readonly hello?: string | undefined
  readonly namespace?: string | undefined
  readonly env?: string | undefined
  readonly since?: string | undefined
}

/** A live connection, as `GET /api/clients` lists it. */
export interface Connection {
  readonly id: string
  readonly organizationId: string
  readonly client_type: string
  readonly app: string
  readonly namespace: string
  readonly remote_addr: string
  readonly user_agent: string
  readonly connected_at: string
  readonly principal_id: string
  delivered: number
  last_seq: number
}


interface ClientRow {
  readonly id: string
  readonly client_type: string
  readonly app: string
  readonly namespace: string
  readonly remote_addr: string
  readonly user_agent: string
  readonly principal_id: string
  readonly connected_at: Date | string
}

const clip = (value: string | undefined, max = 200): string => (value ?? "").slice(0, max)

export class HotReload extends Context.Service<HotReload, {
  /** Authenticates from `?token=` (or the bearer header), upgrades, and serves until the client leaves. */
  readonly serve: (
    request: HttpServerRequest.HttpServerRequest,
    params: ConnectionParams
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse, Problems.Unauthorized | Denial>
  /** The live connections of an organization on every server process, newest first. */
  readonly clients: (organizationId: string) => Effect.Effect<ReadonlyArray<Omit<Connection, "organizationId">>>
}>()("prompts/HotReload") {
  static readonly layer = Layer.effect(
    HotReload,
    Effect.gen(function*() {
      const credentials = yield* Credentials
      const events = yield* EventLog
      const lifecycle = yield* Lifecycle
      const limiter = yield* RateLimiter
      const sql = yield* SqlClient.SqlClient
      const connections = new Map<string, Connection>()

      // Registry writes never break a connection: a failure is logged and ignored.
      const bestEffort = <A, E>(what: string, effect: Effect.Effect<A, E>) =>
        effect.pipe(
          Effect.timeout("5 seconds"),
          Effect.asVoid,
          Effect.catchCause((cause) => Effect.logWarning(`prompts: could not ${what} the hot-reload client registry`, cause))
        )

      const register = (c: Connection) =>
        bestEffort("write", sql`INSERT INTO prompts.clients
            (id, organization_id, client_type, app, namespace, remote_addr, user_agent, principal_id, connected_at)
          VALUES (${c.id}, ${c.organizationId}, ${c.client_type}, ${c.app}, ${c.namespace}, ${c.remote_addr},
            ${c.user_agent}, ${c.principal_id}, ${c.connected_at}::timestamptz)`)

      const unregister = (id: string) => bestEffort("update", sql`DELETE FROM prompts.clients WHERE id = ${id}`)

      // Keeps this process's rows fresh; rows of a process that died expire from the list.
      const refresh = Effect.suspend(() => {
        const ids = [...connections.keys()]
        return ids.length === 0
          ? Effect.void
          : bestEffort("refresh", sql`UPDATE prompts.clients SET last_seen_at = now() WHERE ${sql.in("id", ids)}`)
      })
      yield* Effect.forkScoped(Effect.repeat(refresh, Schedule.spaced("15 seconds")))

      const authenticate = Effect.fnUntraced(function*(request: HttpServerRequest.HttpServerRequest, token: string | undefined) {
        const header = /^Bearer\s+(.+)$/i.exec(request.headers["authorization"] ?? "")
        const credential = token !== undefined && token !== "" ? token : header?.[1]?.trim()
        if (credential === undefined || credential === "") {
          return yield* new Problems.Unauthorized({ detail: "The hot-reload socket needs a token: /ws?token=<token>." })
        }
        const resolved = yield* credentials.resolve(credential).pipe(
          Effect.catch(() => Effect.succeed(Option.none<Resolved>()))
        )
        if (Option.isNone(resolved)) return yield* new Problems.Unauthorized({ detail: "The token is not valid." })
        const principal = resolved.value.principal
        yield* authorize(principal, watchRequirement)
        return principal
      })

      const serve = Effect.fn("HotReload.serve")(function*(
        request: HttpServerRequest.HttpServerRequest,
        params: ConnectionParams
      ) {
        const principal = yield* authenticate(request, params.token)
        const organizationId = principal.organizationId
        const changes = Changes.at(organizationId)
        const stream = changes.name
        const namespace = clip(params.namespace ?? params.env, 64)
        const clientType = clip(params.client, 64) || "unknown"
        const sdk = clientType.endsWith("-sdk")
        const requestedSince = params.since === undefined ? undefined : Number(params.since)

        const session = Effect.scoped(Effect.gen(function*() {
          // Where the stream is, read BEFORE the upgrade: the client takes the `101` as "I am
          // watching" and may save at once; a change committed after it must have a number
          // past `since`, or the connection would never push it.
          const current = yield* events.lastSeq(stream)
          const since = requestedSince !== undefined && Number.isFinite(requestedSince) && requestedSince >= 0
            ? Math.min(Math.floor(requestedSince), current)
            : current
          const socket = yield* request.upgrade
          const writer = yield* socket.writer
          const reader = yield* socket.reader
          const connection: Connection = {
            id: crypto.randomUUID(),
            organizationId,
            client_type: clientType,
            app: clip(params.app),
            namespace,
            remote_addr: Option.getOrElse(request.remoteAddress, () => ""),
            user_agent: clip(request.headers["user-agent"], 500),
            connected_at: new Date().toISOString(),
            principal_id: principal.id,
            delivered: 0,
            last_seq: since
          }
          connections.set(connection.id, connection)
          yield* register(connection)
          yield* Effect.addFinalizer(() =>
            Effect.sync(() => connections.delete(connection.id)).pipe(Effect.andThen(unregister(connection.id)))
          )

          // Only on request (`?hello=1`): PromptOps's console reloads its list on every frame,
          // so nothing but changes is sent unasked. It tells where the stream is.
          if (wantsHello(params.hello)) {
            yield* writer.write(JSON.stringify({ type: "hello", client_id: connection.id, seq: current, since }))
          }

          const push = changes.subscribeWithGaps(events, since).pipe(
            Stream.runForEach((delivery) => {
              if (delivery._tag === "Gap") {
                // Changes from..to are gone from the log: the client must refetch what it caches.
                connection.last_seq = delivery.to
                connection.delivered++
                return writer.write(JSON.stringify({ type: "gap", from: delivery.from, to: delivery.to, seq: delivery.to }))
              }
              const event = delivery.event
              const change = event.data
              connection.last_seq = event.seq
              if (namespace !== "" && change.env !== namespace) return Effect.void
              if (sdk && !change.served) return Effect.void
              connection.delivered++
              return writer.write(JSON.stringify({ ...change, seq: event.seq }))
            })
          )
          // Reads until the client closes; answers `{"type":"ping"}` with a pong.
          const listen = Effect.forever(Effect.flatMap(reader.pull, (frames) =>
            Effect.forEach(frames, (frame) => {
              const text = typeof frame === "string" ? frame : new TextDecoder().decode(frame)
              return text.includes("\"ping\"")
                ? writer.write(JSON.stringify({ type: "pong", seq: connection.last_seq }))
                : Effect.void
            }, { discard: true })))
          const shutdown = Effect.flatMap(
            lifecycle.shutdownStarted,
            () => writer.write(new Socket.CloseEvent(1001, "server shutting down"))
          )
          yield* Effect.raceAllFirst([push, listen, shutdown])
        }))

        // Rate limits as the authentication middleware applies them to SSE: the request budget,
        // then a stream slot held for the connection's whole life (released however it ends),
        // both checked before the upgrade so a refusal is a plain 429 problem response.
        const decision = yield* limiter.consume(principal, watchRequirement.limit)
        if (decision._tag === "Refused") return yield* decision.error.response
        return yield* Effect.acquireUseRelease(
          limiter.tryAcquireStream(principal),
          (slot) =>
            slot._tag === "Refused" ? slot.error.response : session.pipe(
              Effect.catchCause((cause) => Effect.logDebug("prompts: hot-reload connection ended", cause)),
              Effect.as(HttpServerResponse.empty())
            ),
          (slot) => slot._tag === "Acquired" ? slot.release : Effect.void
        )
      })

      const clients = (organizationId: string) =>
        sql<ClientRow>`SELECT id, client_type, app, namespace, remote_addr, user_agent, principal_id, connected_at
          FROM prompts.clients
          WHERE organization_id = ${organizationId} AND last_seen_at > now() - interval '45 seconds'
          ORDER BY connected_at DESC, id`.pipe(
          Effect.map((rows) =>
            rows.map((row) => {
              const local = connections.get(row.id)
              return {
                id: row.id,
                client_type: row.client_type,
                app: row.app,
                namespace: row.namespace,
                remote_addr: row.remote_addr,
                user_agent: row.user_agent,
                connected_at: Row.iso(row.connected_at),
                principal_id: row.principal_id,
                // Counters are known to the process that holds the connection.
                delivered: local?.delivered ?? 0,
                last_seq: local?.last_seq ?? 0
              }
            })
          ),
          Effect.orDie
        )

      return HotReload.of({ serve, clients })
    })
  )
}

const wantsHello = (value: string | undefined): boolean =>
  value !== undefined && ["1", "true", "yes"].includes(value.trim().toLowerCase())
