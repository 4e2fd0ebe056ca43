/**
 * The viewer in headless Chromium (skipped, saying so, without it: `test/support/chromium.ts`):
 * - one page with every block type renders with no console error and no CSP violation, hostile
 *   markdown runs nothing, axe-core finds no serious or critical violation, the phone viewport
 *   (375x812) has no horizontal scroll, and each block's element screenshot is written to
 *   `artifacts/pages/` (gitignored; CI keeps them in its clone);
 * - the live-update script swaps in an appended block while keeping what the person typed;
 * - the scenario: an agent publishes an `authenticated` page for alice with an approval
 *   action and follows `/v1/agent/events`; alice asks for a magic link, opens it from the mail,
 *   reads, comments, uploads a file and approves in the browser (no API call from the test for
 *   those steps), and the agent's stream shows comment.added, file.uploaded and action.executed.
 */
import { assert, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { axeViolations, browser, describeInBrowser, serious, watchedPage } from "../../../test/support/chromium.ts"
import * as TestKit from "../../../src/testing/TestKit.ts"
import { RunsPlugin } from "../../runs/Plugin.ts"
import { PagesPlugin } from "../Plugin.ts"
import { smtpSink, linkIn } from "./peopleSupport.ts"
import { everyBlock, pageInput } from "./viewerFixture.ts"

const artifacts = NodePath.resolve("artifacts/pages")

/** The magic link's mail goes to a local SMTP sink (as in `magicLinks.test.ts`). */
const sink = await smtpSink()

const publish = (input: Record<string, unknown>) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request("POST", "/v1/publish", { body: input })
    const body = (yield* response.json) as { pageId: string }
    assert.strictEqual(response.status, 201, JSON.stringify(body))
    return body.pageId
  })

describeInBrowser("viewer.browser.test.ts", "pages viewer in a browser", () => {
  layer(TestKit.layer({ plugins: [RunsPlugin, PagesPlugin], config: { smtpUrl: Redacted.make(`smtp://127.0.0.1:${sink.port}`) } }), { timeout: 180_000 })((it) => {
    it.effect("every block type renders without errors, hostile markdown runs nothing, axe finds nothing serious, phones do not scroll sideways", () =>
      Effect.scoped(Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const id = yield* publish(pageInput())
        const { context } = yield* browser
        NodeFs.mkdirSync(artifacts, { recursive: true })
        const result = yield* Effect.promise(async () => {
          const { cspViolations, page, problems } = await watchedPage(context)
          const response = await page.goto(`${kit.baseUrl}/p/${id}`)
          await page.waitForFunction(() => document.body.getAttribute("data-live") === "on")
          // The hostile markdown's link is not a link; nothing set the marker.
          const hostileLinks = await page.locator("#block-b_hostile a").evaluateAll((links) => links.map((a) => a.getAttribute("href")))
          const pwned = await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned ?? null)
          const shown: Record<string, boolean> = {}
          for (const block of everyBlock) {
            const element = page.locator(`[data-block-id="${block["id"] as string}"]`).first()
            shown[block["id"] as string] = await element.isVisible()
            if (shown[block["id"] as string]) await element.screenshot({ path: NodePath.join(artifacts, `${block["id"] as string}-${block["type"] as string}.png`) })
          }
          await page.screenshot({ path: NodePath.join(artifacts, "page-desktop.png"), fullPage: true })
          const axe = await axeViolations(page)
          await page.setViewportSize({ width: 375, height: 812 })
          await page.waitForTimeout(50)
          const scroll = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth }))
          await page.screenshot({ path: NodePath.join(artifacts, "page-phone.png"), fullPage: true })
          const csp = await cspViolations()
          await page.close()
          return { status: response?.status(), hostileLinks, pwned, shown, axe, scroll, csp, problems }
        })
        assert.strictEqual(result.status, 200)
        assert.isNull(result.pwned)
        assert.isTrue(result.hostileLinks.every((href) => href === null || /^https?:/.test(href)), JSON.stringify(result.hostileLinks))
        for (const block of everyBlock) {
          // Tabs after the first are closed <details>: present, not visible.
          if (block["id"] !== "b_g2") assert.isTrue(result.shown[block["id"] as string], `block ${block["id"] as string} is visible`)
        }
        assert.deepStrictEqual(serious(result.axe), [], JSON.stringify(result.axe))
        assert.isAtMost(result.scroll.scrollWidth, result.scroll.width, "no horizontal scroll at 375 px")
        assert.deepStrictEqual(result.csp, [], JSON.stringify(result.csp))
        assert.deepStrictEqual(result.problems, [], JSON.stringify(result.problems))
      })))

    it.effect("the live script swaps in an appended block and keeps what the person is typing", () =>
      Effect.scoped(Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const id = yield* publish(pageInput({ blocks: [{ id: "b_first", type: "text", data: { content: "First" } }] }))
        const { context } = yield* browser
        const page = yield* Effect.promise(async () => {
          const page = await context.newPage()
          await page.goto(`${kit.baseUrl}/p/${id}`)
          // The stream's `connected` came: a change from now on reaches the script.
          await page.waitForFunction(() => document.body.getAttribute("data-live-connected") === "1")
          await page.fill("#comment-content", "I am still typing")
          await page.focus("#comment-content")
          return page
        })
        const appended = yield* kit.request("PATCH", `/v1/pages/${id}/blocks`, { body: { blocks: [{ id: "b_live", type: "callout", data: { content: "Appended live", style: "success" } }] } })
        assert.strictEqual(appended.status, 200)
        const after = yield* Effect.promise(async () => {
          await page.locator("[data-block-id=b_live]").waitFor({ timeout: 15_000 })
          const typed = await page.inputValue("#comment-content")
          const focused = await page.evaluate(() => document.activeElement?.id ?? null)
          await page.close()
          return { typed, focused }
        })
        assert.strictEqual(after.typed, "I am still typing")
        assert.strictEqual(after.focused, "comment-content")
      })))

    it.effect("the scenario: magic link, read, comment, upload and approve in the browser; the agent hears each", () =>
      Effect.scoped(Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const id = yield* publish(pageInput({
          title: "Refund for Alice",
          blocks: [{ id: "b_kv", type: "key_value", data: { pairs: [{ key: "Amount", value: "$127.50" }] } }, { id: "b_files", type: "file_list", data: { title: "Evidence" } }],
          actions: [{ action_id: "act_approve", label: "Approve Refund", style: "primary" }],
          access: { mode: "authenticated", allowed_identities: [{ type: "email", value: "alice@example.test" }] }
        }))
        // The agent follows its stream.
        const controller = new AbortController()
        yield* Effect.addFinalizer(() => Effect.sync(() => controller.abort()))
        let stream = ""
        const agent = yield* Effect.promise(() =>
          fetch(`${kit.baseUrl}/v1/agent/events`, { headers: { authorization: `Bearer ${kit.adminToken}`, accept: "text/event-stream" }, signal: controller.signal })
        )
        assert.strictEqual(agent.status, 200)
        const reader = agent.body!.getReader()
        const decoder = new TextDecoder()
        void (async () => {
          try {
            for (;;) {
              const { done, value } = await reader.read()
              if (done) return
              stream += decoder.decode(value, { stream: true })
            }
          } catch {
            // aborted at the end
          }
        })()
        const upload = NodePath.join(artifacts, "receipt.txt")
        NodeFs.mkdirSync(artifacts, { recursive: true })
        NodeFs.writeFileSync(upload, "receipt: damaged parcel\n")
        const { context } = yield* browser
        const result = yield* Effect.promise(async () => {
          const page = await context.newPage()
          const first = await page.goto(`${kit.baseUrl}/p/${id}`)
          const firstStatus = first?.status()
          await page.fill("#login-email", "alice@example.test")
          await Promise.all([page.waitForLoadState(), page.click("form.login button")])
          const checkEmail = await page.locator("h1").textContent()
          // The form's answer comes after the SMTP delivery: the mail is there.
          const link = linkIn(sink, "alice@example.test")?.link ?? null
          if (link === null) return { firstStatus, checkEmail, link }
          await page.goto(link)
          const arrived = new URL(page.url()).pathname
          const title = await page.locator("h1").textContent()
          await page.fill("#comment-content", "The parcel photo shows the damage.")
          await Promise.all([page.waitForURL(/notice=commented/), page.click("form.comment-form button[type=submit]")])
          await page.setInputFiles("form.upload input[type=file]", upload)
          await Promise.all([page.waitForURL(/notice=uploaded/), page.click("form.upload button[type=submit]")])
          const listed = await page.locator("ul.file-list").textContent()
          await page.fill("#decide-comment", "Approved.")
          await Promise.all([page.waitForURL(/notice=decided/), page.click("button[formaction$='/actions/act_approve']")])
          const outcome = await page.locator(".outcome").textContent()
          await page.close()
          return { firstStatus, checkEmail, link, arrived, title, listed, outcome }
        })
        assert.strictEqual(result.firstStatus, 401)
        assert.strictEqual(result.checkEmail, "Check your email")
        assert.isNotNull(result.link, "the magic link's mail arrived")
        assert.strictEqual(result.arrived, `/p/${id}`)
        assert.strictEqual(result.title, "Refund for Alice")
        assert.include(result.listed ?? "", "receipt.txt")
        assert.include(result.outcome ?? "", "Approve Refund")
        const deadline = Date.now() + 15_000
        const seen = () => ["comment.added", "file.uploaded", "action.executed"].every((t) => stream.includes(t))
        // Real time (`it.effect` runs on the test clock, where a sleep never ends).
        while (!seen() && Date.now() < deadline) yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
        for (const type of ["comment.added", "file.uploaded", "action.executed"]) assert.include(stream, type)
      })))
  })
})
