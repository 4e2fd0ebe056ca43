/**
 * The mobile client's calls (seed 002) as an iPhone app's URLSession makes them: JSON bodies,
 * `Accept: application/json`, `Authorization: Bearer <token>` from `POST /api/auth/token`.
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"

export interface Reply {
  readonly status: number
  readonly contentType: string
  readonly body: unknown
}

export const app = (method: "GET" | "POST" | "PUT" | "DELETE", path: string, token: string | null, json?: unknown) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const headers: Record<string, string> = { accept: "application/json", "user-agent": "Mobile/1 CFNetwork/1490 Darwin/23.2.0" }
    if (token !== null) headers.authorization = `Bearer ${token}`
    if (json !== undefined) headers["content-type"] = "application/json"
    const response = yield* Effect.promise(() =>
      fetch(`${kit.baseUrl}${path}`, { method, headers, body: json === undefined ? null : JSON.stringify(json) })
    )
    const text = yield* Effect.promise(() => response.text())
    const contentType = response.headers.get("content-type") ?? ""
    return { status: response.status, contentType, body: contentType.includes("json") && text !== "" ? JSON.parse(text) : text } as Reply
  })

/** The body of a reply with the expected status. */
export const expect = <A>(reply: Reply, status: number, what: string): A => {
  assert.strictEqual(reply.status, status, `${what}: ${JSON.stringify(reply.body)}`)
  return reply.body as A
}

/** An RFC 7807 problem with the status and code, and no dialect envelope (seed 002's plain problems). */
export const problem = (reply: Reply, status: number, code: string, what: string) => {
  const body = expect<Record<string, unknown>>(reply, status, what)
  assert.include(reply.contentType, "application/problem+json", what)
  assert.strictEqual(body.status, status, what)
  assert.strictEqual(body.code, code, what)
  assert.isString(body.type, what)
  assert.isString(body.title, what)
  assert.notProperty(body, "error", `${what}: seed 002's problems carry no error envelope`)
  return body
}

/** A user of the default organization with the role, and a mobile token for them. */
export const member = (role: "viewer" | "editor" | "admin" | "owner", abilities?: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const username = `m-${role}-${crypto.randomUUID().slice(0, 8)}`
    const email = `${username}@example.test`
    const password = `a mobile password ${username}`
    const created = yield* kit.request("POST", "/api/users", { body: { username, password, email, role } })
    assert.strictEqual(created.status, 201)
    const signedIn = yield* app("POST", "/api/auth/token", null, {
      email,
      password,
      deviceName: "iPhone 15",
      ...(abilities === undefined ? {} : { abilities })
    })
    const { token } = expect<{ token: string; abilities: ReadonlyArray<string> }>(signedIn, 200, `token for ${role}`)
    return { username, email, password, token }
  })
