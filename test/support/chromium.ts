/**
 * Headless Chromium for the browser tests (Debian's `chromium`, which `.ci/run` installs;
 * `TRELLIS_TEST_CHROMIUM` names another binary). A test file without it registers one skipped
 * test that says why, rather than failing on a machine that cannot run a browser.
 */
import { describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { createRequire } from "node:module"
import { chromium } from "playwright-core"
import type { BrowserContext, Page } from "playwright-core"

export const executablePath = process.env.TRELLIS_TEST_CHROMIUM ?? "/usr/bin/chromium"
export const hasChromium = NodeFs.existsSync(executablePath)

/** A headless Chromium with a fresh profile, closed (and its profile removed) with the scope. */
export const browser = Effect.acquireRelease(
  Effect.promise(async () => {
    const profile = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "trellis-chromium-"))
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync"
      ]
    })
    return { context, profile }
  }),
  ({ context, profile }) =>
    Effect.promise(async () => {
      await context.close()
      NodeFs.rmSync(profile, { recursive: true, force: true })
    })
)

/** Registers `suite` as a describe block, or, without Chromium, one skipped test saying why. */
export const describeInBrowser = (file: string, name: string, suite: () => void): void => {
  if (hasChromium) {
    describe(name, suite)
    return
  }
  const reason = `no Chromium at ${executablePath} (apt-get install -y chromium; .ci/run installs it)`
  process.stderr.write(`${file}: skipped: ${reason}\n`)
  describe(name, () => {
    it.skip(`skipped: ${reason}`, () => {})
  })
}

/**
 * A new page that records what a page people look at must never do: console errors, uncaught
 * exceptions (`problems`) and Content-Security-Policy violations (`cspViolations()`).
 */
export const watchedPage = async (context: BrowserContext) => {
  const page = await context.newPage()
  const problems: Array<string> = []
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text())
  })
  page.on("pageerror", (error) => problems.push(error.message))
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: Array<string> }
    w.__csp = []
    document.addEventListener("securitypolicyviolation", (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`))
  })
  const cspViolations = () => page.evaluate(() => (window as unknown as { __csp: Array<string> }).__csp)
  return { page, problems, cspViolations }
}

const axeSource = NodeFs.readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8")

/** axe-core's violations on the page as it is now (rule, impact, the first three elements). */
export const axeViolations = async (page: Page) => {
  await page.evaluate(axeSource)
  return page.evaluate(async () => {
    const run = (window as unknown as { axe: { run: (ctx: Document) => Promise<{ violations: Array<{ id: string; impact: string | null; nodes: Array<{ target: Array<string> }> }> }> } }).axe.run
    const found = await run(document)
    return found.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(" ")).slice(0, 3) }))
  })
}

/** The serious and critical ones: what the browser tests refuse. */
export const serious = <V extends { readonly impact: string | null }>(violations: ReadonlyArray<V>): ReadonlyArray<V> =>
  violations.filter((v) => v.impact === "serious" || v.impact === "critical")
