/**
 * How an audit entry is hashed, in one place so that the writer, the verifier and anyone
 * checking an export by hand agree byte for byte.
 *
 * The hash of entry `n` is the lowercase hex SHA-256 of the UTF-8 bytes of the canonical JSON
 * (RFC 8785, JCS: object keys sorted by UTF-16 code units, no whitespace, numbers and strings
 * as `JSON.stringify` writes them) of this object:
 *
 * ```json
 * {"action":"prompts.prompt.create","actorId":"admin","actorKind":"admin-token",
 *  "createdAt":"2026-03-23T15:00:00.000Z","details":{"key":"greeting"},
 *  "organizationId":"org_default","prevHash":"<64 hex digits>","requestId":"req-1",
 *  "seq":1,"targetId":"p_1","targetType":"prompt"}
 * ```
 *
 * `prevHash` is the previous entry's hash as bare hex (64 zeros for `seq` 1), `createdAt` is
 * ISO 8601 in UTC with milliseconds, absent target and request id are `null`, `details` is
 * `{}` when none. On the wire hashes are written `sha256:<hex>`.
 *
 * Client-safe: imports only `effect`.
 */
import { Effect } from "effect"
import { Digest } from "effect/crypto"

/** The `prevHash` of the first entry of every chain. */
export const genesisHash = "0".repeat(64)

const prefix = "sha256:"

/** `sha256:<hex>`, the form hashes take on the wire. */
export const toWire = (hex: string): string => prefix + hex

/** The fields an entry's hash covers. */
export interface HashedFields {
  readonly seq: number
  readonly organizationId: string
  readonly actorId: string
  readonly actorKind: string
  readonly action: string
  readonly targetType: string | null
  readonly targetId: string | null
  readonly details: Readonly<Record<string, unknown>>
  readonly requestId: string | null
  readonly createdAt: string
  /** Bare hex. */
  readonly prevHash: string
}

const encode = (value: unknown): string => {
  if (value === null) return "null"
  switch (typeof value) {
    case "string":
      return JSON.stringify(value)
    case "boolean":
      return value ? "true" : "false"
    case "number":
      // Non-finite numbers are not JSON; `normalizeDetails` has already turned them into null.
      return Number.isFinite(value) ? JSON.stringify(value) : "null"
    case "object": {
      if (Array.isArray(value)) return `[${value.map(encode).join(",")}]`
      const record = value as Record<string, unknown>
      const keys = Object.keys(record).filter((key) => record[key] !== undefined).sort()
      return `{${keys.map((key) => `${JSON.stringify(key)}:${encode(record[key])}`).join(",")}}`
    }
    default:
      return "null"
  }
}

/** The canonical JSON text (RFC 8785) of a JSON value. */
export const canonicalJson = (value: unknown): string => encode(value)

const cleanString = (text: string): string => text.toWellFormed().replaceAll("\u0000", "\uFFFD")

const cleanValue = (value: unknown): unknown => {
  if (typeof value === "string") return cleanString(value)
  if (Array.isArray(value)) return value.map(cleanValue)
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [cleanString(key), cleanValue(inner)]))
  }
  return value
}

/**
 * Details as they will read back from the database: a JSON round trip (dates become strings,
 * `undefined` and functions disappear, non-finite numbers become null), then strings made
 * storable (lone surrogates and NUL, which `jsonb` refuses, become U+FFFD). Hashing the
 * normalized value is what makes a stored entry verify.
 */
export const normalizeDetails = (details: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> => {
  if (details === undefined) return {}
  const text = JSON.stringify(details)
  const parsed: unknown = text === undefined ? {} : JSON.parse(text)
  const cleaned = cleanValue(parsed)
  return cleaned !== null && typeof cleaned === "object" && !Array.isArray(cleaned) ? cleaned as Record<string, unknown> : {}
}

/** The canonical text an entry's hash is computed over. */
export const canonicalEntry = (fields: HashedFields): string =>
  canonicalJson({
    action: fields.action,
    actorId: fields.actorId,
    actorKind: fields.actorKind,
    createdAt: fields.createdAt,
    details: fields.details,
    organizationId: fields.organizationId,
    prevHash: fields.prevHash,
    requestId: fields.requestId,
    seq: fields.seq,
    targetId: fields.targetId,
    targetType: fields.targetType
  })

const utf8 = new TextEncoder()

/** The entry's hash, bare lowercase hex. */
export const entryHash = (fields: HashedFields): Effect.Effect<string, never, Digest.Digest> =>
  Effect.gen(function*() {
    const digest = yield* Digest.Digest
    return yield* digest.digestHex(Digest.sha256, utf8.encode(canonicalEntry(fields)))
  })
