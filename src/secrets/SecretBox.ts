/**
 * Reversible encryption of small secrets kept at rest, for every plugin that must store a value
 * the server sends on later (a provider API key, a webhook's signing secret): AES-256-GCM with
 * a random 96-bit nonce, and additional authenticated data naming what the secret belongs to,
 * so a sealed value copied into another row or organization does not open. Secrets the server
 * only checks are hashed instead (`src/identity/Secrets.ts`).
 *
 * The master key is `TRELLIS_SECRET_KEY` or the data directory's key file (see
 * `MasterKey.ts`). The encryption key is derived from it with HKDF-SHA256, and a sealed value
 * names the key it was sealed with (a short digest), so a value sealed with another key is
 * reported as such instead of as corrupt. Sealed form:
 * `tsb1.<key id>.<nonce>.<ciphertext>.<tag>` (base64url parts).
 *
 * One instance is built by the platform (`src/server/Server.ts`); plugins require `SecretBox`
 * from `trellis/plugin` and bind each value to a context of their own, e.g.
 * `JSON.stringify(["myplugin.webhook", organizationId, webhookId])`.
 */
import { Context, Effect, Layer } from "effect"
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto"
import { TrellisConfig } from "../config/TrellisConfig.ts"
import { SecretKeyUnavailable } from "../problem/Problems.ts"
import { loadMasterKey } from "./MasterKey.ts"

export { keyFileName, loadMasterKey, parseKey, SecretKeyInvalid } from "./MasterKey.ts"
export type { KeySource } from "./MasterKey.ts"

const version = "tsb1"

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64url")

/** What a {@link SecretBox} does; {@link make} builds one from a master key. */
export interface SecretBoxShape {
  /** A short digest naming the master key (not secret); `null` without a key. */
  readonly keyId: string | null
  /** Encrypts `plaintext`, bound to `context` (the same context is needed to open it). */
  readonly seal: (plaintext: string, context: string) => Effect.Effect<string, SecretKeyUnavailable>
  /** Decrypts a sealed value; fails when it was sealed with another key, for another context, or altered. */
  readonly open: (sealed: string, context: string) => Effect.Effect<string, SecretKeyUnavailable>
  /** Whether the value names this box's key (a cheap check, for reads that do not decrypt). */
  readonly canOpen: (sealed: string) => boolean
}

/** A box around `masterKey`, or one that refuses everything (`reason`) without a key. */
export const make = (masterKey: Uint8Array | undefined, reason = "the server has no secret key"): SecretBoxShape => {
  if (masterKey === undefined) {
    const refuse = Effect.fail(new SecretKeyUnavailable({
      detail: `Cannot encrypt or decrypt stored secrets: ${reason}. Set TRELLIS_SECRET_KEY (64 hex characters).`
    }))
    return { keyId: null, seal: () => refuse, open: () => refuse, canOpen: () => false }
  }
  const dataKey = Buffer.from(hkdfSync("sha256", masterKey, Buffer.alloc(0), "trellis/secret-box/v1", 32))
  const keyId = createHash("sha256").update("trellis/secret-box/key-id\0").update(masterKey).digest("hex").slice(0, 16)
  const unreadable = (detail: string) => new SecretKeyUnavailable({ detail })

  const seal = (plaintext: string, context: string) =>
    Effect.sync(() => {
      const nonce = randomBytes(12)
      const cipher = createCipheriv("aes-256-gcm", dataKey, nonce)
      cipher.setAAD(Buffer.from(context, "utf8"))
      const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()])
      return [version, keyId, b64(nonce), b64(ciphertext), b64(cipher.getAuthTag())].join(".")
    })

  const open = (sealed: string, context: string) =>
    Effect.suspend(() => {
      const parts = sealed.split(".")
      if (parts.length !== 5 || parts[0] !== version) return Effect.fail(unreadable("The stored secret is not in a known format."))
      if (parts[1] !== keyId) {
        return Effect.fail(unreadable(
          `The stored secret was encrypted with another server key (${parts[1]}; this server's is ${keyId}). ` +
            "Every process sharing the database needs the same TRELLIS_SECRET_KEY; or save the secret again."
        ))
      }
      try {
        const decipher = createDecipheriv("aes-256-gcm", dataKey, Buffer.from(parts[2], "base64url"))
        decipher.setAAD(Buffer.from(context, "utf8"))
        decipher.setAuthTag(Buffer.from(parts[4], "base64url"))
        const plaintext = Buffer.concat([decipher.update(Buffer.from(parts[3], "base64url")), decipher.final()])
        return Effect.succeed(plaintext.toString("utf8"))
      } catch {
        return Effect.fail(unreadable("The stored secret does not decrypt: it was altered or belongs to something else."))
      }
    })

  const canOpen = (sealed: string) => sealed.split(".")[1] === keyId

  return { keyId, seal, open, canOpen }
}

export class SecretBox extends Context.Service<SecretBox, SecretBoxShape>()("trellis/secrets/SecretBox") {
  /**
   * The configured `TRELLIS_SECRET_KEY` (validated by the configuration), else the data
   * directory's key file, created when missing. Without either (the directory cannot be
   * written) the server still starts and the box refuses with `SECRET_KEY_UNAVAILABLE`.
   */
  static readonly layer = Layer.effect(
    SecretBox,
    Effect.gen(function*() {
      const config = yield* TrellisConfig
      const source = yield* loadMasterKey({
        secretKey: config.secretKey,
        dataDir: config.dataDir
      })
      switch (source._tag) {
        case "Environment":
          return SecretBox.of(make(source.key))
        case "File":
          if (source.loose) {
            yield* Effect.logWarning(`The secret key file ${source.path} can be read by other users; make it mode 0600.`)
          }
          if (source.created) yield* Effect.logInfo(`Created the secret key file ${source.path}: back it up with the database.`)
          if (config.databaseUrl !== undefined) {
            yield* Effect.logInfo(
              `Stored secrets (such as provider API keys) are encrypted with the key in ${source.path}. Every process ` +
                "sharing this PostgreSQL database needs the same key: set TRELLIS_SECRET_KEY to the same value on all of them."
            )
          }
          return SecretBox.of(make(source.key))
        case "None":
          yield* Effect.logWarning(
            `No secret key (${source.reason}): secrets such as provider API keys cannot be saved until TRELLIS_SECRET_KEY is set.`
          )
          return SecretBox.of(make(undefined, source.reason))
      }
    })
  )
}
