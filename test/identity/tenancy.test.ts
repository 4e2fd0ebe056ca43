/**
 * Tenancy over real HTTP: PromptOps's `/api/workspaces` and `/api/users`, SessionFS's
 * organization, invites and members, Surflet's tenant, agent self-registration and claim.
 *
 * Outgoing email goes to a small SMTP server in this file (the real `layerSmtp` path), so
 * tests read verification links and invites from it, and can make it refuse mail.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import type { HttpClientResponse } from "effect/http"
import { SqlClient } from "effect/sql"
import * as NodeNet from "node:net"
import * as TestKit from "trellis/testing"
import { TrellisConfig } from "../../src/config/TrellisConfig.ts"
import { IdentityPlugin } from "../../src/identity/IdentityPlugin.ts"
import { TenancyLayer, tenancyGroups, tenancyMigration, tenancyProblems, tenancyScopes } from "../../src/identity/Tenancy.ts"
import * as Plugin from "../../src/plugin/Plugin.ts"

// ---------------------------------------------------------------------------------------------
// A minimal SMTP server: records each message, or refuses senders while `failing`.

interface Mail {
  readonly to: ReadonlyArray<string>
  /** The message with quoted-printable soft breaks and escapes decoded. */
  readonly text: string
}

interface SmtpState {
  readonly port: number
  readonly mails: Array<Mail>
  failing: boolean
}

class FakeSmtp extends Context.Service<FakeSmtp, SmtpState>()("test/identity/FakeSmtp") {}

const decodeQuotedPrintable = (raw: string): string =>
  raw.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))

const startSmtp = (): Promise<{ readonly state: SmtpState; readonly close: () => Promise<void> }> =>
  new Promise((resolve) => {
    const mails: Array<Mail> = []
    const sockets = new Set<NodeNet.Socket>()
    const holder: { state?: SmtpState } = {}
    const server = NodeNet.createServer((socket) => {
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
      socket.on("error", () => socket.destroy())
      let buffer = ""
      let inData = false
      let data: Array<string> = []
      let to: Array<string> = []
      const reply = (line: string) => socket.write(`${line}\r\n`)
      reply("220 fake-smtp ESMTP")
      socket.on("data", (chunk) => {
        buffer += chunk.toString("utf8")
        let end = buffer.indexOf("\r\n")
        while (end >= 0) {
          const line = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          end = buffer.indexOf("\r\n")
          if (inData) {
            if (line === ".") {
              inData = false
              mails.push({ to, text: decodeQuotedPrintable(data.join("\r\n")) })
              reply("250 2.0.0 queued")
            } else {
              data.push(line.startsWith("..") ? line.slice(1) : line)
            }
            continue
          }
          const verb = line.slice(0, 4).toUpperCase()
          if (verb === "EHLO") {
            reply("250-fake-smtp")
            reply("250 8BITMIME")
          } else if (verb === "HELO" || verb === "RSET" || verb === "NOOP") {
            reply("250 OK")
          } else if (verb === "MAIL") {
            to = []
            reply(holder.state?.failing === true ? "550 5.7.1 sender refused" : "250 OK")
          } else if (verb === "RCPT") {
            to.push(line.replace(/^RCPT TO:\s*<?([^>]*)>?.*$/i, "$1").toLowerCase())
            reply("250 OK")
          } else if (verb === "DATA") {
            inData = true
            data = []
            reply("354 end with <CRLF>.<CRLF>")
          } else if (verb === "QUIT") {
            reply("221 bye")
            socket.end()
          } else {
            reply("502 5.5.2 not implemented")
          }
        }
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      holder.state = { port, mails, failing: false }
      resolve({
        state: holder.state,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          })
      })
    })
  })

const fakeSmtpLayer = Layer.effect(
  FakeSmtp,
  Effect.map(
    Effect.acquireRelease(Effect.promise(startSmtp), (smtp) => Effect.promise(smtp.close)),
    (smtp) => smtp.state
  )
)

// ---------------------------------------------------------------------------------------------
// The server: the platform with tenancy. Until the identity plugin carries the tenancy groups,
// a test plugin serves them (same groups, migration and layer).

const tenancyIsWired = IdentityPlugin.groups.some((group) => group.identifier === "tenancyOrg")

const TenancyTestPlugin = Plugin.make({
  id: "tenancy_test",
  version: "0.0.0",
  description: "Tenancy, until the identity plugin serves it",
  groups: [...tenancyGroups],
  migrations: [tenancyMigration],
  scopes: [...tenancyScopes],
  problems: [...tenancyProblems],
  layer: TenancyLayer
})

const testLayer = Layer.unwrap(Effect.gen(function*() {
  const smtp = yield* FakeSmtp
  return TestKit.layer({
    plugins: tenancyIsWired ? [] : [TenancyTestPlugin],
    config: { smtpUrl: Redacted.make(`smtp://127.0.0.1:${smtp.port}`), mailFrom: "Trellis <trellis@example.test>" }
  })
})).pipe(Layer.provideMerge(fakeSmtpLayer))

// ---------------------------------------------------------------------------------------------
// Helpers

interface Problem {
  readonly status: number
  readonly code: string
  readonly detail?: string
  readonly state?: string
}

interface UserJson {
  readonly id: string
  readonly username: string
  readonly email: string | null
  readonly role: string
  readonly trellis_role: string
  readonly type: string
  readonly active: boolean
  readonly email_verified: boolean
  readonly organization_id: string
}

/** Asserts the status (showing the body when it differs) and returns the decoded body. */
const expect = <A>(response: HttpClientResponse.HttpClientResponse, status: number) =>
  Effect.gen(function*() {
    const text = yield* response.text
    assert.strictEqual(response.status, status, `expected ${status}, got ${response.status}: ${text}`)
    return (text === "" ? undefined : JSON.parse(text)) as A
  })

const expectProblem = (response: HttpClientResponse.HttpClientResponse, status: number, code: string) =>
  Effect.map(expect<Problem>(response, status), (problem) => {
    assert.strictEqual(problem.code, code)
    return problem
  })

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`

const inOrg = (organizationId: string) => ({ "x-trellis-organization": organizationId })

const password = "correct horse battery staple"

const signIn = (username: string, secret: string = password) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const body = yield* expect<{ token: string }>(
      yield* kit.request("POST", "/api/login", { body: { username, password: secret }, token: null }),
      200
    )
    return body.token
  })

/** The last message sent to an address (that contains `containing`, when given). */
const lastMailTo = (address: string, containing?: string) =>
  Effect.gen(function*() {
    const smtp = yield* FakeSmtp
    const mail = [...smtp.mails].reverse().find((m) =>
      m.to.includes(address.toLowerCase()) && (containing === undefined || m.text.includes(containing))
    )
    assert.isDefined(mail, `no mail to ${address}`)
    return mail!
  })

/** Follows the verification link mailed to the address. */
const verifyEmail = (address: string) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const mail = yield* lastMailTo(address, "trv_")
    const token = /trv_[A-Za-z0-9_-]+/.exec(mail.text)?.[0]
    assert.isDefined(token, "no verification token in the mail")
    // SessionFS's link form (`/verify?token=`), as mailed.
    assert.include(mail.text, `/api/v1/auth/verify?token=${token}`)
    yield* expect(yield* kit.request("GET", `/api/v1/auth/verify?token=${token}`, { token: null }), 200)
  })

/**
 * A user created through `/api/users` by the admin token (in `org_default`, or the given
 * organization), signed in; `verified` follows the mailed link first.
 */
const newUser = (options: {
  readonly role?: "viewer" | "editor" | "admin" | "owner"
  readonly organizationId?: string
  readonly email?: boolean
  readonly verified?: boolean
} = {}) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const username = unique(options.role ?? "user")
    const email = options.email === false ? null : `${username}@example.test`
    const created = yield* expect<{ data: UserJson }>(
      yield* kit.request("POST", "/api/users", {
        body: { username, password, email, role: options.role ?? "viewer" },
        headers: options.organizationId === undefined ? undefined : inOrg(options.organizationId)
      }),
      201
    )
    if (options.verified === true && email !== null) yield* verifyEmail(email)
    const session = yield* signIn(username)
    return { id: created.data.id, username, email: email ?? "", session }
  })

describe("tenancy", () => {
  layer(testLayer, { timeout: 240_000 })((it) => {
    // -----------------------------------------------------------------------------------------
    // PromptOps: workspaces

    it.effect("workspaces: editors create, viewers read, admins delete; names are unique per organization", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const sql = yield* SqlClient.SqlClient
        const viewer = yield* newUser({ role: "viewer" })
        const editor = yield* newUser({ role: "editor" })
        const name = unique("Research")
        const created = yield* expect<{ data: Record<string, unknown> }>(
          yield* kit.request("POST", "/api/workspaces", { token: editor.session, body: { name, description: "the lab" } }),
          201
        )
        const workspace = created.data
        assert.isTrue(String(workspace.id).startsWith("ws_"))
        assert.deepInclude(workspace, { organization_id: "org_default", name, description: "the lab", created_by: editor.id })
        yield* expectProblem(
          yield* kit.request("POST", "/api/workspaces", { token: editor.session, body: { name: name.toUpperCase() } }),
          409,
          "workspace_name_taken"
        )
        yield* expectProblem(
          yield* kit.request("POST", "/api/workspaces", { token: viewer.session, body: { name: unique("x") } }),
          403,
          "insufficient_role"
        )
        const list = yield* expect<{ data: ReadonlyArray<{ id: string }> }>(
          yield* kit.request("GET", "/api/workspaces", { token: viewer.session }),
          200
        )
        assert.isTrue(list.data.some((w) => w.id === workspace.id))
        const one = yield* expect<{ data: { name: string } }>(
          yield* kit.request("GET", `/api/workspaces/${workspace.id}`, { token: viewer.session }),
          200
        )
        assert.strictEqual(one.data.name, name)
        yield* expectProblem(
          yield* kit.request("DELETE", `/api/workspaces/${workspace.id}`, { token: editor.session }),
          403,
          "insufficient_role"
        )
        assert.deepStrictEqual(yield* expect(yield* kit.request("DELETE", `/api/workspaces/${workspace.id}`), 200), { ok: true })
        yield* expectProblem(yield* kit.request("GET", `/api/workspaces/${workspace.id}`), 404, "NOT_FOUND")
        yield* expectProblem(yield* kit.request("DELETE", `/api/workspaces/${workspace.id}`), 404, "NOT_FOUND")
        const audited = yield* sql<{ action: string; actor_id: string }>`
          SELECT action, actor_id FROM audit.entries WHERE target_id = ${String(workspace.id)} ORDER BY seq`
        assert.deepStrictEqual(audited.map((a) => [a.action, a.actor_id]), [
          ["identity.workspace.create", editor.id],
          ["identity.workspace.delete", "admin"]
        ])
      }))

    it.effect("workspaces: another organization's workspace is 404; service keys need workspaces:read", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const owner = yield* newUser({ role: "viewer" })
        const org = yield* expect<{ org_id: string }>(
          yield* kit.request("POST", "/api/v1/org", { token: owner.session, body: { name: unique("Other Co") } }),
          200
        )
        const theirs = yield* expect<{ data: { id: string } }>(
          yield* kit.request("POST", "/api/workspaces", { token: owner.session, headers: inOrg(org.org_id), body: { name: "secret" } }),
          201
        )
        yield* expectProblem(yield* kit.request("GET", `/api/workspaces/${theirs.data.id}`), 404, "NOT_FOUND")
        yield* expectProblem(yield* kit.request("DELETE", `/api/workspaces/${theirs.data.id}`), 404, "NOT_FOUND")
        const ours = yield* expect<{ data: ReadonlyArray<{ id: string }> }>(yield* kit.request("GET", "/api/workspaces"), 200)
        assert.isFalse(ours.data.some((w) => w.id === theirs.data.id))
        const reader = yield* expect<{ key: string }>(
          yield* kit.request("POST", "/api/v1/orgs/org_default/service-keys", { body: { name: "ws-reader", scopes: ["workspaces:read"] } }),
          201
        )
        yield* expect(yield* kit.request("GET", "/api/workspaces", { token: reader.key }), 200)
        yield* expectProblem(
          yield* kit.request("POST", "/api/workspaces", { token: reader.key, body: { name: unique("svc") } }),
          403,
          "insufficient_scope"
        )
        yield* expectProblem(yield* kit.request("GET", "/api/users", { token: reader.key }), 403, "service_key_not_allowed")
      }))

    // -----------------------------------------------------------------------------------------
    // PromptOps: users

    it.effect("/api/users: admins list, create, read; others are refused; duplicates are 409", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const editor = yield* newUser({ role: "editor" })
        yield* expectProblem(yield* kit.request("GET", "/api/users", { token: editor.session }), 403, "insufficient_role")
        const username = unique("new")
        const created = yield* expect<{ data: UserJson }>(
          yield* kit.request("POST", "/api/users", {
            body: { username, password, email: `${username}@example.test`, role: "member", display_name: "New Person" }
          }),
          201
        )
        assert.deepInclude(created.data, {
          username,
          email: `${username}@example.test`,
          role: "editor",
          type: "human",
          active: true,
          email_verified: false,
          organization_id: "org_default"
        })
        // The address gets a verification link.
        assert.include((yield* lastMailTo(`${username}@example.test`)).text, "/api/v1/auth/verify?token=trv_")
        const list = yield* expect<{ data: ReadonlyArray<UserJson> }>(yield* kit.request("GET", "/api/users"), 200)
        assert.isTrue(list.data.some((u) => u.id === created.data.id && u.role === "editor"))
        assert.isTrue(list.data.some((u) => u.username === "admin" && u.role === "admin" && u.trellis_role === "owner"))
        const one = yield* expect<{ data: UserJson }>(yield* kit.request("GET", `/api/users/${created.data.id}`), 200)
        assert.strictEqual(one.data.username, username)
        yield* expectProblem(
          yield* kit.request("POST", "/api/users", { body: { username, password } }),
          409,
          "account_exists"
        )
        yield* expectProblem(
          yield* kit.request("POST", "/api/users", { body: { username: unique("short"), password: "short" } }),
          400,
          "INVALID_REQUEST"
        )
        yield* expectProblem(yield* kit.request("GET", "/api/users/usr_missing"), 404, "NOT_FOUND")
        const loginAs = yield* signIn(username)
        yield* expect(yield* kit.request("GET", "/api/workspaces", { token: loginAs }), 200)
      }))

    it.effect("/api/users: a role change or deactivation reaches existing sessions on their next request", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const user = yield* newUser({ role: "viewer" })
        const key = yield* expect<{ raw_key: string }>(
          yield* kit.request("POST", "/api/v1/auth/keys", { token: user.session, body: { name: "script" } }),
          201
        )
        const tryCreate = (token: string) => kit.request("POST", "/api/workspaces", { token, body: { name: unique("w") } })
        // Warm the credential cache with the viewer role first.
        yield* expectProblem(yield* tryCreate(user.session), 403, "insufficient_role")
        yield* expectProblem(yield* tryCreate(key.raw_key), 403, "insufficient_role")
        const promoted = yield* expect<{ data: UserJson }>(
          yield* kit.request("PUT", `/api/users/${user.id}`, { body: { role: "editor" } }),
          200
        )
        assert.strictEqual(promoted.data.role, "editor")
        yield* expect(yield* tryCreate(user.session), 201)
        yield* expect(yield* tryCreate(key.raw_key), 201)
        yield* expect(yield* kit.request("PUT", `/api/users/${user.id}`, { body: { active: false } }), 200)
        yield* expectProblem(yield* kit.request("GET", "/api/me", { token: user.session }), 401, "UNAUTHORIZED")
        yield* expectProblem(yield* kit.request("GET", "/api/me", { token: key.raw_key }), 401, "UNAUTHORIZED")
        yield* expectProblem(
          yield* kit.request("POST", "/api/login", { body: { username: user.username, password }, token: null }),
          401,
          "invalid_credentials"
        )
        yield* expect(yield* kit.request("PUT", `/api/users/${user.id}`, { body: { active: true } }), 200)
        yield* expect(yield* kit.request("GET", "/api/me", { token: key.raw_key }), 200)
        const audited = yield* (yield* SqlClient.SqlClient)<{ details: unknown }>`
          SELECT details FROM audit.entries WHERE action = 'identity.user.update' AND target_id = ${user.id} ORDER BY seq`
        assert.strictEqual(audited.length, 3)
      }))

    it.effect("/api/users: a password reset signs the account out and the new password works", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const user = yield* newUser({ role: "viewer" })
        yield* expect(yield* kit.request("PUT", `/api/users/${user.id}`, { body: { password: "a brand new passphrase" } }), 200)
        yield* expectProblem(yield* kit.request("GET", "/api/me", { token: user.session }), 401, "session_expired")
        yield* signIn(user.username, "a brand new passphrase")
        const stored = yield* (yield* SqlClient.SqlClient)<{ password_hash: string }>`
          SELECT password_hash FROM identity.users WHERE id = ${user.id}`
        assert.isTrue(stored[0].password_hash.startsWith("$argon2id$"))
      }))

    it.effect("/api/users: self changes, owners and the last administrator are protected", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const admin = yield* newUser({ role: "admin" })
        yield* expectProblem(
          yield* kit.request("PUT", `/api/users/${admin.id}`, { token: admin.session, body: { role: "viewer" } }),
          400,
          "self_membership_change"
        )
        yield* expectProblem(
          yield* kit.request("DELETE", `/api/users/${admin.id}`, { token: admin.session }),
          400,
          "self_membership_change"
        )
        const owner = yield* newUser({ role: "owner" })
        yield* expectProblem(
          yield* kit.request("PUT", `/api/users/${owner.id}`, { token: admin.session, body: { role: "viewer" } }),
          403,
          "owner_protected"
        )
        yield* expectProblem(
          yield* kit.request("POST", "/api/users", { token: admin.session, body: { username: unique("o"), password, role: "owner" } }),
          403,
          "owner_protected"
        )
        // A fresh organization whose only administrator is its creator.
        const founder = yield* newUser({ role: "viewer" })
        const org = yield* expect<{ org_id: string }>(
          yield* kit.request("POST", "/api/v1/org", { token: founder.session, body: { name: unique("Solo") } }),
          200
        )
        yield* expectProblem(
          yield* kit.request("PUT", `/api/users/${founder.id}`, { headers: inOrg(org.org_id), body: { role: "viewer" } }),
          400,
          "last_administrator"
        )
        yield* expectProblem(
          yield* kit.request("DELETE", `/api/users/${founder.id}`, { headers: inOrg(org.org_id) }),
          400,
          "last_administrator"
        )
        // The founder also belongs to org_default: another organization's admin may not reset their password.
        yield* expectProblem(
          yield* kit.request("PUT", `/api/users/${founder.id}`, {
            token: admin.session,
            body: { password: "taken over by someone else" }
          }),
          403,
          "account_shared"
        )
        // A user of another organization is not found here.
        const outsider = yield* newUser({ role: "viewer", organizationId: org.org_id })
        yield* expectProblem(yield* kit.request("GET", `/api/users/${outsider.id}`, { token: admin.session }), 404, "NOT_FOUND")
        yield* expectProblem(
          yield* kit.request("PUT", `/api/users/${outsider.id}`, { token: admin.session, body: { role: "admin" } }),
          404,
          "NOT_FOUND"
        )
        yield* expectProblem(yield* kit.request("DELETE", `/api/users/${outsider.id}`, { token: admin.session }), 404, "NOT_FOUND")
      }))

    it.effect("/api/users: removal revokes the member's sessions and keys, and deactivates an account left with no organization", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const user = yield* newUser({ role: "editor" })
        const key = yield* expect<{ raw_key: string }>(
          yield* kit.request("POST", "/api/v1/auth/keys", { token: user.session, body: { name: "k" } }),
          201
        )
        yield* expect(yield* kit.request("GET", "/api/me", { token: key.raw_key }), 200)
        assert.deepStrictEqual(yield* expect(yield* kit.request("DELETE", `/api/users/${user.id}`), 200), { ok: true })
        yield* expectProblem(yield* kit.request("GET", "/api/me", { token: user.session }), 401, "session_expired")
        yield* expectProblem(yield* kit.request("GET", "/api/me", { token: key.raw_key }), 401, "api_key_revoked")
        yield* expectProblem(
          yield* kit.request("POST", "/api/login", { body: { username: user.username, password }, token: null }),
          401,
          "invalid_credentials"
        )
        yield* expectProblem(yield* kit.request("GET", `/api/users/${user.id}`), 404, "NOT_FOUND")
      }))

    // -----------------------------------------------------------------------------------------
    // SessionFS: organizations, invites, members

    it.effect("POST /api/v1/org: the creator owns it; slugs are unique and validated", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const founder = yield* newUser({ role: "viewer" })
        const slug = unique("acme")
        const created = yield* expect<{ org_id: string; name: string; slug: string }>(
          yield* kit.request("POST", "/api/v1/org", { token: founder.session, body: { name: "Acme", slug } }),
          200
        )
        assert.isTrue(created.org_id.startsWith("org_"))
        assert.deepStrictEqual([created.name, created.slug], ["Acme", slug])
        yield* expectProblem(
          yield* kit.request("POST", "/api/v1/org", { token: founder.session, body: { name: "Acme 2", slug } }),
          409,
          "org_slug_taken"
        )
        yield* expectProblem(
          yield* kit.request("POST", "/api/v1/org", { token: founder.session, body: { name: "Bad", slug: "AB" } }),
          422, // SessionFS's wire dialect: schema failures are 422
          "INVALID_REQUEST"
        )
        // The existing session still acts in org_default; the header switches; a new login starts in the new org.
        const before = yield* expect<{ org: { id: string } }>(yield* kit.request("GET", "/api/v1/org", { token: founder.session }), 200)
        assert.strictEqual(before.org.id, "org_default")
        const info = yield* expect<{
          org: { id: string; name: string; slug: string; tier: string; seats_used: number }
          members: ReadonlyArray<{ user_id: string; role: string; email: string }>
          current_user_role: string
        }>(yield* kit.request("GET", "/api/v1/org", { token: founder.session, headers: inOrg(created.org_id) }), 200)
        assert.deepInclude(info.org, { id: created.org_id, name: "Acme", slug, seats_used: 1 })
        // SessionFS's role names on its paths: the creator (Trellis owner) reads as `admin`.
        assert.strictEqual(info.current_user_role, "admin")
        assert.deepStrictEqual(info.members.map((m) => [m.user_id, m.role, m.email]), [[founder.id, "admin", founder.email]])
        const fresh = yield* signIn(founder.username)
        const after = yield* expect<{ org: { id: string } }>(yield* kit.request("GET", "/api/v1/org", { token: fresh }), 200)
        assert.strictEqual(after.org.id, created.org_id)
        const derived = yield* expect<{ slug: string }>(
          yield* kit.request("POST", "/api/v1/org", { token: founder.session, body: { name: "Beta Works!" } }),
          200
        )
        assert.match(derived.slug, /^beta-works/)
      }))

    it.effect("invites: email, verified recipient only, accept, role changes, removal, audit chain", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const alice = yield* newUser({ role: "viewer", verified: true })
        const org = yield* expect<{ org_id: string }>(
          yield* kit.request("POST", "/api/v1/org", { token: alice.session, body: { name: unique("Team") } }),
          200
        )
        const asAlice = { token: alice.session, headers: inOrg(org.org_id) }
        const bob = yield* newUser({ role: "viewer" })
        const invite = yield* expect<{ invite_id: string; email: string; role: string }>(
          yield* kit.request("POST", "/api/v1/org/invite", { ...asAlice, body: { email: bob.email.toUpperCase(), role: "member" } }),
          200
        )
        assert.deepStrictEqual([invite.email, invite.role], [bob.email, "member"])
        const mail = yield* lastMailTo(bob.email)
        assert.include(mail.text, invite.invite_id)
        assert.include(mail.text, `/api/v1/org/invite/${invite.invite_id}/accept`)
        yield* expectProblem(
          yield* kit.request("POST", "/api/v1/org/invite", { ...asAlice, body: { email: bob.email } }),
          409,
          "invite_exists"
        )
        const open = yield* expect<{ invites: ReadonlyArray<{ id: string; email: string; status: string; last_emailed_at: string | null }> }>(
          yield* kit.request("GET", "/api/v1/org/invites", asAlice),
          200
        )
        const listed = open.invites.find((i) => i.id === invite.invite_id)
        assert.strictEqual(listed?.status, "pending")
        assert.isNotNull(listed?.last_emailed_at)
        // Unverified: nothing listed, and no answering.
        assert.deepStrictEqual(
          yield* expect(yield* kit.request("GET", "/api/v1/org/invites/me", { token: bob.session }), 200),
          { invites: [] }
        )
        yield* expectProblem(
          yield* kit.request("POST", `/api/v1/org/invite/${invite.invite_id}/accept`, { token: bob.session }),
          403,
          "email_not_verified"
        )
        yield* verifyEmail(bob.email)
        const mine = yield* expect<{ invites: ReadonlyArray<Record<string, unknown>> }>(
          yield* kit.request("GET", "/api/v1/org/invites/me", { token: bob.session }),
          200
        )
        assert.strictEqual(mine.invites.length, 1)
        assert.deepInclude(mine.invites[0], { invite_id: invite.invite_id, org_id: org.org_id, role: "member", invited_by_email: alice.email })
        // Someone else (verified) cannot see or answer it.
        const carol = yield* newUser({ role: "viewer", verified: true })
        yield* expectProblem(
          yield* kit.request("POST", `/api/v1/org/invite/${invite.invite_id}/accept`, { token: carol.session }),
          404,
          "NOT_FOUND"
        )
        yield* expectProblem(
          yield* kit.request("POST", `/api/v1/org/invite/${invite.invite_id}/decline`, { token: carol.session }),
          404,
          "NOT_FOUND"
        )
        const accepted = yield* expect<{ org_id: string; role: string }>(
          yield* kit.request("POST", `/api/v1/org/invite/${invite.invite_id}/accept`, { token: bob.session }),
          200
        )
        assert.deepStrictEqual(accepted, { org_id: org.org_id, role: "member" })
        const again = yield* expectProblem(
          yield* kit.request("POST", `/api/v1/org/invite/${invite.invite_id}/accept`, { token: bob.session }),
          400,
          "invite_not_pending"
        )
        assert.strictEqual(again.state, "accepted")
        yield* expectProblem(
          yield* kit.request("POST", `/api/v1/orgs/${org.org_id}/invites/${invite.invite_id}/resend`, asAlice),
          409,
          "invite_not_resendable"
        )
        const info = yield* expect<{ members: ReadonlyArray<{ user_id: string; role: string }> }>(
          yield* kit.request("GET", "/api/v1/org", asAlice),
          200
        )
        assert.sameDeepMembers(info.members.map((m) => [m.user_id, m.role]), [[alice.id, "admin"], [bob.id, "member"]])
        // Bob's next login starts in the organization he joined.
        const bobInTeam = yield* signIn(bob.username)
        const bobMe = yield* expect<{ organization_id: string; role: string }>(yield* kit.request("GET", "/api/me", { token: bobInTeam }), 200)
        assert.deepStrictEqual([bobMe.organization_id, bobMe.role], [org.org_id, "editor"])
        yield* expectProblem(yield* kit.request("GET", "/api/v1/org/invites", { token: bobInTeam }), 403, "insufficient_role")
        // Promote: the same session may now list invites; demote: refused again at once.
        assert.deepStrictEqual(
          yield* expect(yield* kit.request("PUT", `/api/v1/org/members/${bob.id}/role`, { ...asAlice, body: { role: "admin" } }), 200),
          { user_id: bob.id, role: "admin", trellis_role: "admin" }
        )
        yield* expect(yield* kit.request("GET", "/api/v1/org/invites", { token: bobInTeam }), 200)
        yield* expectProblem(
          yield* kit.request("PUT", `/api/v1/org/members/${alice.id}/role`, { token: bobInTeam, body: { role: "viewer" } }),
          403,
          "owner_protected"
        )
        yield* expect(yield* kit.request("PUT", `/api/v1/org/members/${bob.id}/role`, { ...asAlice, body: { role: "viewer" } }), 200)
        yield* expectProblem(yield* kit.request("GET", "/api/v1/org/invites", { token: bobInTeam }), 403, "insufficient_role")
        yield* expectProblem(
          yield* kit.request("PUT", `/api/v1/org/members/${alice.id}/role`, { ...asAlice, body: { role: "viewer" } }),
          400,
          "self_membership_change"
        )
        // Removal: his session in the team ends; he keeps org_default, where his next login starts.
        assert.deepStrictEqual(
          yield* expect(yield* kit.request("DELETE", `/api/v1/org/members/${bob.id}`, asAlice), 200),
          { removed: bob.id, projects_transferred: 0, pending_transfers_cancelled: 0 }
        )
        yield* expectProblem(yield* kit.request("GET", "/api/me", { token: bobInTeam }), 401, "session_expired")
        const bobBack = yield* expect<{ organization_id: string }>(
          yield* kit.request("GET", "/api/me", { token: yield* signIn(bob.username) }),
          200
        )
        assert.strictEqual(bobBack.organization_id, "org_default")
        yield* expectProblem(yield* kit.request("DELETE", `/api/v1/org/members/${bob.id}`, asAlice), 404, "NOT_FOUND")
        // Every write above is in the organization's audit chain, and the chain verifies.
        const sql = yield* SqlClient.SqlClient
        const actions = yield* sql<{ action: string }>`
          SELECT action FROM audit.entries WHERE organization_id = ${org.org_id} ORDER BY seq`
        assert.includeMembers(actions.map((a) => a.action), [
          "identity.organization.create",
          "identity.invite.create",
          "identity.invite.accept",
          "identity.member.role_change",
          "identity.member.remove"
        ])
        const verified = yield* expect<{ status: string; chain_length: number }>(
          yield* kit.request("GET", "/v1/audit/verify", asAlice),
          200
        )
        assert.deepStrictEqual([verified.status, verified.chain_length], ["valid", actions.length])
      }))

    it.effect("invites: decline, re-invite over a stale invite, revoke, org-scoped paths, cross-organization 404", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const alice = yield* newUser({ role: "viewer" })
        const org = yield* expect<{ org_id: string }>(
          yield* kit.request("POST", "/api/v1/org", { token: alice.session, body: { name: unique("Decliners") } }),
          200
        )
        const asAlice = { token: alice.session, headers: inOrg(org.org_id) }
        const dave = yield* newUser({ role: "viewer", verified: true })
        const first = yield* expect<{ invite_id: string; role: string }>(
          yield* kit.request("POST", `/api/v1/orgs/${org.org_id}/invite`, { ...asAlice, body: { email: dave.email, role: "viewer" } }),
          200
        )
        assert.strictEqual(first.role, "member")
        const declinedReply = yield* expect<{ invite_id: string; declined: boolean; declined_at: string }>(
          yield* kit.request("POST", `/api/v1/org/invite/${first.invite_id}/decline`, { token: dave.session, body: { reason: "wrong account" } }),
          200
        )
        assert.deepInclude(declinedReply, { invite_id: first.invite_id, declined: true })
        assert.isFalse(Number.isNaN(Date.parse(declinedReply.declined_at)))
        const declined = yield* expectProblem(
          yield* kit.request("POST", `/api/v1/org/invite/${first.invite_id}/accept`, { token: dave.session }),
          400,
          "invite_not_pending"
        )
        assert.strictEqual(declined.state, "declined")
        const stored = yield* (yield* SqlClient.SqlClient)<{ decline_reason: string }>`
          SELECT decline_reason FROM identity.invites WHERE id = ${first.invite_id}`
        assert.strictEqual(stored[0].decline_reason, "wrong account")
        // Inviting again replaces the declined invite: a new id, the old link is dead.
        const second = yield* expect<{ invite_id: string }>(
          yield* kit.request("POST", "/api/v1/org/invite", { ...asAlice, body: { email: dave.email } }),
          200
        )
        assert.notStrictEqual(second.invite_id, first.invite_id)
        yield* expectProblem(
          yield* kit.request("POST", `/api/v1/org/invite/${first.invite_id}/accept`, { token: dave.session }),
          404,
          "NOT_FOUND"
        )
        const open = yield* expect<{ invites: ReadonlyArray<{ id: string; email: string }> }>(
          yield* kit.request("GET", "/api/v1/org/invites", asAlice),
          200
        )
        assert.deepStrictEqual(open.invites.map((i) => i.id), [second.invite_id])
        // Another organization's admin cannot touch it.
        yield* expectProblem(yield* kit.request("DELETE", `/api/v1/org/invites/${second.invite_id}`), 404, "NOT_FOUND")
        yield* expectProblem(
          yield* kit.request("POST", `/api/v1/orgs/${org.org_id}/invites/${second.invite_id}/resend`),
          404,
          "NOT_FOUND"
        )
        yield* expectProblem(
          yield* kit.request("POST", `/api/v1/orgs/${org.org_id}/invite`, { body: { email: "x@example.test" } }),
          404,
          "NOT_FOUND"
        )
        yield* expectProblem(
          yield* kit.request("POST", `/api/v1/orgs/org_default/invites/${second.invite_id}/resend`),
          404,
          "NOT_FOUND"
        )
        assert.deepStrictEqual(
          yield* expect(yield* kit.request("DELETE", `/api/v1/org/invites/${second.invite_id}`, asAlice), 200),
          { revoked: second.invite_id }
        )
        yield* expectProblem(yield* kit.request("DELETE", `/api/v1/org/invites/${second.invite_id}`, asAlice), 404, "NOT_FOUND")
        yield* expectProblem(
          yield* kit.request("POST", `/api/v1/org/invite/${second.invite_id}/accept`, { token: dave.session }),
          404,
          "NOT_FOUND"
        )
        // Members cannot be invited again; editors cannot invite at all.
        yield* expectProblem(
          yield* kit.request("POST", "/api/v1/org/invite", { ...asAlice, body: { email: alice.email } }),
          409,
          "already_member"
        )
        const editor = yield* newUser({ role: "editor" })
        yield* expectProblem(
          yield* kit.request("POST", "/api/v1/org/invite", { token: editor.session, body: { email: "y@example.test" } }),
          403,
          "insufficient_role"
        )
      }))

    it.effect("invites: a refused email does not fail the invite; resend delivers it later", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const smtp = yield* FakeSmtp
        const address = `${unique("late")}@example.test`
        smtp.failing = true
        const created = yield* Effect.ensuring(
          Effect.flatMap(
            kit.request("POST", "/api/v1/org/invite", { body: { email: address, role: "admin" } }),
            (response) => expect<{ invite_id: string; role: string }>(response, 200)
          ),
          Effect.sync(() => {
            smtp.failing = false
          })
        )
        assert.strictEqual(created.role, "admin")
        assert.isFalse(smtp.mails.some((m) => m.to.includes(address)))
        const open = yield* expect<{ invites: ReadonlyArray<{ id: string; last_emailed_at: string | null }> }>(
          yield* kit.request("GET", "/api/v1/org/invites"),
          200
        )
        assert.isNull(open.invites.find((i) => i.id === created.invite_id)?.last_emailed_at)
        const resent = yield* expect<{ invite_id: string; email: string; sent: boolean; last_emailed_at: string | null }>(
          yield* kit.request("POST", `/api/v1/orgs/org_default/invites/${created.invite_id}/resend`),
          200
        )
        assert.deepInclude(resent, { invite_id: created.invite_id, email: address, sent: true })
        assert.isNotNull(resent.last_emailed_at)
        assert.include((yield* lastMailTo(address)).text, created.invite_id)
      }))

    // -----------------------------------------------------------------------------------------
    // Surflet: tenant, agent registration, claim

    it.effect("agent self-registration: a tenant, an agent key, and a single-use claim code for a human", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const registered = yield* expect<{ apiKey: string; tenantId: string; claimCode: string; claimUrl: string; message: string }>(
          yield* kit.request("POST", "/v1/auth/agent/register", {
            token: null,
            body: { name: "my-coding-agent", owner_email: "owner@example.test" }
          }),
          201
        )
        assert.isTrue(registered.apiKey.startsWith("sk_live_"))
        assert.isTrue(registered.tenantId.startsWith("org_"))
        assert.match(registered.claimCode, /^SURF-[A-Z0-9]+$/)
        assert.strictEqual(registered.claimUrl, `${kit.baseUrl}/claim`)
        assert.include(registered.message, registered.claimCode)
        const tenant = yield* expect<{ tenant_id: string; name: string; plan: string; usage: { members: number } }>(
          yield* kit.request("GET", "/v1/tenant", { token: registered.apiKey }),
          200
        )
        assert.deepInclude(tenant, { tenant_id: registered.tenantId, name: "my-coding-agent", plan: "self-hosted" })
        assert.strictEqual(tenant.usage.members, 1)
        const me = yield* expect<{ tenantId: string; type: string }>(yield* kit.request("GET", "/v1/auth/me", { token: registered.apiKey }), 200)
        assert.deepStrictEqual([me.tenantId, me.type], [registered.tenantId, "agent"])
        // The agent cannot claim its own account; a wrong code is invalid_token.
        yield* expectProblem(
          yield* kit.request("POST", "/v1/auth/claim", { token: registered.apiKey, body: { claimCode: registered.claimCode } }),
          403,
          "FORBIDDEN"
        )
        const human = yield* newUser({ role: "viewer" })
        yield* expectProblem(
          yield* kit.request("POST", "/v1/auth/claim", { token: human.session, body: { claimCode: "SURF-NOPE1234" } }),
          400,
          "invalid_token"
        )
        assert.deepStrictEqual(
          yield* expect(
            yield* kit.request("POST", "/v1/auth/claim", { token: human.session, body: { claimCode: ` ${registered.claimCode.toLowerCase()} ` } }),
            200
          ),
          { tenantId: registered.tenantId, claimed: true }
        )
        yield* expectProblem(
          yield* kit.request("POST", "/v1/auth/claim", { token: human.session, body: { claimCode: registered.claimCode } }),
          400,
          "invalid_token"
        )
        const asOwner = yield* expect<{ tenant_id: string; usage: { members: number } }>(
          yield* kit.request("GET", "/v1/tenant", { token: human.session, headers: inOrg(registered.tenantId) }),
          200
        )
        assert.deepStrictEqual([asOwner.tenant_id, asOwner.usage.members], [registered.tenantId, 2])
        const sql = yield* SqlClient.SqlClient
        const stored = yield* sql<{ claim_code_hash: string; created_by_agent: boolean; owner_email: string; claimed: boolean }>`
          SELECT claim_code_hash, created_by_agent, owner_email, claimed_at IS NOT NULL AS claimed
          FROM identity.organizations WHERE id = ${registered.tenantId}`
        assert.deepInclude(stored[0], { created_by_agent: true, owner_email: "owner@example.test", claimed: true })
        assert.notInclude(stored[0].claim_code_hash, registered.claimCode)
        const actions = yield* sql<{ action: string }>`
          SELECT action FROM audit.entries WHERE organization_id = ${registered.tenantId} ORDER BY seq`
        assert.deepStrictEqual(actions.map((a) => a.action), ["identity.agent.register", "identity.tenant.claim"])
      }))

    it.effect("GET /v1/tenant: the caller's organization with its usage", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const tenant = yield* expect<{ tenant_id: string; name: string; usage: { pages_limit: null; workspaces: number } }>(
          yield* kit.request("GET", "/v1/tenant"),
          200
        )
        assert.deepStrictEqual([tenant.tenant_id, tenant.name], ["org_default", "Default"])
        assert.isNull(tenant.usage.pages_limit)
        yield* expectProblem(yield* kit.request("GET", "/v1/tenant", { token: null }), 401, "UNAUTHORIZED")
      }))

    it.effect("TRELLIS_SMTP_URL is validated without echoing its password", () =>
      Effect.gen(function*() {
        const bad = yield* Effect.flip(TrellisConfig.fromRecord({ TRELLIS_SMTP_URL: "http://user:hunter2@mail.example.test" }))
        assert.strictEqual(bad.variable, "TRELLIS_SMTP_URL")
        assert.notInclude(bad.message, "hunter2")
        const good = yield* TrellisConfig.fromRecord({ TRELLIS_SMTP_URL: "smtps://u:p@mail.example.test:465", TRELLIS_MAIL_FROM: "Ops <ops@example.test>" })
        assert.strictEqual(good.mailFrom, "Ops <ops@example.test>")
        assert.isDefined(good.smtpUrl)
        const from = yield* Effect.flip(TrellisConfig.fromRecord({ TRELLIS_MAIL_FROM: "not an address" }))
        assert.strictEqual(from.variable, "TRELLIS_MAIL_FROM")
      }))

    // Last: it spends the per-address signup budget of this server.
    it.effect("agent registration is rate-limited per client address", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        let last: HttpClientResponse.HttpClientResponse | undefined
        for (let i = 0; i < 40; i++) {
          last = yield* kit.request("POST", "/v1/auth/agent/register", { token: null, body: { name: `burst-${i}` } })
          if (last.status === 429) break
        }
        assert.strictEqual(last?.status, 429)
        assert.isDefined(last?.headers["retry-after"])
        yield* expectProblem(last!, 429, "RATE_LIMITED")
      }))
  })
})
