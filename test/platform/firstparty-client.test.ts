/**
 * The typed client of the whole first-party API (`trellis/client`'s `FirstPartyApi`) against a
 * real server: one client, calls across the platform and every first-party plugin, responses
 * decoded by the same schemas the server encodes with.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Client from "trellis/client"
import * as TestKit from "trellis/testing"
import { firstParty } from "../../plugins/index.ts"

describe("FirstPartyApi client", () => {
  layer(TestKit.layer({ plugins: firstParty, firstPartyIds: new Set(firstParty.map((p) => p.id)) }), { timeout: 120_000 })((it) => {
    it.effect("signs in, then reads and writes across platform and plugins with one typed client", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const anonymous = yield* Client.make(Client.FirstPartyApi, { baseUrl: kit.baseUrl })
        const session = yield* anonymous.login.login({ payload: { username: "admin", password: TestKit.adminPassword } })
        assert.deepStrictEqual([session.role, session.trellis_role], ["admin", "owner"])
        const trellis = yield* Client.make(Client.FirstPartyApi, { baseUrl: kit.baseUrl, token: session.token })
        const me = yield* trellis.session.me()
        assert.strictEqual(me.username, "admin")
        const { plugins } = yield* trellis.plugins.list()
        assert.includeMembers(plugins.map((p) => p.id), ["trellis", "audit", "identity", "prompts", "tickets"])
        const prompt = yield* trellis.prompts.create({ payload: { key: "client-test", content: "Hi {{name}}" } })
        const listed = yield* trellis.prompts.list({ query: {} })
        assert.isTrue(JSON.stringify(listed).includes(prompt.data.id))
        const projects = yield* trellis.ticketProjects.listProjects()
        assert.isDefined(projects)
        const audit = yield* trellis.audit.list({ query: {} })
        assert.isTrue(audit.data.some((entry) => entry.event === "prompts.prompt.create" && entry.action === "create"))
      }))
  })
})
