/**
 * The claim page over real HTTP, as a browser without script uses it: `GET /claim` offers a
 * sign-in form to someone not signed in; signing in there sets the session cookies; the claim
 * form carries the session's CSRF token (a POST without it is refused); a good code claims the
 * agent's organization, a bad or used one is shown on the page (every answer is the page, 200).
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"

const post = (url: string, form: Record<string, string>, cookie?: string) =>
  Effect.promise(async () => {
    const response = await fetch(url, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", ...(cookie === undefined ? {} : { cookie }) },
      body: new URLSearchParams(form).toString()
    })
    return { status: response.status, headers: response.headers, body: await response.text() }
  })

const get = (url: string, cookie?: string) =>
  Effect.promise(async () => {
    const response = await fetch(url, { headers: cookie === undefined ? {} : { cookie } })
    return { status: response.status, headers: response.headers, body: await response.text() }
  })

layer(TestKit.layer({ plugins: [] }), { timeout: 180_000 })((it) => {
  it.effect("a person signs in on the claim page and claims an agent's organization once", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const registered = yield* kit.request("POST", "/v1/auth/agent/register", { token: null, body: { name: "helper-agent", owner_email: "owner@example.test" } })
      assert.strictEqual(registered.status, 201)
      const { claimCode, claimUrl } = (yield* registered.json) as { claimCode: string; claimUrl: string }
      assert.strictEqual(claimUrl, `${kit.baseUrl}/claim`)

      const anonymous = yield* get(claimUrl)
      assert.strictEqual(anonymous.status, 200)
      assert.include(anonymous.body, `action="/claim/sign-in"`)
      assert.include(anonymous.headers.get("content-security-policy") ?? "", "default-src 'none'")

      const name = `claimer-${crypto.randomUUID().slice(0, 8)}`
      const password = "correct horse battery staple"
      const created = yield* kit.request("POST", "/api/users", { body: { username: name, password, email: `${name}@example.test`, role: "editor" } })
      assert.strictEqual(created.status, 201)

      const wrong = yield* post(`${kit.baseUrl}/claim/sign-in`, { username: name, password: "nope nope nope nope" })
      // Errors come back as the page with the reason on it (200: a person at a form).
      assert.strictEqual(wrong.status, 200)
      assert.include(wrong.body, `role="alert"`)
      assert.include(wrong.body, "wrong")

      const signedIn = yield* post(`${kit.baseUrl}/claim/sign-in`, { username: name, password })
      assert.strictEqual(signedIn.status, 303)
      assert.strictEqual(signedIn.headers.get("location"), "/claim")
      const cookies = signedIn.headers.getSetCookie().map((c) => c.split(";")[0]!)
      const csrf = cookies.find((c) => c.startsWith("trellis_csrf="))!.slice("trellis_csrf=".length)
      const cookie = cookies.join("; ")

      const formPage = yield* get(claimUrl, cookie)
      assert.include(formPage.body, `name="csrf_token" value="${csrf}"`)

      const forged = yield* post(claimUrl, { claimCode }, cookie)
      assert.include(forged.body, "This form has expired")
      const bad = yield* post(claimUrl, { claimCode: "SURF-NOPE", csrf_token: csrf }, cookie)
      assert.include(bad.body, "role=\"alert\"")

      const claimed = yield* post(claimUrl, { claimCode: claimCode.toLowerCase(), csrf_token: csrf }, cookie)
      assert.strictEqual(claimed.status, 200, claimed.body)
      assert.include(claimed.body, "Claimed")
      assert.include(claimed.body, "helper-agent")

      const again = yield* post(claimUrl, { claimCode, csrf_token: csrf }, cookie)
      assert.include(again.body, "already used")

      const noSession = yield* post(claimUrl, { claimCode, csrf_token: csrf })
      assert.include(noSession.body, `action="/claim/sign-in"`)
      assert.notInclude(noSession.body, "Claimed")
    }))
})
