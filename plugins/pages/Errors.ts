/**
 * The pages plugin's problems. Surflet's clients read `error.code` (seed 003's table:
 * `INVALID_REQUEST`, `UNAUTHORIZED`, `FORBIDDEN`, `NOT_FOUND`, `CONFLICT`, `RATE_LIMITED`), so
 * each problem carries one of those codes; its `type` URI names the precise problem
 * (`urn:trellis:problem:page-not-found`). The groups answer in Surflet's dialect
 * (`error: {code, message, details}` beside RFC 9457); the extension members are the details.
 *
 * Client-safe: imports only `effect` and `trellis/contract`.
 */
import { Schema } from "effect"
import { Problem, typeFor } from "trellis/contract"

/** 404: no such page in the caller's organization (another organization's page answers the same). */
export class PageNotFound extends Problem<PageNotFound>()("PageNotFound", {
  code: "NOT_FOUND",
  type: typeFor("PAGE_NOT_FOUND"),
  status: 404,
  title: "Page not found"
}, { pageId: Schema.String }) {}

/** 409: the page's status does not allow this (an update of a completed page, publishing an active one). */
export class PageStateConflict extends Problem<PageStateConflict>()("PageStateConflict", {
  code: "CONFLICT",
  type: typeFor("PAGE_STATE_CONFLICT"),
  status: 409,
  title: "The page's status does not allow this"
}, { pageId: Schema.String, currentStatus: Schema.String }) {}

/** 400: the request is well-formed JSON but a field is wrong (`field` names it, `constraint` says how). */
export class InvalidPage extends Problem<InvalidPage>()("InvalidPage", {
  code: "INVALID_REQUEST",
  type: typeFor("INVALID_PAGE"),
  status: 400,
  title: "Invalid request"
}, { field: Schema.String, constraint: Schema.String }) {}

/** 401: the page is not public and the caller proved no identity (sign in, or a magic link). */
export class PageLoginRequired extends Problem<PageLoginRequired>()("PageLoginRequired", {
  code: "UNAUTHORIZED",
  type: typeFor("PAGE_LOGIN_REQUIRED"),
  status: 401,
  title: "Sign in to open this page"
}, { pageId: Schema.String }) {}

/** 403: the caller's identity may not open (or act on) this page. */
export class PageForbidden extends Problem<PageForbidden>()("PageForbidden", {
  code: "FORBIDDEN",
  type: typeFor("PAGE_FORBIDDEN"),
  status: 403,
  title: "You may not open this page"
}, { pageId: Schema.String }) {}

/** 410: the page was revoked or has expired; it is no longer accessible (its owner can still read it by its id). */
export class PageGone extends Problem<PageGone>()("PageGone", {
  code: "NOT_FOUND",
  type: typeFor("PAGE_GONE"),
  status: 410,
  title: "The page is no longer available"
}, { pageId: Schema.String, currentStatus: Schema.String }) {}

/** The problems every part of the plugin may answer; each part adds its own list in `Plugin.ts`. */
export const pageProblems = [PageNotFound, PageStateConflict, InvalidPage, PageLoginRequired, PageForbidden, PageGone] as const

/** 404: the page has no (top-level) block with this id (`PATCH /v1/pages/:id/blocks/:blockId`). */
export class BlockNotFound extends Problem<BlockNotFound>()("BlockNotFound", {
  code: "NOT_FOUND",
  type: typeFor("BLOCK_NOT_FOUND"),
  status: 404,
  title: "Block not found"
}, { pageId: Schema.String, blockId: Schema.String }) {}

/** The problems of pages and blocks beyond `pageProblems`. */
export const coreProblems = [BlockNotFound] as const
