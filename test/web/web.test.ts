/**
 * Web routes over real HTTP: the example plugin's page and asset, each authentication mode
 * (session cookie with CSRF, `?token=`, HMAC-signed webhooks, public), collisions with API
 * routes, and what the host adds to every route (metrics label, 405, problem+json).
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as TestKit from "trellis/testing"
import { HelloPlugin } from "../../examples/hello-plugin/Plugin.ts"
import { compose } from "../../src/plugin/PluginHost.ts"
import { Plugin, WebRoute } from "../../src/plugin/index.ts"
import * as Signature from "../../src/web/Signature.ts"
import { alphaSecret, ProbePlugin } from "./fixture.ts"

const cookieOf = (setCookie: ReadonlyArray<string> | string | undefined, name: string): string => {
  const all = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie as string]
  for (const line of all) {
    const [pair] = line.split(";")
    const [key, value] = pair!.split("=", 2)
    if (key === name && value !== undefined) return value
  }
  throw new Error(`no ${name} cookie in ${JSON.stringify(all)}`)
}

/** Signs in as the first admin user: the session cookie and its CSRF token. */
const signIn = Effect.gen(function*() {
  const kit = yield* TestKit.TrellisTest
  const response = yield* kit.request("POST", "/api/login", { token: null, body: { username: "admin", password: TestKit.adminPassword } })
  assert.strictEqual(response.status, 200)
  // The client keeps one Set-Cookie header: the session token is also in the body.
  const setCookie = response.headers["set-cookie"] as ReadonlyArray<string> | string | undefined
  const body = (yield* response.json) as { token: string }
  return { session: body.token, csrf: cookieOf(setCookie, "trellis_csrf") }
})

const fetchRaw = (path: string, init?: RequestInit) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    return yield* Effect.promise(() => fetch(`${kit.baseUrl}${path}`, init))
  })

const jsonOf = (path: string) => Effect.flatMap(fetchRaw(path), (r) => Effect.promise(() => r.json() as Promise<unknown>))

describe("web routes", () => {
  layer(TestKit.layer({ plugins: [HelloPlugin, ProbePlugin] }), { timeout: 120_000 })((it) => {
    it.effect("the greetings page: HTML with escaped names for a signed-in browser, its own CSP", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        yield* kit.request("POST", "/api/hello/greetings", { body: { name: "<script>alert(1)</script>" } })
        const { session } = yield* signIn
        const response = yield* fetchRaw("/hello", { headers: { cookie: `trellis_session=${session}` } })
        assert.strictEqual(response.status, 200)
        assert.strictEqual(response.headers.get("content-type"), "text/html; charset=utf-8")
        assert.include(response.headers.get("content-security-policy") ?? "", "style-src 'self'")
        const body = yield* Effect.promise(() => response.text())
        assert.include(body, "Hello, &lt;script&gt;alert(1)&lt;/script&gt;!")
        assert.notInclude(body, "<script>alert(1)")
        assert.include(body, `<link rel="stylesheet" href="/hello/assets/viewer.css">`)
      }))

    it.effect("the page refuses a caller without credential with a 401 problem", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const response = yield* kit.request("GET", "/hello", { token: null })
        assert.strictEqual(response.status, 401)
        assert.strictEqual(response.headers["content-type"], "application/problem+json")
        const body = (yield* response.json) as { code: string }
        assert.strictEqual(body.code, "UNAUTHORIZED")
        // A bearer token works too; `?token=` does not on a cookie route.
        assert.strictEqual((yield* kit.request("GET", "/hello")).status, 200)
        assert.strictEqual((yield* kit.request("GET", `/hello?token=${kit.adminToken}`, { token: null })).status, 401)
      }))

    it.effect("the stylesheet: public, ETag, 304 when unchanged", () =>
      Effect.gen(function*() {
        const first = yield* fetchRaw("/hello/assets/viewer.css")
        assert.strictEqual(first.status, 200)
        assert.strictEqual(first.headers.get("content-type"), "text/css; charset=utf-8")
        assert.include(yield* Effect.promise(() => first.text()), "ul.greetings")
        const etag = first.headers.get("etag")
        assert.isString(etag)
        const again = yield* fetchRaw("/hello/assets/viewer.css", { headers: { "if-none-match": etag! } })
        assert.strictEqual(again.status, 304)
        const other = yield* fetchRaw("/hello/assets/viewer.css", { headers: { "if-none-match": "\"other\"" } })
        assert.strictEqual(other.status, 200)
      }))

    it.effect("web routes get the host's route handling: 405 with Allow, metrics by template", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const wrong = yield* kit.request("DELETE", "/hello/assets/viewer.css")
        assert.strictEqual(wrong.status, 405)
        assert.strictEqual(wrong.headers["content-type"], "application/problem+json")
        yield* kit.request("GET", "/hello")
        const metrics = yield* (yield* kit.request("GET", "/metrics")).text
        assert.match(metrics, /trellis_http_requests_total\{[^}]*route="\/hello"/)
        assert.match(metrics, /trellis_http_requests_total\{[^}]*route="\/probe\/hooks\/:source"|route="\/hello\/assets\/viewer.css"/)
      }))

    it.effect("cookie writes need the CSRF token; bearer writes do not", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const { csrf, session } = yield* signIn
        const cookie = `trellis_session=${session}`
        const without = yield* fetchRaw("/probe/cookie", { method: "POST", headers: { cookie } })
        assert.strictEqual(without.status, 403)
        assert.strictEqual(((yield* Effect.promise(() => without.json())) as { code: string }).code, "csrf_failed")
        const wrong = yield* fetchRaw("/probe/cookie", { method: "POST", headers: { cookie, "x-csrf-token": "nope" } })
        assert.strictEqual(wrong.status, 403)
        const right = yield* fetchRaw("/probe/cookie", { method: "POST", headers: { cookie, "x-csrf-token": csrf } })
        assert.strictEqual(right.status, 200)
        assert.strictEqual(((yield* Effect.promise(() => right.json())) as { kind: string }).kind, "user")
        assert.strictEqual((yield* kit.request("POST", "/probe/cookie")).status, 200)
      }))

    it.effect("?token= only where declared: a token-query route and an SSE endpoint", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const query = yield* fetchRaw(`/probe/query?token=${kit.adminToken}`)
        assert.strictEqual(query.status, 200)
        assert.strictEqual(((yield* Effect.promise(() => query.json())) as { kind: string }).kind, "admin-token")
        assert.strictEqual((yield* fetchRaw("/probe/query?token=wrong")).status, 401)
        assert.strictEqual((yield* fetchRaw(`/probe/cookie?token=${kit.adminToken}`)).status, 401)
        // HttpApi: the SSE endpoint declares AcceptsQueryToken; the list endpoint does not.
        const controller = new AbortController()
        const sse = yield* fetchRaw(`/api/hello/events?token=${kit.adminToken}`, { signal: controller.signal })
        assert.strictEqual(sse.status, 200)
        assert.strictEqual(sse.headers.get("content-type"), "text/event-stream")
        // The typed stream's events arrive in their JSON form.
        yield* kit.request("POST", "/api/hello/greetings", { body: { name: "streamed" } })
        const frame = yield* Effect.promise(async () => {
          const reader = sse.body!.getReader()
          const decoder = new TextDecoder()
          let text = ""
          while (!/event: greeting\.created\ndata: .*"streamed"/.test(text)) {
            const { done, value } = await reader.read()
            if (done) break
            text += decoder.decode(value)
          }
          return text
        })
        controller.abort()
        const data = /event: greeting\.created\ndata: (.*"streamed".*)\n/.exec(frame)?.[1]
        assert.isString(data)
        const greeting = JSON.parse(data!) as { name: string; message: string; createdAt: string }
        assert.strictEqual(greeting.message, "Hello, streamed!")
        assert.isString(greeting.createdAt)
        assert.strictEqual((yield* fetchRaw(`/api/hello/greetings?token=${kit.adminToken}`)).status, 401)
      }))

    it.effect("requires is enforced on web routes: scopes for service keys, none for admin routes", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const serviceKey = (scopes: ReadonlyArray<string>) =>
          Effect.gen(function*() {
            const response = yield* kit.request("POST", "/api/v1/orgs/org_default/service-keys", { body: { name: "web", scopes } })
            assert.strictEqual(response.status, 201)
            return ((yield* response.json) as { key: string }).key
          })
        const reader = yield* serviceKey(["hello:read"])
        const writer = yield* serviceKey(["hello:write"])
        assert.strictEqual((yield* kit.request("GET", "/hello", { token: reader })).status, 200)
        const noScope = yield* kit.request("GET", "/hello", { token: writer })
        assert.strictEqual(noScope.status, 403)
        assert.strictEqual(((yield* noScope.json) as { code: string }).code, "insufficient_scope")
        const admin = yield* kit.request("GET", "/probe/admin", { token: reader })
        assert.strictEqual(admin.status, 403)
        assert.strictEqual(((yield* admin.json) as { code: string }).code, "service_key_not_allowed")
        assert.strictEqual((yield* kit.request("GET", "/probe/admin")).status, 200)
        assert.strictEqual((yield* kit.request("GET", "/probe/admin", { token: null })).status, 401)
      }))

    it.effect("signed webhooks: a valid signature reaches the handler, anything else is a 401 that changes nothing", () =>
      Effect.gen(function*() {
        const body = JSON.stringify({ event: "ping", n: 1 })
        const now = Math.floor(Date.now() / 1000)
        const post = (path: string, signature: string | undefined, payload = body) =>
          fetchRaw(path, {
            method: "POST",
            headers: { "content-type": "application/json", ...(signature === undefined ? {} : { [Signature.header]: signature }) },
            body: payload
          })
        const refusedCases: ReadonlyArray<readonly [string, string | undefined, string?]> = [
          ["/probe/hooks/alpha", undefined],
          ["/probe/hooks/alpha", Signature.sign("wrong secret", body, now)],
          ["/probe/hooks/alpha", Signature.sign(alphaSecret, body, now), JSON.stringify({ event: "ping", n: 2 })],
          ["/probe/hooks/alpha", Signature.sign(alphaSecret, body, now - Signature.toleranceSeconds - 5)],
          ["/probe/hooks/alpha", "t=abc,v1=xyz"],
          ["/probe/hooks/beta", Signature.sign(alphaSecret, body, now)]
        ]
        for (const [path, signature, payload] of refusedCases) {
          const response = yield* post(path, signature, payload)
          assert.strictEqual(response.status, 401, `${path} ${signature}`)
          assert.strictEqual(response.headers.get("content-type"), "application/problem+json")
        }
        assert.deepStrictEqual(yield* jsonOf("/probe/received"), { bodies: [] })
        const ok = yield* post("/probe/hooks/alpha", Signature.sign(alphaSecret, body, now))
        assert.strictEqual(ok.status, 204)
        assert.deepStrictEqual(yield* jsonOf("/probe/received"), { bodies: [body] })
      }))

    it.effect("a web route that collides with an API route (or another web route) is refused at composition", () =>
      Effect.gen(function*() {
        const clash = Plugin.make({
          id: "clash",
          version: "1.0.0",
          description: "collides",
          groups: [],
          migrations: [],
          web: { routes: [WebRoute.get("/api/hello/greetings", Effect.die("never"), { auth: "public", reason: "test" })] },
          layer: HelloPlugin.layer
        })
        // Composed alone, without the platform's plugins that HelloPlugin `requires`.
        const hello = { ...HelloPlugin, requires: [] }
        const exit = yield* Effect.exit(compose([hello, clash], { platformProblems: [], platformOwner: "platform" }))
        assert.isTrue(Exit.isFailure(exit))
        assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "/api/hello/greetings")
        const twice = yield* Effect.exit(compose([ProbePlugin, { ...ProbePlugin, id: "webprobe2" }], { platformProblems: [], platformOwner: "platform" }))
        assert.isTrue(Exit.isFailure(twice))
        // A third-party plugin's malformed route is refused too (the types stop first-party ones).
        const malformed = { ...clash, id: "malformed", web: { routes: [{ ...clash.web!.routes[0]!, path: "/x?y=1" as const }] } }
        const bad = yield* Effect.exit(compose([malformed], { platformProblems: [], platformOwner: "platform" }))
        assert.isTrue(Exit.isFailure(bad))
        assert.include(String(Exit.isFailure(bad) ? bad.cause : ""), "declares the web route \"GET /x?y=1\"")
      }))
  })
})
