/**
 * Sursakit (seed 000) conformance: the automations and incoming webhook calls its reference
 * documents (`GET / POST /workspace/{workspace_id}/automations`, `POST /webhooks/incoming` under
 * `/api/v1`), sent with the two credentials it documents: a per-organization API key as a bearer
 * token (a Trellis service key), and the session cookie of a signed-in user (CSRF-checked on
 * writes). Sursakit publishes no client, so the calls are the reference's; its OpenAPI document
 * is "generated from the route schemas", so the document must describe these routes.
 *
 * The `workflow` target needs a plugin that registers that step type: the automations tests'
 * probe plugin stands in for the workflows plugin.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import { Signature } from "trellis/plugin"
import * as TestKit from "trellis/testing"
import { AutomationsPlugin } from "../../../plugins/automations/Plugin.ts"
import { deliver, probePlugin } from "../../../plugins/automations/test/support.ts"
import type { Json, Services } from "../../../plugins/automations/test/support.ts"
import { PromptsPlugin } from "../../../plugins/prompts/Plugin.ts"
import { testRunsPlugin } from "../../../plugins/runs/test/support.ts"

const services = Effect.runSync(Deferred.make<Services>())

const send = (method: "GET" | "POST" | "PATCH", path: string, options: TestKit.RequestOptions) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request(method, path, options)
    const text = yield* response.text
    return { status: response.status, body: (text === "" ? null : JSON.parse(text)) as Json, text, headers: response.headers }
  })

const expect = (reply: { status: number; text: string; body: Json }, status: number) => {
  assert.strictEqual(reply.status, status, reply.text)
  return reply.body
}

describe("Sursakit conformance: workspace automations and incoming webhooks", () => {
  layer(TestKit.layer({ plugins: [PromptsPlugin, testRunsPlugin(), AutomationsPlugin, probePlugin(services)] }), { timeout: 180_000 })((it) => {
    it.effect("a per-organization API key creates and lists a workspace's automations; its webhook starts runs", () =>
      Effect.gen(function*() {
        // An organization admin creates the API key (organization settings), with the scopes it needs.
        const key = expect(yield* send("POST", "/api/v1/orgs/org_default/service-keys", {
          body: { name: "ci", scopes: ["automations:read", "automations:write"] }
        }), 201).key as string
        const workspace = "default"
        const created = expect(yield* send("POST", `/api/v1/workspace/${workspace}/automations`, {
          token: key,
          body: {
            name: "deploy hook",
            trigger: { type: "webhook" },
            target: { type: "workflow", id: "wf_ok_deploy", inputs: { environment: "staging" } }
          }
        }), 201)
        for (const field of ["id", "workspace_id", "name", "description", "created_by", "created_at", "updated_at"]) assert.isString(created[field], field)
        assert.strictEqual(created.workspace_id, workspace)
        assert.strictEqual(created.enabled, true)
        assert.isNull(created.last_fired_at)
        const webhook = created.webhook as Json
        assert.strictEqual(webhook.url, "/api/v1/webhooks/incoming")

        const listed = expect(yield* send("GET", `/api/v1/workspace/${workspace}/automations`, { token: key }), 200)
        assert.include((listed.data as ReadonlyArray<Json>).map((a) => a.id), created.id)

        // The receiver: no credential, the signature instead.
        const body = JSON.stringify({ ref: "refs/heads/main", sha: "abc123" })
        const accepted = expect(yield* deliver(created.id as string, webhook.secret as string, body), 202)
        assert.strictEqual((accepted.run_ids as ReadonlyArray<string>).length, 1)
        const unsigned = yield* deliver(created.id as string, webhook.secret as string, body, { signature: null })
        const problem = expect(unsigned, 401)
        assert.strictEqual(unsigned.headers["content-type"]?.startsWith("application/problem+json"), true)
        assert.deepStrictEqual([problem.code, (problem.error as Json).code], ["invalid_signature", "invalid_signature"])
        // Signed with the documented scheme by hand: HMAC-SHA256 over "<t>.<body>".
        const t = Math.floor(Date.now() / 1000)
        const other = JSON.stringify({ ref: "refs/heads/dev" })
        expect(yield* deliver(created.id as string, webhook.secret as string, other, { signature: Signature.sign(webhook.secret as string, other, t) }), 202)

        // A key without the scope is refused.
        const narrow = expect(yield* send("POST", "/api/v1/orgs/org_default/service-keys", { body: { name: "narrow", scopes: ["tickets:read"] } }), 201).key as string
        const refused = yield* send("GET", `/api/v1/workspace/${workspace}/automations`, { token: narrow })
        assert.strictEqual(refused.status, 403, refused.text)
        assert.strictEqual(refused.body.code, "insufficient_scope")
        // A read-only key lists but cannot create.
        const reader = expect(yield* send("POST", "/api/v1/orgs/org_default/service-keys", { body: { name: "reader", scopes: ["automations:read"] } }), 201).key as string
        expect(yield* send("GET", `/api/v1/workspace/${workspace}/automations`, { token: reader }), 200)
        const write = yield* send("POST", `/api/v1/workspace/${workspace}/automations`, {
          token: reader,
          body: { name: "x", trigger: { type: "webhook" }, target: { type: "workflow", id: "wf_ok_x" } }
        })
        assert.strictEqual(write.status, 403, write.text)
      }))

    it.effect("a signed-in user's session cookie reads and writes (writes echo the CSRF token)", () =>
      Effect.gen(function*() {
        const login = expect(yield* send("POST", "/api/login", { token: null, body: { username: "admin", password: TestKit.adminPassword } }), 200)
        const cookie = { cookie: `trellis_session=${login.token as string}` }
        const path = "/api/v1/workspace/default/automations"
        expect(yield* send("GET", path, { token: null, headers: cookie }), 200)
        const payload = { name: "hourly sync", trigger: { type: "cron", schedule: "0 * * * *" }, target: { type: "workflow", id: "wf_ok_sync" } }
        const noCsrf = yield* send("POST", path, { token: null, headers: cookie, body: payload })
        assert.strictEqual(noCsrf.status, 403, noCsrf.text)
        assert.strictEqual(noCsrf.body.code, "csrf_failed")
        const created = expect(yield* send("POST", path, {
          token: null,
          headers: { ...cookie, "x-csrf-token": login.csrf_token as string },
          body: payload
        }), 201)
        assert.deepStrictEqual(created.trigger, { type: "cron", schedule: "0 * * * *" })
        const disabled = expect(yield* send("PATCH", `${path}/${created.id as string}`, {
          token: null,
          headers: { ...cookie, "x-csrf-token": login.csrf_token as string },
          body: { enabled: false }
        }), 200)
        assert.strictEqual(disabled.enabled, false)
      }))

    it.effect("the OpenAPI document describes the routes from their schemas", () =>
      Effect.gen(function*() {
        const document = expect(yield* send("GET", "/openapi.json", { token: null }), 200) as { paths: Record<string, Record<string, Json>> }
        const automations = document.paths["/api/v1/workspace/{workspace_id}/automations"]
        assert.includeMembers(Object.keys(automations), ["get", "post"])
        assert.property(automations.post, "requestBody")
        assert.includeMembers(Object.keys(document.paths["/api/v1/workspace/{workspace_id}/automations/{automation_id}"]), ["get", "put", "patch", "delete"])
        const incoming = document.paths["/api/v1/webhooks/incoming"].post
        assert.property(incoming, "requestBody")
        assert.property(incoming.responses as Json, "202")
      }))
  })
})
