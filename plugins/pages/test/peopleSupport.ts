/**
 * Helpers of the people tests: a probe plugin that serves `GET /test/viewer` (who
 * `Viewers.current` says the caller is) and hands the test the `ViewerSessions` store, a
 * member with an email address, and a local SMTP sink that keeps every message (the server
 * sends real mail to it through the platform's SMTP mailer).
 */
import { Deferred, Effect, Layer } from "effect"
import { HttpServerResponse } from "effect/http"
import { Plugin, WebRoute } from "trellis/plugin"
import * as TestKit from "trellis/testing"
import { ViewerSessions } from "../ViewerSessions.ts"
import { Viewers } from "../Viewers.ts"
import type { SmtpSink } from "../../../test/support/smtpSink.ts"

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

export { smtpSink, type SmtpSink } from "../../../test/support/smtpSink.ts"

/** A page row as core's `Pages` would store it (the people tests need only its access and status). */
export const insertPage = (
  sql: import("effect/sql").SqlClient.SqlClient,
  page: { readonly id: string; readonly title: string; readonly status?: string; readonly access: unknown }
) =>
  sql`
    INSERT INTO pages.pages (id, organization_id, status, page_type, title, priority, access, created_by, principal)
    VALUES (${page.id}, 'org_default', ${page.status ?? "active"}, 'report', ${page.title}, 'normal',
      ${JSON.stringify(page.access)}::jsonb, 'agent:test', '{}'::jsonb)`

/** The magic link in the newest message to `to`, if any. */
export const linkIn = (sink: SmtpSink, to: string): { readonly message: string; readonly link: string } | undefined => {
  const message = [...sink.received].reverse().find((m) => m.toLowerCase().includes(`to: ${to.toLowerCase()}`))
  if (message === undefined) return undefined
  const link = /https?:\/\/\S+\/v1\/auth\/magic-link\/verify\?token=ml_[A-Za-z0-9_-]+/.exec(message)?.[0]
  return link === undefined ? undefined : { message, link }
}
