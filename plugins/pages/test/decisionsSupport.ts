/**
 * What the decisions tests share: requests, publishing, a local webhook receiver, polling.
 */
import { createServer } from "node:http"
import type { IncomingHttpHeaders } from "node:http"
import { Effect } from "effect"
import * as TestKit from "trellis/testing"

export type Json = Record<string, unknown>

/** An email address, built (no address is written out whole in the sources). */
export const mail = (name: string): string => [name, "example.com"].join("@")

export const call = (method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, options: TestKit.RequestOptions = {}) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request(method, path, options)
    const text = yield* response.text
    return { status: response.status, body: (text === "" ? null : JSON.parse(text)) as Json, text }
  })

/** Publishes a page as the admin (the default organization's owner): its id. */
export const publish = (page: Json) =>
  Effect.gen(function*() {
    const answer = yield* call("POST", "/v1/publish", { body: { actions: [{ action_id: "act_approve", label: "Approve" }, { action_id: "act_reject", label: "Reject" }], ...page } })
    if (answer.status !== 201 && answer.status !== 200) return yield* Effect.die(new Error(`publish: ${answer.status} ${answer.text}`))
    return answer.body["pageId"] as string
  })

/** `POST /v1/pages/:id/actions/:actionId`. */
export const act = (pageId: string, actionId: string, body: Json = {}, token?: string | null) =>
  call("POST", `/v1/pages/${pageId}/actions/${actionId}`, { body, token })

/** Polls `check` until it returns a value (the test's timeout bounds it: no timed assertions). */
export const eventually = <A, E, R>(check: Effect.Effect<A | undefined, E, R>): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    for (;;) {
      const value = yield* check
      if (value !== undefined) return value
      yield* Effect.sleep("100 millis")
    }
  })

export interface Delivery {
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

/** A local HTTP receiver on 127.0.0.1: records every request; answers the queued statuses, then 200. */
export const receiver = Effect.acquireRelease(
  Effect.callback<{ url: string; deliveries: Array<Delivery>; answers: Array<number>; close: () => void }>((resume) => {
    const deliveries: Array<Delivery> = []
    const answers: Array<number> = []
    const server = createServer((request, response) => {
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        deliveries.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") })
        response.statusCode = answers.shift() ?? 200
        response.end("ok")
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}/hook`, deliveries, answers, close: () => server.close() }))
    })
  }),
  (r) => Effect.sync(() => r.close())
)
