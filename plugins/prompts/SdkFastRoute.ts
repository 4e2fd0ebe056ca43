/**
 * SDK fetch on the platform's fast path: an SDK asks for its prompt on every use, so a
 * prompt already in this process's cache is answered without Effect's HTTP stack. A cache
 * miss, an unknown key or anything unusual is answered by the endpoint's handler
 * (`PromptsSdkHttp`), which is the reference this must match byte for byte.
 */
import { Effect } from "effect"
import { FastPath } from "trellis/plugin"
import { cacheHeaders, fetchRequestOf, SdkPrompts } from "./SdkPrompts.ts"

export const SdkFastRoute = FastPath.route(Effect.gen(function*() {
  const sdk = yield* SdkPrompts
  return {
    path: "/api/sdk/prompts/:key",
    handle: ({ headers, params, principal, query }) => {
      const key = params.key
      if (key === undefined) return undefined
      const result = sdk.fetchCached(fetchRequestOf(principal.organizationId, key, query, headers))
      if (result === undefined) return undefined
      switch (result._tag) {
        case "NotFound":
          return undefined
        case "NotModified":
          return { status: 304, headers: cacheHeaders(result.etag) }
        case "Ok":
          return FastPath.json(200, result.prepared.body, cacheHeaders(result.prepared.etag))
      }
    }
  }
}))
