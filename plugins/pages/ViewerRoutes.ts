/**
 * The viewer's web routes: `GET /p/:id` (the page people open from a notification), its
 * no-JavaScript forms (decide, comment, upload, "email me a link"), `GET /inbox` and the
 * viewer's assets. They are public web routes because the page decides access itself: the
 * caller is found with `Viewers.current` (a member's credential, a magic-link viewer session,
 * or nobody) and `Access.decide` says what they may do, exactly as the API routes decide.
 *
 * CSRF: the viewer cookie and the session cookie are `SameSite=Lax`, so a cross-site POST does
 * not carry them; every form also carries a hidden `csrf` field, the HMAC-SHA256 keyed by the
 * browser's random `trellis_vid` cookie (HttpOnly, Lax) of the viewer's binding (the viewer
 * session's id, the member's principal id, or `anonymous`). Another site can neither read the
 * cookie nor compute the field, and a field from an earlier sign-in does not fit the next one.
 * A refused form changes nothing and answers a 403 page. The same cookie is the anonymous
 * viewer's key for `Pages.countView` (unique viewers).
 *
 * Services of the other parts (`Decisions`, `Comments`, `Files`, `Inbox`, `MagicLinks`) are
 * optional here: without one, the viewer shows what it can (no buttons, no thread...).
 */
import { Effect, Option } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { Html, TrellisConfig, WebRoute } from "trellis/plugin"
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import * as Access from "./Access.ts"
import { Comments } from "./CommentsService.ts"
import { Decisions } from "./DecisionsService.ts"
import type { PageRecord } from "./Domain.ts"
import { Files } from "./FilesService.ts"
import { Inbox } from "./InboxService.ts"
import { MagicLinks } from "./MagicLinksService.ts"
import { Pages } from "./PagesService.ts"
import * as Viewer from "./Viewer.ts"
import { viewerCss } from "./viewer.css.ts"
import { viewerJs } from "./viewer.js.ts"
import { Viewers } from "./Viewers.ts"
import type { Viewer as ViewerT } from "./Viewers.ts"

/** The browser's random id: the CSRF key and the anonymous viewer's key for unique views. */
export const visitorCookie = "trellis_vid"

const visitorPattern = /^[A-Za-z0-9_-]{20,64}$/

/** The binding of the CSRF field: who the viewer is. */
const bindingOf = (viewer: ViewerT): string =>
  viewer._tag === "Identity" ? `identity:${viewer.sessionId}` : viewer._tag === "Member" ? `member:${viewer.principal.id}` : "anonymous"

/** The form field for this browser and viewer. */
export const csrfToken = (visitor: string, viewer: ViewerT): string =>
  createHmac("sha256", visitor).update(`trellis-viewer-csrf:${bindingOf(viewer)}`).digest("base64url")

const csrfValid = (visitor: string | undefined, viewer: ViewerT, presented: string | null): boolean => {
  if (visitor === undefined || !visitorPattern.test(visitor) || presented === null) return false
  const expected = Buffer.from(csrfToken(visitor, viewer))
  const given = Buffer.from(presented)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

interface Visit {
  readonly visitor: string
  /** The `Set-Cookie` header when the browser had no id yet. */
  readonly setCookie: Record<string, string>
}

const secureCookies = Effect.map(Effect.service(TrellisConfig), (config) => config.publicUrl?.startsWith("https:") === true)

const visitOf = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    const existing = request.cookies[visitorCookie]
    if (existing !== undefined && visitorPattern.test(existing)) return { visitor: existing, setCookie: {} } satisfies Visit
    const visitor = randomBytes(24).toString("base64url")
    const secure = yield* secureCookies
    return {
      visitor,
      setCookie: {
        "set-cookie": `${visitorCookie}=${visitor}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`
      }
    } satisfies Visit
  })

const document = (body: Html.Html, status: number, headers?: Record<string, string>) => Html.page(body, { status, headers })

const seeOther = (location: string) => HttpServerResponse.empty({ status: 303, headers: { location } })

/** A fixed message page (never text a request chose). The people routes answer a browser with it too. */
export const messagePage = (status: number, title: string, text: string, options?: { readonly back?: string; readonly headers?: Record<string, string> }) =>
  document(Viewer.messageDocument({ title, message: text, back: options?.back }), status, options?.headers)

const notFoundPage = () => messagePage(404, "Page not found", "There is no page at this address. Check the link you were sent.")

const origin = Effect.gen(function*() {
  const config = yield* TrellisConfig
  const request = yield* HttpServerRequest.HttpServerRequest
  return (config.publicUrl ?? `http://${request.headers["host"] ?? `${config.host}:${config.port}`}`).replace(/\/$/, "")
})

/** The page and the viewer, or the page that says why not (404, 410, 401 with the sign-in form, 403). */
const openPage = (pageId: string, visit: Visit) =>
  Effect.gen(function*() {
    const pages = yield* Pages
    const viewer = yield* (yield* Viewers).current
    const found = yield* pages.find(pageId)
    if (Option.isNone(found)) return { _tag: "Refused" as const, response: notFoundPage() }
    const page = found.value
    const decision = Access.decide(page, viewer)
    switch (decision._tag) {
      case "Allowed":
        return { _tag: "Open" as const, page, viewer, member: decision.member }
      case "NotFound":
        return { _tag: "Refused" as const, response: notFoundPage() }
      case "Gone":
        return {
          _tag: "Refused" as const,
          response: messagePage(
            410,
            page.status === "expired" ? "This page has expired" : "This page was withdrawn",
            page.status === "expired"
              ? "The page expired and can no longer be opened. Ask whoever sent it for a new one."
              : "Whoever published the page revoked it; it can no longer be opened."
          )
        }
      case "Forbidden":
        return {
          _tag: "Refused" as const,
          response: messagePage(403, "You may not open this page", "You are signed in, but this page was not published for you. Ask whoever sent it to share it with you.")
        }
      case "LoginRequired": {
        const magic = yield* Effect.serviceOption(MagicLinks)
        return {
          _tag: "Refused" as const,
          response: document(
            Viewer.messageDocument({
              title: "Sign in to open this page",
              message: Option.isSome(magic)
                ? "This page is for particular people. Enter your email address and we will send you a link that opens it."
                : "This page is for particular people: sign in to open it.",
              loginForm: Option.isSome(magic) ? { action: `/p/${page.id}/magic-link`, csrf: csrfToken(visit.visitor, viewer) } : undefined
            }),
            401,
            visit.setCookie
          )
        }
      }
    }
  })

const notices: Record<string, string> = {
  decided: "Your decision was recorded.",
  commented: "Your comment was added.",
  uploaded: "Your file was uploaded."
}

const viewPage = Effect.gen(function*() {
  const { id } = yield* HttpRouter.params
  const request = yield* HttpServerRequest.HttpServerRequest
  const visit = yield* visitOf(request)
  const opened = yield* openPage(id ?? "", visit)
  if (opened._tag === "Refused") return opened.response
  const { page, viewer } = opened
  const decisions = yield* Effect.serviceOption(Decisions)
  const comments = yield* Effect.serviceOption(Comments)
  const files = yield* Effect.serviceOption(Files)
  const [approval, canDecide, thread, list] = yield* Effect.all([
    Option.isSome(decisions) ? Effect.map(decisions.value.approval(page), (a) => a as typeof a | null) : Effect.succeed(null),
    Option.isSome(decisions) && page.status === "active" ? decisions.value.canDecide(page, viewer) : Effect.succeed(false),
    Option.isSome(comments) ? comments.value.list(page) : Effect.succeed([]),
    Option.isSome(files)
      ? Effect.map(files.value.list(page), (all) => all.map((file) => ({ ...file, href: files.value.downloadPath(page, file.id) })))
      : Effect.succeed([])
  ], { concurrency: "unbounded" })
  const email = viewer._tag === "Identity" ? viewer.email : viewer._tag === "Member" ? viewer.email : null
  // The live script's refetch (`X-Trellis-Live: 1`) is the same view, not another one.
  if (request.headers["x-trellis-live"] !== "1") {
    yield* (yield* Pages).countView(page.id, email !== null ? email.toLowerCase() : `visitor:${visit.visitor}`)
  }
  const query = new URL(request.url, "http://viewer").searchParams
  const body = Viewer.pageDocument({
    page,
    viewer,
    approval,
    canDecide,
    comments: thread,
    files: list,
    uploads: Option.isSome(files),
    commenting: Option.isSome(comments),
    csrf: csrfToken(visit.visitor, viewer),
    notice: notices[query.get("notice") ?? ""] ?? null,
    error: null
  })
  return document(body, 200, visit.setCookie)
})

/** A form's fields: URL-encoded or multipart, read through the web `Request` (Node 24 and Deno alike). */
const formOf = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    const contentType = request.headers["content-type"] ?? ""
    if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(contentType)) return Option.none<FormData>()
    const bytes = yield* Effect.orElseSucceed(request.arrayBuffer, () => null)
    if (bytes === null) return Option.none<FormData>()
    const parsed = yield* Effect.tryPromise(() =>
      new Request("http://viewer/", { method: "POST", headers: { "content-type": contentType }, body: bytes }).formData()
    ).pipe(Effect.option)
    return parsed
  })

const field = (form: FormData, name: string): string | null => {
  const value = form.get(name)
  return typeof value === "string" ? value : null
}

const badForm = (pageId: string) => messagePage(400, "The form could not be read", "Send the form from the page again.", { back: `/p/${pageId}` })

const csrfRefused = (pageId: string) =>
  messagePage(403, "The form has expired", "This form was not sent from this page in this browser (or your sign-in changed). Open the page again and resend it.", {
    back: `/p/${pageId}`
  })

/** Common part of the page's forms: the page open for the viewer, the form read, the CSRF field checked. */
const pageForm = Effect.gen(function*() {
  const { id } = yield* HttpRouter.params
  const pageId = id ?? ""
  const request = yield* HttpServerRequest.HttpServerRequest
  const visitor = request.cookies[visitorCookie]
  const visit: Visit = visitor !== undefined && visitorPattern.test(visitor) ? { visitor, setCookie: {} } : yield* visitOf(request)
  const opened = yield* openPage(pageId, visit)
  if (opened._tag === "Refused") return { _tag: "Done" as const, response: opened.response }
  const form = yield* formOf(request)
  if (Option.isNone(form)) return { _tag: "Done" as const, response: badForm(pageId) }
  if (!csrfValid(visitor, opened.viewer, field(form.value, "csrf"))) return { _tag: "Done" as const, response: csrfRefused(pageId) }
  return { _tag: "Form" as const, page: opened.page, viewer: opened.viewer, form: form.value }
})

interface ProblemLike {
  readonly status?: number
  readonly detail?: string | undefined
  readonly constraint?: string | undefined
  readonly field?: string | undefined
}

/** A part's refusal as a page: its status and its own message. */
const refusalPage = (page: PageRecord, error: ProblemLike & { readonly _tag: string }) => {
  const declared = (error.constructor as { readonly problem?: { readonly status?: unknown } }).problem?.status
  const status = typeof error.status === "number" ? error.status : typeof declared === "number" ? declared : 400
  const titles: Record<number, string> = {
    400: "That did not work",
    401: "Sign in first",
    403: "You may not do this",
    404: "Page not found",
    409: "Already decided",
    410: "This page is no longer available",
    413: "The file is too large"
  }
  const detail = error.detail ?? (error.field !== undefined && error.constraint !== undefined ? `${error.field}: ${error.constraint}` : null)
  const text = status === 409
    ? "This decision can no longer be made: someone decided already, or the page changed. Open the page to see where it stands."
    : detail ?? "The request was refused."
  return messagePage(status, titles[status] ?? "That did not work", text, { back: `/p/${page.id}` })
}

const execute = Effect.gen(function*() {
  const got = yield* pageForm
  if (got._tag === "Done") return got.response
  const { page, viewer, form } = got
  const { actionId } = yield* HttpRouter.params
  const decisions = yield* Effect.serviceOption(Decisions)
  if (Option.isNone(decisions)) return messagePage(404, "Not available", "Decisions are not available on this server.", { back: `/p/${page.id}` })
  const formData: Record<string, unknown> = {}
  for (const [name, value] of form.entries()) {
    if (!name.startsWith(Viewer.fieldPrefix) || typeof value !== "string") continue
    formData[name.slice(Viewer.fieldPrefix.length)] = value === "true" ? true : value
  }
  const comment = (field(form, "comment") ?? "").trim()
  return yield* decisions.value.execute(page, actionId ?? "", viewer, {
    comment: comment === "" ? null : comment,
    formData: Object.keys(formData).length === 0 ? null : formData
  }).pipe(
    Effect.map(() => seeOther(`/p/${page.id}?notice=decided`)),
    Effect.catch((error) => Effect.succeed(refusalPage(page, error as ProblemLike & { readonly _tag: string })))
  )
})

const addComment = Effect.gen(function*() {
  const got = yield* pageForm
  if (got._tag === "Done") return got.response
  const { page, viewer, form } = got
  const comments = yield* Effect.serviceOption(Comments)
  if (Option.isNone(comments)) return messagePage(404, "Not available", "Comments are not available on this server.", { back: `/p/${page.id}` })
  const blank = (value: string | null) => value === null || value.trim() === "" ? null : value.trim()
  return yield* comments.value.add(page, viewer, {
    content: field(form, "content") ?? "",
    authorType: "user",
    blockId: blank(field(form, "block_id")),
    parentId: blank(field(form, "parent_id"))
  }).pipe(
    Effect.map(() => seeOther(`/p/${page.id}?notice=commented#comments`)),
    Effect.catch((error) => Effect.succeed(refusalPage(page, error as ProblemLike & { readonly _tag: string })))
  )
})

const upload = Effect.gen(function*() {
  const got = yield* pageForm
  if (got._tag === "Done") return got.response
  const { page, viewer, form } = got
  const files = yield* Effect.serviceOption(Files)
  if (Option.isNone(files)) return messagePage(404, "Not available", "Files are not available on this server.", { back: `/p/${page.id}` })
  const file = form.get("file")
  if (file === null || typeof file === "string" || file.name === "") {
    return messagePage(400, "No file chosen", "Choose a file to upload, then send the form again.", { back: `/p/${page.id}` })
  }
  const bytes = new Uint8Array(yield* Effect.promise(() => file.arrayBuffer()))
  return yield* files.value.upload(page, viewer, {
    filename: file.name,
    mimeType: file.type === "" ? "application/octet-stream" : file.type,
    bytes
  }).pipe(
    Effect.map(() => seeOther(`/p/${page.id}?notice=uploaded`)),
    Effect.catch((error) => Effect.succeed(refusalPage(page, error as ProblemLike & { readonly _tag: string })))
  )
})

const checkEmail = (back: string | undefined) =>
  messagePage(200, "Check your email", "If this address may open the page, a sign-in link is on its way. It works once and expires soon.", back === undefined ? undefined : { back })

/** The "email me a link" form of the 401 page. */
const pageMagicLink = Effect.gen(function*() {
  const { id } = yield* HttpRouter.params
  const pageId = id ?? ""
  const request = yield* HttpServerRequest.HttpServerRequest
  const viewer = yield* (yield* Viewers).current
  const form = yield* formOf(request)
  if (Option.isNone(form)) return badForm(pageId)
  if (!csrfValid(request.cookies[visitorCookie], viewer, field(form.value, "csrf"))) return csrfRefused(pageId)
  return yield* sendLink(field(form.value, "email") ?? "", pageId, `/p/${pageId}`)
})

const sendLink = (email: string, pageId: string | null, redirectUrl: string) =>
  Effect.gen(function*() {
    const magic = yield* Effect.serviceOption(MagicLinks)
    if (Option.isNone(magic)) return messagePage(404, "Not available", "Sign-in links are not available on this server.")
    const request = yield* HttpServerRequest.HttpServerRequest
    return yield* magic.value.send({
      email: email.trim(),
      pageId,
      redirectUrl,
      origin: yield* origin,
      client: Option.getOrElse(request.remoteAddress, () => "unknown")
    }).pipe(
      Effect.map(() => checkEmail(undefined)),
      Effect.catch((error) =>
        Effect.succeed(
          error._tag === "RateLimited"
            ? messagePage(429, "Too many sign-in links", "Too many links were asked for. Wait a minute, then try again.", { back: redirectUrl })
            : messagePage(400, "That address does not look right", "Enter a valid email address.", { back: redirectUrl })
        )
      )
    )
  })

const inboxPage = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const viewer = yield* (yield* Viewers).current
  const email = viewer._tag === "Identity" ? viewer.email : viewer._tag === "Member" ? viewer.email : null
  if (email === null) {
    const visit = yield* visitOf(request)
    const magic = yield* Effect.serviceOption(MagicLinks)
    return document(
      Viewer.messageDocument({
        title: "Sign in to see your inbox",
        message: viewer._tag === "Member"
          ? "This credential has no email address, so it has no inbox."
          : "Enter your email address and we will send you a link to your inbox.",
        loginForm: viewer._tag === "Anonymous" && Option.isSome(magic) ? { action: "/inbox/magic-link", csrf: csrfToken(visit.visitor, viewer) } : undefined
      }),
      viewer._tag === "Anonymous" ? 401 : 403,
      visit.setCookie
    )
  }
  const inbox = yield* Effect.serviceOption(Inbox)
  const listed = Option.isSome(inbox) ? yield* inbox.value.list(email, { limit: 100 }) : { entries: [], total: 0 }
  return document(Viewer.inboxDocument({ email, entries: listed.entries, total: listed.total }), 200)
})

const inboxMagicLink = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const viewer = yield* (yield* Viewers).current
  const form = yield* formOf(request)
  if (Option.isNone(form)) return messagePage(400, "The form could not be read", "Send the form again.", { back: "/inbox" })
  if (!csrfValid(request.cookies[visitorCookie], viewer, field(form.value, "csrf"))) {
    return messagePage(403, "The form has expired", "Open the inbox page again and resend the form.", { back: "/inbox" })
  }
  return yield* sendLink(field(form.value, "email") ?? "", null, "/inbox")
})

const reason = "a person's browser opens it from a link; the page decides access itself (Viewers.current + Access.decide)"

export const webRoutes = [
  WebRoute.asset(Viewer.cssPath, viewerCss),
  WebRoute.asset(Viewer.jsPath, viewerJs),
  WebRoute.get("/p/:id", viewPage, { auth: "public", reason, description: "The page, server-rendered (works without JavaScript)" }),
  WebRoute.post("/p/:id/actions/:actionId", execute, { auth: "public", reason, description: "The viewer's decision form: executes the action, 303 back to the page" }),
  WebRoute.post("/p/:id/comments", addComment, { auth: "public", reason, description: "The viewer's comment form, 303 back to the page" }),
  WebRoute.post("/p/:id/files", upload, { auth: "public", reason, description: "The viewer's upload form (multipart), 303 back to the page" }),
  WebRoute.post("/p/:id/magic-link", pageMagicLink, { auth: "public", reason: "a person without a sign-in asks for a link to the page", description: "Emails a sign-in link for the page" }),
  WebRoute.get("/inbox", inboxPage, { auth: "public", reason: "a person's inbox; it shows entries only to a viewer session or a member with an email", description: "The viewer's inbox page" }),
  WebRoute.post("/inbox/magic-link", inboxMagicLink, { auth: "public", reason: "a person without a sign-in asks for a link to the inbox", description: "Emails a sign-in link to the inbox" })
]
