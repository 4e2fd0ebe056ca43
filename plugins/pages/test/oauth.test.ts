/**
 * OAuth sign-in against a local fake provider (node:http on 127.0.0.1, reached through the
 * platform's outbound client with `TRELLIS_OAUTH_ALLOW_PRIVATE`): the authorize URL and its
 * stored state, the code exchange, the verified address, the viewer session, and a replayed
 * or unknown state.
 */
import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import * as NodeHttp from "node:http"
import type * as NodeNet from "node:net"
import * as TestKit from "trellis/testing"
import { RunsPlugin } from "../../runs/Plugin.ts"
import { PagesPlugin } from "../Plugin.ts"

const calls: Array<string> = []
const fake = NodeHttp.createServer((request, response) => {
  let body = ""
  request.on("data", (chunk) => (body += chunk))
  request.on("end", () => {
    calls.push(`${request.method} ${request.url} ${body}`)
    const json = (value: unknown) => {
      response.writeHead(200, { "content-type": "application/json" })
      response.end(JSON.stringify(value))
    }
    if (request.url === "/login/oauth/access_token" || request.url === "/google/token") {
      const code = new URLSearchParams(body).get("code")
      if (code !== "good-code") {
        response.writeHead(400)
        response.end("{}")
        return
      }
      return json({ access_token: "provider-token", token_type: "bearer" })
    }
    if (request.headers["authorization"] !== "Bearer provider-token") {
      response.writeHead(401)
      response.end("{}")
      return
    }
    if (request.url === "/api/user/emails") {
      return json([
        { email: "Old@Example.test", primary: false, verified: true },
        { email: "Octo@Example.test", primary: true, verified: true }
      ])
    }
    if (request.url === "/google/userinfo") return json({ email: "g@example.test", email_verified: true })
    response.writeHead(404)
    response.end()
  })
})
await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve))
const base = `http://127.0.0.1:${(fake.address() as NodeNet.AddressInfo).port}`

const settings = ConfigProvider.layer(ConfigProvider.fromEnvRecord({
  ...process.env,
  TRELLIS_OAUTH_GITHUB_CLIENT_ID: "gh-client",
  TRELLIS_OAUTH_GITHUB_CLIENT_SECRET: "gh-secret",
  TRELLIS_OAUTH_GITHUB_URL: base,
  TRELLIS_OAUTH_GITHUB_API_URL: `${base}/api`,
  TRELLIS_OAUTH_GOOGLE_CLIENT_ID: "g-client",
  TRELLIS_OAUTH_GOOGLE_CLIENT_SECRET: "g-secret",
  TRELLIS_OAUTH_GOOGLE_AUTHORIZE_URL: `${base}/google/auth`,
  TRELLIS_OAUTH_GOOGLE_TOKEN_URL: `${base}/google/token`,
  TRELLIS_OAUTH_GOOGLE_USERINFO_URL: `${base}/google/userinfo`,
  TRELLIS_OAUTH_ALLOW_PRIVATE: "true"
}))

/** Opens a URL as a client does, or with `browser` as a browser does (`Accept: text/html`). */
const open = (url: string, browser = false) =>
  Effect.promise(async () => {
    const response = await fetch(url, { redirect: "manual", headers: browser ? { accept: "text/html,*/*;q=0.8" } : {} })
    return {
      status: response.status,
      contentType: response.headers.get("content-type") ?? "",
      location: response.headers.get("location") ?? "",
      setCookie: response.headers.getSetCookie().find((c) => c.startsWith("trellis_viewer=")),
      body: await response.text()
    }
  })

const start = (provider: string, body: unknown) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request("POST", `/v1/auth/oauth/${provider}`, { token: null, body })
    assert.strictEqual(response.status, 200)
    return new URL(((yield* response.json) as { url: string }).url)
  })

layer(TestKit.layer({ plugins: [RunsPlugin, PagesPlugin] }).pipe(Layer.provide(settings)), { timeout: 180_000 })((it) => {
  it.effect("GitHub: authorize URL, callback with the code, a viewer session for the primary verified address", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const url = yield* start("github", { redirectUrl: "/p/pg_abcdefabcdef" })
      assert.strictEqual(`${url.origin}${url.pathname}`, `${base}/login/oauth/authorize`)
      assert.strictEqual(url.searchParams.get("client_id"), "gh-client")
      assert.strictEqual(url.searchParams.get("redirect_uri"), `${kit.baseUrl}/v1/auth/oauth/github/callback`)
      assert.strictEqual(url.searchParams.get("scope"), "user:email")
      const state = url.searchParams.get("state")!
      assert.isTrue(state.length >= 40)

      const callback = `${kit.baseUrl}/v1/auth/oauth/github/callback?code=good-code&state=${encodeURIComponent(state)}`
      const done = yield* open(callback)
      assert.strictEqual(done.status, 302, done.body)
      const match = new RegExp(`^${kit.baseUrl}/p/pg_abcdefabcdef#surflet_session=(pv_[A-Za-z0-9_-]+)$`).exec(done.location)
      assert.isNotNull(match, done.location)
      assert.isTrue(done.setCookie?.startsWith(`trellis_viewer=${match![1]};`))
      assert.isTrue(calls.some((c) => c.startsWith("POST /login/oauth/access_token") && c.includes("client_secret=gh-secret")))

      // The state is single use: the same callback again signs nobody in.
      const replay = yield* open(callback)
      assert.strictEqual(replay.status, 400)
      assert.include(replay.body, "oauth-sign-in-failed")
      assert.isUndefined(replay.setCookie)
    }))

  it.effect("Google: the verified userinfo address; a bad code is 502 and an unknown state 400 (a page to a browser)", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const url = yield* start("google", {})
      assert.strictEqual(url.searchParams.get("response_type"), "code")
      const state = url.searchParams.get("state")!
      const done = yield* open(`${kit.baseUrl}/v1/auth/oauth/google/callback?code=good-code&state=${encodeURIComponent(state)}`)
      assert.strictEqual(done.status, 302, done.body)
      assert.isTrue(done.location.startsWith(`${kit.baseUrl}/inbox#surflet_session=pv_`))

      const other = yield* start("google", {})
      const refused = yield* open(`${kit.baseUrl}/v1/auth/oauth/google/callback?code=bad-code&state=${encodeURIComponent(other.searchParams.get("state")!)}`)
      assert.strictEqual(refused.status, 502)
      const unknown = yield* open(`${kit.baseUrl}/v1/auth/oauth/google/callback?code=good-code&state=nothing`)
      assert.strictEqual(unknown.status, 400)
      assert.include(unknown.body, "oauth-sign-in-failed")
      // The browser the provider sends back gets a page that says so, with the same status.
      const unknownInBrowser = yield* open(`${kit.baseUrl}/v1/auth/oauth/google/callback?code=good-code&state=nothing`, true)
      assert.strictEqual(unknownInBrowser.status, 400)
      assert.match(unknownInBrowser.contentType, /^text\/html/)
      assert.include(unknownInBrowser.body, "Sign-in did not work")
      assert.isUndefined(unknownInBrowser.setCookie)
      const badRedirect = yield* kit.request("POST", "/v1/auth/oauth/google", { token: null, body: { redirectUrl: "https://evil.test/p/x" } })
      assert.strictEqual(badRedirect.status, 400)
    }))
})
