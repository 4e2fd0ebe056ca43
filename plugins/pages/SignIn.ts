/**
 * What the two ways a person signs in (magic links, OAuth) share: where they may be sent
 * afterwards (only this server's own pages: an open redirect would make our links phishing
 * tools), the server's origin for the links, the answer that signs the browser in (viewer
 * cookie, 302, the token in the URL fragment for script clients), and small in-memory rate
 * windows.
 */
import { Effect } from "effect"
import { HttpServerResponse } from "effect/http"
import type { HttpServerRequest } from "effect/http"
import { InvalidPage } from "./Errors.ts"
import type { CreatedViewerSession } from "./ViewerSessions.ts"
import { viewerSessionTtlSeconds } from "./ViewerSessions.ts"
import { viewerCookie } from "./Viewers.ts"

/** The server's public origin: `TRELLIS_PUBLIC_URL` when set, else the request's own. */
export const originOf = (request: HttpServerRequest.HttpServerRequest, publicUrl: string | undefined): string => {
  if (publicUrl !== undefined) return new URL(publicUrl).origin
  const host = request.headers["host"] ?? "localhost"
  return `http://${host}`
}

/** Where a page leads: `/p/<id>`, or the inbox when there is no page. */
export const defaultRedirect = (pageId: string | null): string =>
  pageId === null ? "/inbox" : `/p/${encodeURIComponent(pageId)}`

/**
 * The path (with its query) a sign-in may lead to: a relative path or an absolute URL of
 * `origin`, to `/p/...` or `/inbox`. Anything else (another origin, `//host`, another path) is
 * 400 naming `redirectUrl`.
 */
export const checkRedirect = (raw: string | null | undefined, origin: string, pageId: string | null): Effect.Effect<string, InvalidPage> => {
  if (raw === null || raw === undefined || raw.trim() === "") return Effect.succeed(defaultRedirect(pageId))
  const refused = new InvalidPage({
    field: "redirectUrl",
    constraint: "a page of this server: a path (or an absolute URL of this server) to /p/<id> or /inbox",
    detail: `redirectUrl must be a page of this server (${origin}/p/<id> or ${origin}/inbox).`
  })
  const text = raw.trim()
  if (/[\u0000-\u001f\\]/.test(text)) return Effect.fail(refused)
  if (!text.startsWith("/") && !/^https?:\/\//i.test(text)) return Effect.fail(refused)
  let url: URL
  try {
    url = new URL(text, origin)
  } catch {
    return Effect.fail(refused)
  }
  if (url.origin !== origin) return Effect.fail(refused)
  const path = url.pathname
  if (!(/^\/p\/[^/]+$/.test(path) || path === "/inbox")) return Effect.fail(refused)
  return Effect.succeed(path + url.search)
}

/** A plausible email address (the mail relay has the last word), lowercased. */
export const checkEmail = (raw: string): Effect.Effect<string, InvalidPage> => {
  const email = raw.trim().toLowerCase()
  return email.length <= 254 && /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/.test(email)
    ? Effect.succeed(email)
    : Effect.fail(new InvalidPage({ field: "email", constraint: "an email address", detail: "email must be an email address." }))
}

/**
 * The browser is signed in: the viewer cookie (HttpOnly, SameSite=Lax, Secure over https), and
 * 302 to the redirect with the token in the fragment (`#surflet_session=`), which never reaches
 * a server or a Referer.
 */
export const signedIn = (session: CreatedViewerSession, origin: string, redirect: string): HttpServerResponse.HttpServerResponse => {
  const secure = origin.startsWith("https:")
  const response = HttpServerResponse.empty({
    status: 302,
    headers: {
      location: `${origin}${redirect}#surflet_session=${encodeURIComponent(session.token)}`,
      "cache-control": "no-store",
      "referrer-policy": "no-referrer"
    }
  })
  return HttpServerResponse.setCookieUnsafe(response, viewerCookie, session.token, {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure,
    maxAge: `${viewerSessionTtlSeconds} seconds`
  })
}

/** Clears the viewer cookie. */
export const clearViewerCookie = (response: HttpServerResponse.HttpServerResponse, origin: string) =>
  HttpServerResponse.setCookieUnsafe(response, viewerCookie, "", {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure: origin.startsWith("https:"),
    maxAge: 0
  })

/**
 * Fixed windows of `limit` events per `windowMs` per key, in this process's memory (a restart
 * forgets them; several processes each count: as the platform's own limits).
 */
export const windows = (limit: number, windowMs: number) => {
  const counts = new Map<string, { count: number; resetAt: number }>()
  return {
    /** Spends one; the seconds to wait when the budget is spent. */
    take: (key: string, now: number): number | undefined => {
      if (counts.size > 10_000) for (const [k, w] of counts) if (w.resetAt <= now) counts.delete(k)
      const window = counts.get(key)
      if (window === undefined || window.resetAt <= now) {
        counts.set(key, { count: 1, resetAt: now + windowMs })
        return undefined
      }
      if (window.count >= limit) return Math.max(1, Math.ceil((window.resetAt - now) / 1000))
      window.count++
      return undefined
    }
  }
}
