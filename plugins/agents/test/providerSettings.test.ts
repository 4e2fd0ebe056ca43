/**
 * Agents' model calls use the per-workspace provider settings the way the playground does
 * (`WorkspaceProviders` from the prompts plugin's `PromptsService.ts`): an agent in a workspace
 * whose admin saved an OpenAI-compatible endpoint calls that endpoint with that key (a real
 * local fake server, through the real routes); the request's `api_key` wins; a request's other
 * `base_url` gets no configured key (a key only goes to its own origin); an agent of another
 * workspace does not get it; and the key never appears in run responses, run events, run rows
 * or log lines.
 *
 * The kit allows private addresses (`TRELLIS_PROVIDERS_ALLOW_PRIVATE=true`) so the fakes on
 * loopback can be used, and logs at debug level so the log check means something.
 */
import { assert, describe, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { randomBytes } from "node:crypto"
import { afterAll, beforeAll } from "vitest"
import * as TestKit from "trellis/testing"
import * as FakeOpenai from "../../../test/ai/fakeOpenai.ts"
import { call, createAgent, servedPlugins, uniqueKey } from "./support.ts"

const fakes: { team?: FakeOpenai.FakeOpenai; other?: FakeOpenai.FakeOpenai } = {}

const kit = Layer.unwrap(Effect.sync(() =>
  TestKit.layer({ plugins: servedPlugins().plugins, config: { logLevel: "debug" } }).pipe(
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({ ...process.env, TRELLIS_PROVIDERS_ALLOW_PRIVATE: "true" })))
  )
))

/** A fresh secret no other test uses. */
const newKey = (label: string) => `sk-${label}-${randomBytes(18).toString("hex")}`

/** The text of a response, to look for secrets in it. */
const text = (method: "GET" | "POST" | "PUT", path: string, options?: TestKit.RequestOptions) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request(method, path, options)
    return { status: response.status, text: yield* response.text }
  })

const lastCall = (fake: FakeOpenai.FakeOpenai | undefined) => {
  const r = fake?.received.at(-1)
  return r === undefined ? undefined : [r.headers.authorization ?? "(none)", r.body.model] as const
}

interface RunAnswer {
  readonly result: { readonly provider: string; readonly model: string; readonly output: string }
  readonly run_id: string
}

describe("agents: the workspace's provider settings", () => {
  beforeAll(async () => {
    fakes.team = await FakeOpenai.start()
    fakes.other = await FakeOpenai.start()
  })
  afterAll(async () => {
    await fakes.team?.close()
    await fakes.other?.close()
  })

  layer(kit, { timeout: 180_000 })((it) => {
    it.effect("an agent calls its workspace's endpoint with its key, which appears nowhere", () =>
      Effect.gen(function*() {
        const team = fakes.team!
        const other = fakes.other!
        const workspace = uniqueKey("team")
        const secret = newKey("workspace")
        const requestKey = newKey("request")
        const saved = yield* call("PUT", `/api/playground/providers/openai?workspace=${workspace}`, {
          body: { base_url: `${team.baseUrl}`, api_key: secret, model: "team-model" }
        })
        assert.strictEqual(saved.status, 200, JSON.stringify(saved.body))

        const written: Array<string> = []
        const stdout = process.stdout.write.bind(process.stdout)
        const stderr = process.stderr.write.bind(process.stderr)
        const capture = (chunk: unknown) => {
          written.push(typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) ? chunk.toString("utf8") : String(chunk))
        }
        process.stdout.write = ((chunk: unknown, ...rest: Array<never>) => {
          capture(chunk)
          return stdout(chunk as string, ...rest)
        }) as typeof process.stdout.write
        process.stderr.write = ((chunk: unknown, ...rest: Array<never>) => {
          capture(chunk)
          return stderr(chunk as string, ...rest)
        }) as typeof process.stderr.write
        const texts: Array<string> = []
        const runIds: Array<string> = []
        try {
          const agent = yield* createAgent({ prompt: "Hello {{name}}", provider: "openai", workspace_id: workspace })
          const run = (body: Record<string, unknown>) =>
            Effect.gen(function*() {
              const answer = yield* text("POST", `/api/agents/${agent.id}/run`, { body: { variables: { name: "Ada" }, ...body } })
              assert.strictEqual(answer.status, 200, answer.text)
              texts.push(answer.text)
              const parsed = JSON.parse(answer.text) as RunAnswer
              runIds.push(String(parsed.run_id))
              return parsed
            })

          // The workspace's endpoint, key and model.
          const first = yield* run({})
          assert.deepStrictEqual([first.result.provider, first.result.model, first.result.output], ["openai", "team-model", "streamed: Hello Ada"])
          assert.deepStrictEqual(lastCall(team), [`Bearer ${secret}`, "team-model"])

          // The request's key wins, sent to the workspace's endpoint.
          yield* run({ api_key: requestKey })
          assert.deepStrictEqual(lastCall(team), [`Bearer ${requestKey}`, "team-model"])

          // Another base URL in the request: the workspace's key does not go there.
          const before = team.received.length
          yield* run({ base_url: other.baseUrl })
          assert.deepStrictEqual(lastCall(other), ["(none)", "team-model"])
          assert.strictEqual(team.received.length, before, "nothing went to the workspace's endpoint")

          // An agent of another workspace does not get this workspace's settings.
          const elsewhere = yield* createAgent({ prompt: "Hi", provider: "openai", workspace_id: uniqueKey("elsewhere") })
          const calls = team.received.length
          const refused = yield* text("POST", `/api/agents/${elsewhere.id}/run`, { body: { variables: {} } })
          assert.notStrictEqual(refused.status, 200, refused.text)
          assert.strictEqual(team.received.length, calls)
          texts.push(refused.text)

          for (const id of runIds) {
            const events = yield* text("GET", `/api/runs/${id}/events?limit=500`)
            assert.strictEqual(events.status, 200, events.text)
            assert.include(events.text, "model_call")
            texts.push(events.text)
            texts.push((yield* text("GET", `/api/runs/${id}`)).text)
          }
          texts.push((yield* text("GET", "/api/runs?limit=100")).text)
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
        } finally {
          process.stdout.write = stdout
          process.stderr.write = stderr
        }
        for (const t of texts) {
          assert.notInclude(t, secret)
          assert.notInclude(t, requestKey)
        }
        assert.isTrue(written.length > 0, "the server logged at debug level")
        assert.notInclude(written.join(""), secret, "no log line holds the workspace's key")
        assert.notInclude(written.join(""), requestKey, "no log line holds the request's key")

        const sql = yield* SqlClient.SqlClient
        const tables = yield* sql<{ readonly table_name: string }>`
          SELECT table_name FROM information_schema.tables WHERE table_schema = 'runs' AND table_type = 'BASE TABLE'`
        assert.isTrue(tables.some((t) => t.table_name === "run_events"))
        const rows: Array<{ readonly row: string }> = []
        for (const t of tables) rows.push(...yield* sql.unsafe<{ readonly row: string }>(`SELECT t::text AS row FROM runs."${t.table_name}" t`))
        const dump = rows.map((r) => r.row).join("\n")
        assert.include(dump, runIds[0])
        assert.notInclude(dump, secret)
        assert.notInclude(dump, requestKey)
      }))
  })
})
