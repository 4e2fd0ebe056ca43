/**
 * `/docs` in a real browser: headless Chromium opens the API reference of a running server and
 * it renders the composed OpenAPI (the platform's and a plugin's operations) without a script
 * error and without a single request leaving for another host: the page works offline.
 *
 * Uses Debian's `chromium` (`.ci/run` installs it when missing); skipped, saying so, on a
 * machine without it. `TRELLIS_TEST_CHROMIUM` names another binary.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { BrowserContext } from "playwright-core"
import { browser, describeInBrowser } from "../support/chromium.ts"
import * as TestKit from "../../src/testing/TestKit.ts"
import { ProbePlugin } from "./fixtures.ts"

const localHosts = new Set(["127.0.0.1", "localhost", "[::1]"])

/** True for the requests a page that works offline may make: to the server itself, or inline. */
const isLocal = (url: string): boolean => {
  const parsed = new URL(url)
  if (parsed.protocol === "data:" || parsed.protocol === "blob:" || parsed.protocol === "about:") return true
  return localHosts.has(parsed.hostname)
}

/**
 * Records every request of the browser and lets only local ones through: a request to another
 * host is a failure of the test, and is never actually sent.
 */
const recordRequests = async (context: BrowserContext) => {
  const requested: Array<string> = []
  await context.route("**/*", async (route) => {
    const url = route.request().url()
    requested.push(url)
    await (isLocal(url) ? route.continue() : route.abort("blockedbyclient"))
  })
  return requested
}

describeInBrowser("docs.browser.test.ts", "/docs in a browser", () => {
  layer(TestKit.layer({ plugins: [ProbePlugin] }), { timeout: 120_000 })((it) => {
    it.effect("renders the API reference of the composed API, offline", () =>
      Effect.scoped(Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const { context } = yield* browser
        const requested = yield* Effect.promise(() => recordRequests(context))
        const pageErrors: Array<string> = []
        const page = yield* Effect.promise(() => context.newPage())
        page.on("pageerror", (error) => pageErrors.push(error.message))
        // The page's Content-Security-Policy must not block anything it needs: a violation is
        // reported on the console and as a `securitypolicyviolation` event.
        const consoleErrors: Array<string> = []
        page.on("console", (message) => {
          if (message.type() === "error") consoleErrors.push(message.text())
        })
        yield* Effect.promise(() =>
          page.addInitScript(() => {
            const seen: Array<string> = []
            Object.assign(window, { cspViolations: seen })
            document.addEventListener("securitypolicyviolation", (event) => {
              seen.push(`${event.violatedDirective} ${event.blockedURI} ${event.lineNumber}:${event.columnNumber}`)
            })
          })
        )

        const response = yield* Effect.promise(() => page.goto(`${kit.baseUrl}/docs`, { waitUntil: "networkidle" }))
        assert.strictEqual(response?.status(), 200)
        const policy = (yield* Effect.promise(async () => response?.allHeaders()))?.["content-security-policy"] ?? ""
        assert.include(policy, "default-src 'none'")
        assert.match(policy, /script-src 'sha256-[A-Za-z0-9+/=]+' 'sha256-/)
        assert.notInclude(policy, "unsafe-eval")

        // The reference is rendered by the inlined script, not just served: the API's title as
        // the page heading, the platform's operations and the plugin's.
        yield* Effect.promise(() => page.getByRole("heading", { level: 1, name: "Trellis" }).waitFor({ state: "visible", timeout: 30_000 }))
        const text = yield* Effect.promise(() => page.locator("body").innerText())
        assert.include(text, "/health")
        assert.include(text, "/ready")
        assert.include(text, "/api/plugins")
        assert.include(text, "/api/probe/echo")
        assert.strictEqual(yield* Effect.promise(() => page.title()), "Trellis")

        assert.deepStrictEqual(pageErrors, [], "script errors on the page")
        // The one refusal expected: the bundle's schema library probes `new Function("")` once
        // (in a try) to pick its faster validators, and falls back when eval is refused.
        const violations = yield* Effect.promise(() => page.evaluate(() => (window as unknown as { cspViolations: Array<string> }).cspViolations))
        assert.deepStrictEqual(violations.filter((v) => !v.startsWith("script-src eval ")), [], "Content-Security-Policy violations")
        assert.isAtMost(violations.length, 1, `${violations}`)
        const refusals = consoleErrors.filter((text) => /Content Security Policy|Refused to/i.test(text) && !/unsafe-eval/.test(text))
        assert.deepStrictEqual(refusals, [], "CSP errors on the console")
        assert.isAbove(requested.length, 0)
        assert.deepStrictEqual(requested.filter((url) => !isLocal(url)), [], "requests that left for another host")
      })), { timeout: 120_000 })
  })
})
