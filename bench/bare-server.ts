/**
 * The baseline for `bench/http.ts`: a bare `node:http` server, run as its own child process so
 * its CPU and RSS are measured apart from the load generator. It answers `GET /api/plugins` with
 * a body and headers handed over by the benchmark (copied from Trellis), after checking the
 * bearer token the way a server should (fixed-length digests, constant-time compare), so the
 * comparison is "an authenticated GET" on both sides.
 *
 * Input (environment): BENCH_BARE_TOKEN, BENCH_BARE_BODY, BENCH_BARE_CONTENT_TYPE,
 * BENCH_BARE_HEADERS (a JSON object of extra static response headers).
 * Output: one line `{"port":<n>}` on stdout once listening on 127.0.0.1.
 */
import { createHash, randomUUID, timingSafeEqual } from "node:crypto"
import { createServer } from "node:http"

const required = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === "") {
    process.stderr.write(`bare-server: ${name} is not set\n`)
    process.exit(2)
  }
  return value
}

const digest = (value: string): Buffer => createHash("sha256").update(value).digest()

const expected = digest(`Bearer ${required("BENCH_BARE_TOKEN")}`)
const body = Buffer.from(required("BENCH_BARE_BODY"))
const contentType = required("BENCH_BARE_CONTENT_TYPE")
const extraHeaders: Record<string, string> = {}
const parsed: unknown = JSON.parse(process.env.BENCH_BARE_HEADERS ?? "{}")
if (typeof parsed === "object" && parsed !== null) {
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value === "string") extraHeaders[key] = value
  }
}

const problem = (status: number, code: string, title: string): Buffer =>
  Buffer.from(JSON.stringify({ type: `urn:bench:problem:${code.toLowerCase()}`, title, status, code }))
const unauthorized = problem(401, "UNAUTHORIZED", "Unauthorized")
const notFound = problem(404, "NOT_FOUND", "Not Found")

const server = createServer((req, res) => {
  for (const [key, value] of Object.entries(extraHeaders)) res.setHeader(key, value)
  res.setHeader("x-request-id", randomUUID())
  const path = (req.url ?? "/").split("?", 1)[0]
  if (req.method !== "GET" || (path !== "/api/plugins" && !path.startsWith("/api/sdk/prompts/"))) {
    res.writeHead(404, { "content-type": "application/problem+json", "content-length": notFound.length })
    res.end(notFound)
    return
  }
  const authorization = req.headers.authorization
  if (authorization === undefined || !timingSafeEqual(digest(authorization), expected)) {
    res.writeHead(401, { "content-type": "application/problem+json", "content-length": unauthorized.length })
    res.end(unauthorized)
    return
  }
  res.writeHead(200, { "content-type": contentType, "content-length": body.length })
  res.end(body)
})

server.listen(0, "127.0.0.1", () => {
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("bare-server: no TCP address")
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`)
})

const stop = (): void => {
  server.close(() => process.exit(0))
  server.closeAllConnections()
}
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
