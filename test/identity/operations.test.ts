/**
 * Identity from the operator's side, with real processes and a real SMTP conversation:
 * the one-time password printed once at the first start, `trellis users create` and
 * `trellis keys create`, and the SMTP mailer delivering to a relay.
 */
import { afterAll, afterEach, assert, describe, it } from "vitest"
import { Effect, Redacted } from "effect"
import { spawnSync } from "node:child_process"
import * as NodeFs from "node:fs"
import { Mailer, layerSmtp } from "../../src/identity/Mailer.ts"
import { smtpSink } from "../support/smtpSink.ts"
import { freePort, freshDataDir, killAll, start, stop, waitReady } from "../platform/serverProcess.ts"

const dirs: Array<string> = []
afterEach(killAll)
afterAll(() => {
  for (const dir of dirs) NodeFs.rmSync(dir, { recursive: true, force: true })
})

const login = (url: string, username: string, password: string) =>
  fetch(`${url}/api/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password }) })

const cli = (args: ReadonlyArray<string>, dataDir: string) =>
  spawnSync(process.execPath, ["src/main.ts", ...args, "--data-dir", dataDir], { encoding: "utf8", timeout: 120_000 })

describe("first start and the command line", () => {
  it("prints a one-time admin password once, and it signs in", async () => {
    const dataDir = freshDataDir()
    dirs.push(dataDir)
    const first = await start({ TRELLIS_DATA_DIR: dataDir, TRELLIS_ADMIN_PASSWORD: "" })
    await waitReady(first)
    const match = /one-time password (\S+) /.exec(first.output())
    assert.isNotNull(match, first.output())
    const password = match![1]
    assert.strictEqual((await login(first.url, "admin", password)).status, 200)
    assert.strictEqual((await login(first.url, "admin", `${password}x`)).status, 401)
    assert.strictEqual((await stop(first)).code, 0)
    const again = await start({ TRELLIS_DATA_DIR: dataDir, TRELLIS_ADMIN_PASSWORD: "" })
    await waitReady(again)
    assert.notInclude(again.output(), "one-time password")
    assert.strictEqual((await stop(again)).code, 0)
  }, 180_000)

  it("users create and keys create work before the first start; the key and password work after", async () => {
    const dataDir = freshDataDir()
    dirs.push(dataDir)
    const created = cli(["users", "create", "--username", "alice", "--admin"], dataDir)
    assert.strictEqual(created.status, 0, created.stderr)
    const password = /password: (\S+)/.exec(created.stdout)?.[1]
    assert.isDefined(password, created.stdout)
    const userKey = cli(["keys", "create", "--name", "script", "--user", "alice"], dataDir)
    assert.strictEqual(userKey.status, 0, userKey.stderr)
    assert.match(userKey.stdout.trim(), /^sk_sfs_user_[A-Za-z0-9_-]{43}$/)
    const serviceKey = cli(["keys", "create", "--name", "ci", "--scopes", "tickets:read"], dataDir)
    assert.strictEqual(serviceKey.status, 0, serviceKey.stderr)
    assert.match(serviceKey.stdout.trim(), /^sk_sfs_svc_/)
    const refused = cli(["keys", "create", "--name", "bad", "--scopes", "*"], dataDir)
    assert.strictEqual(refused.status, 1)
    assert.include(refused.stderr, "declared scopes")

    const server = await start({ TRELLIS_DATA_DIR: dataDir, TRELLIS_ADMIN_PASSWORD: "" }, await freePort())
    await waitReady(server)
    // A user existed already: no first-start admin and no printed password.
    assert.notInclude(server.output(), "one-time password")
    assert.strictEqual((await login(server.url, "alice", password!)).status, 200)
    const me = await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${userKey.stdout.trim()}` } })
    assert.strictEqual(me.status, 200)
    assert.strictEqual(((await me.json()) as { username: string; role: string }).role, "admin")
    // A tickets:read route open to service keys (SessionFS keeps its project routes for user keys).
    const tickets = await fetch(`${server.url}/api/v1/tickets/settings`, { headers: { authorization: `Bearer ${serviceKey.stdout.trim()}` } })
    assert.strictEqual(tickets.status, 200)
    assert.strictEqual((await stop(server)).code, 0)
  }, 240_000)
})

describe("the SMTP mailer", () => {
  it("delivers a message to the relay", async () => {
    const sink = await smtpSink()
    try {
      await Effect.runPromise(
        Effect.flatMap(Mailer, (mailer) => mailer.send({ to: "bob@example.test", subject: "Welcome", text: "Open the link." })).pipe(
          Effect.provide(layerSmtp({ url: Redacted.make(`smtp://127.0.0.1:${sink.port}`), from: "trellis@example.test" }))
        )
      )
      assert.strictEqual(sink.received.length, 1)
      assert.include(sink.received[0], "Subject: Welcome")
      assert.include(sink.received[0], "To: bob@example.test")
      assert.include(sink.received[0], "Open the link.")
    } finally {
      sink.close()
    }
  }, 30_000)
})
