/**
 * Through the real server: a plugin registers a worker from its layer and enqueues; a job that
 * keeps failing is retried and then listed at `GET /api/jobs/dead` for admins of its
 * organization, and refused to a viewer.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import * as TestKit from "trellis/testing"
import { JobQueue, systemPrincipal } from "trellis/plugin"
import * as Plugin from "../../src/plugin/Plugin.ts"

const Payload = Schema.Struct({ order: Schema.String })

const FailingPlugin = Plugin.make({
  id: "jobtest",
  version: "1.0.0",
  description: "registers a worker that always fails",
  groups: [],
  migrations: [],
  layer: Layer.effectDiscard(Effect.gen(function*() {
    const jobs = yield* JobQueue
    yield* jobs.register("jobtest.charge", {
      schema: Payload,
      retryLimit: 1,
      retryDelay: 1,
      handler: (p) => Effect.fail(`card declined for ${p.order}`)
    })
    yield* jobs.enqueue("jobtest.charge", Payload, { order: "o-1" }, { principal: systemPrincipal("jobtest") })
  }))
})

describe("dead-lettered jobs", () => {
  layer(TestKit.layer({ plugins: [FailingPlugin] }), { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect("are listed for admins after their retries", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        let body: { data: ReadonlyArray<{ name: string; payload: unknown; attempts: number; actor_id: string | null; error: unknown }> } = { data: [] }
        while (body.data.length === 0) {
          const response = yield* kit.request("GET", "/api/jobs/dead")
          assert.strictEqual(response.status, 200)
          body = (yield* response.json) as typeof body
          if (body.data.length === 0) yield* Effect.sleep("200 millis")
        }
        assert.lengthOf(body.data, 1)
        const [dead] = body.data
        assert.strictEqual(dead!.name, "jobtest.charge")
        assert.deepStrictEqual(dead!.payload, { order: "o-1" })
        assert.strictEqual(dead!.attempts, 2)
        assert.strictEqual(dead!.actor_id, "system:jobtest")
        assert.include(JSON.stringify(dead!.error), "card declined for o-1")

        const bad = yield* kit.request("GET", "/api/jobs/dead?limit=0")
        assert.strictEqual(bad.status, 400)
        const anonymous = yield* kit.request("GET", "/api/jobs/dead", { token: null })
        assert.strictEqual(anonymous.status, 401)
      }))
  })
})
