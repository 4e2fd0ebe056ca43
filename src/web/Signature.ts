/**
 * HMAC-signed requests, for incoming webhooks: the sender has no Trellis credential, only a
 * secret shared with this source.
 *
 * The sender sends `X-Trellis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
 * (the scheme Stripe and others use). The server recomputes the digest over the exact body it
 * received, compares in constant time (fixed-length digests), and refuses a timestamp more than
 * `toleranceSeconds` (5 minutes) from its clock, so a captured request cannot be replayed later.
 * Several `v1=` values may be sent while a secret is being rotated: one match is enough.
 */
import { createHmac, timingSafeEqual } from "node:crypto"

/** The request header carrying the signature. */
export const header = "x-trellis-signature"

/** How far the signed timestamp may be from the server's clock, in seconds. */
export const toleranceSeconds = 300

/** The header value for `body` signed with `secret` at `timestamp` (unix seconds): what a sender computes. */
export const sign = (secret: string, body: string, timestamp: number): string =>
  `t=${timestamp},v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`

/** Why a signature is refused, or `undefined` when it is valid. */
export const refusal = (
  value: string | undefined,
  secret: string,
  body: string,
  nowSeconds: number
): string | undefined => {
  if (value === undefined || value === "") return `This route needs a signed request: send ${header}: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">.`
  let timestamp: number | undefined
  const signatures: Array<string> = []
  for (const part of value.split(",")) {
    const [name, v] = part.trim().split("=", 2)
    if (name === "t" && v !== undefined && /^\d{1,12}$/.test(v)) timestamp = Number(v)
    else if (name === "v1" && v !== undefined && /^[0-9a-f]{64}$/i.test(v)) signatures.push(v.toLowerCase())
  }
  if (timestamp === undefined || signatures.length === 0) return `${header} must carry t=<unix seconds> and v1=<64 hex digits>.`
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) {
    return `The signature's timestamp is more than ${toleranceSeconds} seconds from the server's clock.`
  }
  const expected = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest()
  let ok = false
  for (const signature of signatures) {
    // Every candidate is compared (no early exit) so the time does not tell which matched.
    if (timingSafeEqual(Buffer.from(signature, "hex"), expected)) ok = true
  }
  return ok ? undefined : "The signature does not match the body."
}
