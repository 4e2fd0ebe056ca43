/**
 * Helpers for the PromptOps conformance tests: requests sent the way PromptOps's own clients
 * send them (`fetch` with only the headers they set), against a server started by the test kit.
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"

export interface Answer<A = unknown> {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: A
}

/** One request with exactly these headers (and a JSON body, if given). */
export const send = <A = unknown>(
  method: string,
  path: string,
  options: { readonly headers?: Record<string, string>; readonly body?: unknown } = {}
) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* Effect.promise(() =>
      fetch(`${kit.baseUrl}${path}`, {
        method,
        headers: options.headers ?? {},
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) })
      })
    )
    const text = yield* Effect.promise(() => response.text())
    let json: unknown = undefined
    try {
      json = text === "" ? undefined : JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: response.status, headers: response.headers, text, json: json as A } satisfies Answer<A>
  })

/** The web console's axios instance: base `/api`, bearer token, JSON. */
export const consoleCall = <A = unknown>(method: string, path: string, token: string, body?: unknown) =>
  send<A>(method, `/api${path}`, {
    headers: {
      Accept: "application/json, text/plain, */*",
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" })
    },
    body
  })

let counter = 0
/** A prompt key no other test of the run uses. */
export const freshKey = (prefix: string): string => `${prefix}.${Date.now().toString(36)}${(counter++).toString(36)}`

/** A `ws://` URL for `/ws` with this query string. */
export const wsUrl = (baseUrl: string, query: URLSearchParams | string): string =>
  `${baseUrl.replace(/^http/, "ws")}/ws?${String(query)}`

/** Creates a user with `role` and logs in as PromptOps's login page does; returns the token. */
export const loginAs = (role: string) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const username = `${role}${freshKey("u").replace(/\./g, "")}`
    const created = yield* consoleCall("POST", "/users", kit.adminToken, { username, password: `${role}-password-1`, role })
    assert.oneOf(created.status, [200, 201], created.text)
    const login = yield* send<{ token: string }>("POST", "/api/login", {
      headers: { "Content-Type": "application/json" },
      body: { username, password: `${role}-password-1` }
    })
    assert.strictEqual(login.status, 200, login.text)
    return login.json.token
  })
