/**
 * The host's own index of every route it serves (plugin endpoints and host routes).
 *
 * Effect's router only answers "matched" or "not found". The host needs more answers: which
 * methods a path does have (to send 405 with `Allow` instead of 404), which route template a
 * request matched (a bounded label for metrics and access logs), and which wire dialect its
 * errors are written in (declared per API group, see `WireDialect`). A request that matches
 * no route takes the dialect of the longest dialect prefix (`/api/v1/`, `/v1/`, `/api/`)
 * declared by some group of the composition, so unknown routes under a seed's prefix still get
 * its envelope.
 */
import { FindMyWay } from "effect/http"
import type { Dialect } from "./WireDialect.ts"
import { platform } from "./WireDialect.ts"

const methods = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const

export interface RouteTable {
  /** The route template (`/api/things/:id`) the request matches, if any. */
  readonly templateOf: (method: string, url: string) => string | undefined
  /** The methods the path is served with; empty for an unknown path. */
  readonly methodsOf: (url: string) => ReadonlyArray<string>
  /** The wire dialect of the request's errors: its route's, else its path prefix's, else the platform's. */
  readonly dialectOf: (method: string, url: string) => Dialect
  /**
   * The route the request matches (template and dialect), if any: one lookup for both, so a
   * caller that needs the template anyway can derive the dialect with `dialectFor`.
   */
  readonly routeOf: (method: string, url: string) => RouteEntry | undefined
  /** `dialectOf` for a request whose `routeOf` answer is already known. */
  readonly dialectFor: (route: RouteEntry | undefined, url: string) => Dialect
}

export interface Route {
  readonly method: string
  readonly path: string
  readonly dialect?: Dialect | undefined
  readonly rawBody?: boolean | undefined
}

export interface RouteEntry {
  readonly template: string
  readonly dialect: Dialect
  /** The route reads and limits its own body (`WebRoute.rawBody`): no host body limit or hygiene scan. */
  readonly rawBody: boolean
}

type Entry = RouteEntry

export const make = (routes: ReadonlyArray<Route>): RouteTable => {
  const router = FindMyWay.make<Entry>({ ignoreTrailingSlash: true, ignoreDuplicateSlashes: true })
  const seen = new Set<string>()
  const prefixes = new Map<string, Dialect>()
  for (const route of routes) {
    const method = route.method.toUpperCase()
    const key = `${method} ${route.path}`
    const dialect = route.dialect ?? platform
    if (dialect.prefix !== undefined) prefixes.set(dialect.prefix, dialect)
    if (seen.has(key) || route.path === "*") continue
    seen.add(key)
    router.on(method as "GET", route.path as `/${string}`, { template: route.path, dialect, rawBody: route.rawBody === true })
  }
  // Longest first, so `/api/v1/` wins over `/api/`.
  const byPrefix = [...prefixes].sort(([a], [b]) => b.length - a.length)
  const find = (method: string, url: string) => router.find(method === "HEAD" ? "GET" : method, url)?.handler
  const dialectFor = (entry: Entry | undefined, url: string): Dialect => {
    if (entry !== undefined) return entry.dialect
    for (const m of methods) {
      const other = router.find(m, url)?.handler
      if (other !== undefined) return other.dialect
    }
    for (const [prefix, dialect] of byPrefix) {
      if (url.startsWith(prefix)) return dialect
    }
    return platform
  }
  return {
    templateOf: (method, url) => find(method, url)?.template,
    routeOf: find,
    dialectFor,
    methodsOf: (url) => {
      const found: Array<string> = methods.filter((m) => router.find(m, url) !== undefined)
      if (found.includes("GET")) found.push("HEAD")
      return found
    },
    dialectOf: (method, url) => dialectFor(find(method, url), url)
  }
}
