/**
 * The HTTP fast path (`src/http/FastPath.ts`, `FastPathServer.ts`): a fast route answers
 * exactly what the endpoint's handler answers (status, body, headers), only for requests it
 * may answer, and hands everything else to the full pipeline: an unknown or revoked
 * credential, a missing scope, an exhausted rate limit, a cache miss, an unknown key.
 *
 * Which path answered is read from `trellis_http_fast_path_requests_total`. The full
 * pipeline's answer to the same request is obtained with `X-Trellis-Organization` set to the
 * caller's own organization, which the fast path never takes and which changes nothing else.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import * as TestKit from "trellis/testing"
import { FastPath, Plugin } from "trellis/plugin"
import { HelloPlugin } from "../../examples/hello-plugin/Plugin.ts"
import { PromptsPlugin } from "../../plugins/prompts/Plugin.ts"

interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

const get = (path: string, token?: string, headers?: Record<string, string>) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request("GET", path, { token, headers })
    return { status: response.status, headers: response.headers, body: yield* response.text } satisfies Answer
  })

const send = (method: "POST" | "PUT" | "DELETE", path: string, body?: unknown, token?: string) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const response = yield* kit.request(method, path, { body, token })
    const text = yield* response.text
    assert.isBelow(response.status, 300, `${method} ${path}: ${response.status} ${text}`)
    return (text === "" ? {} : JSON.parse(text)) as Record<string, unknown>
  })

const fastCount = (route: string) =>
  Effect.gen(function*() {
    const metrics = yield* get("/metrics")
    const line = metrics.body.split("\n").find((l) => l.startsWith(`trellis_http_fast_path_requests_total{route="${route}"}`))
    return line === undefined ? 0 : Number(line.split(" ").at(-1))
  })

/** The pipeline's answer to the same request (see the module doc). */
const viaPipeline = (path: string, token?: string, headers?: Record<string, string>) =>
  get(path, token, { ...headers, "x-trellis-organization": "org_default" })

/** Headers that differ between two answers by nature: the date and (unless sent) the request id. */
const comparable = (answer: Answer, except: ReadonlyArray<string> = []) =>
  Object.fromEntries(
    Object.entries(answer.headers).filter(([name]) => !["date", "x-request-id", "connection", "keep-alive", ...except].includes(name))
  )

const serviceKey = (scopes: ReadonlyArray<string>) =>
  Effect.map(
    send("POST", "/api/v1/orgs/org_default/service-keys", { name: `fast ${scopes.join(" ")}`, scopes }),
    (created) => String(created.key)
  )

let keys = 0
const promptWithRollout = Effect.gen(function*() {
  const key = `fast.${Date.now().toString(36)}${(keys++).toString(36)}`
  const created = yield* send("POST", "/api/prompts", { key, env: "prod", content: "Hello {{name}}, v1" })
  const id = String((created.data as Record<string, unknown>).id)
  yield* send("POST", "/api/prompts/publish", { id })
  yield* send("PUT", `/api/prompts/${id}`, { content: "Hello {{name}}, v2" })
  yield* send("POST", "/api/prompts/publish", { id })
  yield* send("PUT", `/api/prompts/${id}/rollout`, { enabled: true, variant_a: "v1", variant_b: "v2", weight_a: 20 })
  return { key, id }
})

describe("HTTP fast path", () => {
  // The real clock: a test here waits for a NOTIFY with `Effect.sleep`, which on the TestClock
  // @effect/vitest provides otherwise never wakes up (the test hung until its timeout).
  layer(TestKit.layer({ plugins: [PromptsPlugin] }), { excludeTestServices: true, timeout: 120_000 })((it) => {
    it.effect("answers GET /api/plugins exactly like the pipeline, and counts it", () =>
      Effect.gen(function*() {
        const before = yield* fastCount("/api/plugins")
        const fast = yield* get("/api/plugins", undefined, { "x-request-id": "fast-1" })
        const afterFast = yield* fastCount("/api/plugins")
        const slow = yield* viaPipeline("/api/plugins", undefined, { "x-request-id": "fast-1" })
        const afterSlow = yield* fastCount("/api/plugins")
        assert.strictEqual(afterFast, before + 1, "the fast path answered")
        assert.strictEqual(afterSlow, afterFast, "the pipeline answered")
        assert.strictEqual(fast.status, 200)
        assert.strictEqual(fast.body, slow.body)
        assert.deepStrictEqual(comparable(fast), comparable(slow))
        assert.strictEqual(fast.headers["x-request-id"], "fast-1")
        assert.match(fast.headers["x-request-id"] ?? "", /^fast-1$/)
        // A generated request id when none (or a malformed one) is sent.
        const generated = yield* get("/api/plugins", undefined, { "x-request-id": "bad id with spaces" })
        assert.match(generated.headers["x-request-id"] ?? "", /^[0-9a-f-]{36}$/)
      }))

    it.effect("answers SDK fetch (rollout on, service key) like the pipeline: 200, ETag, 304, rate-limit headers", () =>
      Effect.gen(function*() {
        const { key } = yield* promptWithRollout
        const sdkKey = yield* serviceKey(["prompts:read"])
        const path = `/api/sdk/prompts/${key}?env=prod&user_id=caller-7`
        // The first call fills the credential and prompt caches through the pipeline.
        const first = yield* get(path, sdkKey)
        assert.strictEqual(first.status, 200, first.body)
        const before = yield* fastCount("/api/sdk/prompts/:key")
        const fast = yield* get(path, sdkKey)
        assert.strictEqual(yield* fastCount("/api/sdk/prompts/:key"), before + 1, "the fast path answered")
        const slow = yield* viaPipeline(path, sdkKey)
        assert.strictEqual(yield* fastCount("/api/sdk/prompts/:key"), before + 1, "the pipeline answered")
        assert.strictEqual(fast.status, 200)
        assert.strictEqual(fast.body, slow.body)
        assert.strictEqual(fast.body, first.body, "the same caller gets the same version")
        // `RateLimit` carries the remaining budget, one less on the later call.
        assert.deepStrictEqual(comparable(fast, ["ratelimit"]), comparable(slow, ["ratelimit"]))
        assert.isDefined(fast.headers["ratelimit-policy"])
        assert.match(fast.headers["ratelimit"] ?? "", /r=\d+/)
        const body = JSON.parse(fast.body) as Record<string, unknown>
        assert.strictEqual(body.key, key)
        assert.strictEqual(body.sticky, true)

        const etag = fast.headers.etag ?? ""
        const notModified = yield* get(path, sdkKey, { "if-none-match": etag })
        const notModifiedSlow = yield* viaPipeline(path, sdkKey, { "if-none-match": etag })
        assert.strictEqual(notModified.status, 304)
        assert.strictEqual(notModified.body, "")
        assert.deepStrictEqual(comparable(notModified, ["ratelimit"]), comparable(notModifiedSlow, ["ratelimit"]))
        assert.strictEqual(yield* fastCount("/api/sdk/prompts/:key"), before + 2)
      }))

    it.effect("serves a publish at once: the write's own cache drop reaches the fast path", () =>
      Effect.gen(function*() {
        const key = `fast.pub.${Date.now().toString(36)}`
        const created = yield* send("POST", "/api/prompts", { key, env: "prod", content: "one" })
        const id = String((created.data as Record<string, unknown>).id)
        yield* send("POST", "/api/prompts/publish", { id })
        const path = `/api/sdk/prompts/${key}?env=prod`
        assert.strictEqual(JSON.parse((yield* get(path)).body).content, "one")
        assert.strictEqual(JSON.parse((yield* get(path)).body).content, "one")
        yield* send("PUT", `/api/prompts/${id}`, { content: "two" })
        yield* send("POST", "/api/prompts/publish", { id })
        assert.strictEqual(JSON.parse((yield* get(path)).body).content, "two")
      }))

    it.effect("serves the working copy of a live workspace like the pipeline, and every save at once", () =>
      Effect.gen(function*() {
        const key = `fast.live.${Date.now().toString(36)}`
        const created = yield* send("POST", "/api/prompts", { key, env: "prod", content: "draft one", version: "v1-rc" })
        const id = String((created.data as Record<string, unknown>).id)
        const path = `/api/sdk/prompts/${key}?env=prod`
        const first = yield* get(path)
        assert.strictEqual(first.status, 200, first.body)
        // The create's cache drop also comes back through the event stream; on PostgreSQL it
        // arrives by NOTIFY a moment later and may empty the entry the first GET filled, so the
        // next GET may still take the pipeline. Ask until the fast path answers (bounded).
        let fast = first
        let answered = false
        for (let attempt = 0; attempt < 40 && !answered; attempt++) {
          const before = yield* fastCount("/api/sdk/prompts/:key")
          fast = yield* get(path)
          answered = (yield* fastCount("/api/sdk/prompts/:key")) === before + 1
          if (!answered) yield* Effect.sleep("50 millis")
        }
        assert.isTrue(answered, "the fast path answered")
        const slow = yield* viaPipeline(path)
        assert.strictEqual(fast.body, slow.body)
        assert.deepStrictEqual(comparable(fast, ["ratelimit"]), comparable(slow, ["ratelimit"]))
        const body = JSON.parse(fast.body) as Record<string, unknown>
        assert.deepStrictEqual([body.content, body.version, body.version_number, body.serving], ["draft one", "v1-rc", null, "live"])
        yield* send("PUT", `/api/prompts/${id}`, { content: "draft two" })
        assert.strictEqual(JSON.parse((yield* get(path)).body).content, "draft two")
        assert.strictEqual(JSON.parse((yield* viaPipeline(path)).body).content, "draft two")
      }))

    it.effect("hands to the pipeline what it may not answer: unknown token, missing scope, unknown key, HEAD", () =>
      Effect.gen(function*() {
        const { key } = yield* promptWithRollout
        const path = `/api/sdk/prompts/${key}?env=prod&user_id=u`
        yield* get(path) // warm the prompt cache
        const before = yield* fastCount("/api/sdk/prompts/:key")

        const unknown = yield* get(path, "sk_sfs_svc_not-a-real-key")
        assert.strictEqual(unknown.status, 401)
        assert.strictEqual(unknown.headers["content-type"], "application/problem+json")

        const noScope = yield* serviceKey(["audit:read"])
        yield* get(path, noScope) // the pipeline resolves it (and caches the credential)
        const refused = yield* get(path, noScope)
        assert.strictEqual(refused.status, 403)
        assert.strictEqual(JSON.parse(refused.body).code, "insufficient_scope")

        const missing = yield* get("/api/sdk/prompts/no.such.key?env=prod")
        assert.strictEqual(missing.status, 404)
        assert.strictEqual(missing.headers["content-type"], "application/problem+json")

        const repeated = yield* get(`/api/sdk/prompts/${key}?env=prod&env=dev`)
        assert.notStrictEqual(repeated.status, 500)

        const kit = yield* TestKit.TrellisTest
        const head = yield* kit.request("HEAD", path)
        assert.strictEqual(head.status, 200)

        assert.strictEqual(yield* fastCount("/api/sdk/prompts/:key"), before, "none of these took the fast path")
      }))

    it.effect("stops answering for a revoked key at once", () =>
      Effect.gen(function*() {
        const { key } = yield* promptWithRollout
        const created = yield* send("POST", "/api/v1/orgs/org_default/service-keys", { name: "to revoke", scopes: ["prompts:read"] })
        const secret = String(created.key)
        const path = `/api/sdk/prompts/${key}?env=prod&user_id=u`
        assert.strictEqual((yield* get(path, secret)).status, 200)
        const before = yield* fastCount("/api/sdk/prompts/:key")
        assert.strictEqual((yield* get(path, secret)).status, 200)
        assert.strictEqual(yield* fastCount("/api/sdk/prompts/:key"), before + 1, "the fast path answered")
        yield* send("DELETE", `/api/v1/orgs/org_default/service-keys/${String(created.id)}`)
        const revoked = yield* get(path, secret)
        assert.strictEqual(revoked.status, 401)
        assert.strictEqual(JSON.parse(revoked.body).code, "api_key_revoked")
      }))
  })

  const rateLimits = { perMinute: 4, runPerMinute: 6, settingsPerMinute: 20, streams: 4, loginPerAccount: 10, loginPerAddress: 30 }
  layer(TestKit.layer({ plugins: [PromptsPlugin], config: { rateLimits, corsOrigins: ["https://app.example.org"] } }), {
    timeout: 120_000
  })((it) => {
    it.effect("spends the same rate-limit budget as the pipeline, and leaves the 429 to it", () =>
      Effect.gen(function*() {
        const { key } = yield* promptWithRollout
        const path = `/api/sdk/prompts/${key}?env=prod&user_id=u`
        yield* get(path) // the admin token warms the prompt cache (and is never limited)
        const sdkKey = yield* serviceKey(["prompts:read"])
        const answers: Array<number> = []
        for (let i = 0; i < 6; i++) answers.push((yield* get(path, sdkKey)).status)
        assert.deepStrictEqual(answers, [200, 200, 200, 200, 429, 429])
        const refused = yield* get(path, sdkKey)
        assert.strictEqual(refused.headers["content-type"], "application/problem+json")
        assert.isDefined(refused.headers["retry-after"])
        assert.strictEqual(yield* fastCount("/api/sdk/prompts/:key"), 3, "the allowed calls after the first took the fast path")
      }))

    it.effect("with CORS on: answers like the pipeline without Origin, and leaves a CORS request to it", () =>
      Effect.gen(function*() {
        const before = yield* fastCount("/api/plugins")
        const fast = yield* get("/api/plugins")
        assert.strictEqual(yield* fastCount("/api/plugins"), before + 1)
        const slow = yield* viaPipeline("/api/plugins")
        assert.deepStrictEqual(comparable(fast), comparable(slow))
        const cors = yield* get("/api/plugins", undefined, { origin: "https://app.example.org" })
        assert.strictEqual(cors.status, 200)
        assert.strictEqual(cors.headers["access-control-allow-origin"], "https://app.example.org")
        assert.strictEqual(yield* fastCount("/api/plugins"), before + 1, "the CORS request took the pipeline")
      }))
  })

  layer(TestKit.layer({ plugins: [PromptsPlugin], config: { httpFastPath: false } }), { timeout: 120_000 })((it) => {
    it.effect("is off with TRELLIS_HTTP_FAST_PATH=false", () =>
      Effect.gen(function*() {
        for (let i = 0; i < 3; i++) assert.strictEqual((yield* get("/api/plugins")).status, 200)
        assert.strictEqual(yield* fastCount("/api/plugins"), 0)
      }))
  })
})

/** The example plugin, plus a fast route for a path it does not serve. */
const badPlugin = (path: string) =>
  Plugin.make({
    ...HelloPlugin,
    layer: Layer.merge(HelloPlugin.layer, FastPath.route(Effect.succeed({ path, handle: () => undefined })))
  })

describe("HTTP fast path: a plugin's mistakes", () => {
  it.effect("refuses to start on a fast route for a path no endpoint serves", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.scoped(Layer.build(TestKit.layer({ plugins: [badPlugin("/api/hello/nothing-here")] }))))
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "Fast route /api/hello/nothing-here")
    }), 120_000)
})
