/**
 * Magic links over real HTTP, with real mail: the server sends through the platform's SMTP
 * mailer to a local SMTP sink, and each test reads its link from the message. Sending (who
 * gets a link, the redirect rule, the rate limit), verifying (cookie, redirect with the token
 * in the fragment, single use under a race, expiry: problems in Surflet's dialect), viewer
 * sign-out; OAuth without an app.
 */
import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Deferred, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import * as NodeCrypto from "node:crypto"
import * as TestKit from "trellis/testing"
import { RunsPlugin } from "../../runs/Plugin.ts"
import { PagesPlugin } from "../Plugin.ts"
import type { ViewerSessions } from "../ViewerSessions.ts"
import { insertPage, json, linkIn, smtpSink, viewerProbe } from "./peopleSupport.ts"

const sink = await smtpSink()
const sessions = Effect.runSync(Deferred.make<ViewerSessions["Service"]>())
const settings = ConfigProvider.layer(
  ConfigProvider.fromEnvRecord({ ...process.env, TRELLIS_MAGIC_LINKS_PER_CLIENT: "1000", TRELLIS_MAGIC_LINKS_PER_ADDRESS: "3" })
)

const unique = () => crypto.randomUUID().slice(0, 8)

const send = (body: Record<string, unknown>) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request("POST", "/v1/auth/magic-link/send", { body, token: null })
    return { status: response.status, headers: response.headers, body: yield* json<Record<string, unknown>>(response) }
  })

/** Sends a link and waits for its mail (SMTP delivery finishes before the answer). */
const linkFor = (email: string, pageId: string, redirectUrl?: string) =>
  Effect.gen(function*() {
    const sent = yield* send({ email, pageId, ...(redirectUrl === undefined ? {} : { redirectUrl }) })
    assert.strictEqual(sent.status, 200, JSON.stringify(sent.body))
    assert.deepStrictEqual(sent.body, { sent: true })
    const found = linkIn(sink, email)
    assert.isDefined(found, `no mail to ${email}`)
    return found!
  })

/** Opens a link as a browser would, without following the redirect. */
/** Opens a link as a client does, or with `browser` as a browser does (`Accept: text/html`). */
const open = (link: string, browser = false) =>
  Effect.promise(async () => {
    const response = await fetch(link, { redirect: "manual", headers: browser ? { accept: "text/html,application/xhtml+xml,*/*;q=0.8" } : {} })
    const cookies = response.headers.getSetCookie()
    return {
      status: response.status,
      location: response.headers.get("location") ?? "",
      contentType: response.headers.get("content-type") ?? "",
      setCookie: cookies.find((c) => c.startsWith("trellis_viewer=")),
      body: await response.text()
    }
  })

const newPage = (access: unknown, status = "active") =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const id = `pg_${unique()}abcd`
    const title = `Quarterly <review> ${unique()}`
    yield* insertPage(sql, { id, title, status, access })
    return { id, title }
  })

layer(
  TestKit.layer({
    plugins: [RunsPlugin, PagesPlugin, viewerProbe(sessions)],
    config: { smtpUrl: Redacted.make(`smtp://127.0.0.1:${sink.port}`), mailFrom: "pages@example.test" }
  }).pipe(Layer.provide(settings)),
  { timeout: 180_000 }
)((it) => {
  it.effect("a link mailed for an allowed address signs the browser in once, and leads to the page", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const page = yield* newPage({ mode: "authenticated", allowed_identities: [{ type: "email", value: "Ada@Example.test" }] })
      const { message, link } = yield* linkFor("ada@example.test", page.id)
      assert.include(message, `Subject: Your link to ${page.title}`)
      assert.isTrue(link.startsWith(`${kit.baseUrl}/v1/auth/magic-link/verify?token=ml_`))

      const opened = yield* open(link)
      assert.strictEqual(opened.status, 302)
      const match = new RegExp(`^${kit.baseUrl}/p/${page.id}#surflet_session=(pv_[A-Za-z0-9_-]+)$`).exec(opened.location)
      assert.isNotNull(match, opened.location)
      const cookie = opened.setCookie ?? ""
      assert.isTrue(cookie.startsWith(`trellis_viewer=${match![1]};`), cookie)
      assert.include(cookie, "HttpOnly")
      assert.include(cookie, "SameSite=Lax")
      assert.include(cookie, "Path=/")
      assert.notInclude(cookie, "Secure")

      const viewer = yield* kit.request("GET", "/test/viewer", { token: null, headers: { cookie: `trellis_viewer=${match![1]}` } })
      const who = yield* json<{ _tag: string; email: string }>(viewer)
      assert.deepStrictEqual([who._tag, who.email], ["Identity", "ada@example.test"])

      const again = yield* open(link)
      assert.strictEqual(again.status, 410)
      // A web route: a plain problem (type, code and the extension members at the top level).
      const problem = JSON.parse(again.body) as { type: string; code: string; reason: string }
      assert.include(problem.type, "magic-link-gone")
      assert.deepStrictEqual([problem.code, problem.reason], ["NOT_FOUND", "used"])
      assert.isUndefined(again.setCookie)
    }))

  it.effect("two racing clicks on one link: exactly one signs in", () =>
    Effect.gen(function*() {
      const page = yield* newPage({ mode: "public" })
      const { link } = yield* linkFor(`race-${unique()}@example.test`, page.id)
      const answers = yield* Effect.all([open(link), open(link), open(link)], { concurrency: "unbounded" })
      assert.deepStrictEqual(answers.map((a) => a.status).sort(), [302, 410, 410])
    }))

  it.effect("answers {sent:true} but sends nothing to an address that may not open the page", () =>
    Effect.gen(function*() {
      const restricted = yield* newPage({ mode: "authenticated", allowed_identities: [{ type: "domain", value: "allowed.test" }] })
      const privatePage = yield* newPage({ mode: "private" })
      const draft = yield* newPage({ mode: "public" }, "draft")
      const revoked = yield* newPage({ mode: "public" }, "revoked")
      const cases = [
        { email: `eve-${unique()}@other.test`, pageId: restricted.id },
        { email: `eve-${unique()}@allowed.test`, pageId: privatePage.id },
        { email: `eve-${unique()}@allowed.test`, pageId: draft.id },
        { email: `eve-${unique()}@allowed.test`, pageId: revoked.id },
        { email: `eve-${unique()}@allowed.test`, pageId: "pg_doesnotexist" }
      ]
      for (const body of cases) {
        const sent = yield* send(body)
        assert.strictEqual(sent.status, 200)
        assert.deepStrictEqual(sent.body, { sent: true })
        assert.isUndefined(linkIn(sink, body.email), `mail to ${body.email}`)
      }
      // The domain rule lets its own addresses in.
      yield* linkFor(`bob-${unique()}@allowed.test`, restricted.id)
    }))

  it.effect("redirectUrl must be this server's own page; a bad email is 400 naming it", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const page = yield* newPage({ mode: "public" })
      for (const redirectUrl of ["https://evil.test/p/x", "//evil.test/p/x", "/admin", "javascript:alert(1)", "/p/a/b", `${kit.baseUrl.replace("127.0.0.1", "localhost")}/p/x`]) {
        const refused = yield* send({ email: "a@example.test", pageId: page.id, redirectUrl })
        assert.strictEqual(refused.status, 400, redirectUrl)
        const error = refused.body.error as { code: string; details: { field: string } }
        assert.strictEqual(error.code, "INVALID_REQUEST")
        assert.strictEqual(error.details.field, "redirectUrl")
      }
      const badEmail = yield* send({ email: "not an email", pageId: page.id })
      assert.strictEqual(badEmail.status, 400)
      assert.strictEqual((badEmail.body.error as { details: { field: string } }).details.field, "email")
      const missing = yield* send({ pageId: page.id })
      assert.strictEqual(missing.status, 400)

      // An absolute URL of this server and a relative inbox path are fine.
      const absolute = yield* linkFor(`abs-${unique()}@example.test`, page.id, `${kit.baseUrl}/p/${page.id}?tab=files`)
      const toPage = yield* open(absolute.link)
      assert.isTrue(toPage.location.startsWith(`${kit.baseUrl}/p/${page.id}?tab=files#surflet_session=pv_`))
      const inbox = yield* linkFor(`inbox-${unique()}@example.test`, page.id, "/inbox")
      const toInbox = yield* open(inbox.link)
      assert.isTrue(toInbox.location.startsWith(`${kit.baseUrl}/inbox#surflet_session=pv_`))
    }))

  it.effect("a few links a minute per address, then 429 in Surflet's dialect with Retry-After", () =>
    Effect.gen(function*() {
      const page = yield* newPage({ mode: "public" })
      const email = `busy-${unique()}@example.test`
      for (let i = 0; i < 3; i++) assert.strictEqual((yield* send({ email, pageId: page.id })).status, 200)
      const refused = yield* send({ email: email.toUpperCase(), pageId: page.id })
      assert.strictEqual(refused.status, 429)
      assert.strictEqual((refused.body.error as { code: string }).code, "RATE_LIMITED")
      assert.match(refused.headers["retry-after"] ?? "", /^\d+$/)
    }))

  it.effect("an expired or unknown link answers a problem (a page to a browser) and signs nobody in", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const page = yield* newPage({ mode: "public" })
      const { link } = yield* linkFor(`late-${unique()}@example.test`, page.id)
      const token = new URL(link).searchParams.get("token")!
      const digest = NodeCrypto.createHash("sha256").update(token).digest("hex")
      yield* sql`UPDATE pages.magic_links SET expires_at = now() - interval '1 second' WHERE token_digest = ${digest}`
      const late = yield* open(link)
      assert.strictEqual(late.status, 410)
      assert.strictEqual((JSON.parse(late.body) as { reason: string }).reason, "expired")
      assert.isUndefined(late.setCookie)
      const unknown = yield* open(`${new URL(link).origin}/v1/auth/magic-link/verify?token=ml_nothing`)
      assert.strictEqual(unknown.status, 400)
      assert.include(unknown.body, "magic-link-invalid")
      const none = yield* open(`${new URL(link).origin}/v1/auth/magic-link/verify`)
      assert.strictEqual(none.status, 400)

      // A browser gets a page with the same status that says why, and is not signed in either.
      const lateInBrowser = yield* open(link, true)
      assert.strictEqual(lateInBrowser.status, 410)
      assert.match(lateInBrowser.contentType, /^text\/html/)
      assert.include(lateInBrowser.body, "This sign-in link has expired")
      assert.isUndefined(lateInBrowser.setCookie)
      const unknownInBrowser = yield* open(`${new URL(link).origin}/v1/auth/magic-link/verify?token=ml_nothing`, true)
      assert.strictEqual(unknownInBrowser.status, 400)
      assert.match(unknownInBrowser.contentType, /^text\/html/)
      assert.include(unknownInBrowser.body, "not one this server sent")
    }))

  it.effect("viewer sign-out revokes the session and clears the cookie", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const store = yield* Deferred.await(sessions)
      const session = yield* store.create("leaving@example.test")
      const out = yield* kit.request("POST", "/v1/auth/viewer/logout", { token: null, headers: { cookie: `trellis_viewer=${session.token}` } })
      assert.strictEqual(out.status, 204)
      assert.strictEqual(out.cookies.cookies["trellis_viewer"]?.value, "")
      const viewer = yield* kit.request("GET", "/test/viewer", { token: session.token })
      assert.strictEqual((yield* json<{ _tag: string }>(viewer))._tag, "Anonymous")
      // By bearer token too; nothing to end is still 204.
      const other = yield* store.create("leaving@example.test")
      assert.strictEqual((yield* kit.request("POST", "/v1/auth/viewer/logout", { token: other.token })).status, 204)
      assert.isFalse(yield* store.revoke(other.token))
      assert.strictEqual((yield* kit.request("POST", "/v1/auth/viewer/logout", { token: null })).status, 204)
    }))

  it.effect("OAuth with no app configured: 400 naming the variables to set", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      for (const provider of ["github", "google"]) {
        const response = yield* kit.request("POST", `/v1/auth/oauth/${provider}`, { token: null, body: {} })
        assert.strictEqual(response.status, 400)
        const body = yield* json<{ type: string; error: { code: string; details: { variables: Array<string> } } }>(response)
        assert.strictEqual(body.error.code, "INVALID_REQUEST")
        assert.include(body.type, "oauth-not-configured")
        assert.deepStrictEqual(body.error.details.variables, [`TRELLIS_OAUTH_${provider.toUpperCase()}_CLIENT_ID`, `TRELLIS_OAUTH_${provider.toUpperCase()}_CLIENT_SECRET`])
      }
    }))
})
