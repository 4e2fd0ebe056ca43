/**
 * A refused call: the 429 `RateLimited` problem together with the headers that must go with it
 * (`Retry-After`, `RateLimit-Policy`, `RateLimit`).
 *
 * A problem class cannot carry response headers, so a refusal is delivered in one of two ways:
 * as a complete response ({@link RateLimitExceeded.response}, what the middleware returns
 * without running the handler), or, inside a handler, as the `RateLimited` failure the endpoint
 * declares, with the headers registered on the request so they are added to whatever response
 * is finally sent ({@link RateLimitExceeded.fail}).
 */
import { Data, Effect } from "effect"
import { HttpEffect, HttpServerRespondable, HttpServerResponse } from "effect/http"
import type { HttpServerRequest } from "effect/http"
import { RateLimited } from "../problem/Problems.ts"

export class RateLimitExceeded extends Data.TaggedError("RateLimitExceeded")<{
  /** Says which limit was reached, for people. */
  readonly detail: string
  /** `retry-after`, `ratelimit-policy`, `ratelimit` (lowercase names). */
  readonly headers: Readonly<Record<string, string>>
}> {
  /** The problem body (code `RATE_LIMITED`). */
  get problem(): RateLimited {
    return new RateLimited({ detail: this.detail })
  }

  /** The complete 429 problem+json response with its headers. */
  get response(): Effect.Effect<HttpServerResponse.HttpServerResponse> {
    return Effect.map(HttpServerRespondable.toResponse(this.problem), (response) =>
      HttpServerResponse.setHeaders(response, this.headers))
  }

  /** Fails with the `RateLimited` problem; the headers are added to the response when it is sent. */
  get fail(): Effect.Effect<never, RateLimited, HttpServerRequest.HttpServerRequest> {
    return addHeaders(this.headers).pipe(Effect.andThen(Effect.fail(this.problem)))
  }
}

/** Adds headers to the current request's response, whatever it turns out to be (success or problem). */
export const addHeaders = (headers: Readonly<Record<string, string>>): Effect.Effect<void, never, HttpServerRequest.HttpServerRequest> =>
  Object.keys(headers).length === 0
    ? Effect.void
    : HttpEffect.appendPreResponseHandler((_request, response) => Effect.succeed(HttpServerResponse.setHeaders(response, headers)))
