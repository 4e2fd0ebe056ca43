/**
 * The host's own index of every route it serves (plugin endpoints and host routes).
 *
 * Effect's router only answers "matched" or "not found". The host needs two more answers:
 * which methods a path does have (to send 405 with `Allow` instead of 404), and which route
 * template a request matched (a bounded label for metrics and access logs).
 */
import { FindMyWay } from "effect/http"

const methods = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const

export interface RouteTable {
  /** The route template (`/api/things/:id`) the request matches, if any. */
  readonly templateOf: (method: string, url: string) => string | undefined
  /** The methods the path is served with; empty for an unknown path. */
  readonly methodsOf: (url: string) => ReadonlyArray<string>
}

export const make = (routes: ReadonlyArray<{ readonly method: string; readonly path: string }>): RouteTable => {
  const router = FindMyWay.make<string>({ ignoreTrailingSlash: true, ignoreDuplicateSlashes: true })
  const seen = new Set<string>()
  for (const route of routes) {
    const method = route.method.toUpperCase()
    const key = `${method} ${route.path}`
    if (seen.has(key) || route.path === "*") continue
    seen.add(key)
    router.on(method as "GET", route.path as `/${string}`, route.path)
  }
  return {
    templateOf: (method, url) => router.find(method === "HEAD" ? "GET" : method, url)?.handler,
    methodsOf: (url) => {
      const found: Array<string> = methods.filter((m) => router.find(m, url) !== undefined)
      if (found.includes("GET")) found.push("HEAD")
      return found
    }
  }
}
