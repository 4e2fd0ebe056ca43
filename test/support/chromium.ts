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
import { chromium } from "playwright-core"

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
