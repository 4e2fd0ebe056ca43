/**
 * Helpers of the people tests: a probe plugin that serves `GET /test/viewer` (who
 * `Viewers.current` says the caller is) and hands the test the `ViewerSessions` store, a
 * member with an email address, and a local SMTP sink that keeps every message (the server
 * sends real mail to it through the platform's SMTP mailer).
 */
import { Deferred, Effect, Layer } from "effect"
import { HttpServerResponse } from "effect/http"
import * as NodeNet from "node:net"
import { Plugin, WebRoute } from "trellis/plugin"
import * as TestKit from "trellis/testing"
import { ViewerSessions } from "../ViewerSessions.ts"
import { Viewers } from "../Viewers.ts"

export const viewerProbe = (sessions: Deferred.Deferred<ViewerSessions["Service"]>) =>
  Plugin.make({
    id: "viewer_probe",
    version: "0.0.0",
    description: "test probe: who the viewer is",
    groups: [],
    migrations: [],
    requires: ["pages"],
    web: {
      routes: [
        WebRoute.get(
          "/test/viewer",
          Effect.gen(function*() {
            const viewers = yield* Viewers
            const viewer = yield* viewers.current
            return HttpServerResponse.jsonUnsafe(
              viewer._tag === "Member"
                ? { _tag: viewer._tag, email: viewer.email, userId: viewer.principal.userId, organizationId: viewer.principal.organizationId }
                : viewer
            )
          }),
          { auth: "public", reason: "test probe" }
        )
      ]
    },
    layer: Layer.effectDiscard(Effect.gen(function*() {
      yield* Deferred.succeed(sessions, yield* ViewerSessions)
    }))
  })

export const json = <A>(response: { readonly json: Effect.Effect<unknown, unknown> }) =>
  Effect.map(response.json, (body) => body as A)

/** A user of the default organization with an email address; their session token and a user key. */
export const member = (email: string) =>
  Effect.gen(function*() {
    const kit = yield* TestKit.TrellisTest
    const username = `m-${crypto.randomUUID().slice(0, 8)}`
    const password = "correct horse battery staple"
    const created = yield* kit.request("POST", "/api/users", { body: { username, password, email, role: "editor" } })
    if (created.status !== 201) return yield* Effect.die(new Error(`user create: ${created.status}`))
    const userId = (yield* json<{ data: { id: string } }>(created)).data.id
    const login = yield* kit.request("POST", "/api/login", { body: { username, password }, token: null })
    const body = yield* json<{ token: string; csrf_token: string }>(login)
    return { userId, username, password, session: body.token, csrf: body.csrf_token }
  })

export interface SmtpSink {
  readonly port: number
  /** Every message's DATA, decoded from quoted-printable. */
  readonly received: Array<string>
  readonly close: () => void
}

const decodeQuotedPrintable = (text: string): string =>
  text.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))

/** A minimal SMTP server on 127.0.0.1 that accepts every message. */
export const smtpSink = (): Promise<SmtpSink> => {
  const received: Array<string> = []
  const server = NodeNet.createServer((socket) => {
    socket.write("220 sink ESMTP\r\n")
    let buffer = ""
    let inData = false
    let data = ""
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8")
      let index: number
      while ((index = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, index)
        buffer = buffer.slice(index + 2)
        if (inData) {
          if (line === ".") {
            inData = false
            received.push(decodeQuotedPrintable(data))
            data = ""
            socket.write("250 queued\r\n")
          } else data += line + "\r\n"
        } else if (/^(EHLO|HELO)/i.test(line)) {
          socket.write("250 sink\r\n")
        } else if (/^DATA/i.test(line)) {
          inData = true
          socket.write("354 go on\r\n")
        } else if (/^QUIT/i.test(line)) {
          socket.write("221 bye\r\n")
          socket.end()
        } else socket.write("250 ok\r\n")
      }
    })
  })
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as NodeNet.AddressInfo
      resolve({ port: address.port, received, close: () => server.close() })
    })
  )
}
