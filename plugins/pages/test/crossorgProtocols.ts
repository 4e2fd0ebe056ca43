/**
 * The A2UI and AG-UI routes' entries of the cross-organization matrix (spread into `crossorg.ts`):
 * B publishes through `POST /v1/publish/a2ui` and `/ag-ui`; the page is B's own, the answer
 * names nothing of A's, and A cannot open it by its id (404).
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { assertClean, call, ok } from "../../../test/identity/crossorgMatrix.ts"
import type { Entry } from "../../../test/identity/crossorgMatrix.ts"

const protocolPublish = (body: unknown): Entry => ({
  kind: "own",
  reason: "translates the body and publishes a page in the caller's own organization",
  check: ({ world, callers, key }) =>
    Effect.gen(function*() {
      const path = key.slice(key.indexOf(" ") + 1)
      for (const caller of callers) {
        const reply = yield* call("POST", path, { token: caller.token, body })
        const { pageId } = ok<{ pageId: string }>(reply, `${caller.name}: POST ${path}`, 201)
        assertClean(world, reply, `${caller.name}: POST ${path}`)
        const fromA = yield* call("GET", `/v1/pages/${pageId}`, { token: world.a.token })
        assert.strictEqual(fromA.status, 404, `A opened ${caller.name}'s page ${pageId}: ${fromA.text.slice(0, 300)}`)
      }
    })
})

export const protocolRoutes: Readonly<Record<string, Entry>> = {
  "POST /v1/publish/a2ui": protocolPublish({
    title: "B's surface",
    updateComponents: { surfaceId: "s", components: [{ id: "t", component: "Text", text: "hello" }] }
  }),
  "POST /v1/publish/ag-ui": protocolPublish({
    title: "B's run",
    events: [{ type: "TEXT_MESSAGE_CHUNK", messageId: "m", delta: "hello" }]
  })
}
