/**
 * The id of the current HTTP request (`X-Request-Id`), provided by the host pipeline to every
 * handler, so that services can record it (the audit log does). `undefined` outside a request.
 *
 * Client-safe: imports only `effect`.
 */
import { Context } from "effect"

export const CurrentRequestId = Context.Reference<string | undefined>("trellis/http/CurrentRequestId", {
  defaultValue: () => undefined
})
