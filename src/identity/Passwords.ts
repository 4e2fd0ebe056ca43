/**
 * Password hashing: Argon2id from `hash-wasm` (WebAssembly, so it runs the same on Node and
 * Deno with no native addon; `node:crypto.argon2` does not exist on Deno).
 *
 * Hashes are PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) that carry their own
 * parameters, so the parameters can be raised later: `verify` reports `needsRehash` when a
 * stored hash used weaker ones, and the login upgrades it.
 */
import { Context, Effect, Layer } from "effect"
import { argon2id, argon2Verify } from "hash-wasm"
import { randomBytes } from "node:crypto"

export interface Argon2Parameters {
  /** Memory in KiB. */
  readonly memorySize: number
  readonly iterations: number
  readonly parallelism: number
}

/** OWASP's minimum recommendation for Argon2id (19 MiB, 2 passes, 1 lane): ~90 ms here. */
export const defaultParameters: Argon2Parameters = { memorySize: 19456, iterations: 2, parallelism: 1 }

/** The parameters a PHC string was made with, or `undefined` when it is not an Argon2id hash. */
export const parametersOf = (encoded: string): Argon2Parameters | undefined => {
  const match = /^\$argon2id\$v=\d+\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(encoded)
  return match === null ? undefined : { memorySize: Number(match[1]), iterations: Number(match[2]), parallelism: Number(match[3]) }
}

export class Passwords extends Context.Service<Passwords, {
  readonly hash: (password: string) => Effect.Effect<string>
  readonly verify: (password: string, encoded: string) => Effect.Effect<{ readonly valid: boolean; readonly needsRehash: boolean }>
}>()("trellis/identity/Passwords") {
  static readonly make = (parameters: Argon2Parameters) =>
    Passwords.of({
      hash: (password) =>
        Effect.promise(() =>
          argon2id({
            password,
            salt: randomBytes(16),
            ...parameters,
            hashLength: 32,
            outputType: "encoded"
          })
        ),
      verify: (password, encoded) =>
        Effect.promise(async () => {
          const stored = parametersOf(encoded)
          if (stored === undefined) return { valid: false, needsRehash: false }
          const valid = await argon2Verify({ password, hash: encoded }).catch(() => false)
          const needsRehash = stored.memorySize < parameters.memorySize ||
            stored.iterations < parameters.iterations ||
            stored.parallelism < parameters.parallelism
          return { valid, needsRehash: valid && needsRehash }
        })
    })

  static readonly layer = Layer.succeed(Passwords, Passwords.make(defaultParameters))
}
