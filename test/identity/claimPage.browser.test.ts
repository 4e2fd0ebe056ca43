/**
 * The claim page in headless Chromium (skipped, saying so, without it: `test/support/chromium.ts`):
 * a person opens the `claimUrl` an agent gave them, signs in on the form, types the claim code
 * and claims the agent's organization, all by typing and clicking; the page has no console
 * error and no CSP violation, axe-core finds no serious or critical violation, and a phone
 * (375x812) does not scroll sideways. `claimPage.test.ts` covers the same routes over HTTP,
 * refusals included.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { axeViolations, browser, describeInBrowser, serious, watchedPage } from "../support/chromium.ts"
import * as TestKit from "trellis/testing"

describeInBrowser("claimPage.browser.test.ts", "claim page in a browser", () => {
  layer(TestKit.layer({ plugins: [] }), { timeout: 180_000 })((it) => {
    it.effect("a person signs in and claims an agent's organization by typing and clicking", () =>
      Effect.scoped(Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const registered = yield* kit.request("POST", "/v1/auth/agent/register", { token: null, body: { name: "browser-agent", owner_email: "owner@example.test" } })
        assert.strictEqual(registered.status, 201)
        const { apiKey, claimCode, claimUrl } = (yield* registered.json) as { apiKey: string; claimCode: string; claimUrl: string }
        const members = Effect.gen(function*() {
          const tenant = yield* kit.request("GET", "/v1/tenant", { token: apiKey })
          assert.strictEqual(tenant.status, 200)
          return ((yield* tenant.json) as { usage: { members: number } }).usage.members
        })
        const before = yield* members
        const name = `claimer-${crypto.randomUUID().slice(0, 8)}`
        const password = "correct horse battery staple"
        const created = yield* kit.request("POST", "/api/users", { body: { username: name, password, email: `${name}@example.test`, role: "editor" } })
        assert.strictEqual(created.status, 201)

        const { context } = yield* browser
        const result = yield* Effect.promise(async () => {
          const { cspViolations, page, problems } = await watchedPage(context)
          const opened = await page.goto(claimUrl)
          const signInAxe = await axeViolations(page)
          await page.getByLabel("Username or email").fill(name)
          await page.getByLabel("Password").fill(password)
          await page.getByRole("button", { name: "Sign in" }).click()
          await page.waitForURL(claimUrl)
          await page.getByLabel("Claim code").waitFor()
          const claimAxe = await axeViolations(page)
          await page.setViewportSize({ width: 375, height: 812 })
          await page.waitForTimeout(50)
          const scroll = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth }))
          // People type codes as they read them: lower case is accepted.
          await page.getByLabel("Claim code").fill(claimCode.toLowerCase())
          await page.getByRole("button", { name: "Claim" }).click()
          await page.waitForLoadState()
          const text = await page.locator("main").innerText()
          const csp = await cspViolations()
          await page.close()
          return { status: opened?.status(), signInAxe, claimAxe, scroll, text, csp, problems }
        })
        assert.strictEqual(result.status, 200)
        assert.include(result.text, "Claimed")
        assert.include(result.text, "browser-agent")
        for (const violations of [result.signInAxe, result.claimAxe]) assert.deepStrictEqual(serious(violations), [], JSON.stringify(violations))
        assert.isAtMost(result.scroll.scrollWidth, result.scroll.width, "no horizontal scroll at 375 px")
        assert.deepStrictEqual(result.csp, [], JSON.stringify(result.csp))
        assert.deepStrictEqual(result.problems, [], JSON.stringify(result.problems))

        // The claim took: the person joined the agent's organization.
        assert.strictEqual(yield* members, before + 1)
      })))
  })
})
