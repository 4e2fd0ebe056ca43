/**
 * What the files tests need of the rest of the plugin: pages to attach files to, published
 * through the real API (`POST /v1/publish`, drafts with `POST /v1/pages`), and a page's record
 * through the real `Pages` service (for the one-step `Files.upload`).
 */
import { assert } from "@effect/vitest"
import { Deferred, Effect, Option } from "effect"
import * as TestKit from "trellis/testing"
import type { AccessMode } from "../Domain.ts"
import { Pages } from "../PagesService.ts"

const pagesService = Effect.runSync(Deferred.make<Pages["Service"]>())

/** A probe that hands the tests the server's `Pages`. */
export const pagesProbe = TestKit.probe({ id: "files_pages_probe", requires: ["pages"] }, Effect.gen(function*() {
  yield* Deferred.succeed(pagesService, yield* Pages)
}))

export interface PublishOptions {
  readonly mode: AccessMode
  /** `draft` drafts it (`POST /v1/pages`); published otherwise. */
  readonly status?: "active" | "draft"
  /** Another organization's agent (its key); the default organization's admin otherwise. */
  readonly as?: { readonly token: string } | undefined
}

export const pagesHelpers = Effect.gen(function*() {
  const kit = yield* TestKit.TrellisTest
  const publish = (options: PublishOptions) =>
    Effect.gen(function*() {
      const path = options.status === "draft" ? "/v1/pages" : "/v1/publish"
      const response = yield* kit.request("POST", path, {
        token: options.as?.token,
        body: {
          title: "files test",
          blocks: [{ type: "file_list", data: { allow_upload: true } }],
          access: { mode: options.mode }
        }
      })
      const text = yield* response.text
      assert.strictEqual(response.status, 201, text)
      return (JSON.parse(text) as { pageId: string }).pageId
    })
  const record = (id: string) =>
    Effect.gen(function*() {
      const pages = yield* Deferred.await(pagesService)
      return Option.getOrThrow(yield* pages.find(id))
    })
  return { publish, record }
})
