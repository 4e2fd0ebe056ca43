/**
 * The example plugin's greetings page in a real browser: headless Chromium, signed in by the
 * session cookie, renders the escaped greetings with the embedded stylesheet applied (so the
 * page's Content-Security-Policy lets the asset through) and no console error or CSP
 * violation. Skipped, saying so, without Chromium (`TRELLIS_TEST_CHROMIUM` names another binary).
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { browser, describeInBrowser } from "../support/chromium.ts"
import * as TestKit from "../../src/testing/TestKit.ts"
import { HelloPlugin } from "../../examples/hello-plugin/Plugin.ts"

describeInBrowser("page.browser.test.ts", "greetings page in a browser", () => {
  layer(TestKit.layer({ plugins: [HelloPlugin] }), { timeout: 120_000 })((it) => {
    it.effect("renders the greetings, styled, with no error or CSP violation", () =>
      Effect.scoped(Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        yield* kit.request("POST", "/api/hello/greetings", { body: { name: "<b>Ada</b>" } })
        const login = yield* kit.request("POST", "/api/login", { token: null, body: { username: "admin", password: TestKit.adminPassword } })
        const { token } = (yield* login.json) as { token: string }
        const { context } = yield* browser
        const result = yield* Effect.promise(async () => {
          await context.addCookies([{ name: "trellis_session", value: token, url: kit.baseUrl }])
          const page = await context.newPage()
          const problems: Array<string> = []
          page.on("console", (message) => {
            if (message.type() === "error") problems.push(message.text())
          })
          page.on("pageerror", (error) => problems.push(error.message))
          const response = await page.goto(`${kit.baseUrl}/hello`)
          const items = await page.locator("ul.greetings li").allTextContents()
          const boldInside = await page.locator("ul.greetings b").count()
          const listStyle = await page.locator("ul.greetings").evaluate((el) => getComputedStyle(el).listStyleType)
          await page.close()
          return { status: response?.status(), items, boldInside, listStyle, problems }
        })
        assert.strictEqual(result.status, 200)
        assert.deepStrictEqual(result.items, ["Hello, <b>Ada</b>!"])
        assert.strictEqual(result.boldInside, 0)
        assert.strictEqual(result.listStyle, "none")
        assert.deepStrictEqual(result.problems, [])
      })))
  })
})
