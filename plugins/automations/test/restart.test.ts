/**
 * Event triggers across restarts: the server is booted, closed and booted again on one
 * database (embedded directory, or PostgreSQL with TRELLIS_TEST_DATABASE_URL). A publish the
 * first process consumed is not consumed again by the next; a publish committed while no
 * process with the automations plugin was running (a server without it) is consumed by the
 * next one that has it, from the stored position: nothing missed, nothing repeated.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import type { Scope } from "effect"
import { CurrentPrincipal, systemPrincipal } from "trellis/plugin"
import * as TestKit from "trellis/testing"
import { PromptsPlugin } from "../../prompts/Plugin.ts"
import { Prompts } from "../../prompts/PromptsService.ts"
import { testRunsPlugin } from "../../runs/test/support.ts"
import { AutomationsPlugin } from "../Plugin.ts"
import { eventually, probePlugin } from "./support.ts"
import type { Services } from "./support.ts"

const T = 240_000

/** The default organization's owner (the admin token's principal), named for the test. */
const owner = systemPrincipal("automations-tests")
const asOwner = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provideService(effect, CurrentPrincipal, owner)

const promptsProbe = (prompts: Deferred.Deferred<Prompts["Service"]>) =>
  TestKit.probe({ id: "prompts_probe", requires: ["prompts"], description: "test probe: the prompts service" }, Effect.flatMap(Prompts, (service) => Deferred.succeed(prompts, service)))

/** One database and a function that boots a server on it with or without the automations plugin. */
const restartable = Effect.gen(function*() {
  const server = yield* TestKit.restartable({ plugins: [PromptsPlugin, testRunsPlugin(), AutomationsPlugin] })
  const boot = (withAutomations: boolean): Effect.Effect<{ prompts: Prompts["Service"]; automations: Services | undefined }, unknown, Scope.Scope> =>
    Effect.gen(function*() {
      const prompts = yield* Deferred.make<Prompts["Service"]>()
      const services = yield* Deferred.make<Services>()
      yield* server.boot(withAutomations
        ? [PromptsPlugin, testRunsPlugin(), AutomationsPlugin, probePlugin(services), promptsProbe(prompts)]
        : [PromptsPlugin, testRunsPlugin(), promptsProbe(prompts)])
      return { prompts: yield* Deferred.await(prompts), automations: withAutomations ? yield* Deferred.await(services) : undefined }
    })
  return { boot }
})

const firedRuns = (services: Services, automationId: string) =>
  Effect.gen(function*() {
    const page = yield* services.runs.list({ source: "automation", limit: 100 }).pipe(asOwner)
    return page.data.filter((run) => run.refKey === automationId)
  })

describe("event triggers across restarts", () => {
  it.live("resume from the stored position: nothing consumed twice, nothing committed while down is missed", () =>
    Effect.gen(function*() {
      const server = yield* restartable
      const first = yield* Effect.scoped(Effect.gen(function*() {
        const { prompts, automations } = yield* server.boot(true)
        const services = automations as Services
        const prompt = yield* prompts.create({ key: "release-notes", content: "v1" }).pipe(asOwner)
        const automation = yield* services.automations.create("default", {
          name: "on publish",
          trigger: { type: "event", event: "prompt.published", filter: { key: "release-notes" } },
          target: { type: "workflow", id: "wf_ok_notes" }
        }).pipe(asOwner)
        yield* prompts.publish(prompt.id, "first").pipe(asOwner)
        const runs = yield* eventually(Effect.map(firedRuns(services, automation.id), (r) => (r.length > 0 ? r : undefined)))
        assert.strictEqual(runs.length, 1)
        return { promptId: prompt.id, automationId: automation.id, firstRun: runs[0].id }
      }))

      // A server without the automations plugin: nobody consumes this publish now.
      yield* Effect.scoped(Effect.gen(function*() {
        const { prompts } = yield* server.boot(false)
        yield* prompts.update(first.promptId, { content: "v2" }).pipe(asOwner)
        yield* prompts.publish(first.promptId, "second").pipe(asOwner)
      }))

      yield* Effect.scoped(Effect.gen(function*() {
        const { automations } = yield* server.boot(true)
        const services = automations as Services
        const runs = yield* eventually(Effect.map(firedRuns(services, first.automationId), (r) => (r.length >= 2 ? r : undefined)))
        // The second publish started one run; the first was not consumed again.
        assert.strictEqual(runs.length, 2)
        assert.include(runs.map((r) => r.id), first.firstRun)
        const second = runs.find((r) => r.id !== first.firstRun)
        assert.strictEqual((second?.input.event as { version_number: number }).version_number, 2)
      }))
    }), T)

  it.live.skipIf(process.env.TRELLIS_TEST_DATABASE_URL === undefined || process.env.TRELLIS_TEST_DATABASE_URL === "")(
    "two processes on one PostgreSQL both follow the stream: each event starts exactly one run",
    () =>
      Effect.gen(function*() {
        const server = yield* restartable
        yield* Effect.scoped(Effect.gen(function*() {
          const one = yield* server.boot(true)
          const two = yield* server.boot(true)
          const services = one.automations as Services
          const prompt = yield* one.prompts.create({ key: "shared", content: "v0" }).pipe(asOwner)
          const automation = yield* services.automations.create("default", {
            name: "on publish",
            trigger: { type: "event", event: "prompt.published" },
            target: { type: "workflow", id: "wf_ok_shared" }
          }).pipe(asOwner)
          // Publishes from both processes; both processes are woken by each (NOTIFY).
          for (let n = 1; n <= 6; n++) {
            const via = n % 2 === 0 ? one.prompts : two.prompts
            yield* via.update(prompt.id, { content: `v${n}` }).pipe(asOwner)
            yield* via.publish(prompt.id, `publish ${n}`).pipe(asOwner)
          }
          const runs = yield* eventually(Effect.map(firedRuns(services, automation.id), (r) => (r.length >= 6 ? r : undefined)))
          // Both drain once more: nothing is left to consume twice.
          const stream = `prompts.changes.${owner.organizationId}`
          yield* services.automations.drain(stream)
          yield* (two.automations as Services).automations.drain(stream)
          const after = yield* firedRuns(services, automation.id)
          assert.strictEqual(after.length, 6)
          assert.deepStrictEqual(
            after.map((r) => (r.input.event as { version_number: number }).version_number).sort((a, b) => a - b),
            [1, 2, 3, 4, 5, 6]
          )
          assert.strictEqual(runs.length, 6)
        }))
      }),
    T
  )
})
