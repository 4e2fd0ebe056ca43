/**
 * Opaque secrets (session tokens, API keys, verification tokens) and ids.
 *
 * A secret is a type prefix and 32 random bytes (base64url), so its kind is visible at a
 * glance and in logs that show only the prefix: `trs_` a login session, `sk_sfs_user_` a user
 * key, `sk_sfs_svc_` an organization service key, `sk_live_` a Surflet account key (a user
 * key), `sk_mob_` a mobile token (a user key with abilities). Only the SHA-256 digest is stored: the secret has 256 bits of entropy, so a fast hash
 * is safe where a password needs a slow one.
 */
import { createHash, randomBytes } from "node:crypto"

export const prefixes = {
  session: "trs_",
  userKey: "sk_sfs_user_",
  serviceKey: "sk_sfs_svc_",
  surfletKey: "sk_live_",
  mobileToken: "sk_mob_",
  verification: "trv_",
  csrf: "trc_"
} as const

export type SecretKind = keyof typeof prefixes

/** A new secret of the given kind. */
export const generate = (kind: SecretKind): string => prefixes[kind] + randomBytes(32).toString("base64url")

/** The stored form of a secret: lowercase hex SHA-256. */
export const digest = (secret: string): string => createHash("sha256").update(secret).digest("hex")

/** What lists show of a key: its type prefix and the first six random characters. */
export const displayPrefix = (secret: string): string => {
  const kind = (Object.values(prefixes) as ReadonlyArray<string>).find((p) => secret.startsWith(p)) ?? ""
  return `${secret.slice(0, kind.length + 6)}...`
}

/** A new id: a short type tag and 24 hex characters (`usr_…`, `org_…`, `key_…`). */
export const newId = (tag: string): string => `${tag}_${randomBytes(12).toString("hex")}`

/** A short human-typable code (Surflet's claim codes look like `SURF-7K3M`). */
export const claimCode = (): string => {
  const alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
  const bytes = randomBytes(8)
  let code = ""
  for (const byte of bytes) code += alphabet[byte % alphabet.length]
  return `SURF-${code}`
}
