/**
 * The `Viewers` implementation, and the store of viewer sessions behind it.
 *
 * A viewer session is what a person gets for proving an email address (a magic link, an
 * OAuth sign-in): a `pv_` token (32 random bytes, base64url) kept by the browser in the
 * `trellis_viewer` cookie, or by a script as a bearer token. Only its SHA-256 digest is stored;
 * it lasts 7 days unless revoked (sign-out).
 *
 * The viewer of a request, in order: a bearer token (`pv_` → viewer session, else the
 * platform's `Credentials`), the platform session cookie `trellis_session`, then the viewer
 * cookie. A member gets their user's email address (the platform's `Directory`), so pages
 * shared with an email identity open for members too. Anything expired, revoked or unknown is
 * `Anonymous`.
 */
import { Context, Effect, Layer, Option } from "effect"
import { HttpServerRequest } from "effect/http"
import { SqlClient } from "effect/sql"
import { createHash, randomBytes } from "node:crypto"
import { Credentials, Directory } from "trellis/plugin"
import type { Principal } from "trellis/contract"
import { viewerCookie, Viewers } from "./Viewers.ts"
import type { Viewer } from "./Viewers.ts"

/** Viewer-session tokens start with this, so a bearer token is routed without a lookup elsewhere. */
export const viewerTokenPrefix = "pv_"

/** How long a viewer session lasts. */
export const viewerSessionTtlSeconds = 7 * 24 * 60 * 60

export interface CreatedViewerSession {
  readonly id: string
  /** The secret, shown once (cookie, URL fragment). */
  readonly token: string
  readonly email: string
  readonly expiresAt: Date
}

export const tokenDigest = (token: string): string => createHash("sha256").update(token).digest("hex")

const normalizeEmail = (email: string): string => email.trim().toLowerCase()

/** The viewer-session store: sign-in (magic links, OAuth) creates, sign-out revokes. */
export class ViewerSessions extends Context.Service<ViewerSessions, {
  /** A new session for a proven address (joins the caller's transaction). */
  readonly create: (email: string) => Effect.Effect<CreatedViewerSession>
  /** Ends the session of `token` (no-op when unknown); whether one was live. */
  readonly revoke: (token: string) => Effect.Effect<boolean>
  /** The live session of `token`, if any. */
  readonly resolve: (token: string) => Effect.Effect<Option.Option<{ readonly id: string; readonly email: string }>>
}>()("pages/ViewerSessions") {}

const anonymous: Viewer = { _tag: "Anonymous" }

const store = Layer.effect(
  ViewerSessions,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const create = (email: string) =>
      Effect.gen(function*() {
        const id = `vs_${randomBytes(12).toString("hex")}`
        const token = viewerTokenPrefix + randomBytes(32).toString("base64url")
        const expiresAt = new Date(Date.now() + viewerSessionTtlSeconds * 1000)
        const address = normalizeEmail(email)
        yield* sql`
          INSERT INTO pages.viewer_sessions (id, token_digest, email, expires_at)
          VALUES (${id}, ${tokenDigest(token)}, ${address}, ${expiresAt})`
        return { id, token, email: address, expiresAt }
      }).pipe(Effect.orDie)

    const revoke = (token: string) =>
      sql<{ readonly id: string }>`
        UPDATE pages.viewer_sessions SET revoked_at = now()
        WHERE token_digest = ${tokenDigest(token)} AND revoked_at IS NULL
        RETURNING id`.pipe(Effect.map((rows) => rows.length > 0), Effect.orDie)

    const resolve = (token: string) =>
      Effect.gen(function*() {
        if (!token.startsWith(viewerTokenPrefix)) return Option.none()
        const rows = yield* sql<{ readonly id: string; readonly email: string; readonly stale: boolean }>`
          SELECT id, email,
            (last_seen_at IS NULL OR last_seen_at < now() - interval '1 minute') AS stale
          FROM pages.viewer_sessions
          WHERE token_digest = ${tokenDigest(token)} AND revoked_at IS NULL AND expires_at > now()`
        const row = rows[0]
        if (row === undefined) return Option.none()
        // The last-seen mark is written at most once a minute: a page's stream reconnects often.
        if (row.stale) yield* sql`UPDATE pages.viewer_sessions SET last_seen_at = now() WHERE id = ${row.id}`
        return Option.some({ id: row.id, email: row.email })
      }).pipe(Effect.orDie)

    return ViewerSessions.of({ create, revoke, resolve })
  })
)

const viewers = Layer.effect(
  Viewers,
  Effect.gen(function*() {
    const credentials = yield* Credentials
    const directory = yield* Directory
    const sessions = yield* ViewerSessions

    const member = (principal: Principal): Effect.Effect<Viewer> =>
      principal.userId === null
        ? Effect.succeed({ _tag: "Member", principal, email: null })
        : Effect.map(directory.emailOf(principal.userId), (email): Viewer => ({
          _tag: "Member",
          principal,
          email: Option.getOrNull(email)
        }))

    const ofViewerToken = (token: string): Effect.Effect<Viewer> =>
      Effect.map(sessions.resolve(token), Option.match({
        onNone: (): Viewer => anonymous,
        onSome: (session): Viewer => ({ _tag: "Identity", email: session.email, sessionId: session.id })
      }))

    const ofCredential = (token: string): Effect.Effect<Viewer> =>
      credentials.resolve(token).pipe(
        Effect.flatMap(Option.match({
          onNone: () => Effect.succeed(anonymous),
          onSome: (resolved) => member(resolved.principal)
        })),
        Effect.orElseSucceed(() => anonymous)
      )

    const ofToken = (token: string): Effect.Effect<Viewer> => {
      const trimmed = token.trim()
      if (trimmed === "") return Effect.succeed(anonymous)
      return trimmed.startsWith(viewerTokenPrefix) ? ofViewerToken(trimmed) : ofCredential(trimmed)
    }

    const current = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const bearer = /^Bearer\s+(.+)$/i.exec(request.headers["authorization"] ?? "")
      if (bearer !== null) return yield* ofToken(bearer[1]!)
      const session = request.cookies["trellis_session"] ?? ""
      if (session !== "") {
        const viewer = yield* ofCredential(session)
        if (viewer._tag !== "Anonymous") return viewer
      }
      return yield* ofViewerToken(request.cookies[viewerCookie] ?? "")
    })

    return Viewers.of({ current, ofToken })
  })
)

/** `Viewers` and `ViewerSessions` (the plugin's other parts sign people in and out with the latter). */
export const layer = viewers.pipe(Layer.provideMerge(store))
