/**
 * The viewer over plain HTTP (no JavaScript): `GET /p/:id` renders every block type with
 * untrusted markdown neutralised and the strict Content-Security-Policy; the forms post
 * URL-encoded or multipart bodies and answer 303 back to the page; a form without the CSRF
 * field (or with another browser's) is refused and changes nothing; revoked, draft, unknown and
 * login-required pages answer their own page and status; `/inbox` asks anonymous people to sign in.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "../../../src/testing/TestKit.ts"
import { RunsPlugin } from "../../runs/Plugin.ts"
import { PagesPlugin } from "../Plugin.ts"
import { blockTypes } from "../Domain.ts"
import { browserLike, csrfOf, everyBlock, pageInput } from "./viewerFixture.ts"

const publish = (input: Record<string, unknown>, path = "/v1/publish") =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request("POST", path, { body: input })
    const body = (yield* response.json) as { pageId: string }
    assert.strictEqual(response.status, 201, JSON.stringify(body))
    return body.pageId
  })


layer(TestKit.layer({ plugins: [RunsPlugin, PagesPlugin] }), { timeout: 120_000 })("pages viewer (HTTP)", (it) => {
  it.effect("renders every block type, neutralises hostile markdown, under the strict CSP", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const id = yield* publish(pageInput())
      const browser = browserLike(kit.baseUrl)
      const page = yield* browser.get(`/p/${id}`)
      assert.strictEqual(page.status, 200)
      assert.match(page.headers.get("content-type") ?? "", /^text\/html/)
      const csp = page.headers.get("content-security-policy") ?? ""
      assert.include(csp, "script-src 'self'")
      assert.notInclude(csp, "unsafe-inline")
      assert.isTrue(browser.jar.has("trellis_vid"), "the visitor cookie is set")
      assert.match(page.headers.get("set-cookie") ?? "", /HttpOnly; SameSite=Lax/)
      // Every type the viewer renders: a new one fails here until `everyBlock` shows it.
      for (const type of blockTypes) assert.include(page.text, `data-block-type="${type}"`, type)
      assert.include(page.text, `data-block-type="sparkline"`)
      for (const block of everyBlock) assert.include(page.text, `id="block-${block["id"] as string}"`)
      // Hostile markdown is text, not markup.
      assert.notInclude(page.text, "<script>window.__pwned")
      assert.include(page.text, "&lt;script&gt;window.__pwned = 1&lt;/script&gt;")
      assert.notInclude(page.text, "<img src=x")
      assert.notMatch(page.text, /href="javascript:/i)
      assert.notMatch(page.text, /href="data:text/i)
      // The only script is the viewer's own; the remote image is a link.
      assert.deepStrictEqual([...page.text.matchAll(/<script[^>]*>/g)].map((m) => m[0]), [`<script src="/p/assets/viewer.js" defer>`])
      assert.include(page.text, `href="https://example.com/photo.jpg"`)
      assert.notInclude(page.text, `src="https://example.com`)
      // Code is escaped inside <pre><code>, with its language.
      assert.include(page.text, `<code class="language-typescript">const x = &quot;&lt;b&gt;not bold&lt;/b&gt;&quot; &amp;&amp; 1 &lt; 2</code>`)
      // Charts: inline SVG with a data table for screen readers.
      assert.strictEqual(page.text.match(/<svg class="chart"/g)?.length, 4)
      assert.include(page.text, "<caption>Refunds by day: data</caption>")
      // Form fields belong to the decision form; tabs work without script.
      assert.include(page.text, `name="f:amount" form="decide"`)
      assert.include(page.text, `<details class="tab" open><summary>Customer</summary>`)
      // Assets.
      const css = yield* browser.get("/p/assets/viewer.css")
      assert.strictEqual(css.status, 200)
      assert.match(css.headers.get("content-type") ?? "", /text\/css/)
      const js = yield* browser.get("/p/assets/viewer.js")
      assert.include(js.text, "EventSource")
    }))

  it.effect("unknown, draft, revoked and login-required pages answer their own page", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const anonymous = browserLike(kit.baseUrl)
      const missing = yield* anonymous.get("/p/pg_doesnotexist")
      assert.strictEqual(missing.status, 404)
      assert.include(missing.text, "Page not found")

      const draft = yield* publish(pageInput({ title: "A draft" }), "/v1/pages")
      assert.strictEqual((yield* anonymous.get(`/p/${draft}`)).status, 404)
      const asMember = yield* anonymous.get(`/p/${draft}`, { authorization: `Bearer ${kit.adminToken}` })
      assert.strictEqual(asMember.status, 200)
      assert.include(asMember.text, "This page is a draft")

      const revoked = yield* publish(pageInput({ title: "Soon revoked" }))
      const revoke = yield* kit.request("POST", `/v1/pages/${revoked}/revoke`, { body: { reason: "test" } })
      assert.strictEqual(revoke.status, 200)
      const gone = yield* anonymous.get(`/p/${revoked}`)
      assert.strictEqual(gone.status, 410)
      assert.include(gone.text, "withdrawn")
      assert.notInclude(gone.text, "Soon revoked")

      const restricted = yield* publish(pageInput({ title: "Only for Alice", access: { mode: "authenticated", allowed_identities: [{ type: "email", value: "alice@example.test" }] } }))
      const login = yield* anonymous.get(`/p/${restricted}`)
      assert.strictEqual(login.status, 401)
      assert.notInclude(login.text, "Only for Alice")
      assert.include(login.text, "Sign in to open this page")
      assert.include(login.text, `action="/p/${restricted}/magic-link"`)
      assert.notStrictEqual(csrfOf(login.text), "")
    }))

  it.effect("a comment form without the CSRF field, or with another browser's, changes nothing; with it: 303 and the comment shows", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const id = yield* publish(pageInput())
      const alice = browserLike(kit.baseUrl)
      const mallory = browserLike(kit.baseUrl)
      const page = yield* alice.get(`/p/${id}`)
      const csrf = csrfOf(page.text)
      assert.notStrictEqual(csrf, "")
      yield* mallory.get(`/p/${id}`)

      const none = yield* alice.post(`/p/${id}/comments`, { content: "forged" })
      assert.strictEqual(none.status, 403)
      const stolen = yield* mallory.post(`/p/${id}/comments`, { content: "forged", csrf })
      assert.strictEqual(stolen.status, 403)
      const after = yield* alice.get(`/p/${id}`)
      assert.notInclude(after.text, "forged")

      const sent = yield* alice.post(`/p/${id}/comments`, { content: "Looks <b>right</b> to me", csrf, block_id: "b_table", parent_id: "" })
      assert.strictEqual(sent.status, 303, sent.text)
      assert.strictEqual(sent.headers.get("location"), `/p/${id}?notice=commented#comments`)
      const shown = yield* alice.get(`/p/${id}?notice=commented`)
      assert.include(shown.text, "Your comment was added.")
      assert.include(shown.text, "Looks &lt;b&gt;right&lt;/b&gt; to me")
      assert.include(shown.text, `href="#block-b_table"`)
      const reply = yield* alice.post(`/p/${id}/comments`, { content: "A reply", csrf, parent_id: /id="comment-([^"]+)"/.exec(shown.text)?.[1] ?? "" })
      assert.strictEqual(reply.status, 303)
      const threaded = yield* alice.get(`/p/${id}`)
      assert.match(threaded.text, /<ol class="replies"><li class="comment"[^>]*>.*A reply/s)

      const empty = yield* alice.post(`/p/${id}/comments`, { content: "", csrf })
      assert.strictEqual(empty.status, 400)
      assert.match(empty.headers.get("content-type") ?? "", /^text\/html/)
    }))

  it.effect("deciding with the form: 303, the page completes with the form fields, and a second decision is a 409 page", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const id = yield* publish(pageInput())
      const browser = browserLike(kit.baseUrl)
      const page = yield* browser.get(`/p/${id}`)
      assert.include(page.text, `formaction="/p/${id}/actions/act_approve"`)
      const csrf = csrfOf(page.text)
      const forged = yield* browser.post(`/p/${id}/actions/act_approve`, { comment: "no csrf" })
      assert.strictEqual(forged.status, 403)
      const decided = yield* browser.post(`/p/${id}/actions/act_approve`, { csrf, comment: "Approved, damaged item", "f:amount": "100", "f:notify_customer": "true" })
      assert.strictEqual(decided.status, 303, decided.text)
      assert.strictEqual(decided.headers.get("location"), `/p/${id}?notice=decided`)
      const done = yield* browser.get(`/p/${id}?notice=decided`)
      assert.include(done.text, "Your decision was recorded.")
      assert.include(done.text, "Completed: Approve Refund")
      assert.notInclude(done.text, `formaction="/p/${id}/actions/act_reject"`)
      const again = yield* browser.post(`/p/${id}/actions/act_reject`, { csrf })
      assert.strictEqual(again.status, 409)
      assert.include(again.text, "Already decided")
      const api = yield* kit.request("GET", `/v1/pages/${id}`)
      const body = (yield* api.json) as { status: string }
      assert.strictEqual(body.status, "completed")
    }))

  it.effect("uploading with the multipart form: 303 and the file is listed with its download link", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const id = yield* publish(pageInput())
      const browser = browserLike(kit.baseUrl)
      const page = yield* browser.get(`/p/${id}`)
      const form = new FormData()
      form.set("csrf", csrfOf(page.text))
      form.set("file", new Blob(["receipt text"], { type: "text/plain" }), "receipt.txt")
      const sent = yield* browser.postMultipart(`/p/${id}/files`, form)
      assert.strictEqual(sent.status, 303, sent.text)
      const shown = yield* browser.get(`/p/${id}`)
      const link = /<a href="([^"]+)" download>receipt\.txt<\/a>/.exec(shown.text)
      assert.isNotNull(link)
      const none = new FormData()
      none.set("csrf", csrfOf(page.text))
      const missing = yield* browser.postMultipart(`/p/${id}/files`, none)
      assert.strictEqual(missing.status, 400)
      const forged = new FormData()
      forged.set("file", new Blob(["x"], { type: "text/plain" }), "forged.txt")
      assert.strictEqual((yield* browser.postMultipart(`/p/${id}/files`, forged)).status, 403)
      assert.notInclude((yield* browser.get(`/p/${id}`)).text, "forged.txt")
    }))

  it.effect("the inbox asks anonymous people to sign in; a credential without an email has none", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const anonymous = browserLike(kit.baseUrl)
      const login = yield* anonymous.get("/inbox")
      assert.strictEqual(login.status, 401)
      assert.include(login.text, `action="/inbox/magic-link"`)
      const forged = yield* anonymous.post("/inbox/magic-link", { email: "alice@example.test" })
      assert.strictEqual(forged.status, 403)
      const sent = yield* anonymous.post("/inbox/magic-link", { email: "alice@example.test", csrf: csrfOf(login.text) })
      assert.strictEqual(sent.status, 200)
      assert.include(sent.text, "Check your email")
      // Asking again and again: the rate limit answers its own page (429 with Retry-After), not "bad address".
      let refused = sent
      for (let i = 0; i < 20 && refused.status === 200; i++) refused = yield* anonymous.post("/inbox/magic-link", { email: "alice@example.test", csrf: csrfOf(login.text) })
      assert.strictEqual(refused.status, 429, refused.text)
      assert.include(refused.text, "Too many sign-in links")
      assert.isNotNull(refused.headers.get("retry-after"))
      const admin = yield* anonymous.get("/inbox", { authorization: `Bearer ${kit.adminToken}` })
      assert.strictEqual(admin.status, 403)
    }))

  it.effect("the inbox page: anonymous people are asked to sign in, a credential without an email has no inbox", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TrellisTest
      const anonymous = browserLike(kit.baseUrl)
      const login = yield* anonymous.get("/inbox")
      assert.strictEqual(login.status, 401)
      assert.match(login.headers.get("content-type") ?? "", /^text\/html/)
      assert.include(login.text, "Sign in to see your inbox")
      const admin = yield* anonymous.get("/inbox", { authorization: `Bearer ${kit.adminToken}` })
      assert.strictEqual(admin.status, 403)
    }))
})
