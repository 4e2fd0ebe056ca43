/** Helpers shared by the prompts plugin's tests: JSON requests against the test kit. */
import { Effect } from "effect"
import * as TestKit from "trellis/testing"

export interface JsonResponse<A = unknown> {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: A
}

/** A request whose JSON body (if any) is parsed; never fails on a status. */
export const call = <A = unknown>(
  method: "GET" | "POST" | "PUT" | "DELETE",
  path: string,
  options?: TestKit.RequestOptions
) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request(method, path, options)
    const text = yield* response.text
    return {
      status: response.status,
      headers: response.headers,
      body: (text === "" ? undefined : JSON.parse(text)) as A
    } satisfies JsonResponse<A>
  })

let counter = 0
/** A key no other test of the run uses. */
export const uniqueKey = (prefix: string): string => `${prefix}.${Date.now().toString(36)}${(counter++).toString(36)}`

/** Creates a prompt and returns its id. */
export const createPrompt = (body: Record<string, unknown>) =>
  Effect.gen(function*() {
    const created = yield* call<{ data: { id: string } }>("POST", "/api/prompts", { body })
    if (created.status !== 200) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`)
    return created.body.data.id
  })

export const publish = (id: string) =>
  Effect.gen(function*() {
    const published = yield* call<{ data: { version: string } }>("POST", "/api/prompts/publish", { body: { id } })
    if (published.status !== 200) throw new Error(`publish failed: ${published.status} ${JSON.stringify(published.body)}`)
    return published.body.data
  })
