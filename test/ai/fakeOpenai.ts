/**
 * A local OpenAI-compatible chat-completions server for tests (a real HTTP server on loopback).
 * What it answers depends on the request's model:
 * - `broken`: HTTP 500 with a body that must never reach a caller (`internal-upstream-secret`);
 * - `slow`: never answers (the caller aborts; `aborted` counts the connections it closed);
 * - `tools`: asks for a call of the request's first tool with `{"city":"Paris"}`;
 * - `no-usage`: answers without token usage;
 * - anything else: `echo: <last user message>`, usage 11 prompt / 7 output tokens (streamed as
 *   `str`, `eamed: `, the message, with usage 5 / 3 when `stream_options.include_usage`).
 */
import { createServer } from "node:http"
import type { IncomingHttpHeaders, Server } from "node:http"
import type { AddressInfo } from "node:net"

export interface Received {
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly body: {
    readonly model: string
    readonly stream?: boolean
    readonly messages: ReadonlyArray<{ readonly role: string; readonly content: unknown; readonly tool_calls?: unknown; readonly tool_call_id?: string }>
    readonly tools?: ReadonlyArray<{ readonly function: { readonly name: string; readonly parameters: unknown } }>
  }
}

export interface FakeOpenai {
  readonly baseUrl: string
  readonly received: Array<Received>
  /** Connections of `slow` requests the client closed before an answer. */
  readonly aborted: () => number
  readonly close: () => Promise<void>
}

const lastUser = (body: Received["body"]) => {
  const users = body.messages.filter((m) => m.role === "user")
  const content = users[users.length - 1]?.content
  return typeof content === "string" ? content : JSON.stringify(content)
}

export const start = (): Promise<FakeOpenai> => {
  const received: Array<Received> = []
  let aborted = 0
  const server: Server = createServer((request, response) => {
    let text = ""
    request.on("data", (chunk: Buffer) => {
      text += chunk.toString()
    })
    request.on("end", () => {
      const body = JSON.parse(text) as Received["body"] & { stream_options?: { include_usage?: boolean } }
      received.push({ path: request.url ?? "", headers: request.headers, body })
      const created = Math.floor(Date.now() / 1000)
      const chunk = (delta: unknown, finish: string | null = null, usage?: unknown) =>
        `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }], ...(usage === undefined ? {} : { usage }) })}\n\n`
      /** The stream's last chunk: usage only. */
      const usageChunk = (usage: unknown) =>
        `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created, model: body.model, choices: [], usage })}\n\n`
      /** A whole (not streamed) answer. */
      const completion = (message: unknown, finish: string, usage?: unknown) =>
        JSON.stringify({
          id: "c1",
          object: "chat.completion",
          created,
          model: body.model,
          choices: [{ index: 0, message, finish_reason: finish }],
          ...(usage === undefined ? {} : { usage })
        })
      if (body.model === "broken") {
        response.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "internal-upstream-secret" } }))
        return
      }
      if (body.model === "slow") {
        response.on("close", () => {
          if (!response.writableEnded) aborted++
        })
        return
      }
      const firstTool = body.tools?.[0]?.function.name
      if (body.model === "tools" && firstTool !== undefined) {
        const call = { id: "call_1", type: "function", function: { name: firstTool, arguments: JSON.stringify({ city: "Paris" }) } }
        if (body.stream === true) {
          response.writeHead(200, { "content-type": "text/event-stream" })
          response.write(chunk({ role: "assistant", tool_calls: [{ index: 0, ...call }] }))
          response.write(chunk({}, "tool_calls"))
          response.write(usageChunk({ prompt_tokens: 20, completion_tokens: 4 }))
          response.end("data: [DONE]\n\n")
          return
        }
        response.writeHead(200, { "content-type": "application/json" })
          .end(completion({ role: "assistant", content: null, tool_calls: [call] }, "tool_calls", { prompt_tokens: 20, completion_tokens: 4 }))
        return
      }
      const answer = `echo: ${lastUser(body)}`
      if (body.stream === true) {
        response.writeHead(200, { "content-type": "text/event-stream" })
        response.write(chunk({ role: "assistant", content: "" }))
        for (const piece of ["str", "eamed: ", lastUser(body)]) response.write(chunk({ content: piece }))
        response.write(chunk({}, "stop"))
        if (body.stream_options?.include_usage === true && body.model !== "no-usage") {
          response.write(usageChunk({ prompt_tokens: 5, completion_tokens: 3 }))
        }
        response.end("data: [DONE]\n\n")
        return
      }
      response.writeHead(200, { "content-type": "application/json" }).end(completion(
        { role: "assistant", content: answer },
        "stop",
        body.model === "no-usage" ? undefined : { prompt_tokens: 11, completion_tokens: 7 }
      ))
    })
  })
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      resolve({
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        received,
        aborted: () => aborted,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  )
}
