/** The published hash definition (README "Sticky assignment"): test vectors and the range layout. */
import { createHash } from "node:crypto"
import { assert, describe, it } from "vitest"
import { bucketCount, bucketOf, toBasisPoints, variantIndex } from "../Assignment.ts"

describe("sticky assignment", () => {
  it("matches the README's test vectors", () => {
    const vectors: ReadonlyArray<[string, string, string, string, number]> = [
      ["checkout.greeting", "salt-1", "user-1", "ecbfc746", 1366],
      ["checkout.greeting", "salt-1", "user-2", "4a490ca7", 1351],
      ["checkout.greeting", "salt-2", "user-1", "83b52635", 7093],
      ["sql.generator", "0123456789abcdef", "alice@example.com", "09c6beca", 9914],
      ["sql.generator", "0123456789abcdef", "会话-42", "d1c00c5b", 4219]
    ]
    for (const [key, salt, stickiness, prefix, bucket] of vectors) {
      const digest = createHash("sha256").update(`${key}:${salt}:${stickiness}`, "utf8").digest("hex")
      assert.strictEqual(digest.slice(0, 8), prefix)
      assert.strictEqual(parseInt(prefix, 16) % bucketCount, bucket)
      assert.strictEqual(bucketOf(key, salt, stickiness), bucket)
    }
  })

  it("lays variants out as cumulative ranges in their order", () => {
    assert.strictEqual(variantIndex([2000, 8000], 0), 0)
    assert.strictEqual(variantIndex([2000, 8000], 1999), 0)
    assert.strictEqual(variantIndex([2000, 8000], 2000), 1)
    assert.strictEqual(variantIndex([2000, 8000], 9999), 1)
    assert.strictEqual(variantIndex([0, 10000], 0), 1)
    assert.strictEqual(variantIndex([3334, 3333, 3333], 6667), 2)
    // Widening the last variant only takes buckets from the one before it.
    for (let bucket = 0; bucket < bucketCount; bucket++) {
      if (variantIndex([8000, 2000], bucket) === 1) assert.strictEqual(variantIndex([5000, 5000], bucket), 1)
    }
  })

  it("takes weights with at most two decimals", () => {
    assert.strictEqual(toBasisPoints(33.33), 3333)
    assert.strictEqual(toBasisPoints(100), 10000)
    assert.strictEqual(toBasisPoints(33.333), undefined)
  })
})
