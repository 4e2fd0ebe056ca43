/**
 * A chain step's timeout across a restart: the first process publishes a page whose step
 * times out shortly and stops before it does; the next process (same database) escalates the
 * step. The timeout is a pg-boss row, so no process holds it in memory.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Option } from "effect"
import { CurrentPrincipal, systemPrincipal } from "trellis/plugin"
import * as TestKit from "trellis/testing"
import { RunsPlugin } from "../../runs/Plugin.ts"
import { Decisions } from "../DecisionsService.ts"
import { PagesPlugin } from "../Plugin.ts"
import { Pages } from "../PagesService.ts"
import { eventually, mail } from "./decisionsSupport.ts"

const T = 240_000
const owner = systemPrincipal("pages-tests")

interface Services {
  readonly pages: Pages["Service"]
  readonly decisions: Decisions["Service"]
}

const probe = (services: Deferred.Deferred<Services>) =>
  TestKit.probe({ id: "pages_probe", requires: ["pages"] }, Effect.gen(function*() {
    yield* Deferred.succeed(services, { pages: yield* Pages, decisions: yield* Decisions })
  }))

describe("pages: chain timeouts across a restart", () => {
  it.live("a timeout enqueued by one process escalates the step in the next", () =>
    Effect.gen(function*() {
      const server = yield* TestKit.restartable({ plugins: [RunsPlugin, PagesPlugin] })
      const pageId = yield* Effect.scoped(Effect.gen(function*() {
        const services = yield* Deferred.make<Services>()
        yield* server.boot([RunsPlugin, PagesPlugin, probe(services)])
        const { pages } = yield* Deferred.await(services)
        const published = yield* pages.publish({
          title: "Across a restart",
          actions: [{ action_id: "act_approve", label: "Approve" }],
          approval_chain: { steps: [{ step_id: "s", assignees: [mail("slow")], timeout_minutes: 0.05, escalate_to: [mail("boss")] }] }
        }, { status: "active" }).pipe(Effect.provideService(CurrentPrincipal, owner))
        return published.page.id
      }))
      yield* Effect.scoped(Effect.gen(function*() {
        const services = yield* Deferred.make<Services>()
        yield* server.boot([RunsPlugin, PagesPlugin, probe(services)])
        const { pages, decisions } = yield* Deferred.await(services)
        const view = yield* eventually(Effect.gen(function*() {
          const page = yield* pages.find(pageId)
          if (Option.isNone(page)) return undefined
          const approval = yield* decisions.approval(page.value)
          return approval.steps[0]!.status === "escalated" ? approval : undefined
        }))
        assert.deepStrictEqual(view.steps[0]!.assignees, [mail("slow"), mail("boss")])
      }))
    }).pipe(Effect.scoped), T)
})
