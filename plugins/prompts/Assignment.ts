/**
 * Sticky, deterministic gray-release assignment, done the way feature-flag systems do it.
 *
 * A caller's bucket is `uint32(SHA-256(utf8("<promptKey>:<salt>:<stickiness>"))[0..4], big
 * endian) mod 10000`. Variants own cumulative ranges of the 10,000 buckets in their fixed
 * order (the first variant `[0, w1)`, the second `[w1, w1 + w2)`, ...), with weights in basis
 * points. So a caller keeps its variant on every call and on every server process, and
 * widening the last variant (B of an A/B rollout) from 20% to 50% only moves callers out of
 * the variant before it: nobody moves from B to A. The salt is per rollout and kept when the
 * rollout is updated, so reweighting keeps assignments; deleting and re-creating a rollout
 * draws a new salt and reshuffles everyone.
 *
 * Without a stickiness value the bucket is a fresh random draw and the serve is non-sticky.
 *
 * Pure: no Effect services, so tests (and other processes) compute the same buckets.
 */
import { createHash, randomInt } from "node:crypto"

/** Number of buckets; weights are expressed in basis points of it (100% = 10,000). */
export const bucketCount = 10_000

/** The bucket of a sticky caller: see the module comment for the exact definition. */
export const bucketOf = (promptKey: string, salt: string, stickiness: string): number => {
  const digest = createHash("sha256").update(`${promptKey}:${salt}:${stickiness}`, "utf8").digest()
  return digest.readUInt32BE(0) % bucketCount
}

/** A uniformly random bucket, for callers without a stickiness value. */
export const randomBucket = (): number => randomInt(bucketCount)

/** The index of the variant whose cumulative range holds `bucket` (weights in basis points, summing to 10,000). */
export const variantIndex = (weightsBp: ReadonlyArray<number>, bucket: number): number => {
  let upper = 0
  for (let i = 0; i < weightsBp.length; i++) {
    upper += weightsBp[i]
    if (bucket < upper) return i
  }
  return weightsBp.length - 1
}

/** A new per-rollout salt: 16 random bytes, hex. */
export const newSalt = (): string => {
  const bytes = new Uint8Array(16)
  crypto.getRandomValues(bytes)
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")
}

/** Percentage (up to two decimals) to basis points, or `undefined` when it has more precision. */
export const toBasisPoints = (percent: number): number | undefined => {
  const bp = Math.round(percent * 100)
  return Math.abs(bp - percent * 100) < 1e-6 ? bp : undefined
}

/** `A`, `B`, ... `J`: the variant letter shown in SDK responses. */
export const variantLetter = (index: number): string => String.fromCharCode(65 + index)
