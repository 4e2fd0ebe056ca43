/**
 * The platform's outbound HTTP client, for every request the server sends on a caller's
 * behalf to an address the caller chose (provider calls today; webhook deliveries and HTTP
 * workflow steps later). Without it the server would be a way into its own network (SSRF).
 *
 * The address is checked twice, with `AddressPolicy`:
 * - before anything is sent (`checkUrl`): the scheme must be http(s); a literal host is judged
 *   after normalisation (every IPv4 spelling, IPv6 with embedded IPv4); a name is refused when
 *   it is internal by name (`localhost`, `*.internal`, ...) or when any address it resolves to
 *   is internal. Saving a setting uses this check alone, for a clear answer.
 * - when connecting (`send`): the connection resolves the name through a lookup that refuses
 *   internal answers (so a DNS answer that changed since the check, DNS rebinding, is caught),
 *   and the address the socket actually connected to is checked again before the request
 *   goes out.
 *
 * The transport is `node:http` / `node:https` (both runtimes support their `lookup` option),
 * one connection per request (no pooled socket outlives its check), no redirects followed (a
 * 3xx is returned as is). The policy is per caller: an operator setting such as
 * `TRELLIS_PROVIDERS_ALLOW_PRIVATE=true` lets that caller reach internal addresses.
 */
import { Data, Effect } from "effect"
import type { LookupAddress } from "node:dns"
import { lookup as dnsLookupAll } from "node:dns/promises"
import * as http from "node:http"
import * as https from "node:https"
import { isIP } from "node:net"
import type { LookupFunction, Socket } from "node:net"
import { Readable } from "node:stream"
import { classify, isInternalName } from "./AddressPolicy.ts"
import type { Policy, Resolver } from "./AddressPolicy.ts"

/** The system resolver: every address, in the order the system gives them. */
const systemResolver: Resolver = (host) => dnsLookupAll(host, { all: true, verbatim: true })

export { classify, isInternalAddress, isInternalName, strict } from "./AddressPolicy.ts"
export type { Policy, Resolver, Verdict } from "./AddressPolicy.ts"

/** The URL or the address it reaches is not allowed for this caller. */
export class OutboundRefused extends Data.TaggedError("OutboundRefused")<{
  readonly url: string
  readonly reason: string
}> {}

/** The request could not be made or did not complete (DNS, connection, timeout, bad URL). */
export class OutboundFailed extends Data.TaggedError("OutboundFailed")<{
  readonly url: string
  readonly message: string
}> {}

export type OutboundError = OutboundRefused | OutboundFailed

export interface OutboundRequest {
  readonly url: string
  readonly method?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly body?: string | Uint8Array | undefined
  /** Aborts the request (and the response body) after this long, in milliseconds. */
  readonly timeoutMs: number
}

/** Raised inside the transport when a resolved or connected address is refused. */
class RefusedAddress extends Error {
  readonly reason: string
  constructor(reason: string) {
    super(reason)
    this.reason = reason
  }
}

const hostOf = (url: URL): string => url.hostname.replace(/^\[|\]$/g, "")

/**
 * Checks a URL before any request: http(s), and (unless the policy allows internal addresses)
 * a host that is not internal by literal address, by name, or by any address it resolves to.
 */
export const checkUrl = (raw: string, policy: Policy): Effect.Effect<URL, OutboundError> =>
  Effect.gen(function*() {
    if (!URL.canParse(raw)) return yield* new OutboundFailed({ url: raw, message: `${raw} is not a URL` })
    const url = new URL(raw)
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return yield* new OutboundRefused({ url: raw, reason: "the URL must be http or https" })
    }
    if (policy.allowPrivate) return url
    const host = hostOf(url)
    if (isIP(host) !== 0) {
      const verdict = classify(host)
      if (!verdict.allowed) return yield* new OutboundRefused({ url: raw, reason: verdict.reason })
      return url
    }
    if (isInternalName(host)) return yield* new OutboundRefused({ url: raw, reason: `${host} is an internal host name` })
    const addresses = yield* Effect.tryPromise({
      try: () => (policy.resolve ?? systemResolver)(host),
      catch: () => new OutboundFailed({ url: raw, message: `cannot resolve ${host}` })
    })
    if (addresses.length === 0) return yield* new OutboundFailed({ url: raw, message: `cannot resolve ${host}` })
    for (const address of addresses) {
      const verdict = classify(address.address)
      if (!verdict.allowed) {
        // The kind of address only: the caller may not learn the internal network's addresses.
        return yield* new OutboundRefused({ url: raw, reason: `${host} resolves to a ${verdict.label} address` })
      }
    }
    return url
  })

/** A `lookup` for the connection that refuses a name with any internal address among its answers. */
const guardedLookup = (resolve: Resolver): LookupFunction => (hostname, options, callback) => {
  const family = options.family === 4 || options.family === 6 ? options.family : 0
  resolve(hostname).then((answers) => {
    const list: Array<LookupAddress> = answers.filter((a) => family === 0 || a.family === family)
      .map((a) => ({ address: a.address, family: a.family }))
    for (const entry of list) {
      const verdict = classify(entry.address)
      if (!verdict.allowed) return callback(new RefusedAddress(`${hostname} resolves to a ${verdict.label} address`), [])
    }
    if (list.length === 0) return callback(Object.assign(new Error(`cannot resolve ${hostname}`), { code: "ENOTFOUND" }), [])
    if (options.all === true) return callback(null, list)
    callback(null, list[0].address, list[0].family)
  }, (error: NodeJS.ErrnoException) => callback(error, []))
}

const toHeaders = (raw: http.IncomingHttpHeaders): Headers => {
  const headers = new Headers()
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item)
  }
  return headers
}

const noBody = new Set([101, 204, 205, 304])

const transport = (url: URL, request: OutboundRequest, policy: Policy, signal: AbortSignal): Promise<Response> =>
  new Promise<Response>((resolve, reject) => {
    const module = url.protocol === "https:" ? https : http
    const body = request.body === undefined ? undefined : typeof request.body === "string"
      ? Buffer.from(request.body, "utf8")
      : Buffer.from(request.body)
    const options: http.RequestOptions = {
      protocol: url.protocol,
      host: hostOf(url),
      ...(url.port === "" ? {} : { port: Number(url.port) }),
      path: `${url.pathname}${url.search}`,
      method: request.method ?? "GET",
      headers: {
        ...request.headers,
        ...(body === undefined ? {} : { "content-length": String(body.byteLength) })
      },
      agent: false,
      signal,
      ...(policy.allowPrivate ? {} : { lookup: guardedLookup(policy.resolve ?? systemResolver) })
    }
    const outgoing = module.request(options, (incoming) => {
      const stream = noBody.has(incoming.statusCode ?? 0) || request.method === "HEAD"
        ? null
        : Readable.toWeb(incoming) as ReadableStream<Uint8Array>
      if (stream === null) incoming.resume()
      resolve(new Response(stream, { status: incoming.statusCode ?? 502, headers: toHeaders(incoming.headers) }))
    })
    outgoing.on("error", reject)
    if (!policy.allowPrivate) {
      outgoing.on("socket", (socket: Socket) => {
        // The address really connected to: covers anything the lookup did not see.
        const check = () => {
          const remote = socket.remoteAddress
          const verdict = remote === undefined ? { allowed: false as const, label: "unknown" } : classify(remote)
          if (!verdict.allowed) outgoing.destroy(new RefusedAddress(`${url.hostname} connected to a ${verdict.label} address`))
        }
        if (socket.remoteAddress !== undefined && !socket.connecting) check()
        else socket.once("connect", check)
      })
    }
    outgoing.end(body)
  })

/**
 * Sends a request with the URL and connection checks; succeeds with the response whatever its
 * status (the caller decides what a non-2xx means). The response body is a stream the caller
 * reads; the timeout covers it too.
 */
export const send = (request: OutboundRequest, policy: Policy): Effect.Effect<Response, OutboundError> =>
  Effect.gen(function*() {
    const url = yield* checkUrl(request.url, policy)
    return yield* Effect.tryPromise({
      try: (signal) => transport(url, request, policy, AbortSignal.any([signal, AbortSignal.timeout(request.timeoutMs)])),
      catch: (cause): OutboundError =>
        cause instanceof RefusedAddress
          ? new OutboundRefused({ url: request.url, reason: cause.reason })
          : new OutboundFailed({ url: request.url, message: describe(cause) })
    })
  })

/** A short, safe description of a transport failure (never a response body). */
export const describe = (cause: unknown): string => {
  if (cause instanceof Error) {
    if (cause.name === "TimeoutError" || cause.name === "AbortError") return "the request timed out or was aborted"
    const code = (cause as { readonly code?: unknown }).code
    return typeof code === "string" ? `${code}: ${cause.message}` : cause.message
  }
  return String(cause)
}
