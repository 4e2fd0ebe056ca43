/** Handlers of the actions and approval routes: thin, they find the page and the caller, then call `Decisions`. */
import { Effect, Layer, Option } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { CurrentPrincipal } from "trellis/contract"
import * as Access from "./Access.ts"
import { Decisions } from "./DecisionsService.ts"
import { DecisionsApi } from "./DecisionsApi.ts"
import { PageForbidden, PageGone, PageLoginRequired, PageNotFound } from "./Errors.ts"
import { Pages } from "./PagesService.ts"
import { Viewers } from "./Viewers.ts"

const ActionsHttp = HttpApiBuilder.group(
  DecisionsApi,
  "pageActions",
  Effect.fn(function*(handlers) {
    const decisions = yield* Decisions
    const pages = yield* Pages
    const viewers = yield* Viewers
    return handlers.handle("execute", ({ params, payload }) =>
      Effect.gen(function*() {
        const found = yield* pages.find(params.id)
        if (Option.isNone(found)) return yield* new PageNotFound({ pageId: params.id, detail: `No page ${params.id}.` })
        const page = found.value
        let viewer = yield* viewers.current
        const token = payload.actor?.auth_token
        if (viewer._tag === "Anonymous" && token !== undefined && token !== null && token !== "") viewer = yield* viewers.ofToken(token)
        const access = Access.decide(page, viewer)
        switch (access._tag) {
          case "NotFound":
            return yield* new PageNotFound({ pageId: page.id, detail: `No page ${page.id}.` })
          case "Gone":
            return yield* new PageGone({ pageId: page.id, currentStatus: page.status, detail: `The page is ${page.status}.` })
          case "LoginRequired":
            return yield* new PageLoginRequired({ pageId: page.id, detail: "Sign in (or open your magic link) to act on this page." })
          case "Forbidden":
            return yield* new PageForbidden({ pageId: page.id, detail: "You may not act on this page." })
          case "Allowed":
            break
        }
        return yield* decisions.execute(page, params.actionId, viewer, {
          identity: payload.actor?.identity ?? undefined,
          comment: payload.comment,
          formData: payload.form_data
        })
      }))
  })
)

const ApprovalHttp = HttpApiBuilder.group(
  DecisionsApi,
  "pageApproval",
  Effect.fn(function*(handlers) {
    const decisions = yield* Decisions
    const pages = yield* Pages
    return handlers
      .handle("approval", ({ params }) => Effect.flatMap(pages.get(params.id), decisions.approval))
      .handle("webhookSecret", () =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          const secret = yield* decisions.webhookSecret(principal.organizationId)
          return { secret, header: "X-Trellis-Signature", scheme: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.<raw body>\")>" }
        }))
  })
)

export const DecisionsHttpLive = Layer.mergeAll(ActionsHttp, ApprovalHttp)
