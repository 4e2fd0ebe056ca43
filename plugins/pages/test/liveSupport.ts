/**
 * What the live part's tests share: a probe plugin handing the test the services the real
 * server built (to emit a page event no route of this part emits), requests with parsed
 * bodies, publishing a page, a second organization, and an SSE reader over `fetch`.
 */
import { Deferred, Effect } from "effect"
import * as TestKit from "trellis/testing"
import { connect } from "../../../test/platform/sseClient.ts"
import type { Frame, SseConnection } from "../../../test/platform/sseClient.ts"
import { PageEvents } from "../PageEvents.ts"
import { Pages } from "../PagesService.ts"

export interface Services {
  readonly pages: Pages["Service"]
  readonly events: PageEvents["Service"]
}

export const probePlugin = (services: Deferred.Deferred<Services>) =>
  TestKit.probe(
    { id: "pages_live_probe", requires: ["pages"], description: "test probe: the pages plugin's services" },
    Effect.gen(function*() {
      yield* Deferred.succeed(services, { pages: yield* Pages, events: yield* PageEvents })
    })
  )

export type Json = Readonly<Record<string, unknown>>

/** A comment as the routes answer it. */
export interface CommentJson {
  readonly id: string
  readonly pageId: string
  readonly content: string
  readonly authorName: string | null
  readonly authorType: string
  readonly authorIdentity: string | null
  readonly blockId: string | null
  readonly parentId: string | null
  readonly createdAt: string
  readonly updatedAt: string | null
}

/** An agent event as the routes answer it. */
export interface AgentEventJson {
  readonly id: string
  readonly type: string
  readonly pageId: string
  readonly data: Json
  readonly actor: string
  readonly seq: number
  readonly createdAt: string
  readonly acked: boolean
  readonly ackedAt: string | null
}

/** A problem in Surflet's dialect. */
export interface ProblemJson {
  readonly type: string
  readonly error: { readonly code: string; readonly message: string; readonly details?: Json }
  readonly field?: string
}

/** A request; the body parsed and typed as the caller says (the test asserts on it). */
export const call = <A = Json>(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", path: string, options: TestKit.RequestOptions = {}) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request(method, path, options)
    const text = yield* response.text
    return { status: response.status, body: (text === "" ? null : JSON.parse(text)) as A, text }
  })

/** Publishes a page as `token` (the admin token of `org_default` unless given); its id. */
export const publish = (body: Json, token?: string) =>
  Effect.gen(function*() {
    const reply = yield* call<{ readonly pageId: string }>("POST", "/v1/publish", { body: { title: "A page", ...body }, token })
    if (reply.status !== 201 && reply.status !== 200) throw new Error(`publish answered ${reply.status}: ${reply.text}`)
    return reply.body.pageId
  })

/** A second organization, made by agent self-registration: its id and its owner agent's key. */
export const otherOrganization = Effect.gen(function*() {
  const reply = yield* call<{ readonly tenantId: string; readonly apiKey: string }>("POST", "/v1/auth/agent/register", {
    token: null,
    body: { name: "Other organization agent", owner_email: `other-${crypto.randomUUID().slice(0, 8)}@example.test` }
  })
  if (reply.status !== 201) throw new Error(`register answered ${reply.status}: ${reply.text}`)
  return { orgId: reply.body.tenantId, token: reply.body.apiKey }
})

/** Opens an SSE stream on the test server; closed when the test's scope ends. */
export const sse = (path: string, headers: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    return yield* Effect.acquireRelease(
      Effect.promise(() => connect(kit.baseUrl + path, headers)),
      (connection) => Effect.sync(() => connection.close())
    )
  })

/** The frames with data, parsed. */
export const dataOf = (frames: ReadonlyArray<Frame>): Array<{ readonly id: string | undefined; readonly event: string | undefined; readonly data: Json }> =>
  frames.filter((f) => f.data !== undefined).map((f) => ({ id: f.id, event: f.event, data: JSON.parse(f.data!) as Json }))

/** Waits until `count` data frames arrived; the data frames. */
export const dataFrames = (connection: SseConnection, count: number) =>
  Effect.promise(() => connection.until((frames) => dataOf(frames).length >= count)).pipe(Effect.map(dataOf))

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
