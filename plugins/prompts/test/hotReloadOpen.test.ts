/**
 * `/ws` pushes every change committed after the socket opened, however slowly the server reads
 * where the change stream stands (PostgreSQL only: it needs a second session).
 *
 * The socket's `open` (the `101`) is what tells a client "you are watching": an SDK saves right
 * after it and waits for the frame. The server used to read the stream's position after sending
 * the `101`; a save that committed in between was behind that position and never pushed (the
 * PromptOps hot-reload conformance test failed about once in three PostgreSQL runs). Here the
 * position read is held on a table lock while a change commits, which makes that order certain.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import * as TestKit from "trellis/testing"
import { PromptsPlugin } from "../Plugin.ts"
import { changesStream } from "../Streams.ts"
import { call, createPrompt, uniqueKey } from "./support.ts"
import { connect } from "./wsClient.ts"
import type { WsClient } from "./wsClient.ts"

/** Real time (the test runs with a TestClock, under which `Effect.sleep` never ends). */
const pause = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

const pgBase = process.env.TRELLIS_TEST_DATABASE_URL

describe.skipIf(pgBase === undefined || pgBase === "")("prompts plugin: hot reload from the moment the socket opens (PostgreSQL)", () => {
  layer(TestKit.layer({ plugins: [PromptsPlugin] }), { timeout: 120_000 })((it) => {
    it.effect("a change that commits after the 101 is pushed, even while the server cannot yet read the stream", () =>
      Effect.gen(function*() {
        const kit = yield* TestKit.TrellisTest
        const sql = yield* SqlClient.SqlClient
        const key = uniqueKey("open.race")
        const id = yield* createPrompt({ key, env: "prod", content: "one" })
        const stream = changesStream("org_default")
        const change = JSON.stringify({
          type: "prompt.updated",
          id,
          key,
          env: "prod",
          version: null,
          version_number: null,
          workspace_id: "default",
          served: true
        })

        let socket: WsClient | undefined
        let opening: Promise<WsClient> | undefined
        const openedWhileLocked = yield* sql.withTransaction(Effect.gen(function*() {
          // Nothing reads or writes the streams' counters until this transaction ends.
          yield* sql`LOCK TABLE trellis.event_streams IN ACCESS EXCLUSIVE MODE`
          opening = connect(`${kit.baseUrl.replace(/^http/, "ws")}/ws?token=${kit.adminToken}&client=browser`)
            .then((client) => socket = client)
          // Wait for the server's read of the stream's position to queue behind the lock (a
          // prepared statement waits in Bind, where `query` still shows the previous statement).
          let waiting = false
          for (let attempt = 0; attempt < 400 && !waiting; attempt++) {
            const rows = yield* sql<{ readonly n: number | string }>`SELECT count(*) AS n FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`
            waiting = Number(rows[0]?.n ?? 0) > 0
            if (!waiting) yield* pause(25)
          }
          assert.isTrue(waiting, "the server reads the stream's position when a socket connects")
          // Give a `101` the server may already have sent the time to arrive.
          yield* pause(300)
          if (socket === undefined) return false
          // The client is watching: a change committing now comes after its `open`.
          yield* sql`WITH next AS (
              INSERT INTO trellis.event_streams AS s (stream, last_seq) VALUES (${stream}::text, 1)
              ON CONFLICT (stream) DO UPDATE SET last_seq = s.last_seq + 1
              RETURNING last_seq
            ), inserted AS (
              INSERT INTO trellis.events (stream, seq, event, data)
              SELECT ${stream}::text, next.last_seq, 'prompt.updated', ${change}::jsonb FROM next
              RETURNING stream, seq
            )
            SELECT pg_notify('trellis_events', json_build_object('stream', stream, 'seq', seq)::text) FROM inserted`
          return true
        }))
        const client = yield* Effect.promise(() => opening ?? Promise.reject(new Error("not connected")))
        if (!openedWhileLocked) {
          // The server read the position before the `101` (as it must): save now, after `open`.
          const saved = yield* call("PUT", `/api/prompts/${id}`, { body: { content: "two" } })
          assert.strictEqual(saved.status, 200)
        }
        const frame = yield* Effect.promise(() => client.until((f) => f.key === key))
        assert.strictEqual(frame.type, "prompt.updated")
        client.close()
      }))
  })
})
