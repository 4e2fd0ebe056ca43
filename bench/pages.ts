/**
 * Pages benchmark (`npm run bench:pages`, issue 13 "Figures"). The real server (runs and pages
 * plugins) boots in this process on the embedded database, or on PostgreSQL when
 * `BENCH_DATABASE_URL` (or `TRELLIS_TEST_DATABASE_URL`) is set. Prints figures only; fails only
 * when something breaks.
 *
 * Figures:
 * - viewer render: `GET /p/:id` of a public 50-block page (every block type, twice over), p50/p99
 *   over sequential requests (the whole request: access, render, the view counted);
 * - publish p99: `POST /v1/publish` of the same page, sequential;
 * - fan-out: 1,000 concurrent readers of `GET /v1/pages/:id/events` (anonymous, as the viewer's
 *   script), one block appended, the time until every reader has seen the event; RSS before and
 *   with the readers open.
 *
 * Environment:
 *   BENCH_DATABASE_URL       PostgreSQL to measure (a scratch database is created on it)
 *   BENCH_PAGES_SAMPLES      requests per latency figure (default 200)
 *   BENCH_PAGES_SUBSCRIBERS  SSE readers of one page (default 1000)
 */
import { Effect } from "effect"
import * as NodeOs from "node:os"
import * as TestKit from "trellis/testing"
import { RunsPlugin } from "../plugins/runs/Plugin.ts"
import { PagesPlugin } from "../plugins/pages/Plugin.ts"
import { everyBlock, pageInput } from "../plugins/pages/test/viewerFixture.ts"

const samples = Number(process.env.BENCH_PAGES_SAMPLES ?? 200)
const subscribers = Number(process.env.BENCH_PAGES_SUBSCRIBERS ?? 1000)
const pgUrl = process.env.BENCH_DATABASE_URL || process.env.TRELLIS_TEST_DATABASE_URL || undefined

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN
}
const ms = (value: number) => `${value.toFixed(1)} ms`
const spread = (values: ReadonlyArray<number>) => `p50 ${ms(percentile(values, 0.5))}, p99 ${ms(percentile(values, 0.99))}, max ${ms(Math.max(...values))}`
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`

/** 50 blocks: every block of the fixture, renumbered, repeated. */
const fiftyBlocks = Array.from({ length: 50 }, (_, i) => ({ ...everyBlock[i % everyBlock.length]!, id: `b_${i}` }))

const auth = { authorization: `Bearer ${TestKit.adminToken}`, "content-type": "application/json" }

const timed = async (run: () => Promise<void>) => {
  const start = performance.now()
  await run()
  return performance.now() - start
}

const publishOnce = async (baseUrl: string): Promise<string> => {
  const response = await fetch(`${baseUrl}/v1/publish`, { method: "POST", headers: auth, body: JSON.stringify(pageInput({ blocks: fiftyBlocks })) })
  if (response.status !== 201) throw new Error(`publish: ${response.status} ${await response.text()}`)
  return ((await response.json()) as { pageId: string }).pageId
}

const fanOut = async (baseUrl: string, pageId: string) => {
  const controller = new AbortController()
  const seen: Array<Promise<number>> = []
  const ready: Array<Promise<void>> = []
  for (let i = 0; i < subscribers; i++) {
    let markReady!: () => void
    ready.push(new Promise<void>((resolve) => (markReady = resolve)))
    seen.push((async () => {
      const response = await fetch(`${baseUrl}/v1/pages/${pageId}/events`, { headers: { accept: "text/event-stream" }, signal: controller.signal })
      if (response.status !== 200) {
        markReady()
        throw new Error(`subscriber ${i}: ${response.status} ${await response.text()}`)
      }
      const reader = response.body!.getReader()
      const decoder = new TextDecoder()
      let text = ""
      for (;;) {
        const { done, value } = await reader.read()
        if (done) throw new Error(`subscriber ${i}: stream ended`)
        text += decoder.decode(value, { stream: true })
        if (text.includes("connected")) markReady()
        if (text.includes("blocks.appended")) {
          const at = performance.now()
          await reader.cancel().catch(() => undefined)
          return at
        }
      }
    })())
  }
  const settled = await Promise.race([Promise.all(ready), new Promise((resolve) => setTimeout(resolve, 60_000, "timeout"))])
  if (settled === "timeout") throw new Error("subscribers did not all connect within 60 s")
  const rssOpen = process.memoryUsage().rss
  const start = performance.now()
  const append = await fetch(`${baseUrl}/v1/pages/${pageId}/blocks`, {
    method: "PATCH",
    headers: auth,
    body: JSON.stringify({ blocks: [{ type: "callout", data: { content: "fan-out", style: "info" } }] })
  })
  if (append.status !== 200) throw new Error(`append: ${append.status} ${await append.text()}`)
  const times = await Promise.all(seen)
  controller.abort()
  return { all: Math.max(...times) - start, median: percentile(times.map((t) => t - start), 0.5), rssOpen }
}

const measure = (label: string, postgres: string | false) =>
  Effect.gen(function*() {
    // Room for every reader (the default cap of 1,000 connections would close the last ones at once).
    const env = { TRELLIS_MAX_CONNECTIONS: String(subscribers + 100) }
    const server = yield* Effect.orDie(TestKit.restartable({ postgres, plugins: [RunsPlugin, PagesPlugin], env }))
    const { baseUrl } = yield* Effect.orDie(server.boot([RunsPlugin, PagesPlugin]))
    const line = (text: string) => Effect.sync(() => console.log(`${label}: ${text}`))
    yield* Effect.promise(async () => {
      // Warm up, then publish p99.
      for (let i = 0; i < 5; i++) await publishOnce(baseUrl)
      const publishTimes: Array<number> = []
      let pageId = ""
      for (let i = 0; i < samples; i++) publishTimes.push(await timed(async () => void (pageId = await publishOnce(baseUrl))))
      console.log(`${label}: publish (50 blocks): ${spread(publishTimes)}`)
      const renderTimes: Array<number> = []
      let bytes = 0
      for (let i = 0; i < 10; i++) await (await fetch(`${baseUrl}/p/${pageId}`)).text()
      for (let i = 0; i < samples; i++) {
        renderTimes.push(await timed(async () => {
          const response = await fetch(`${baseUrl}/p/${pageId}`)
          if (response.status !== 200) throw new Error(`viewer: ${response.status}`)
          bytes = (await response.text()).length
        }))
      }
      console.log(`${label}: viewer render GET /p/:id (50 blocks, ${(bytes / 1024).toFixed(0)} KB): ${spread(renderTimes)}`)
      const rssBefore = process.memoryUsage().rss
      const fan = await fanOut(baseUrl, pageId)
      console.log(`${label}: one event to ${subscribers} SSE subscribers of one page: all in ${ms(fan.all)} (median ${ms(fan.median)}); RSS ${mb(rssBefore)} -> ${mb(fan.rssOpen)} with the readers open (server and readers in one process)`)
    })
    yield* line("done")
  }).pipe(Effect.scoped)

const main = Effect.gen(function*() {
  console.log(`node ${process.version}, ${NodeOs.cpus().length} CPUs (${NodeOs.cpus()[0]?.model ?? "?"})`)
  yield* measure("embedded", false)
  if (pgUrl === undefined) console.log("postgres: skipped (set BENCH_DATABASE_URL)")
  else yield* measure("postgres", pgUrl)
})

Effect.runPromise(main).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  }
)
