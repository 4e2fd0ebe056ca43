/** Small helpers of the catalog part: ids and the publish answer. */
import type { PublishedPage } from "./CatalogApi.ts"
import type { Published } from "./PagesService.ts"

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

/** `<prefix>_` + 12 lowercase alphanumerics (`inbox_`, `assoc_`, `wf_`). */
export const newId = (prefix: string): string => {
  const bytes = new Uint8Array(12)
  crypto.getRandomValues(bytes)
  let id = ""
  for (const byte of bytes) id += alphabet[byte % alphabet.length]
  return `${prefix}_${id}`
}

/** The answer of a publish, as `POST /v1/publish`'s; `base` is the public base URL (no trailing slash). */
export const publishedOf = (published: Published, base: string): PublishedPage => ({
  pageId: published.page.id,
  pageUrl: `${base}/p/${published.page.id}`,
  status: published.page.status,
  createdAt: published.page.createdAt.toISOString(),
  expiresAt: published.page.expiresAt === null ? null : published.page.expiresAt.toISOString(),
  warnings: published.warnings
})
